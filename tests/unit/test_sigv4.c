/* SPDX-License-Identifier: MIT */
/* test_sigv4.c: SigV4 against AWS's published test suite, real aws CLI requests and AWS's errors. */
#include "tests/unit/unit.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common/sigv4.h"

/* The credentials, scope and instant of AWS's SigV4 test suite. */
#define AKID "AKIDEXAMPLE"
#define SECRET "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"
#define SUITE_DATE "20150830T123600Z"
#define SUITE_NOW ((time_t)1440938160) /* 20150830T123600Z */
#define SUITE_SCOPE "20150830/us-east-1/service/aws4_request"
#define SUITE_CRED "Credential=" AKID "/" SUITE_SCOPE
#define EMPTY_SHA256 "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
#define HOST_H { "Host", "example.amazonaws.com" }
#define DATE_H { "X-Amz-Date", SUITE_DATE }
#define BASE_CANON "host:example.amazonaws.com\nx-amz-date:" SUITE_DATE "\n\nhost;x-amz-date\n"
#define MY_CANON(v) "host:example.amazonaws.com\nmy-header1:" v "\nx-amz-date:" SUITE_DATE \
	"\n\nhost;my-header1;x-amz-date\n"
#define UNRESERVED "-._~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
#define FORM_SHA256 "9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e"
#define MISMATCH_MSG "The request signature we calculated does not match the signature you " \
	"provided. Check your AWS Secret Access Key and signing method. Consult the service " \
	"documentation for details."

/* One case of the suite: the request, and the published canonical request, the SHA-256 that ends
 * its string to sign, and its signature. Requests and signatures are those of awslabs/aws-c-auth
 * tests/aws-signing-test-suite/v4/<name>/header-signed-request.txt (the normalised variants). */
struct vector {
	const char *name;
	const char *method, *path, *query, *body;
	struct sigv4_header headers[8];
	const char *signed_headers;
	const char *creq;
	const char *creq_sha256;
	const char *signature;
	int sign_reproduces; /* sigv4_sign picks the same SignedHeaders */
};

