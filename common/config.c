/* SPDX-License-Identifier: MIT */
/* config.c: a table of typed keys, read from a file (snake_case) and flags (kebab-case). */
#include "common/config.h"

#include <ctype.h>
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/fileio.h"

enum key_type { KEY_STR, KEY_INT, KEY_BOOL };

struct key {
	const char *name;
	enum key_type type;
	size_t offset;
	int64_t min, max;
	const char *help;
};

#define S(n, h) { #n, KEY_STR, offsetof(struct config, n), 0, 0, h }
#define I(n, lo, hi, h) { #n, KEY_INT, offsetof(struct config, n), lo, hi, h }
#define B(n, h) { #n, KEY_BOOL, offsetof(struct config, n), 0, 1, h }

static const struct key keys[] = {
	S(listen, "address and port the API, dashboard and /metrics listen on"),
	S(data_dir, "state, images, RRD files, ledger and outbox live below this directory"),
	S(log_dir, "task log files (default DATA_DIR/log)"),
	S(cgroup_root, "where the cgroup filesystems are mounted"),
	S(cgroup_parent, "cgroup below which every task's cgroup is made"),
	S(region, "AWS region in ARNs and in the SigV4 credential scope"),
	S(account_id, "12-digit account id in ARNs"),
	S(log_level, "error, warn, info or debug"),
	I(max_connections, 1, 1000000, "concurrent HTTP connections"),
	I(max_connections_per_ip, 1, 1000000, "concurrent HTTP connections from one address"),
	I(idle_timeout, 1, 86400, "seconds before an idle HTTP connection is closed"),
	I(max_body_bytes, 1024, 1LL << 30, "largest API request body (413 beyond)"),
	I(max_json_depth, 2, 1000, "deepest nesting accepted in a JSON request"),
	I(image_max_bytes, 1024, 1LL << 40, "largest image archive accepted by an import"),
	I(signature_max_skew, 1, 86400, "seconds a request's X-Amz-Date may differ from now"),
	I(stopped_task_retention, 0, 30 * 86400, "seconds a STOPPED task stays describable"),
	I(task_log_max_bytes, 4096, 1LL << 40, "size of one task log file before it rotates"),
	I(task_log_max_files, 1, 100, "task log files kept per container"),
	I(launch_pool_size, 0, 64, "task supervisors kept forked ahead with fresh namespaces, so "
	  "that a launch skips that work (0 = none)"),
	B(cgroup_favor_dynmods, "turn on the cgroup2 mount option favordynmods at start, so that "
	  "moving a process into a cgroup does not wait for an RCU grace period (host-wide)"),
	I(task_healthy_after, 0, 3600, "seconds a service task without health checks must run "
	  "before it counts as healthy (ECS: 40)"),
	I(collect_interval, 1, 60, "seconds between samples of every task's cgroup statistics"),
	I(metrics_window, 600, 86400, "seconds of raw samples kept in memory for queries and alarms"),
	S(rrdcached_address, "rrdcached address (unix:/path or host:port); empty = write RRD files "
	  "directly"),
	I(rrd_max_bytes, 0, 1LL << 50, "cap on the size of DATA_DIR/rrd, 0 = none; past it the "
	  "least recently written files of stopped tasks go first"),
	I(webhook_connect_timeout_ms, 100, 600000, "milliseconds a webhook delivery may take to "
	  "connect"),
	I(webhook_timeout_ms, 100, 600000, "milliseconds a webhook delivery attempt may take in "
	  "all, answer included"),
	I(webhook_retry_initial_ms, 10, 3600000, "delay before the first retry of a failed webhook "
	  "delivery; it doubles (with jitter) up to webhook_retry_max_ms"),
	I(webhook_retry_max_ms, 10, 86400000, "longest delay between two webhook delivery "
	  "attempts"),
	I(webhook_max_age, 1, 7 * 86400, "seconds a webhook notification is retried before it is "
	  "given up (moved to DATA_DIR/outbox/dead)"),
	S(webhook_allow_hosts, "comma-separated addresses or CIDRs (169.254.10.1, fe80::/10) that "
	  "webhooks may call although they are link-local or cloud metadata addresses"),
	I(scaling_alarm_period, 1, 3600, "Period in seconds of the alarms a target tracking "
	  "policy creates (Application Auto Scaling: 60)"),
	I(alarm_max_count, 1, 10000000, "metric and composite alarms berthd keeps at most "
	  "(PutMetricAlarm answers LimitExceeded past it)"),
	B(bpf, "load the eBPF probes (false: cgroup statistics alone)"),
	B(bpf_network, "eBPF: bytes and packets per task (cgroup_skb ingress/egress)"),
	B(bpf_sched, "eBPF: run-queue latency and on-CPU time per task"),
	B(bpf_oom, "eBPF: the kernel's OOM kills, as they happen"),
	B(bpf_procs, "eBPF: forks, execs and exits per task"),
	B(bpf_blkio, "eBPF: block I/O bytes and latency per task"),
	I(bpf_max_cgroups, 64, 1 << 20, "cgroups the eBPF maps can follow (two to three per task)"),
	B(bpf_sched_wakeups, "eBPF: time run-queue waits from wakeup tracepoints, not the kernel's record"),
	S(web_root, "dashboard assets (HTML, CSS, JS); empty = web/static of the source tree when "
	  "run from its build directory, else /usr/share/berth/web"),
	S(javascript_root, "Debian's JavaScript libraries (libjs-chart.js), served at /javascript/"),
	I(session_ttl, 60, 30 * 86400, "seconds a dashboard sign-in lasts"),
	S(price_sheet, "billing price file (JSON price sheets with effective dates); empty = "
	  "Fargate us-east-1 Linux list prices"),
	I(ledger_retention_months, 13, 1200, "months of usage ledger segments kept"),
	I(ledger_checkpoint_interval, 1, 3600, "seconds between checkpoints of the ledger's open "
	  "hours (a crash recovers the use since from the cgroup counters)"),
};

