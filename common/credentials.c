/* SPDX-License-Identifier: MIT */
/* credentials.c: finds AWS access keys in the environment or in shared-credentials INI files. */
#include "common/credentials.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fileio.h"

#define CREDENTIALS_FILE_MAX (1 << 20)

/* What the parser collects for the wanted profile; the strings point into the caller's copy. */
struct ini_found {
	const char *key_id;
	const char *secret;
	const char *token;
	int seen_profile;
};

static char *trim(char *s)
{
	char *end;

	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		*--end = '\0';
	return s;
}

static int section_matches(char *section, const char *profile)
{
	if (strcmp(section, profile) == 0)
		return 1;
	/* The config-file spelling "[profile NAME]" is accepted too. */
	return strncmp(section, "profile ", 8) == 0 && strcmp(trim(section + 8), profile) == 0;
}

static void take_key(struct ini_found *f, const char *key, const char *value)
{
	if (strcasecmp(key, "aws_access_key_id") == 0)
		f->key_id = value;
	else if (strcasecmp(key, "aws_secret_access_key") == 0)
		f->secret = value;
	else if (strcasecmp(key, "aws_session_token") == 0)
		f->token = value;
}

/* Handles one line (modified in place). Returns 0 or -EINVAL. */
static int parse_line(char *raw, const char *profile, int *in_profile, struct ini_found *f)
{
	char *line = trim(raw), *sep;

	if (!*line || *line == '#' || *line == ';')
		return 0;
	if (*line == '[') {
		char *close = strchr(line, ']');
		if (!close)
			return -EINVAL;
		*close = '\0';
		*in_profile = section_matches(trim(line + 1), profile);
		f->seen_profile |= *in_profile;
		return 0;
	}
	sep = strchr(line, '=');
	if (!sep)
		sep = strchr(line, ':');
	if (!sep) {
		/* An indented line continues a nested value (config files); nothing we need. */
		return isspace((unsigned char)raw[0]) ? 0 : -EINVAL;
	}
	*sep = '\0';
	if (*in_profile)
		take_key(f, trim(line), trim(sep + 1));
	return 0;
}

static int dup_found(const struct ini_found *f, struct credentials *out)
{
	out->access_key_id = strdup(f->key_id);
	out->secret_access_key = strdup(f->secret);
	out->session_token = f->token && *f->token ? strdup(f->token) : NULL;
	if (!out->access_key_id || !out->secret_access_key ||
	    (f->token && *f->token && !out->session_token)) {
		credentials_clear(out);
		return -ENOMEM;
	}
	return 0;
}

int credentials_parse(const char *text, const char *profile, struct credentials *out,
		      char *err, size_t errlen)
{
	struct ini_found found = { 0 };
	char *copy, *line, *next;
	int in_profile = 0, lineno = 0, ret = 0;

	memset(out, 0, sizeof(*out));
	copy = strdup(text);
	if (!copy)
		return -ENOMEM;
	for (line = copy; line && ret == 0; line = next) {
		next = strchr(line, '\n');
		if (next)
			*next++ = '\0';
		lineno++;
		ret = parse_line(line, profile, &in_profile, &found);
	}
	if (ret < 0) {
		snprintf(err, errlen, "line %d: expected \"[profile]\" or \"key = value\"", lineno);
		goto out;
	}
	if (!found.key_id || !found.secret || !*found.key_id || !*found.secret) {
		snprintf(err, errlen, found.seen_profile ?
			 "profile \"%s\" lacks aws_access_key_id or aws_secret_access_key" :
			 "no profile \"%s\"", profile);
		ret = -ENOENT;
		goto out;
	}
	ret = dup_found(&found, out);
	if (ret < 0)
		snprintf(err, errlen, "out of memory");
out:
	explicit_bzero(copy, strlen(text));
	free(copy);
	return ret;
}

int credentials_load_file(const char *path, const char *profile, struct credentials *out,
			  char *err, size_t errlen)
{
	char *text = NULL, why[256];
	size_t len = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	ret = file_read_all(path, CREDENTIALS_FILE_MAX, &text, &len);
	if (ret < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(-ret));
		return ret;
	}
	ret = credentials_parse(text, profile, out, why, sizeof(why));
	if (ret < 0)
		snprintf(err, errlen, "%s: %s", path, why);
	explicit_bzero(text, len);
	free(text);
	return ret;
}

static int from_environment(struct credentials *out)
{
	const char *id = getenv("AWS_ACCESS_KEY_ID");
	const char *secret = getenv("AWS_SECRET_ACCESS_KEY");
	const char *token = getenv("AWS_SESSION_TOKEN");
	struct ini_found f = { .key_id = id, .secret = secret, .token = token };

	if (!id || !*id || !secret || !*secret)
		return -ENOENT;
	return dup_found(&f, out);
}

static void set_source(char *source, size_t len, const char *what)
{
	if (source && len)
		snprintf(source, len, "%s", what);
}

/* Tries one file; a missing or unreadable file counts as "not here" so later ones are tried. */
static int try_file(const char *path, const char *profile, struct credentials *out,
		    char *note, size_t note_len)
{
	char why[512];
	int ret = credentials_load_file(path, profile, out, why, sizeof(why));

	snprintf(note, note_len, "%s", ret == -EACCES ? " (permission denied)" : "");
	if (ret == -ENOTDIR || ret == -EACCES)
		return -ENOENT;
	if (ret < 0 && ret != -ENOENT)
		snprintf(note, note_len, "%s", why);
	return ret;
}

int credentials_resolve(const char *profile, const char *const *fallback_paths,
			struct credentials *out, char *source, size_t source_len,
			char *err, size_t errlen)
{
	const char *shared = getenv("AWS_SHARED_CREDENTIALS_FILE");
	char looked[1024] = "the environment (AWS_ACCESS_KEY_ID)", note[512];
	size_t used = strlen(looked);
	int ret;

	memset(out, 0, sizeof(*out));
	ret = from_environment(out);
	if (ret != -ENOENT) {
		set_source(source, source_len, "environment");
		return ret;
	}
	for (size_t i = 0; ; i++) {
		const char *path = i == 0 ? shared : fallback_paths ? fallback_paths[i - 1] : NULL;
		if (i > 0 && !path)
			break;
		if (!path || !*path)
			continue;
		ret = try_file(path, profile, out, note, sizeof(note));
		if (ret == 0)
			set_source(source, source_len, path);
		if (ret < 0 && ret != -ENOENT)
			snprintf(err, errlen, "%s", note);
		if (ret != -ENOENT)
			return ret;
		used += (size_t)snprintf(looked + used, sizeof(looked) - used, ", %s%s", path, note);
		if (used >= sizeof(looked))
			used = sizeof(looked) - 1;
	}
	snprintf(err, errlen, "no credentials for profile \"%s\" in %s", profile, looked);
	return -ENOENT;
}

void credentials_clear(struct credentials *c)
{
	if (!c)
		return;
	if (c->access_key_id)
		explicit_bzero(c->access_key_id, strlen(c->access_key_id));
	if (c->secret_access_key)
		explicit_bzero(c->secret_access_key, strlen(c->secret_access_key));
	if (c->session_token)
		explicit_bzero(c->session_token, strlen(c->session_token));
	free(c->access_key_id);
	free(c->secret_access_key);
	free(c->session_token);
	memset(c, 0, sizeof(*c));
}