static const struct vector suite[] = {
	{ "get-vanilla", "GET", "/", "", "", { HOST_H, DATE_H }, "host;x-amz-date",
	  "GET\n/\n\n" BASE_CANON EMPTY_SHA256,
	  "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", 1 },
	{ "get-vanilla-query-order-key-case", "GET", "/", "Param2=value2&Param1=value1", "",
	  { HOST_H, DATE_H }, "host;x-amz-date",
	  "GET\n/\nParam1=value1&Param2=value2\n" BASE_CANON EMPTY_SHA256,
	  "816cd5b414d056048ba4f7c5386d6e0533120fb1fcfa93762cf0fc39e2cf19e0",
	  "b97d918cfa904a5beff61c982a1b6f458b799221646efd99d3219ec94cdf2500", 1 },
	{ "get-vanilla-query-unreserved", "GET", "/", UNRESERVED "=" UNRESERVED, "",
	  { HOST_H, DATE_H }, "host;x-amz-date",
	  "GET\n/\n" UNRESERVED "=" UNRESERVED "\n" BASE_CANON EMPTY_SHA256,
	  "c30d4703d9f799439be92736156d47ccfb2d879ddf56f5befa6d1d6aab979177",
	  "9c3e54bfcdf0b19771a7f523ee5669cdf59bc7cc0884027167c21bb143a40197", 1 },
	{ "get-vanilla-utf8-query", "GET", "/", "\xe1\x88\xb4=bar", "", { HOST_H, DATE_H },
	  "host;x-amz-date", "GET\n/\n%E1%88%B4=bar\n" BASE_CANON EMPTY_SHA256,
	  "eb30c5bed55734080471a834cc727ae56beb50e5f39d1bff6d0d38cb192a7073",
	  "2cdec8eed098649ff3a119c94853b13c643bcf08f8b0a1d91e12c9027818dd04", 1 },
	{ "get-vanilla-empty-query-key", "GET", "/", "Param1=value1", "", { HOST_H, DATE_H },
	  "host;x-amz-date", "GET\n/\nParam1=value1\n" BASE_CANON EMPTY_SHA256,
	  "1e24db194ed7d0eec2de28d7369675a243488e08526e8c1c73571282f7c517ab",
	  "a67d582fa61cc504c4bae71f336f98b97f1ea3c7a6bfe1b6e45aec72011b9aeb", 1 },
	{ "get-utf8", "GET", "/\xe1\x88\xb4", "", "", { HOST_H, DATE_H }, "host;x-amz-date",
	  "GET\n/%E1%88%B4\n\n" BASE_CANON EMPTY_SHA256,
	  "2a0a97d02205e45ce2e994789806b19270cfbbb0921b278ccf58f5249ac42102",
	  "8318018e0b0f223aa2bbf98705b62bb787dc9c0e678f255a891fd03141be5d85", 1 },
	{ "get-space-normalized", "GET", "/example space/", "", "", { HOST_H, DATE_H },
	  "host;x-amz-date", "GET\n/example%20space/\n\n" BASE_CANON EMPTY_SHA256,
	  "63ee75631ed7234ae61b5f736dfc7754cdccfedbff4b5128a915706ee9390d86",
	  "652487583200325589f1fba4c7e578f72c47cb61beeca81406b39ddec1366741", 1 },
	{ "get-slashes-normalized", "GET", "//example//", "", "", { HOST_H, DATE_H },
	  "host;x-amz-date", "GET\n/example/\n\n" BASE_CANON EMPTY_SHA256,
	  "cb96b4ac96d501f7c5c15bc6d67b3035061cfced4af6585ad927f7e6c985c015",
	  "9a624bd73a37c9a373b5312afbebe7a714a789de108f0bdfe846570885f57e84", 1 },
	{ "get-relative-relative-normalized", "GET", "/example1/example2/../..", "", "",
	  { HOST_H, DATE_H }, "host;x-amz-date", "GET\n/\n\n" BASE_CANON EMPTY_SHA256,
	  "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
	  "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31", 1 },
	{ "get-header-key-duplicate", "GET", "/", "", "",
	  { HOST_H, { "My-Header1", "value2" }, { "My-Header1", "value2" },
	    { "My-Header1", "value1" }, DATE_H },
	  "host;my-header1;x-amz-date", "GET\n/\n\n" MY_CANON("value2,value2,value1") EMPTY_SHA256,
	  "dc7f04a3abfde8d472b0ab1a418b741b7c67174dad1551b4117b15527fbe966c",
	  "c9d5ea9f3f72853aea855b47ea873832890dbdd183b4468f858259531a5138ea", 0 },
	{ "get-header-value-order", "GET", "/", "", "",
	  { HOST_H, { "My-Header1", "value4" }, { "My-Header1", "value1" },
	    { "My-Header1", "value3" }, { "My-Header1", "value2" }, DATE_H },
	  "host;my-header1;x-amz-date",
	  "GET\n/\n\n" MY_CANON("value4,value1,value3,value2") EMPTY_SHA256,
	  "31ce73cd3f3d9f66977ad3dd957dc47af14df92fcd8509f59b349e9137c58b86",
	  "08c7e5a9acfcfeb3ab6b2185e75ce8b1deb5e634ec47601a50643f830c755c01", 0 },
	{ "get-header-value-trim", "GET", "/", "", "",
	  { HOST_H, { "My-Header1", " value1" }, { "My-Header2", " \"a   b   c\"" }, DATE_H },
	  "host;my-header1;my-header2;x-amz-date",
	  "GET\n/\n\nhost:example.amazonaws.com\nmy-header1:value1\nmy-header2:\"a b c\"\n"
	  "x-amz-date:" SUITE_DATE "\n\nhost;my-header1;my-header2;x-amz-date\n" EMPTY_SHA256,
	  "a726db9b0df21c14f559d0a978e563112acb1b9e05476f0a6a1c7d68f28605c7",
	  "acc3ed3afb60bb290fc8d2dd0098b9911fcaa05412b367055dee359757a9c736", 0 },
	{ "get-vanilla-with-session-token", "GET", "/", "", "",
	  { HOST_H, DATE_H, { "X-Amz-Security-Token",
	    "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267" } },
	  "host;x-amz-date;x-amz-security-token",
	  "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:" SUITE_DATE "\nx-amz-security-token:"
	  "6e86291e8372ff2a2260956d9b8aae1d763fbf315fa00fa31553b73ebf194267\n\n"
	  "host;x-amz-date;x-amz-security-token\n" EMPTY_SHA256,
	  "067b36aa60031588cea4a4cde1f21215227a047690c72247f1d70b32fbbfad2b",
	  "07ec1639c89043aa0e3e2de82b96708f198cceab042d4a97044c66dd9f74e7f8", 1 },
	{ "post-vanilla", "POST", "/", "", "", { HOST_H, DATE_H }, "host;x-amz-date",
	  "POST\n/\n\n" BASE_CANON EMPTY_SHA256,
	  "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
	  "5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b", 1 },
	{ "post-vanilla-query", "POST", "/", "Param1=value1", "", { HOST_H, DATE_H },
	  "host;x-amz-date", "POST\n/\nParam1=value1\n" BASE_CANON EMPTY_SHA256,
	  "9d659678c1756bb3113e2ce898845a0a79dbbc57b740555917687f1b3340fbbd",
	  "28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11", 1 },
	{ "post-header-key-sort", "POST", "/", "", "",
	  { HOST_H, { "My-Header1", "value1" }, DATE_H }, "host;my-header1;x-amz-date",
	  "POST\n/\n\n" MY_CANON("value1") EMPTY_SHA256,
	  "9368318c2967cf6de74404b30c65a91e8f6253e0a8659d6d5319f1a812f87d65",
	  "c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c", 0 },
	{ "post-x-www-form-urlencoded", "POST", "/", "", "Param1=value1",
	  { { "Content-Type", "application/x-www-form-urlencoded" }, HOST_H,
	    { "Content-Length", "13" }, { "x-amz-content-sha256", FORM_SHA256 }, DATE_H },
	  "content-length;content-type;host;x-amz-content-sha256;x-amz-date",
	  "POST\n/\n\ncontent-length:13\ncontent-type:application/x-www-form-urlencoded\n"
	  "host:example.amazonaws.com\nx-amz-content-sha256:" FORM_SHA256 "\nx-amz-date:"
	  SUITE_DATE "\n\ncontent-length;content-type;host;x-amz-content-sha256;x-amz-date\n"
	  FORM_SHA256,
	  "b1edd1d03544c25390e32085d55b57acc9a3961bb59415ff86c45c3d89d16cfb",
	  "d3875051da38690788ef43de4db0d8f280229d82040bfac253562e56c3f20e0b", 0 },
};

/* A request being assembled: a header array that tests can append to. */
struct msg {
	struct sigv4_header h[16];
	struct sigv4_request req;
	char auth[1024];
};

static void msg_add(struct msg *m, const char *name, const char *value)
{
	if (m->req.n_headers < sizeof(m->h) / sizeof(m->h[0]))
		m->h[m->req.n_headers++] = (struct sigv4_header){ name, value };
}

static void msg_init(struct msg *m, const char *method, const char *path, const char *query,
		     const char *body)
{
	memset(m, 0, sizeof(*m));
	m->req = (struct sigv4_request){ method, path, query, m->h, 0, body, strlen(body) };
}

static void msg_from_vector(struct msg *m, const struct vector *v, int with_auth)
{
	msg_init(m, v->method, v->path, v->query, v->body);
	for (size_t i = 0; i < 8 && v->headers[i].name; i++)
		msg_add(m, v->headers[i].name, v->headers[i].value);
	if (!with_auth)
		return;
	snprintf(m->auth, sizeof(m->auth), SIGV4_ALGORITHM " " SUITE_CRED ", SignedHeaders=%s, "
		 "Signature=%s", v->signed_headers, v->signature);
	msg_add(m, "Authorization", m->auth);
}

static const struct sigv4_key suite_key = { AKID, SECRET, NULL };

static struct sigv4_verifier suite_verifier(void)
{
	return (struct sigv4_verifier){ .region = "us-east-1", .service = "service",
					.keys = &suite_key, .n_keys = 1 };
}