/* true/false, yes/no, on/off, 1/0; -1 for anything else. */
static int parse_bool(const char *v)
{
	static const char *const t[] = { "true", "yes", "on", "1" }, *const f[] = { "false", "no",
										  "off", "0" };

	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(v, t[i]))
			return 1;
		if (!strcasecmp(v, f[i]))
			return 0;
	}
	return -1;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->listen, sizeof(c->listen), "127.0.0.1:8080");
	snprintf(c->data_dir, sizeof(c->data_dir), "./var");
	snprintf(c->cgroup_root, sizeof(c->cgroup_root), "/sys/fs/cgroup");
	snprintf(c->cgroup_parent, sizeof(c->cgroup_parent), "berth.slice");
	snprintf(c->region, sizeof(c->region), "us-east-1");
	snprintf(c->account_id, sizeof(c->account_id), "000000000000");
	snprintf(c->log_level, sizeof(c->log_level), "info");
	c->max_connections = 1024;
	c->max_connections_per_ip = 128;
	c->idle_timeout = 30;
	c->max_body_bytes = 1 << 20;
	c->max_json_depth = 64;
	c->image_max_bytes = 4LL << 30;
	c->signature_max_skew = 900;
	c->stopped_task_retention = 3600;
	c->task_log_max_bytes = 10 << 20;
	c->task_log_max_files = 3;
	c->launch_pool_size = 4;
	c->cgroup_favor_dynmods = 1;
	c->task_healthy_after = 40;
	c->collect_interval = 5;
	c->metrics_window = 3 * 3600;
	c->rrd_max_bytes = 10LL << 30;
	c->webhook_connect_timeout_ms = 5000;
	c->webhook_timeout_ms = 15000;
	c->webhook_retry_initial_ms = 5000;
	c->webhook_retry_max_ms = 3600000;
	c->webhook_max_age = 86400;
	c->scaling_alarm_period = 60;
	c->alarm_max_count = 100000;
	c->bpf = c->bpf_network = c->bpf_sched = c->bpf_oom = c->bpf_procs = c->bpf_blkio = 1;
	c->bpf_max_cgroups = 4096;
	snprintf(c->javascript_root, sizeof(c->javascript_root), "/usr/share/javascript");
	c->session_ttl = 12 * 3600;
	c->ledger_retention_months = 13;
	c->ledger_checkpoint_interval = 60;
}

