/* SPDX-License-Identifier: MIT */
/* credentials.h: AWS access keys from the environment or an AWS shared-credentials (INI) file. */
#ifndef BERTH_CREDENTIALS_H
#define BERTH_CREDENTIALS_H

#include <stddef.h>

/* Owned strings; session_token is NULL when there is none. */
struct credentials {
	char *access_key_id;
	char *secret_access_key;
	char *session_token;
};

/* Parses shared-credentials text ("[profile]" sections of "key = value" lines, '#'/';' comments,
 * keys case-insensitive) and takes aws_access_key_id, aws_secret_access_key and the optional
 * aws_session_token of `profile`. On success returns 0 and fills *out (release with
 * credentials_clear). Returns -ENOENT when the profile or one of the two keys is missing, -EINVAL
 * on a malformed line (err then names the line), -ENOMEM; on error *out is left empty. */
int credentials_parse(const char *text, const char *profile, struct credentials *out,
		      char *err, size_t errlen);

/* Reads `path` and parses it as above. Returns 0, -errno from opening or reading the file, or a
 * credentials_parse error; err names the file. On error *out is left empty. */
int credentials_load_file(const char *path, const char *profile, struct credentials *out,
			  char *err, size_t errlen);

/* Looks where the AWS CLI looks: AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN)
 * from the environment, else the file named by AWS_SHARED_CREDENTIALS_FILE, else each of the
 * NULL-terminated `fallback_paths` in order (the first file holding `profile` wins; missing and
 * unreadable files are skipped). `source` (may be NULL) receives "environment" or the file's path.
 * Returns 0 and fills *out, -ENOENT when nothing was found (err says where it looked and why), or
 * the error of a file that was read but cannot be parsed. On error *out is left empty. */
int credentials_resolve(const char *profile, const char *const *fallback_paths,
			struct credentials *out, char *source, size_t source_len,
			char *err, size_t errlen);

/* Frees and wipes the strings; c stays usable (empty). NULL is a no-op. */
void credentials_clear(struct credentials *c);

#endif