static void test_suite_canonical_requests(void)
{
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		struct msg m;
		char *creq;

		msg_from_vector(&m, &suite[i], 0);
		creq = sigv4_canonical_request(&m.req, suite[i].signed_headers);
		CHECK_STR(creq, suite[i].creq);
		if (!creq || strcmp(creq, suite[i].creq) != 0)
			fprintf(stderr, "  in %s\n", suite[i].name);
		free(creq);
	}
}

static void test_suite_strings_to_sign(void)
{
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		char want[256], *sts;

		snprintf(want, sizeof(want), SIGV4_ALGORITHM "\n" SUITE_DATE "\n" SUITE_SCOPE "\n%s",
			 suite[i].creq_sha256);
		sts = sigv4_string_to_sign(SUITE_DATE, SUITE_SCOPE, suite[i].creq);
		CHECK_STR(sts, want);
		free(sts);
	}
}

/* The published signature verifies; the same with one character changed does not. */
static void test_suite_signatures_verify(void)
{
	struct sigv4_verifier v = suite_verifier();
	struct sigv4_key with_token = { AKID, SECRET, NULL };

	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		struct berr e = { 0 };
		struct msg m;
		int r;

		msg_from_vector(&m, &suite[i], 1);
		with_token.session_token = NULL;
		for (size_t j = 0; j < m.req.n_headers; j++)
			if (strcmp(m.h[j].name, "X-Amz-Security-Token") == 0)
				with_token.session_token = m.h[j].value;
		v.keys = &with_token;
		r = sigv4_verify(&m.req, &v, SUITE_NOW, &e, NULL);
		CHECK_EQ(r, 0);
		if (r)
			fprintf(stderr, "  in %s: %s: %s\n", suite[i].name, e.type, e.message);
		m.auth[strlen(m.auth) - 1] ^= 1;
		CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW, &e, NULL), SIGV4_E_MISMATCH);
	}
}

/* sigv4_sign, given the request without X-Amz-Date, writes the suite's Authorization header. */
static void test_suite_sign_reproduces(void)
{
	for (size_t i = 0; i < sizeof(suite) / sizeof(suite[0]); i++) {
		struct sigv4_signature s;
		struct sigv4_key key = suite_key;
		struct msg m, want;

		if (!suite[i].sign_reproduces)
			continue;
		msg_from_vector(&want, &suite[i], 1);
		msg_init(&m, suite[i].method, suite[i].path, suite[i].query, suite[i].body);
		for (size_t j = 0; j < 8 && suite[i].headers[j].name; j++)
			if (strcmp(suite[i].headers[j].name, "X-Amz-Date") != 0)
				msg_add(&m, suite[i].headers[j].name, suite[i].headers[j].value);
		CHECK_EQ(sigv4_sign(&m.req, "us-east-1", "service", &key, SUITE_NOW, &s), 0);
		CHECK_STR(s.authorization, want.auth);
		CHECK_STR(s.amz_date, SUITE_DATE);
		sigv4_signature_clear(&s);
	}
}

/* AWS's documented key derivation and IAM ListUsers example (docs.aws.amazon.com, "Create a
 * signed AWS API request"). */
static void test_iam_documentation_example(void)
{
	static const char creq_want[] =
		"GET\n/\nAction=ListUsers&Version=2010-05-08\n"
		"content-type:application/x-www-form-urlencoded; charset=utf-8\n"
		"host:iam.amazonaws.com\nx-amz-date:20150830T123600Z\n\n"
		"content-type;host;x-amz-date\n" EMPTY_SHA256;
	struct sigv4_verifier v = { .region = "us-east-1", .service = "iam", .keys = &suite_key,
				    .n_keys = 1 };
	unsigned char key[SIGV4_KEY_LEN];
	char hex[2 * SIGV4_KEY_LEN + 1], *creq, *sts;
	struct msg m;

	CHECK_EQ(sigv4_signing_key(SECRET, "20150830", "us-east-1", "iam", key), 0);
	for (size_t i = 0; i < sizeof(key); i++)
		sprintf(hex + 2 * i, "%02x", key[i]);
	CHECK_STR(hex, "c4afb1cc5771d871763a393e44b703571b55cc28424d1a5e86da6ed3c154a4b9");
	msg_init(&m, "GET", "/", "Action=ListUsers&Version=2010-05-08", "");
	msg_add(&m, "Content-Type", "application/x-www-form-urlencoded; charset=utf-8");
	msg_add(&m, "Host", "iam.amazonaws.com");
	msg_add(&m, "X-Amz-Date", SUITE_DATE);
	creq = sigv4_canonical_request(&m.req, "content-type;host;x-amz-date");
	CHECK_STR(creq, creq_want);
	sts = sigv4_string_to_sign(SUITE_DATE, "20150830/us-east-1/iam/aws4_request", creq_want);
	CHECK_STR(sts, "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/iam/aws4_request\n"
		  "f536975d06c0309214f805bb90ccff089219ecd68b2577efef23edd43b7e1a59");
	msg_add(&m, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/"
		"iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature="
		"5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7");
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW, NULL, NULL), 0);
	free(creq);
	free(sts);
}

/* Captured from Debian's /usr/bin/aws (aws-cli/2.9.19) with AWS_ACCESS_KEY_ID=AKIDEXAMPLE
 * AWS_SECRET_ACCESS_KEY=secret: `aws --endpoint-url http://127.0.0.1:18999 --region us-east-1
 * ecs list-clusters`, headers and body exactly as they came off the socket. */
static void cli_list_clusters(struct msg *m)
{
	msg_init(m, "POST", "/", "", "{}");
	msg_add(m, "Host", "127.0.0.1:18999");
	msg_add(m, "Accept-Encoding", "identity");
	msg_add(m, "X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters");
	msg_add(m, "Content-Type", "application/x-amz-json-1.1");
	msg_add(m, "User-Agent", "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v782 "
		"source/x86_64.debian.12 prompt/off command/ecs.list-clusters");
	msg_add(m, "X-Amz-Date", "20261126T092138Z");
	msg_add(m, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/us-east-1/"
		"ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
		"Signature=02e6851886a99dcaa22952906bb2a3dfb05fe10151313c8952650c1e86e55e76");
	msg_add(m, "Content-Length", "2");
}

