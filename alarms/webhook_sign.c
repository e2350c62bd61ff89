/* SPDX-License-Identifier: MIT */
/* webhook_sign.c: Standard Webhooks signatures - whsec_ secrets and HMAC-SHA256 over id.ts.body. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "alarms/actions_internal.h"

int wh_secret_decode(const char *secret, unsigned char *key, size_t *len)
{
	unsigned char tmp[WH_SECRET_MAX];
	size_t b64len, pad = 0;
	int n;

	if (!secret || strncmp(secret, "whsec_", 6) != 0)
		return -EINVAL;
	secret += 6;
	b64len = strlen(secret);
	if (b64len == 0 || b64len % 4 != 0 || b64len / 4 * 3 > sizeof(tmp))
		return -EINVAL;
	for (size_t i = 0; i < b64len; i++) {
		char c = secret[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || (c == '=' && i >= b64len - 2)))
			return -EINVAL;
	}
	if (secret[b64len - 1] == '=')
		pad++;
	if (secret[b64len - 2] == '=')
		pad++;
	if (pad == 1 && secret[b64len - 2] == '=')
		return -EINVAL;
	n = EVP_DecodeBlock(tmp, (const unsigned char *)secret, (int)b64len);
	if (n < 0 || (size_t)n < pad || (size_t)n - pad > *len || (size_t)n - pad < 16)
		return -EINVAL;
	*len = (size_t)n - pad;
	memcpy(key, tmp, *len);
	return 0;
}

void wh_secret_generate(char *out, size_t len)
{
	unsigned char key[32], b64[64];
	char hex[65];

	/* RAND_bytes only fails without entropy; the kernel's source is then the fallback. */
	if (RAND_bytes(key, sizeof(key)) != 1) {
		id_random_hex(hex, 64);
		for (size_t i = 0; i < sizeof(key); i++)
			sscanf(hex + 2 * i, "%2hhx", &key[i]);
	}
	EVP_EncodeBlock(b64, key, sizeof(key));
	snprintf(out, len, "whsec_%s", b64);
}

static int sign_one(const char *secret, const char *head, size_t head_len, const char *body,
		    size_t len, char *out, size_t outlen)
{
	unsigned char key[WH_SECRET_MAX], mac[EVP_MAX_MD_SIZE], b64[64];
	size_t klen = sizeof(key);
	unsigned int mlen = 0;
	unsigned char *msg, *ok;

	if (wh_secret_decode(secret, key, &klen) < 0)
		return -EINVAL;
	msg = malloc(head_len + len + 1);
	if (!msg)
		return -ENOMEM;
	memcpy(msg, head, head_len);
	memcpy(msg + head_len, body, len);
	ok = HMAC(EVP_sha256(), key, (int)klen, msg, head_len + len, mac, &mlen);
	free(msg);
	OPENSSL_cleanse(key, sizeof(key));
	if (!ok)
		return -EIO;
	EVP_EncodeBlock(b64, mac, (int)mlen);
	snprintf(out, outlen, "v1,%s", b64);
	return 0;
}

int wh_sign(const char *secret, const char *prev_secret, const char *id, long long ts,
	    const char *body, size_t len, char *out, size_t outlen)
{
	char head[128], one[128];
	int hl = snprintf(head, sizeof(head), "%s.%lld.", id, ts);
	int ret;

	if (hl < 0 || (size_t)hl >= sizeof(head))
		return -EINVAL;
	ret = sign_one(secret, head, (size_t)hl, body, len, out, outlen);
	if (ret < 0)
		return ret;
	if (prev_secret && *prev_secret) {
		ret = sign_one(prev_secret, head, (size_t)hl, body, len, one, sizeof(one));
		if (ret < 0)
			return ret;
		snprintf(out + strlen(out), outlen - strlen(out), " %s", one);
	}
	return 0;
}
