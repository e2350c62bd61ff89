/* SPDX-License-Identifier: MIT */
/* image_ref.c: image references: [registry/]name[:tag][@sha256:digest], normalised like docker. */
#include "runtime/image_internal.h"

#include <errno.h>
#include <string.h>

#include "common/util.h"

static int copy_out(char *dst, size_t len, const char *src, size_t n)
{
	if (!dst && !len)
		return 0;
	if (!dst || n >= len)
		return -ENAMETOOLONG;
	memcpy(dst, src, n);
	dst[n] = '\0';
	return 0;
}

/* ---------------------------------------------------------------- reference parsing */

static bool is_lower_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

static bool is_alnum(char c)
{
	return is_lower_alnum(c) || (c >= 'A' && c <= 'Z');
}

/* separator := [_.] | __ | [-]+ */
static bool separator_ok(const char *s, size_t n)
{
	if (n == 1 && (s[0] == '.' || s[0] == '_'))
		return true;
	if (n == 2 && s[0] == '_' && s[1] == '_')
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '-')
			return false;
	return true;
}

/* path-component := [a-z0-9]+ (separator [a-z0-9]+)* */
static bool path_component_ok(const char *s, size_t n)
{
	size_t i = 0;

	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	while (i < n) {
		size_t j = i;
		while (j < n && !is_lower_alnum(s[j]))
			j++;
		if (j > i && !separator_ok(s + i, j - i))
			return false;
		while (j < n && is_lower_alnum(s[j]))
			j++;
		i = j;
	}
	return true;
}

static bool host_label_ok(const char *s, size_t n)
{
	if (n == 0 || !is_alnum(s[0]) || !is_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '-')
			return false;
	return true;
}

/* domain := label ('.' label)* (':' port)? */
static bool domain_ok(const char *s, size_t n)
{
	const char *colon = memchr(s, ':', n);
	size_t host_len = colon ? (size_t)(colon - s) : n;
	size_t i = 0;

	if (colon) {
		size_t plen = n - host_len - 1;
		unsigned port = 0;
		if (plen == 0 || plen > 5)
			return false;
		for (size_t k = 0; k < plen; k++) {
			if (colon[1 + k] < '0' || colon[1 + k] > '9')
				return false;
			port = port * 10 + (unsigned)(colon[1 + k] - '0');
		}
		if (port == 0 || port > 65535)
			return false;
	}
	while (i <= host_len) {
		const char *dot = memchr(s + i, '.', host_len - i);
		size_t len = dot ? (size_t)(dot - (s + i)) : host_len - i;
		if (!host_label_ok(s + i, len))
			return false;
		i += len + 1;
	}
	return true;
}

/* Like docker: the first component is a registry when it has '.', ':', capitals or is
 * "localhost". */
static bool looks_like_domain(const char *s, size_t n)
{
	if (n == 9 && memcmp(s, "localhost", 9) == 0)
		return true;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '.' || s[i] == ':' || (s[i] >= 'A' && s[i] <= 'Z'))
			return true;
	return false;
}

bool image_name_ok(const char *s, size_t n)
{
	const char *slash = memchr(s, '/', n);
	size_t i = 0;

	if (n == 0 || n >= IMAGE_NAME_MAX)
		return false;
	if (slash && looks_like_domain(s, (size_t)(slash - s))) {
		if (!domain_ok(s, (size_t)(slash - s)))
			return false;
		i = (size_t)(slash - s) + 1;
	}
	for (;;) {
		const char *end = memchr(s + i, '/', n - i);
		size_t len = end ? (size_t)(end - (s + i)) : n - i;
		if (!path_component_ok(s + i, len))
			return false;
		if (!end)
			return true;
		i += len + 1;
	}
}

/* tag := [A-Za-z0-9_][A-Za-z0-9_.-]{0,127} */
bool image_tag_ok(const char *s, size_t n)
{
	if (n == 0 || n >= IMAGE_TAG_MAX || !(is_alnum(s[0]) || s[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_alnum(s[i]) && s[i] != '_' && s[i] != '.' && s[i] != '-')
			return false;
	return true;
}

bool image_digest_ok(const char *s)
{
	size_t plen = strlen(DIGEST_PREFIX);

	return strncmp(s, DIGEST_PREFIX, plen) == 0 && image_is_hex64(s + plen);
}

/* docker.io/library/busybox, library/busybox and busybox are one image. */
static void name_normalise(const char **s, size_t *n)
{
	static const char *const hubs[] = { "docker.io/", "index.docker.io/" };

	for (size_t i = 0; i < ARRAY_SIZE(hubs); i++) {
		size_t len = strlen(hubs[i]);
		const char *slash;
		if (*n <= len || memcmp(*s, hubs[i], len) != 0)
			continue;
		/* "docker.io/registry.example.com/x" would change meaning without its prefix. */
		slash = memchr(*s + len, '/', *n - len);
		if (slash && looks_like_domain(*s + len, (size_t)(slash - (*s + len))))
			break;
		*s += len;
		*n -= len;
		break;
	}
	if (*n > 8 && memcmp(*s, "library/", 8) == 0 && !memchr(*s + 8, '/', *n - 8)) {
		*s += 8;
		*n -= 8;
	}
}

int image_ref_parse(const char *ref, char *name, size_t name_len, char *tag, size_t tag_len,
		    char *digest, size_t digest_len)
{
	const char *at, *slash, *tail, *colon, *nm = ref, *tg;
	size_t left, nm_len, tg_len;
	int rc;

	if (!ref)
		return -EINVAL;
	at = strchr(ref, '@');
	left = at ? (size_t)(at - ref) : strlen(ref);
	if (at && !image_digest_ok(at + 1))
		return -EINVAL;
	slash = memrchr(ref, '/', left);
	tail = slash ? slash + 1 : ref;
	colon = memrchr(tail, ':', left - (size_t)(tail - ref));
	nm_len = colon ? (size_t)(colon - ref) : left;
	tg = colon ? colon + 1 : at ? "" : "latest";
	tg_len = colon ? left - nm_len - 1 : strlen(tg);
	if ((colon && !image_tag_ok(tg, tg_len)) || !image_name_ok(ref, nm_len))
		return -EINVAL;
	name_normalise(&nm, &nm_len);
	rc = copy_out(name, name_len, nm, nm_len);
	if (!rc)
		rc = copy_out(tag, tag_len, tg, tg_len);
	if (!rc)
		rc = copy_out(digest, digest_len, at ? at + 1 : "", at ? strlen(at + 1) : 0);
	return rc;
}