/* The same with the suite's secret, AWS_SESSION_TOKEN=berth-session-token, --region eu-west-3 and
 * `ecs describe-clusters --clusters "prod one"`. */
static void cli_describe_clusters(struct msg *m)
{
	msg_init(m, "POST", "/", "", "{\"clusters\": [\"prod one\"]}");
	msg_add(m, "Host", "127.0.0.1:18999");
	msg_add(m, "Accept-Encoding", "identity");
	msg_add(m, "X-Amz-Target", "AmazonEC2ContainerServiceV20141113.DescribeClusters");
	msg_add(m, "Content-Type", "application/x-amz-json-1.1");
	msg_add(m, "User-Agent", "aws-cli/2.9.19 Python/3.11.2 Linux/6.18.44-fc-v782 "
		"source/x86_64.debian.12 prompt/off command/ecs.describe-clusters");
	msg_add(m, "X-Amz-Date", "20261126T092145Z");
	msg_add(m, "X-Amz-Security-Token", "berth-session-token");
	msg_add(m, "Authorization", "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20261126/eu-west-3/"
		"ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;"
		"x-amz-security-token;x-amz-target, Signature="
		"d3349f3ac6b60788ae4acbd3ae662bae8d1735c21313b3c091ca2b7be02c3b1d");
	msg_add(m, "Content-Length", "26");
}

static const char *const ecs_required[] = { "Content-Type", "X-Amz-Target", NULL };

static void test_aws_cli_list_clusters(void)
{
	const struct sigv4_key keys[] = { { "AKIDOTHER", "other", NULL },
					  { AKID, "secret", NULL } };
	struct sigv4_verifier v = { .region = "us-east-1", .service = "ecs", .keys = keys,
				    .n_keys = 2, .required_signed = ecs_required };
	const struct sigv4_key *who = NULL;
	struct berr e = { 0 };
	struct msg m;

	cli_list_clusters(&m);
	CHECK_EQ(sigv4_verify(&m.req, &v, 1795684898 + 42, &e, &who), 0);
	CHECK(who == &keys[1]);
	v.region = "eu-west-1";
	CHECK_EQ(sigv4_verify(&m.req, &v, 1795684898, &e, &who), SIGV4_E_SCOPE);
	CHECK_STR(e.message, "Credential should be scoped to a valid region, not 'us-east-1'. ");
	CHECK(who == NULL);
	v.region = "us-east-1";
	m.req.body = "{\"maxResults\":1}";
	m.req.body_len = strlen(m.req.body);
	CHECK_EQ(sigv4_verify(&m.req, &v, 1795684898, &e, NULL), SIGV4_E_MISMATCH);
}

static void test_aws_cli_session_token(void)
{
	struct sigv4_key key = { AKID, SECRET, "berth-session-token" };
	struct sigv4_verifier v = { .region = "eu-west-3", .service = "ecs", .keys = &key,
				    .n_keys = 1, .required_signed = ecs_required };
	struct berr e = { 0 };
	struct msg m;

	cli_describe_clusters(&m);
	CHECK_EQ(sigv4_verify(&m.req, &v, 1795684905 - 30, &e, NULL), 0);
	key.session_token = "another-token";
	CHECK_EQ(sigv4_verify(&m.req, &v, 1795684905, &e, NULL), SIGV4_E_TOKEN);
	CHECK_STR(e.type, "UnrecognizedClientException");
	CHECK_STR(e.message, "The security token included in the request is invalid.");
	CHECK_EQ(e.http_status, 400);
	key.session_token = NULL;
	CHECK_EQ(sigv4_verify(&m.req, &v, 1795684905, &e, NULL), SIGV4_E_TOKEN);
}

/* An ECS call signed by sigv4_sign, the way berthctl sends it, verifies as sent. */
static void ecs_request(struct msg *m, const char *body)
{
	msg_init(m, "POST", "/", "", body);
	msg_add(m, "Host", "127.0.0.1:8080");
	msg_add(m, "Content-Type", "application/x-amz-json-1.1");
	msg_add(m, "X-Amz-Target", "AmazonEC2ContainerServiceV20141113.ListClusters");
	msg_add(m, "User-Agent", "berthctl");
}

static int sign_into(struct msg *m, const struct sigv4_key *key, time_t when,
		     struct sigv4_signature *s)
{
	int r = sigv4_sign(&m->req, "us-east-1", "ecs", key, when, s);

	if (r == 0) {
		msg_add(m, "X-Amz-Date", s->amz_date);
		msg_add(m, "Authorization", s->authorization);
		if (key->session_token)
			msg_add(m, "X-Amz-Security-Token", key->session_token);
	}
	return r;
}

static void test_round_trip(void)
{
	const struct sigv4_key key = { "AKIDBERTH", "berth-secret", NULL };
	struct sigv4_verifier v = { .region = "us-east-1", .service = "ecs", .keys = &key,
				    .n_keys = 1, .required_signed = ecs_required };
	const time_t t = 1795684898;
	struct sigv4_signature s;
	struct berr e = { 0 };
	struct msg m;

	ecs_request(&m, "{}");
	CHECK_EQ(sign_into(&m, &key, t, &s), 0);
	CHECK_STR(s.amz_date, "20261126T092138Z");
	CHECK_CONTAINS(s.authorization, "AWS4-HMAC-SHA256 Credential=AKIDBERTH/20261126/us-east-1/"
		       "ecs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target, "
		       "Signature=");
	CHECK_EQ(sigv4_verify(&m.req, &v, t, &e, NULL), 0);
	m.h[2].value = "AmazonEC2ContainerServiceV20141113.DeleteCluster";
	CHECK_EQ(sigv4_verify(&m.req, &v, t, &e, NULL), SIGV4_E_MISMATCH);
	sigv4_signature_clear(&s);
	sigv4_signature_clear(&s);
	sigv4_signature_clear(NULL);
}