static const struct key *key_find(const char *name, size_t len, int kebab)
{
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const char *k = keys[i].name;
		size_t j;
		if (strlen(k) != len)
			continue;
		for (j = 0; j < len; j++) {
			char want = (kebab && k[j] == '_') ? '-' : k[j];
			if (name[j] != want)
				break;
		}
		if (j == len)
			return &keys[i];
	}
	return NULL;
}

/* Sets one key from text; on error fills err naming where (the caller's prefix). */
static int key_set(struct config *c, const struct key *k, const char *val, const char *where,
		   char *err, size_t errlen)
{
	char *field = (char *)c + k->offset;
	char *end;
	long long v;

	if (k->type == KEY_STR) {
		if (strlen(val) >= CONFIG_STR_MAX) {
			snprintf(err, errlen, "%s: value of '%s' is longer than %d characters", where,
				 k->name, CONFIG_STR_MAX - 1);
			return -EINVAL;
		}
		snprintf(field, CONFIG_STR_MAX, "%s", val);
		return 0;
	}
	if (k->type == KEY_BOOL) {
		int b = parse_bool(val);
		if (b < 0) {
			snprintf(err, errlen, "%s: '%s' must be true or false, got '%s'", where,
				 k->name, val);
			return -EINVAL;
		}
		*(int64_t *)field = b;
		return 0;
	}
	errno = 0;
	v = strtoll(val, &end, 10);
	if (errno || end == val || *end != '\0') {
		snprintf(err, errlen, "%s: '%s' must be an integer, got '%s'", where, k->name, val);
		return -EINVAL;
	}
	if (v < k->min || v > k->max) {
		snprintf(err, errlen, "%s: '%s' must be between %lld and %lld, got %lld", where,
			 k->name, (long long)k->min, (long long)k->max, v);
		return -EINVAL;
	}
	*(int64_t *)field = v;
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (isspace((unsigned char)*s))
		s++;
	e = s + strlen(s);
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	return s;
}

static int parse_line(struct config *c, char *line, const char *path, int lineno, char *err,
		      size_t errlen)
{
	char where[CONFIG_STR_MAX + 32];
	const struct key *k;
	char *eq, *name, *val;
	size_t vlen;

	snprintf(where, sizeof(where), "%s:%d", path, lineno);
	line = trim(line);
	if (*line == '\0' || *line == '#' || *line == ';')
		return 0;
	eq = strchr(line, '=');
	if (!eq) {
		snprintf(err, errlen, "%s: expected 'key = value', got '%.80s'", where, line);
		return -EINVAL;
	}
	*eq = '\0';
	name = trim(line);
	val = trim(eq + 1);
	vlen = strlen(val);
	if (vlen >= 2 && val[0] == '"' && val[vlen - 1] == '"') {
		val[vlen - 1] = '\0';
		val++;
	}
	k = key_find(name, strlen(name), 0);
	if (!k) {
		snprintf(err, errlen, "%s: unknown key '%s'", where, name);
		return -EINVAL;
	}
	return key_set(c, k, val, where, err, errlen);
}

int config_load_file(struct config *c, const char *path, char *err, size_t errlen)
{
	char *buf, *line, *save = NULL;
	int ret, lineno = 0;

	ret = file_read_all(path, 1 << 20, &buf, NULL);
	if (ret < 0) {
		snprintf(err, errlen, "%s: cannot read config: %s", path, strerror(-ret));
		return ret;
	}
	/* strtok_r would skip empty lines and so miscount; walk newlines by hand. */
	for (line = buf; line; line = save) {
		save = strchr(line, '\n');
		if (save)
			*save++ = '\0';
		lineno++;
		ret = parse_line(c, line, path, lineno, err, errlen);
		if (ret < 0)
			break;
	}
	free(buf);
	return ret;
}

