/* SPDX-License-Identifier: MIT */
/* berthd.c: the daemon - parses configuration and wires the loop, runtime and HTTP API. */
#include <errno.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/wait.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include "common/config.h"
#include "common/version.h"
#include "common/log.h"
#include "common/loop.h"
#include "alarms/actions.h"
#include "alarms/alarms.h"
#include "collector/collector.h"
#include "collector/ledger.h"
#include "runtime/runtime.h"
#include "runtime/service.h"
#include "web/app.h"

struct daemon {
	struct config cfg;
	struct loop loop;
	struct runtime rt;
	struct rt_services services;
	struct collector collector;
	struct alarm_actions *actions;
	struct ledger ledger;
	struct app app;
	struct loop_io sig_io;
	int sig_fd;
};

static void on_signal(struct loop_io *io, uint32_t events)
{
	struct daemon *d = io->data;
	struct signalfd_siginfo si;

	(void)events;
	while (read(d->sig_fd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			/* Task supervisors are our children until we die; they report through
			 * their status files, so reaping is all that is left to do. */
			while (waitpid(-1, NULL, WNOHANG) > 0)
				;
			continue;
		}
		log_info("berthd: signal %d, shutting down (tasks keep running)", si.ssi_signo);
		sd_notify(0, "STOPPING=1");
		loop_stop(&d->loop);
	}
}

static int signals_init(struct daemon *d)
{
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGCHLD);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	signal(SIGPIPE, SIG_IGN);
	d->sig_fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sig_fd < 0)
		return -errno;
	return loop_io_start(&d->loop, &d->sig_io, d->sig_fd, EPOLLIN, on_signal, d);
}

static int parse(struct daemon *d, int argc, char **argv)
{
	enum log_level lvl;
	char err[512];
	int idx;

	config_defaults(&d->cfg);
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			config_usage("berthd");
			exit(0);
		}
		if (!strcmp(argv[i], "--version")) {
			printf("berthd %s\n", BERTH_VERSION);
			exit(0);
		}
	}
	if (access("berthd.conf", R_OK) == 0 &&
	    config_load_file(&d->cfg, "berthd.conf", err, sizeof(err)) < 0) {
		fprintf(stderr, "berthd: %s\n", err);
		return -EINVAL;
	}
	idx = config_parse_args(&d->cfg, argc, argv, err, sizeof(err));
	if (idx < 0) {
		fprintf(stderr, "berthd: %s\n", err);
		return -EINVAL;
	}
	if (idx < argc) {
		fprintf(stderr, "berthd: unexpected argument '%s' (see --help)\n", argv[idx]);
		return -EINVAL;
	}
	if (config_validate(&d->cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "berthd: %s\n", err);
		return -EINVAL;
	}
	if (log_parse_level(d->cfg.log_level, &lvl) < 0) {
		fprintf(stderr, "berthd: log_level must be error, warn, info or debug, got '%s'\n",
			d->cfg.log_level);
		return -EINVAL;
	}
	log_set_level(lvl);
	return 0;
}

int main(int argc, char **argv)
{
	static struct daemon d;
	int ret;

	if (parse(&d, argc, argv) < 0)
		return 2;
	/* Buffers of 256 KiB and more (a plain /metrics text, librrd's new files) get mappings of
	 * their own that go back to the system when freed. glibc would otherwise raise this
	 * threshold to the largest such buffer freed and serve the next ones from the heap, where
	 * what they leave stays resident between the long-lived allocations. */
	mallopt(M_MMAP_THRESHOLD, 256 * 1024);
	d.sig_fd = -1;
	ret = loop_init(&d.loop);
	if (ret == 0)
		ret = signals_init(&d);
	if (ret < 0) {
		log_error("berthd: failed to set up the event loop: %s", strerror(-ret));
		return 1;
	}
	ret = rt_init(&d.rt, &d.cfg, &d.loop);
	if (ret < 0)
		return 1;
	ret = svc_init(&d.services, &d.rt);
	if (ret < 0) {
		log_error("berthd: failed to start the service scheduler: %s", strerror(-ret));
		rt_close(&d.rt);
		return 1;
	}
	if (collector_init(&d.collector, &d.cfg, &d.rt, &d.loop) == 0) {
		d.app.collector = &d.collector;
		collector_bpf_init(&d.collector);
	}
	if (alarms_init(&d.app.alarms, &d.cfg, &d.loop, d.app.collector, &d.rt) < 0)
		log_error("berthd: alarms are off");
	ret = d.app.collector ? ledger_open_config(&d.ledger, &d.cfg, time_now()) : -ENODEV;
	if (ret == 0 && collector_on_cycle(&d.collector, ledger_observe, &d.ledger) == 0)
		d.app.ledger = &d.ledger;
	if (ret == -EINVAL) { /* a price file that does not parse: said, and nothing runs */
		alarms_close(d.app.alarms);
		collector_close(&d.collector);
		svc_close(&d.services);
		rt_close(&d.rt);
		return 1;
	}
	d.app.cfg = &d.cfg;
	{
		struct alarm_actions_deps ad = { .cfg = &d.cfg, .loop = &d.loop, .rt = &d.rt,
						 .services = &d.services,
						 .collector = d.app.collector };
		if (d.app.alarms) {
			ad.alarms = d.app.alarms;
			ad.history = alarms_history_action;
			ad.history_ctx = d.app.alarms;
			ad.put_metric_alarm = alarms_put_metric_alarm;
			ad.delete_alarm = alarms_delete;
		}
		if (actions_init(&d.actions, &ad) == 0) {
			d.app.actions = d.actions;
			if (d.app.alarms)
				alarms_set_actions(d.app.alarms, d.actions);
		}
	}
	if (app_credentials_init(&d.app) < 0 || app_start(&d.app, &d.cfg, &d.rt, &d.loop) < 0) {
		if (d.app.alarms)
			alarms_set_actions(d.app.alarms, NULL);
		actions_close(d.actions);
		alarms_close(d.app.alarms);
		collector_close(&d.collector);
		ledger_close(&d.ledger, time_now());
		svc_close(&d.services);
		rt_close(&d.rt);
		return 1;
	}
	log_info("berthd: listening on %s (data in %s, cgroups %s, parent %s)", d.cfg.listen,
		 d.cfg.data_dir, cgroup_mode_name(d.rt.cg.mode), d.cfg.cgroup_parent);
	sd_notify(0, "READY=1");
	ret = loop_run(&d.loop);
	app_stop(&d.app);
	if (d.app.alarms)
		alarms_set_actions(d.app.alarms, NULL);
	actions_close(d.actions);
	alarms_close(d.app.alarms);
	collector_close(&d.collector);
	ledger_close(&d.ledger, time_now());
	svc_close(&d.services);
	rt_close(&d.rt);
	loop_io_stop(&d.sig_io);
	close(d.sig_fd);
	loop_close(&d.loop);
	return ret < 0 ? 1 : 0;
}