static void test_round_trip_session_token(void)
{
	const struct sigv4_key key = { "ASIABERTH", "berth-secret", "tok/en+=" };
	struct sigv4_verifier v = { .region = "us-east-1", .service = "ecs", .keys = &key,
				    .n_keys = 1 };
	struct sigv4_signature s;
	struct msg m;

	ecs_request(&m, "{\"clusters\":[\"default\"]}");
	CHECK_EQ(sign_into(&m, &key, 1795684898, &s), 0);
	CHECK_CONTAINS(s.authorization,
		       "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target");
	CHECK_EQ(sigv4_verify(&m.req, &v, 1795684898, NULL, NULL), 0);
	sigv4_signature_clear(&s);
}

/* X-Amz-Content-Sha256 is optional: when the caller adds it, it is signed like any x-amz-*. */
static void test_round_trip_content_sha256(void)
{
	const struct sigv4_key key = { "AKIDBERTH", "berth-secret", NULL };
	struct sigv4_verifier v = { .region = "us-east-1", .service = "ecs", .keys = &key,
				    .n_keys = 1 };
	char hash[SIGV4_HEX_LEN + 1];
	struct sigv4_signature s;
	struct msg m;

	ecs_request(&m, "{}");
	CHECK_EQ(sigv4_sha256_hex("{}", 2, hash), 0);
	CHECK_STR(hash, "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
	msg_add(&m, "X-Amz-Content-Sha256", hash);
	CHECK_EQ(sign_into(&m, &key, 1795684898, &s), 0);
	CHECK_CONTAINS(s.authorization, "SignedHeaders=content-type;host;x-amz-content-sha256;"
		       "x-amz-date;x-amz-target,");
	CHECK_EQ(sigv4_verify(&m.req, &v, 1795684898, NULL, NULL), 0);
	sigv4_signature_clear(&s);
}

static const struct sigv4_key rotation[] = {
	{ "AKIDOLD", "old-secret", NULL },
	{ "AKIDNEW", "new-secret", NULL },
};

static const struct sigv4_key *rotation_lookup(void *arg, const char *akid)
{
	int *calls = arg;

	(*calls)++;
	for (size_t i = 0; i < sizeof(rotation) / sizeof(rotation[0]); i++)
		if (strcmp(rotation[i].access_key_id, akid) == 0)
			return &rotation[i];
	return NULL;
}

/* Both keys of a rotation verify, through the array and through the callback. */
static void test_key_rotation(void)
{
	struct sigv4_verifier v = { .region = "us-east-1", .service = "ecs", .keys = rotation,
				    .n_keys = 2 };
	const struct sigv4_key *who;
	struct sigv4_signature s;
	int calls = 0;

	for (size_t i = 0; i < 2; i++) {
		struct msg m;

		ecs_request(&m, "{}");
		CHECK_EQ(sign_into(&m, &rotation[i], 1795684898, &s), 0);
		v.lookup = NULL;
		CHECK_EQ(sigv4_verify(&m.req, &v, 1795684898, NULL, &who), 0);
		CHECK(who == &rotation[i]);
		v.lookup = rotation_lookup;
		v.lookup_arg = &calls;
		CHECK_EQ(sigv4_verify(&m.req, &v, 1795684898, NULL, &who), 0);
		CHECK(who == &rotation[i]);
		sigv4_signature_clear(&s);
	}
	CHECK_EQ(calls, 2);
}

/* Header names match in any case and order; the values' outer whitespace does not count. */
static void test_header_case_insensitive(void)
{
	struct sigv4_verifier v = suite_verifier();
	struct msg m;

	msg_init(&m, "GET", "/", "", "");
	msg_add(&m, "AUTHORIZATION", "  " SIGV4_ALGORITHM " " SUITE_CRED ",SignedHeaders=host;"
		"x-amz-date,Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31");
	msg_add(&m, "x-amz-DATE", SUITE_DATE);
	msg_add(&m, "hOsT", "  example.amazonaws.com ");
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW, NULL, NULL), 0);
}

static void test_sign_rejects_bad_input(void)
{
	const struct sigv4_key key = { AKID, SECRET, NULL };
	struct sigv4_signature s;
	struct msg m;

	msg_init(&m, "GET", "/", "", "");
	CHECK_EQ(sigv4_sign(&m.req, "us-east-1", "service", &key, SUITE_NOW, &s), -EINVAL);
	CHECK(s.authorization == NULL);
	msg_add(&m, "Host", "example.amazonaws.com");
	CHECK_EQ(sigv4_sign(&m.req, "us/east", "service", &key, SUITE_NOW, &s), -EINVAL);
	CHECK_EQ(sigv4_sign(&m.req, "us-east-1", "", &key, SUITE_NOW, &s), -EINVAL);
	CHECK_EQ(sigv4_sign(NULL, "us-east-1", "service", &key, SUITE_NOW, &s), -EINVAL);
	CHECK_EQ(sigv4_sign(&m.req, "us-east-1", "service", NULL, SUITE_NOW, &s), -EINVAL);
	msg_add(&m, "x-amz-date", SUITE_DATE);
	CHECK_EQ(sigv4_sign(&m.req, "us-east-1", "service", &key, SUITE_NOW, &s), -EINVAL);
	msg_init(&m, "GET", "/", "", "");
	msg_add(&m, "Host", "example.amazonaws.com");
	msg_add(&m, "X-Amz-Meta;x", "1");
	CHECK_EQ(sigv4_sign(&m.req, "us-east-1", "service", &key, SUITE_NOW, &s), -EINVAL);
}

/* get-vanilla with the given Authorization (NULL: none) and X-Amz-Date (NULL: none). */
static int verify_vanilla(const char *auth, const char *date, time_t now, struct berr *e)
{
	struct sigv4_verifier v = suite_verifier();
	struct msg m;

	msg_init(&m, "GET", "/", "", "");
	msg_add(&m, "Host", "example.amazonaws.com");
	if (date)
		msg_add(&m, "X-Amz-Date", date);
	if (auth)
		msg_add(&m, "Authorization", auth);
	memset(e, 0, sizeof(*e));
	return sigv4_verify(&m.req, &v, now, e, NULL);
}

