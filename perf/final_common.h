/*
 * final_common.h - small helpers shared by perf/finalizers.c and
 * perf/fin_vs_cleanup.c: clocks, busy work, percentiles, the shared CSV
 * format and running one measurement in a child process (the program
 * re-executes itself with --impl X so that every collector starts from a
 * fresh process and only one collector is ever initialised per process).
 */
#ifndef PERF_FINAL_COMMON_H
#define PERF_FINAL_COMMON_H

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static inline uint64_t fc_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Burn about ns of CPU in the calling thread (busy loop on the clock). */
static inline void fc_burn_ns(uint64_t ns)
{
	uint64_t end = fc_now_ns() + ns;
	volatile uint64_t x = 88172645463325252ull;
	while (fc_now_ns() < end) {
		for (int i = 0; i < 32; i++) {
			uint64_t v = x;
			v ^= v << 13;
			v ^= v >> 7;
			v ^= v << 17;
			x = v;
		}
	}
}

static inline void fc_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u),
			       (long)(ns % 1000000000u) };
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

/* 1 ns timer slack so that a 100 us sleep lasts about 100 us, not 150. */
static inline void fc_precise_timers(void)
{
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

static inline void fc_raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static inline long fc_peak_rss_bytes(void)
{
	struct rusage ru;
	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss * 1024L;
}

static int fc_cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static int fc_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Sorts v in place; returns the p-quantile (0 <= p <= 1), nearest rank. */
static inline uint64_t fc_quantile_u64(uint64_t *v, size_t n, double p)
{
	if (n == 0)
		return 0;
	qsort(v, n, sizeof *v, fc_cmp_u64);
	size_t k = (size_t)(p * (double)n);
	if (k >= n)
		k = n - 1;
	return v[k];
}

/* Median, min and max of n doubles (v is sorted in place). */
static inline void fc_summary(double *v, int n, double *med, double *mn,
			      double *mx)
{
	qsort(v, (size_t)n, sizeof *v, fc_cmp_double);
	*mn = v[0];
	*mx = v[n - 1];
	*med = (n % 2) ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Append one row of the shared CSV format (header if the file is empty). */
static inline void fc_csv_row(const char *path, const char *bench,
			      const char *cas, const char *impl,
			      const char *metric, const char *unit, double med,
			      double mn, double mx, int reps)
{
	if (!path)
		return;
	FILE *f = fopen(path, "a");
	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		return;
	}
	if (ftell(f) == 0) {
		fseek(f, 0, SEEK_END);
		if (ftell(f) == 0)
			fprintf(f, "benchmark,case,impl,metric,unit,median,"
				   "min,max,reps\n");
	}
	fprintf(f, "%s,%s,%s,%s,%s,%.6g,%.6g,%.6g,%d\n", bench, cas, impl,
		metric, unit, med, mn, mx, reps);
	fclose(f);
}

/*
 * Children report their results on stdout as lines "R name value". The
 * parent collects the text, then looks values up with fc_result().
 */
static inline int fc_result(const char *text, const char *name, double *out)
{
	size_t len = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (p[0] == 'R' && p[1] == ' ' && strncmp(p + 2, name, len) == 0 &&
		    p[2 + len] == ' ') {
			*out = strtod(p + 3 + len, NULL);
			return 1;
		}
	}
	return 0;
}

static inline const char *fc_self_exe(const char *argv0)
{
	static char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	if (n > 0) {
		buf[n] = 0;
		return buf;
	}
	return argv0;
}

/*
 * Run argv (argv[0] is the executable path) with a timeout in seconds.
 * The child's stdout is captured into *out (malloc'd, NUL-terminated), its
 * stderr goes to ours. Returns 0 on success, the exit status, 128 + signal,
 * or 124 on timeout (the child is then killed), -1 if it could not start.
 */
static inline int fc_run_child(char *const argv[], double timeout_s,
			       char **out)
{
	int pfd[2];
	*out = NULL;
	if (pipe(pfd) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid_t pid = fork();
	if (pid < 0) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	if (pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		execv(argv[0], argv);
		fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	uint64_t deadline = fc_now_ns() + (uint64_t)(timeout_s * 1e9);
	int timed_out = 0;
	for (;;) {
		uint64_t now = fc_now_ns();
		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		struct pollfd pf = { pfd[0], POLLIN, 0 };
		int ms = (int)((deadline - now) / 1000000u) + 1;
		int r = poll(&pf, 1, ms > 1000 ? 1000 : ms);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (len + 1024 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
		}
		ssize_t n = read(pfd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(pfd[0]);
	int st = 0;
	if (timed_out)
		kill(pid, SIGKILL);
	/* The child closed stdout: it should exit soon; bound the wait. */
	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			break;
		if (w < 0 && errno != EINTR) {
			st = 0;
			break;
		}
		if (fc_now_ns() >= deadline && !timed_out) {
			timed_out = 1;
			kill(pid, SIGKILL);
		}
		fc_sleep_ns(1000000);
	}
	*out = buf;
	if (timed_out)
		return 124;
	if (WIFEXITED(st))
		return WEXITSTATUS(st);
	if (WIFSIGNALED(st))
		return 128 + WTERMSIG(st);
	return -1;
}

static inline const char *fc_status_text(int st)
{
	static char buf[64];
	if (st == 124)
		return "timed out (killed)";
	if (st > 128)
		snprintf(buf, sizeof buf, "killed by signal %d (%s)", st - 128,
			 strsignal(st - 128));
	else
		snprintf(buf, sizeof buf, "exit status %d", st);
	return buf;
}

#endif /* PERF_FINAL_COMMON_H */
