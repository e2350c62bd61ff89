/* SPDX-License-Identifier: MIT */
/* pingpong.c: a context-switch-heavy workload - two processes pass a byte back and forth over
 * pipes. Usage: pingpong [ROUNDS]; prints
 *   "ROUNDS round trips in S s: R per second; CPU C s: N ns per round trip"
 * where CPU is the time both processes spent on a CPU, user and system (getrusage of the
 * process and of its reaped child): what probes run in the kernel on their behalf counts in it,
 * what other processes on the machine do does not. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double cpu_of(int who)
{
	struct rusage ru;

	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 200000;
	int ab[2], ba[2];
	char c = 0;
	double t0, dt, c0, cpu;
	pid_t pid;

	if (rounds <= 0 || pipe(ab) < 0 || pipe(ba) < 0) {
		fprintf(stderr, "usage: pingpong [ROUNDS]\n");
		return 2;
	}
	c0 = cpu_of(RUSAGE_SELF);
	pid = fork();
	if (pid < 0)
		return 1;
	if (pid == 0) {
		for (long i = 0; i < rounds; i++)
			if (read(ab[0], &c, 1) != 1 || write(ba[1], &c, 1) != 1)
				_exit(1);
		_exit(0);
	}
	t0 = now();
	for (long i = 0; i < rounds; i++)
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			return 1;
	dt = now() - t0;
	waitpid(pid, NULL, 0);
	cpu = cpu_of(RUSAGE_SELF) - c0 + cpu_of(RUSAGE_CHILDREN);
	printf("%ld round trips in %.3f s: %.0f per second; CPU %.3f s: %.0f ns per round trip\n",
	       rounds, dt, (double)rounds / dt, cpu, cpu / (double)rounds * 1e9);
	return 0;
}