#define VANILLA_AUTH(cred, signed_headers) SIGV4_ALGORITHM " " cred ", SignedHeaders=" \
	signed_headers ", Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"

static void check_error(struct berr *e, const char *type, const char *message)
{
	CHECK_STR(e->type, type);
	CHECK_STR(e->message, message);
	CHECK_EQ(e->http_status, 400);
}

static void test_error_missing_token(void)
{
	struct berr e;

	CHECK_EQ(verify_vanilla(NULL, SUITE_DATE, SUITE_NOW, &e), SIGV4_E_MISSING);
	check_error(&e, "MissingAuthenticationTokenException", "Missing Authentication Token");
	CHECK_EQ(verify_vanilla("Bearer abc", SUITE_DATE, SUITE_NOW, &e), SIGV4_E_MISSING);
	CHECK_EQ(verify_vanilla("", SUITE_DATE, SUITE_NOW, &e), SIGV4_E_MISSING);
}

static void test_error_incomplete_header(void)
{
	const char *auth = SIGV4_ALGORITHM " " SUITE_CRED;
	const char *spaced = SIGV4_ALGORITHM " Credential= " AKID "/" SUITE_SCOPE
		", SignedHeaders=host;x-amz-date, Signature=00";
	char want[512];
	struct berr e;

	CHECK_EQ(verify_vanilla(auth, SUITE_DATE, SUITE_NOW, &e), SIGV4_E_INCOMPLETE);
	snprintf(want, sizeof(want), "Authorization header requires 'Signature' parameter. "
		 "Authorization header requires 'SignedHeaders' parameter. Authorization=%s", auth);
	check_error(&e, "IncompleteSignatureException", want);
	CHECK_EQ(verify_vanilla("AWS4-HMAC-SHA256", NULL, SUITE_NOW, &e), SIGV4_E_INCOMPLETE);
	CHECK_STR(e.message, "Authorization header requires 'Credential' parameter. Authorization "
		  "header requires 'Signature' parameter. Authorization header requires "
		  "'SignedHeaders' parameter. Authorization header requires existence of either a "
		  "'X-Amz-Date' or a 'Date' header. Authorization=AWS4-HMAC-SHA256");
	CHECK_EQ(verify_vanilla(spaced, SUITE_DATE, SUITE_NOW, &e), SIGV4_E_INCOMPLETE);
	snprintf(want, sizeof(want), "'" AKID "/" SUITE_SCOPE "' not a valid key=value pair "
		 "(missing equal-sign) in Authorization header: '%s'.", spaced);
	check_error(&e, "IncompleteSignatureException", want);
}

static void test_error_missing_date(void)
{
	const char *auth = VANILLA_AUTH(SUITE_CRED, "host;x-amz-date");
	char want[512];
	struct berr e;

	CHECK_EQ(verify_vanilla(auth, NULL, SUITE_NOW, &e), SIGV4_E_INCOMPLETE);
	snprintf(want, sizeof(want), "Authorization header requires existence of either a "
		 "'X-Amz-Date' or a 'Date' header. Authorization=%s", auth);
	check_error(&e, "IncompleteSignatureException", want);
}

static void test_error_bad_date(void)
{
	const char *auth = VANILLA_AUTH(SUITE_CRED, "host;x-amz-date");
	const char *bad[] = { "2015-08-30T12:36:00Z", "20151330T123600Z", "20150830T123600",
			      "20150830T126000Z", "20150830 123600Z", "" };
	char want[256];
	struct berr e;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(verify_vanilla(auth, bad[i], SUITE_NOW, &e), SIGV4_E_INCOMPLETE);
		snprintf(want, sizeof(want), "Date must be in ISO-8601 'basic format'. Got '%s'. "
			 "See http://en.wikipedia.org/wiki/ISO_8601", bad[i]);
		check_error(&e, "IncompleteSignatureException", want);
	}
}

static void test_error_bad_algorithm(void)
{
	struct berr e;

	CHECK_EQ(verify_vanilla("AWS4-HMAC-SHA512 " SUITE_CRED ", SignedHeaders=host;x-amz-date, "
				"Signature=00", SUITE_DATE, SUITE_NOW, &e), SIGV4_E_INCOMPLETE);
	check_error(&e, "IncompleteSignatureException", "Unsupported AWS 'algorithm': "
		    "'AWS4-HMAC-SHA512' (only AWS4-HMAC-SHA256 for now). ");
}

static void test_error_credential_shape(void)
{
	struct berr e;

	CHECK_EQ(verify_vanilla(VANILLA_AUTH("Credential=AKIDEXAMPLE/20150830/us-east-1/service",
					     "host;x-amz-date"), SUITE_DATE, SUITE_NOW, &e),
		 SIGV4_E_INCOMPLETE);
	check_error(&e, "IncompleteSignatureException", "Credential must have exactly 5 "
		    "slash-delimited elements, e.g. keyid/date/region/service/term, got "
		    "'AKIDEXAMPLE/20150830/us-east-1/service'");
	CHECK_EQ(verify_vanilla(VANILLA_AUTH(SUITE_CRED "/extra", "host;x-amz-date"), SUITE_DATE,
				SUITE_NOW, &e), SIGV4_E_INCOMPLETE);
	/* Trailing slashes are ignored, as AWS does. */
	CHECK_EQ(verify_vanilla(VANILLA_AUTH(SUITE_CRED "//", "host;x-amz-date"), SUITE_DATE,
				SUITE_NOW, &e), 0);
}

static void test_error_unknown_key(void)
{
	struct berr e;

	CHECK_EQ(verify_vanilla(VANILLA_AUTH("Credential=AKIDUNKNOWN/" SUITE_SCOPE,
					     "host;x-amz-date"), SUITE_DATE, SUITE_NOW, &e),
		 SIGV4_E_UNKNOWN_KEY);
	check_error(&e, "UnrecognizedClientException",
		    "The security token included in the request is invalid.");
}

