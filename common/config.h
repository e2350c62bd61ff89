/* SPDX-License-Identifier: MIT */
/* config.h: berthd's configuration, parsed once into a typed struct from a file and flags. */
#ifndef BERTH_CONFIG_H
#define BERTH_CONFIG_H

#include <stddef.h>
#include <stdint.h>

#define CONFIG_STR_MAX 256

struct config {
	char listen[CONFIG_STR_MAX];          /* ADDR:PORT */
	char data_dir[CONFIG_STR_MAX];
	char log_dir[CONFIG_STR_MAX];         /* task logs; empty = DATA_DIR/log */
	char cgroup_root[CONFIG_STR_MAX];
	char cgroup_parent[CONFIG_STR_MAX];
	char region[CONFIG_STR_MAX];
	char account_id[CONFIG_STR_MAX];
	char log_level[CONFIG_STR_MAX];
	int64_t max_connections;
	int64_t max_connections_per_ip;
	int64_t idle_timeout;                 /* seconds */
	int64_t max_body_bytes;
	int64_t max_json_depth;
	int64_t image_max_bytes;
	int64_t signature_max_skew;           /* seconds */
	int64_t stopped_task_retention;       /* seconds */
	int64_t task_log_max_bytes;
	int64_t task_log_max_files;
	int64_t launch_pool_size;             /* warm task supervisors kept ahead */
	int64_t cgroup_favor_dynmods;         /* boolean: mount option favordynmods on at start */
	int64_t task_healthy_after;           /* seconds */
	int64_t collect_interval;             /* seconds between metric samples */
	int64_t metrics_window;               /* seconds of raw samples kept in memory */
	char rrdcached_address[CONFIG_STR_MAX]; /* "" = write RRD files directly */
	int64_t rrd_max_bytes;                /* cap on the RRD directory, 0 = none */
	int64_t webhook_connect_timeout_ms;   /* per delivery attempt */
	int64_t webhook_timeout_ms;           /* whole attempt, answer included */
	int64_t webhook_retry_initial_ms;     /* first retry delay; doubles up to the max */
	int64_t webhook_retry_max_ms;
	int64_t webhook_max_age;              /* seconds a notification is retried */
	char webhook_allow_hosts[CONFIG_STR_MAX]; /* link-local/metadata addresses allowed */
	int64_t scaling_alarm_period;         /* seconds: target tracking's managed alarms */
	int64_t alarm_max_count;              /* alarms kept at most */
	int64_t bpf;                          /* booleans (0/1): all eBPF probes, then each */
	int64_t bpf_network, bpf_sched, bpf_oom, bpf_procs, bpf_blkio;
	int64_t bpf_max_cgroups;              /* entries of each per-cgroup map */
	int64_t bpf_sched_wakeups;            /* sched probe: own wakeup stamps, not the kernel's */
	char web_root[CONFIG_STR_MAX];        /* dashboard assets; "" = found at run time */
	char javascript_root[CONFIG_STR_MAX]; /* Debian's packaged JavaScript libraries */
	int64_t session_ttl;                  /* seconds a dashboard session lasts */
	char price_sheet[CONFIG_STR_MAX];     /* billing price file; "" = Fargate list prices */
	int64_t ledger_retention_months;      /* months of ledger segments kept */
	int64_t ledger_checkpoint_interval;   /* seconds between checkpoints of open hours */
};

/* Fills c with the defaults. */
void config_defaults(struct config *c);

/* Loads "key = value" lines from path over c. Returns 0, or -errno / -EINVAL with a message in
 * err that names the file, line and key; c may then be partly updated (startup stops). */
int config_load_file(struct config *c, const char *path, char *err, size_t errlen);

/* Applies --kebab-case flags (every key is a flag; `--config FILE` loads a file first, wherever it
 * stands). Returns the index of the first non-flag argument, or -EINVAL with err filled. */
int config_parse_args(struct config *c, int argc, char **argv, char *err, size_t errlen);

/* Checks values that must agree with each other or have a shape (account id, region).
 * Returns 0 or -EINVAL with err naming the key. */
int config_validate(const struct config *c, char *err, size_t errlen);

/* Prints every key with its flag, default and meaning. */
void config_usage(const char *prog);

#endif
