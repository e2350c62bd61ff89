/* SPDX-License-Identifier: MIT */
/* awsclient_internal.h: what the awsclient_*.c files share (internal to common/awsclient). */
#ifndef BERTH_COMMON_AWSCLIENT_INTERNAL_H
#define BERTH_COMMON_AWSCLIENT_INTERNAL_H

#include <stddef.h>

/* Formats an error message into err[errlen] (nothing when err is NULL or errlen 0). */
void awsclient_set_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