static void test_error_wrong_scope(void)
{
	struct berr e;

	CHECK_EQ(verify_vanilla(VANILLA_AUTH("Credential=" AKID "/20150830/eu-west-1/service/"
					     "aws4_request", "host;x-amz-date"), SUITE_DATE,
				SUITE_NOW, &e), SIGV4_E_SCOPE);
	check_error(&e, "InvalidSignatureException",
		    "Credential should be scoped to a valid region, not 'eu-west-1'. ");
	CHECK_EQ(verify_vanilla(VANILLA_AUTH("Credential=" AKID "/20150830/us-east-1/ecs/"
					     "aws4_request", "host;x-amz-date"), SUITE_DATE,
				SUITE_NOW, &e), SIGV4_E_SCOPE);
	check_error(&e, "InvalidSignatureException",
		    "Credential should be scoped to correct service: 'service'. ");
	CHECK_EQ(verify_vanilla(VANILLA_AUTH("Credential=" AKID "/20150831/us-east-1/service/"
					     "aws4_request", "host;x-amz-date"), SUITE_DATE,
				SUITE_NOW, &e), SIGV4_E_SCOPE);
	check_error(&e, "InvalidSignatureException", "Date in Credential scope does not match "
		    "YYYYMMDD from ISO-8601 version of date from HTTP: '20150831' != '20150830', "
		    "from '20150830T123600Z'.");
	CHECK_EQ(verify_vanilla(VANILLA_AUTH("Credential=" AKID "/b/c/d/e", "host;x-amz-date"),
				SUITE_DATE, SUITE_NOW, &e), SIGV4_E_SCOPE);
	check_error(&e, "InvalidSignatureException", "Credential should be scoped to a valid "
		    "region, not 'c'. Credential should be scoped to correct service: 'service'. "
		    "Credential should be scoped with a valid terminator: 'aws4_request', not 'e'. "
		    "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date "
		    "from HTTP: 'b' != '20150830', from '20150830T123600Z'.");
}

static void test_error_signature_mismatch(void)
{
	struct berr e;

	CHECK_EQ(verify_vanilla(SIGV4_ALGORITHM " " SUITE_CRED ", SignedHeaders=host;x-amz-date, "
				"Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d"
				"763fbf30", SUITE_DATE, SUITE_NOW, &e), SIGV4_E_MISMATCH);
	check_error(&e, "InvalidSignatureException", MISMATCH_MSG);
	CHECK_EQ(verify_vanilla(SIGV4_ALGORITHM " " SUITE_CRED ", SignedHeaders=host;x-amz-date, "
				"Signature=5FA00FA31553B73EBF1942676E86291E8372FF2A2260956D9B8AAE1D"
				"763FBF31", SUITE_DATE, SUITE_NOW, &e), SIGV4_E_MISMATCH);
	CHECK_EQ(verify_vanilla(SIGV4_ALGORITHM " " SUITE_CRED ", SignedHeaders=host;x-amz-date, "
				"Signature=5fa0", SUITE_DATE, SUITE_NOW, &e), SIGV4_E_MISMATCH);
}

static void test_error_signed_headers(void)
{
	struct sigv4_verifier v = suite_verifier();
	const char *const required[] = { "X-Amz-Target", NULL };
	struct berr e;
	struct msg m;

	CHECK_EQ(verify_vanilla(VANILLA_AUTH(SUITE_CRED, "x-amz-date"), SUITE_DATE, SUITE_NOW, &e),
		 SIGV4_E_INVALID);
	check_error(&e, "InvalidSignatureException",
		    "'Host' must be a 'SignedHeader' in the AWS Authorization.");
	CHECK_EQ(verify_vanilla(VANILLA_AUTH(SUITE_CRED, "host;my-header;x-amz-date"), SUITE_DATE,
				SUITE_NOW, &e), SIGV4_E_INCOMPLETE);
	check_error(&e, "IncompleteSignatureException", "'my-header' is named as a SignedHeader, "
		    "but it does not exist in the HTTP request.");
	msg_from_vector(&m, &suite[0], 1);
	v.required_signed = required;
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW, &e, NULL), SIGV4_E_INVALID);
	check_error(&e, "InvalidSignatureException",
		    "'X-Amz-Target' must be a 'SignedHeader' in the AWS Authorization.");
}

static void test_error_presigned_query(void)
{
	struct sigv4_verifier v = suite_verifier();
	struct berr e;
	struct msg m;

	msg_from_vector(&m, &suite[0], 1);
	m.req.query = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Signature=00";
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW, &e, NULL), SIGV4_E_INVALID);
	check_error(&e, "InvalidSignatureException", "Found both 'X-Amz-Algorithm' as a "
		    "query-string param and 'Authorization' as HTTP header.");
	m.req.n_headers--;
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW, &e, NULL), SIGV4_E_INCOMPLETE);
}

/* AWS's own wording; the window is max_skew either side of now, inclusive. */
static void test_skew_both_directions(void)
{
	const char *auth = VANILLA_AUTH(SUITE_CRED, "host;x-amz-date");
	struct berr e;

	CHECK_EQ(verify_vanilla(auth, SUITE_DATE, SUITE_NOW + 900, &e), 0);
	CHECK_EQ(verify_vanilla(auth, SUITE_DATE, SUITE_NOW - 900, &e), 0);
	CHECK_EQ(verify_vanilla(auth, SUITE_DATE, SUITE_NOW + 901, &e), SIGV4_E_EXPIRED);
	check_error(&e, "InvalidSignatureException", "Signature expired: 20150830T123600Z is now "
		    "earlier than 20150830T123601Z (20150830T125101Z - 15 min.)");
	CHECK_EQ(verify_vanilla(auth, SUITE_DATE, SUITE_NOW - 901, &e), SIGV4_E_EXPIRED);
	check_error(&e, "InvalidSignatureException", "Signature not yet current: 20150830T123600Z "
		    "is still later than 20150830T123559Z (20150830T122059Z + 15 min.)");
}