static int find_config_flag(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--") == 0)
			break;
		if (strcmp(a, "--config") == 0) {
			if (i + 1 >= argc) {
				snprintf(err, errlen, "--config needs a file");
				return -EINVAL;
			}
			return config_load_file(c, argv[i + 1], err, errlen);
		}
		if (strncmp(a, "--config=", 9) == 0)
			return config_load_file(c, a + 9, err, errlen);
	}
	return 0;
}

int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen)
{
	int i, ret;

	ret = find_config_flag(c, argc, argv, err, errlen);
	if (ret < 0)
		return ret;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i], *val, *eq;
		const struct key *k;
		char where[300];
		size_t nlen;

		if (strcmp(a, "--") == 0)
			return i + 1;
		if (strncmp(a, "--", 2) != 0)
			return i;
		a += 2;
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (nlen == 6 && strncmp(a, "config", 6) == 0) {
			i += eq ? 0 : 1;
			continue;
		}
		k = key_find(a, nlen, 1);
		if (!k) {
			snprintf(err, errlen, "unknown flag '--%.*s' (see --help)", (int)nlen, a);
			return -EINVAL;
		}
		if (eq) {
			val = eq + 1;
		} else if (i + 1 < argc) {
			val = argv[++i];
		} else {
			snprintf(err, errlen, "flag '--%.*s' needs a value", (int)nlen, a);
			return -EINVAL;
		}
		snprintf(where, sizeof(where), "flag --%.*s", (int)nlen, a);
		ret = key_set(c, k, val, where, err, errlen);
		if (ret < 0)
			return ret;
	}
	return i;
}

void config_usage(const char *prog)
{
	struct config d;

	config_defaults(&d);
	printf("usage: %s [--config FILE] [--KEY VALUE]...\n\n"
	       "Every key of the config file (snake_case) is also a flag (kebab-case):\n", prog);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct key *k = &keys[i];
		char flag[64], def[CONFIG_STR_MAX];
		size_t j;
		for (j = 0; k->name[j] && j < sizeof(flag) - 1; j++)
			flag[j] = k->name[j] == '_' ? '-' : k->name[j];
		flag[j] = '\0';
		if (k->type == KEY_STR)
			snprintf(def, sizeof(def), "%s", (char *)&d + k->offset);
		else if (k->type == KEY_BOOL)
			snprintf(def, sizeof(def), "%s",
				 *(int64_t *)((char *)&d + k->offset) ? "true" : "false");
		else
			snprintf(def, sizeof(def), "%lld", (long long)*(int64_t *)((char *)&d + k->offset));
		printf("  --%-26s %s (default: %s)\n", flag, k->help, def[0] ? def : "-");
	}
}

int config_validate(const struct config *c, char *err, size_t errlen)
{
	size_t n = strlen(c->account_id);

	for (size_t i = 0; i < n; i++)
		if (!isdigit((unsigned char)c->account_id[i]))
			n = 0;
	if (n != 12) {
		snprintf(err, errlen, "'account_id' must be 12 digits, got '%s'", c->account_id);
		return -EINVAL;
	}
	n = strlen(c->region);
	for (size_t i = 0; i < strlen(c->region); i++)
		if (!islower((unsigned char)c->region[i]) && !isdigit((unsigned char)c->region[i]) &&
		    c->region[i] != '-')
			n = 0;
	if (n == 0) {
		snprintf(err, errlen, "'region' must be lower-case letters, digits and '-', got '%s'",
			 c->region);
		return -EINVAL;
	}
	if (!c->listen[0] || !c->data_dir[0] || !c->cgroup_parent[0] ||
	    strstr(c->cgroup_parent, "..") || c->cgroup_parent[0] == '/') {
		snprintf(err, errlen, "'listen', 'data_dir' and 'cgroup_parent' must be set, and "
			 "'cgroup_parent' must be a relative path without '..'");
		return -EINVAL;
	}
	return 0;
}
