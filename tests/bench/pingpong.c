/* SPDX-License-Identifier: MIT */
/* pingpong.c: a context-switch-heavy workload - two processes pass a byte back and forth over
 * pipes. Usage: pingpong [ROUNDS]; prints "ROUNDS round trips in S s: R per second". */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	long rounds = argc > 1 ? atol(argv[1]) : 200000;
	int ab[2], ba[2];
	char c = 0;
	double t0, dt;
	pid_t pid;

	if (rounds <= 0 || pipe(ab) < 0 || pipe(ba) < 0) {
		fprintf(stderr, "usage: pingpong [ROUNDS]\n");
		return 2;
	}
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
	printf("%ld round trips in %.3f s: %.0f per second\n", rounds, dt, (double)rounds / dt);
	return 0;
}
