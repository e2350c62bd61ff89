/* SPDX-License-Identifier: MIT */
/* log.h: leveled logging to stderr, one line per message, "<module>: ..." by convention. */
#ifndef BERTH_LOG_H
#define BERTH_LOG_H

#include <stdbool.h>

enum log_level { LOG_ERROR, LOG_WARN, LOG_INFO, LOG_DEBUG };

/* Sets the most verbose level printed (default LOG_INFO). */
void log_set_level(enum log_level level);
/* Parses "error|warn|info|debug"; returns 0, or -EINVAL and leaves *out unchanged. */
int log_parse_level(const char *s, enum log_level *out);
/* Whether messages of level are printed (to skip work done only for them). */
bool log_enabled(enum log_level level);
void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_ERROR, __VA_ARGS__)
#define log_warn(...)  log_msg(LOG_WARN, __VA_ARGS__)
#define log_info(...)  log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