static void test_skew_parameter(void)
{
	struct sigv4_verifier v = suite_verifier();
	struct berr e;
	struct msg m;

	msg_from_vector(&m, &suite[0], 1);
	v.max_skew = 300;
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW + 300, &e, NULL), 0);
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW + 301, &e, NULL), SIGV4_E_EXPIRED);
	CHECK_STR(e.message, "Signature expired: 20150830T123600Z is now earlier than "
		  "20150830T123601Z (20150830T124101Z - 5 min.)");
	v.max_skew = 90;
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW - 91, &e, NULL), SIGV4_E_EXPIRED);
	CHECK_STR(e.message, "Signature not yet current: 20150830T123600Z is still later than "
		  "20150830T123559Z (20150830T123429Z + 90 sec.)");
}

/* Without X-Amz-Date, AWS takes the HTTP Date header as the request time. */
static void test_date_header_fallback(void)
{
	struct sigv4_verifier v = suite_verifier();
	unsigned char key[SIGV4_KEY_LEN], mac[32];
	unsigned int mac_len = 0;
	char sig[65], *creq, *sts;
	struct msg m;

	msg_init(&m, "GET", "/", "", "");
	msg_add(&m, "Host", "example.amazonaws.com");
	msg_add(&m, "Date", "Sun, 30 Aug 2015 12:36:00 GMT");
	creq = sigv4_canonical_request(&m.req, "date;host");
	sts = sigv4_string_to_sign(SUITE_DATE, SUITE_SCOPE, creq);
	CHECK_EQ(sigv4_signing_key(SECRET, "20150830", "us-east-1", "service", key), 0);
	CHECK(HMAC(EVP_sha256(), key, sizeof(key), (unsigned char *)sts, strlen(sts), mac,
		   &mac_len) != NULL);
	for (size_t i = 0; i < 32; i++)
		sprintf(sig + 2 * i, "%02x", mac[i]);
	snprintf(m.auth, sizeof(m.auth), SIGV4_ALGORITHM " " SUITE_CRED ", SignedHeaders=date;host, "
		 "Signature=%s", sig);
	msg_add(&m, "Authorization", m.auth);
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW, NULL, NULL), 0);
	m.h[1].value = "Sun, 30 Aug 2015 12:36:01 GMT";
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW, NULL, NULL), SIGV4_E_MISMATCH);
	m.h[1].value = "yesterday";
	CHECK_EQ(sigv4_verify(&m.req, &v, SUITE_NOW, NULL, NULL), SIGV4_E_INCOMPLETE);
	free(creq);
	free(sts);
}

/* The second line of the canonical request of GET path?query. */
static char *canonical_line(const char *path, const char *query, int line)
{
	struct msg m;
	char *creq, *p, *end;

	msg_init(&m, "GET", path, query, "");
	msg_add(&m, "Host", "h");
	creq = sigv4_canonical_request(&m.req, "host");
	if (!creq)
		return NULL;
	p = creq;
	for (int i = 0; i < line && p; i++)
		p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL;
	end = p ? strchr(p, '\n') : NULL;
	if (end)
		*end = '\0';
	memmove(creq, p ? p : "", strlen(p ? p : "") + 1);
	return creq;
}

static void test_canonical_path(void)
{
	static const char *const cases[][2] = {
		{ "/", "/" }, { "", "/" }, { NULL, "/" }, { "//", "/" }, { "/./", "/" },
		{ "/a/./b/../c", "/a/c" }, { "/a/b/..", "/a" }, { "/../..", "/" },
		{ "/a//b//", "/a/b/" }, { "/a%20b", "/a%2520b" }, { "/a b", "/a%20b" },
		{ "/~user/x_y-z.1", "/~user/x_y-z.1" }, { "/a:b@c", "/a%3Ab%40c" },
		{ "/./example", "/example" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = canonical_line(cases[i][0], "", 1);

		CHECK_STR(got, cases[i][1]);
		free(got);
	}
}

static void test_canonical_query(void)
{
	static const char *const cases[][2] = {
		{ "b=2&a=1&A=0", "A=0&a=1&b=2" }, { "a=2&a=1", "a=1&a=2" }, { "a", "a=" },
		{ "k=a%20b", "k=a%20b" }, { "k=a+b", "k=a%2Bb" }, { "k=%zz%4", "k=%25zz%254" },
		{ "a&&b=1&", "a=&b=1" }, { "sp ace=x y", "sp%20ace=x%20y" }, { "k=%7e%2f", "k=~%2F" },
		{ "", "" }, { NULL, "" }, { "=v", "=v" }, { "a=b=c", "a=b%3Dc" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *got = canonical_line("/", cases[i][0], 2);

		CHECK_STR(got, cases[i][1]);
		free(got);
	}
}

static void test_canonical_header_values(void)
{
	struct msg m;
	char *creq;

	msg_init(&m, "GET", "/", "", "");
	msg_add(&m, "Host", "h");
	msg_add(&m, "X-Multi", "  a \t b\n   c  ");
	msg_add(&m, "x-multi", "");
	msg_add(&m, "X-MULTI", "d");
	creq = sigv4_canonical_request(&m.req, "host;x-multi");
	CHECK_CONTAINS(creq, "\nhost:h\nx-multi:a b c,,d\n\nhost;x-multi\n");
	free(creq);
	CHECK(sigv4_canonical_request(NULL, "host") == NULL);
	CHECK(sigv4_canonical_request(&m.req, NULL) == NULL);
	CHECK(sigv4_string_to_sign(NULL, "s", "c") == NULL);
}

UNIT_MAIN(test_suite_canonical_requests, test_suite_strings_to_sign, test_suite_signatures_verify,
	  test_suite_sign_reproduces, test_iam_documentation_example, test_aws_cli_list_clusters,
	  test_aws_cli_session_token, test_round_trip, test_round_trip_session_token,
	  test_round_trip_content_sha256, test_key_rotation, test_header_case_insensitive,
	  test_sign_rejects_bad_input, test_error_missing_token, test_error_incomplete_header,
	  test_error_missing_date, test_error_bad_date, test_error_bad_algorithm,
	  test_error_credential_shape, test_error_unknown_key, test_error_wrong_scope,
	  test_error_signature_mismatch, test_error_signed_headers, test_error_presigned_query,
	  test_skew_both_directions, test_skew_parameter, test_date_header_fallback,
	  test_canonical_path, test_canonical_query, test_canonical_header_values)
