/* SPDX-License-Identifier: MIT */
/*
 * perf/bench.c - helpers shared by the benchmark programs (see bench.h).
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHILD_ENV "PERF_BENCH_CHILD"
#define ROW_TAG "@@ROW\t"

/* ------------------------------------------------------------------ */
/* Clock and statistics                                                */
/* ------------------------------------------------------------------ */

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void bench_sort_double(double *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_double);
}

void bench_sort_u64(uint64_t *v, size_t n)
{
	qsort(v, n, sizeof *v, cmp_u64);
}

bench_stats bench_stats_of(const double *v, int n)
{
	bench_stats s = { 0, 0, 0, n };
	double *c;

	if (n <= 0)
		return s;
	c = malloc((size_t)n * sizeof *c);
	if (!c) {
		perror("malloc");
		exit(1);
	}
	memcpy(c, v, (size_t)n * sizeof *c);
	bench_sort_double(c, (size_t)n);
	s.min = c[0];
	s.max = c[n - 1];
	s.median = (n & 1) ? c[n / 2] : (c[n / 2 - 1] + c[n / 2]) / 2;
	free(c);
	return s;
}

bench_stats bench_repeat(int reps, double (*fn)(void *arg), void *arg)
{
	double *v = calloc(reps > 0 ? (size_t)reps : 1, sizeof *v);
	bench_stats s;
	int r;

	if (!v) {
		perror("calloc");
		exit(1);
	}
	for (r = 0; r < reps; r++)
		v[r] = fn(arg);
	s = bench_stats_of(v, reps);
	free(v);
	return s;
}

bench_stats bench_stats_one(double v)
{
	return bench_stats_n(v, 1);
}

bench_stats bench_stats_n(double v, int n)
{
	bench_stats s = { v, v, v, n };

	return s;
}

void bench_summary(const double *v, int n, double *med, double *mn,
		   double *mx)
{
	bench_stats s = bench_stats_of(v, n);

	*med = s.median;
	*mn = s.min;
	*mx = s.max;
}

uint64_t bench_pct_u64(const uint64_t *sorted, size_t n, double p)
{
	size_t k;

	if (n == 0)
		return 0;
	/* nearest rank: the smallest value with at least p*n values <= it */
	k = (size_t)(p * (double)n + 0.999999999);
	if (k < 1)
		k = 1;
	if (k > n)
		k = n;
	return sorted[k - 1];
}

double bench_peak_rss_mib(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_maxrss / 1024.0;
}

double bench_cpu_s(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return 0;
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}

/* ------------------------------------------------------------------ */
/* Flags                                                               */
/* ------------------------------------------------------------------ */

void bench_opts_init(bench_opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	o->prog = argv[0];
	o->argc = argc;
	o->argv = argv;
	if (getenv(CHILD_ENV))
		setvbuf(stdout, NULL, _IOLBF, 0);
}

int bench_flag_val(int argc, char **argv, int *i, const char *name,
		   const char **val)
{
	const char *a = argv[*i];
	size_t len = strlen(name);

	if (strncmp(a, name, len) != 0)
		return 0;
	if (a[len] == '=') {
		*val = a + len + 1;
		return 1;
	}
	if (a[len] != '\0')
		return 0;
	if (*i + 1 >= argc) {
		fprintf(stderr, "%s: flag %s needs a value\n", argv[0], name);
		exit(2);
	}
	*val = argv[++*i];
	return 1;
}

int bench_flag_long(int argc, char **argv, int *i, const char *name,
		    long *val)
{
	const char *s;
	char *end;

	if (!bench_flag_val(argc, argv, i, name, &s))
		return 0;
	errno = 0;
	*val = strtol(s, &end, 10);
	if (errno || end == s || *end) {
		fprintf(stderr, "%s: bad number for %s: '%s'\n", argv[0], name,
			s);
		exit(2);
	}
	return 1;
}

int bench_parse_list(const char *s, int *list)
{
	int n = 0;

	while (*s) {
		char *end;
		long v;

		errno = 0;
		v = strtol(s, &end, 10);
		if (errno || end == s || v <= 0 || v > INT_MAX ||
		    n >= BENCH_MAX_LIST)
			return -1;
		list[n++] = (int)v;
		if (*end == ',')
			end++;
		else if (*end)
			return -1;
		s = end;
	}
	return n;
}

int bench_flag_list(int argc, char **argv, int *i, const char *name,
		    int *list, int *n)
{
	const char *s;

	if (!bench_flag_val(argc, argv, i, name, &s))
		return 0;
	*n = bench_parse_list(s, list);
	if (*n <= 0) {
		fprintf(stderr, "%s: bad list for %s: '%s' (e.g. 1,2,4)\n",
			argv[0], name, s);
		exit(2);
	}
	return 1;
}

int bench_common_flag(bench_opts *o, int argc, char **argv, int *i)
{
	const char *s;
	long v;

	if (!strcmp(argv[*i], "--quick")) {
		o->quick = 1;
		return 1;
	}
	if (!strcmp(argv[*i], "--inproc")) {
		o->inproc = 1;
		return 1;
	}
	if (bench_flag_val(argc, argv, i, "--csv", &o->csv))
		return 1;
	if (bench_flag_val(argc, argv, i, "--tri-options", &o->tri_options))
		return 1;
	if (bench_flag_long(argc, argv, i, "--reps", &v)) {
		if (v < 1 || v > 100000) {
			fprintf(stderr, "%s: --reps must be >= 1\n", argv[0]);
			exit(2);
		}
		o->reps = (int)v;
		return 1;
	}
	if (bench_flag_long(argc, argv, i, "--timeout", &v)) {
		o->timeout_s = v < 1 ? 1 : (int)v;
		return 1;
	}
	if (bench_flag_list(argc, argv, i, "--threads", o->threads,
			    &o->nthreads))
		return 1;
	if (bench_flag_val(argc, argv, i, "--impl", &s)) {
		char buf[256], *tok, *save;

		snprintf(buf, sizeof buf, "%s", s);
		o->impl_mask = 0;
		for (tok = strtok_r(buf, ",", &save); tok;
		     tok = strtok_r(NULL, ",", &save)) {
			int im = bench_impl_parse(tok);

			if (!strcmp(tok, "go")) {
				o->impl_mask |= BENCH_GO_BIT;
				continue;
			}
			if (!strcmp(tok, "java")) {
				o->impl_mask |= BENCH_JAVA_BIT;
				continue;
			}

			if (im < 0) {
				fprintf(stderr,
					"%s: unknown impl '%s' (tricolor, bdwgc, bdwgc-m1, malloc, malloc-nofree, go, java)\n",
					argv[0], tok);
				exit(2);
			}
			o->impl_mask |= 1u << im;
		}
		return 1;
	}
	return 0;
}

void bench_usage_common(FILE *f)
{
	fprintf(f,
		"common flags:\n"
		"  --csv FILE        append result rows to FILE (shared CSV format)\n"
		"  --quick           short run\n"
		"  --reps N          repetitions\n"
		"  --threads LIST    thread counts, e.g. 1,2,4\n"
		"  --impl LIST       implementations to run (tricolor,bdwgc,malloc,...)\n"
		"  --inproc          run the (single) selected impl in this process\n"
		"  --timeout S       kill a child implementation after S seconds\n"
		"                    (default 900; 45 with --quick)\n"
		"  --tri-options STR options for tri_init (e.g. mark_workers=2)\n");
}

void bench_bad_flag(const bench_opts *o, const char *flag)
{
	fprintf(stderr, "%s: unknown flag '%s' (try --help)\n", o->prog, flag);
	exit(2);
}

/* ------------------------------------------------------------------ */
/* Implementations                                                     */
/* ------------------------------------------------------------------ */

int bench_impl = BENCH_IMPL_MALLOC;

static const char *const impl_names[BENCH_IMPL_COUNT] = {
	"tricolor", "bdwgc", "malloc", "malloc-nofree", "bdwgc-m1"
};

const char *bench_impl_name(int impl)
{
	return impl >= 0 && impl < BENCH_IMPL_COUNT ? impl_names[impl] : "?";
}

const char *bench_impl_csv(int impl)
{
	return impl == BENCH_IMPL_MALLOC_NOFREE ? "malloc"
						: bench_impl_name(impl);
	/* bdwgc-m1 keeps its own column: it is a second bdwgc configuration */
}

int bench_impl_parse(const char *s)
{
	int i;

	for (i = 0; i < BENCH_IMPL_COUNT; i++)
		if (!strcmp(s, impl_names[i]))
			return i;
	return -1;
}

int bench_impl_available(int impl)
{
#ifdef HAVE_BDWGC
	return impl >= 0 && impl < BENCH_IMPL_COUNT;
#else
	return impl >= 0 && impl < BENCH_IMPL_COUNT &&
	       impl != BENCH_IMPL_BDWGC && impl != BENCH_IMPL_BDWGC_M1;
#endif
}

int bench_impl_selected(const bench_opts *o, int impl)
{
	if (o->impl_mask == 0)
		return impl != BENCH_IMPL_BDWGC_M1;
	return (o->impl_mask & (1u << impl)) != 0;
}

int bench_impl_selected_m1(const bench_opts *o)
{
	return o->impl_mask == 0 ||
	       (o->impl_mask & (1u << BENCH_IMPL_BDWGC_M1)) != 0;
}

int bench_go_selected(const bench_opts *o)
{
	return o->impl_mask == 0 || (o->impl_mask & BENCH_GO_BIT);
}

int bench_java_selected(const bench_opts *o)
{
	return o->impl_mask == 0 || (o->impl_mask & BENCH_JAVA_BIT);
}

void bench_heap_init(int impl, const char *tri_options)
{
	bench_impl = impl;
	switch (impl) {
	case BENCH_IMPL_TRICOLOR: {
		int rc = tri_init(tri_options);

		if (rc != 0) {
			fprintf(stderr, "tri_init(%s) failed: %s\n",
				tri_options ? tri_options : "NULL",
				strerror(rc));
			exit(1);
		}
		break;
	}
#ifdef HAVE_BDWGC
	case BENCH_IMPL_BDWGC_M1:
		setenv("GC_MARKERS", "1", 1);
		bench_impl = BENCH_IMPL_BDWGC;
		/* fall through */
	case BENCH_IMPL_BDWGC: {
		unsigned v;
		const char *env = getenv("GC_MARKERS");

		GC_INIT();
		GC_allow_register_threads();
		v = GC_get_version();
		printf("# bdwgc %u.%u.%u (Debian libgc, default build): all_interior_pointers=%d, %d marker thread(s) (%s%s)\n",
		       v >> 16, (v >> 8) & 0xff, v & 0xff,
		       GC_get_all_interior_pointers(), bench_bdwgc_markers(),
		       env ? "GC_MARKERS=" : "GC_MARKERS unset", env ? env : "");
		break;
	}
#endif
	case BENCH_IMPL_MALLOC:
	case BENCH_IMPL_MALLOC_NOFREE:
		break;
	default:
		fprintf(stderr, "impl %s is not available in this build\n",
			bench_impl_name(impl));
		exit(1);
	}
}

void bench_thread_enter(void)
{
	if (bench_impl == BENCH_IMPL_TRICOLOR) {
		tri_thread_attach();
	}
#ifdef HAVE_BDWGC
	else if (bench_impl == BENCH_IMPL_BDWGC) {
		struct GC_stack_base sb;

		if (GC_get_stack_base(&sb) != GC_SUCCESS) {
			fprintf(stderr, "GC_get_stack_base failed\n");
			exit(1);
		}
		GC_register_my_thread(&sb);
	}
#endif
}

void bench_thread_leave(void)
{
	if (bench_impl == BENCH_IMPL_TRICOLOR)
		tri_thread_detach();
#ifdef HAVE_BDWGC
	else if (bench_impl == BENCH_IMPL_BDWGC)
		GC_unregister_my_thread();
#endif
}

void bench_block_enter(void)
{
	if (bench_impl == BENCH_IMPL_TRICOLOR)
		tri_blocking_enter();
}

void bench_block_leave(void)
{
	if (bench_impl == BENCH_IMPL_TRICOLOR)
		tri_blocking_leave();
}

void bench_collect(void)
{
	if (bench_impl == BENCH_IMPL_TRICOLOR)
		tri_collect();
#ifdef HAVE_BDWGC
	else if (bench_impl == BENCH_IMPL_BDWGC)
		GC_gcollect();
#endif
}

uint64_t bench_gc_cycles(void)
{
	if (bench_impl == BENCH_IMPL_TRICOLOR)
		return bench_metric("/gc/cycles/total:gc-cycles");
#ifdef HAVE_BDWGC
	if (bench_impl == BENCH_IMPL_BDWGC)
		return (uint64_t)GC_get_gc_no();
#endif
	return 0;
}

void bench_barrier_wait(pthread_barrier_t *b)
{
	bench_block_enter();
	pthread_barrier_wait(b);
	bench_block_leave();
}

void bench_join(pthread_t t)
{
	bench_block_enter();
	pthread_join(t, NULL);
	bench_block_leave();
}

void bench_mark_series_run(bench_mark_series *m, int reps, double mib, const char *label)
{
	int r;

	m->reps = reps;
	m->ms = calloc((size_t)reps, sizeof(double));
	m->rate = calloc((size_t)reps, sizeof(double));
	m->wall = calloc((size_t)reps, sizeof(double));
	m->cpu = calloc((size_t)reps, sizeof(double));
	if (!m->ms || !m->rate || !m->wall || !m->cpu) {
		perror("calloc");
		exit(1);
	}
	bench_collect(); /* warm-up */
	for (r = 0; r < reps; r++) {
		double c0 = bench_cpu_s();
		uint64_t a = bench_now_ns(), b, mark_ns;

		bench_collect();
		b = bench_now_ns();
		m->cpu[r] = (bench_cpu_s() - c0) * 1e3;
		mark_ns = bench_impl == BENCH_IMPL_TRICOLOR ? bench_metric("/gc/mark/last:nanoseconds")
							    : bench_bdwgc_last_mark_ns();
		if (mark_ns == 0)
			mark_ns = b - a;
		m->ms[r] = (double)mark_ns / 1e6;
		m->wall[r] = (double)(b - a) / 1e6;
		m->rate[r] = mib / ((double)mark_ns / 1e9);
		printf("# %s collect %d: mark %.1f ms (collection %.1f ms wall, %.1f ms CPU): %.0f MiB/s\n", label,
		       r + 1, m->ms[r], m->wall[r], m->cpu[r], m->rate[r]);
	}
}

void bench_mark_series_emit(const bench_mark_series *m, const char *benchmark, const char *cas, const char *impl)
{
	bench_emit(benchmark, cas, impl, "mark_time", "ms", bench_stats_of(m->ms, m->reps));
	bench_emit(benchmark, cas, impl, "mark_rate", "MiB/s", bench_stats_of(m->rate, m->reps));
	bench_emit(benchmark, cas, impl, "collect_wall", "ms", bench_stats_of(m->wall, m->reps));
	bench_emit(benchmark, cas, impl, "collect_cpu", "ms", bench_stats_of(m->cpu, m->reps));
}

void bench_mark_series_free(bench_mark_series *m)
{
	free(m->ms);
	free(m->rate);
	free(m->wall);
	free(m->cpu);
	memset(m, 0, sizeof *m);
}

uint64_t bench_metric(const char *name)
{
	uint64_t v = 0;

	if (tri_read_metric(name, &v) != 0)
		return 0;
	return v;
}

/* ------------------------------------------------------------------ */
/* Results                                                             */
/* ------------------------------------------------------------------ */

typedef struct row {
	char bench[48], cas[64], impl[16], metric[48], unit[24];
	bench_stats s;
} row;

static row *rows;
static size_t nrows, caprows;
static char failures[4096];

int bench_is_child(void)
{
	return getenv(CHILD_ENV) != NULL;
}

static void copy_field(char *dst, size_t cap, const char *src)
{
	size_t i;

	for (i = 0; src[i] && i + 1 < cap; i++)
		dst[i] = (src[i] == ',' || src[i] == '\t' || src[i] == '\n')
				 ? ';'
				 : src[i];
	dst[i] = '\0';
}

static void add_row(const char *benchmark, const char *cas, const char *impl,
		    const char *metric, const char *unit, bench_stats s)
{
	row *r;

	if (nrows == caprows) {
		caprows = caprows ? 2 * caprows : 64;
		rows = realloc(rows, caprows * sizeof *rows);
		if (!rows) {
			perror("realloc");
			exit(1);
		}
	}
	r = &rows[nrows++];
	copy_field(r->bench, sizeof r->bench, benchmark);
	copy_field(r->cas, sizeof r->cas, cas);
	copy_field(r->impl, sizeof r->impl, impl);
	copy_field(r->metric, sizeof r->metric, metric);
	copy_field(r->unit, sizeof r->unit, unit);
	r->s = s;
}

void bench_emit(const char *benchmark, const char *cas, const char *impl,
		const char *metric, const char *unit, bench_stats s)
{
	if (bench_is_child()) {
		row r;

		copy_field(r.bench, sizeof r.bench, benchmark);
		copy_field(r.cas, sizeof r.cas, cas);
		copy_field(r.impl, sizeof r.impl, impl);
		copy_field(r.metric, sizeof r.metric, metric);
		copy_field(r.unit, sizeof r.unit, unit);
		printf(ROW_TAG "%s\t%s\t%s\t%s\t%s\t%.17g\t%.17g\t%.17g\t%d\n",
		       r.bench, r.cas, r.impl, r.metric, r.unit, s.median,
		       s.min, s.max, s.n);
		fflush(stdout);
		return;
	}
	add_row(benchmark, cas, impl, metric, unit, s);
}

int bench_lookup(const char *benchmark, const char *cas, const char *impl,
		 const char *metric, double *median)
{
	size_t i;

	for (i = 0; i < nrows; i++)
		if (!strcmp(rows[i].bench, benchmark) &&
		    !strcmp(rows[i].cas, cas) && !strcmp(rows[i].impl, impl) &&
		    !strcmp(rows[i].metric, metric)) {
			*median = rows[i].s.median;
			return 1;
		}
	return 0;
}

static void parse_row_line(char *line)
{
	char *f[10], *save, *tok;
	int n = 0;
	bench_stats s;

	for (tok = strtok_r(line, "\t", &save); tok && n < 10;
	     tok = strtok_r(NULL, "\t", &save))
		f[n++] = tok;
	if (n != 10) {
		fprintf(stderr, "bench: malformed row from child ignored\n");
		return;
	}
	/* f[0] is the tag */
	s.median = strtod(f[6], NULL);
	s.min = strtod(f[7], NULL);
	s.max = strtod(f[8], NULL);
	s.n = atoi(f[9]);
	add_row(f[1], f[2], f[3], f[4], f[5], s);
}

static void note_failure(const char *msg)
{
	size_t len = strlen(failures);

	fprintf(stderr, "%s\n", msg);
	snprintf(failures + len, sizeof failures - len, "  %s\n", msg);
}

int bench_spawn_cmd(const bench_opts *o, const char *label,
		    const char *fail_impl, const char *fail_case,
		    char *const *args, int use_proc_self)
{
	int fds[2], status = 0;
	pid_t pid;
	char msg[512];
	uint64_t deadline;
	char buf[65536];
	size_t used = 0;
	int timed_out = 0, code = 0, tmo;

	if (pipe(fds) != 0) {
		perror("pipe");
		exit(1);
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		perror("fork");
		exit(1);
	}
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		setenv(CHILD_ENV, "1", 1);
		if (use_proc_self)
			execv("/proc/self/exe", args);
		execvp(args[0], args);
		perror("exec");
		_exit(127);
	}
	close(fds[1]);

	tmo = o->timeout_s > 0 ? o->timeout_s : (o->quick ? 45 : 900);
	deadline = bench_now_ns() + (uint64_t)tmo * 1000000000u;
	for (;;) {
		struct pollfd pfd = { fds[0], POLLIN, 0 };
		uint64_t now = bench_now_ns();
		int left_ms, rc;
		ssize_t got;
		char *nl, *start;

		if (now >= deadline) {
			timed_out = 1;
			kill(pid, SIGKILL);
			break;
		}
		left_ms = (int)((deadline - now) / 1000000u) + 1;
		rc = poll(&pfd, 1, left_ms);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc <= 0)
			continue;
		got = read(fds[0], buf + used, sizeof buf - 1 - used);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		used += (size_t)got;
		buf[used] = '\0';
		start = buf;
		while ((nl = strchr(start, '\n')) != NULL) {
			*nl = '\0';
			if (!strncmp(start, ROW_TAG, strlen(ROW_TAG)))
				parse_row_line(start);
			else
				printf("%s\n", start);
			start = nl + 1;
		}
		used -= (size_t)(start - buf);
		memmove(buf, start, used);
		if (used == sizeof buf - 1) { /* a very long line */
			buf[used] = '\0';
			printf("%s\n", buf);
			used = 0;
		}
		fflush(stdout);
	}
	if (used) {
		buf[used] = '\0';
		printf("%s\n", buf);
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	fflush(stdout);
	if (timed_out) {
		snprintf(msg, sizeof msg, "!! %s: timed out after %d s (killed)",
			 label, tmo);
		code = 124;
	} else if (WIFSIGNALED(status)) {
		snprintf(msg, sizeof msg, "!! %s: crashed with signal %d (%s)",
			 label, WTERMSIG(status), strsignal(WTERMSIG(status)));
		code = 128 + WTERMSIG(status);
	} else if (WIFEXITED(status) && WEXITSTATUS(status) != 0) {
		snprintf(msg, sizeof msg, "!! %s: exited with status %d", label,
			 WEXITSTATUS(status));
		code = WEXITSTATUS(status);
	}
	if (code) {
		note_failure(msg);
		if (o->bench && fail_impl)
			bench_emit(o->bench, fail_case ? fail_case : "all",
				   fail_impl, "failed", "status",
				   bench_stats_one(code));
		return -1;
	}
	return 0;
}

int bench_spawn(const bench_opts *o, int impl, const char *const *extra,
		const char *fail_case)
{
	int nextra = 0, i, k, rc;
	char **args;
	const char *name = bench_impl_name(impl);
	char label[200];

	snprintf(label, sizeof label, "%s", name);
	for (i = 0; extra && extra[i]; i++) {
		size_t l = strlen(label);

		snprintf(label + l, sizeof label - l, " %s", extra[i]);
		nextra++;
	}
	if (!bench_impl_available(impl)) {
		printf("# %s: skipped (not built with this implementation)\n",
		       label);
		return 0;
	}
	args = calloc((size_t)o->argc + (size_t)nextra + 8, sizeof *args);
	if (!args) {
		perror("calloc");
		exit(1);
	}
	k = 0;
	args[k++] = o->argv[0];
	for (i = 1; i < o->argc; i++)
		args[k++] = o->argv[i];
	args[k++] = (char *)"--inproc";
	args[k++] = (char *)"--impl";
	args[k++] = (char *)name;
	for (i = 0; i < nextra; i++)
		args[k++] = (char *)extra[i];
	args[k] = NULL;
	rc = bench_spawn_cmd(o, label, bench_impl_csv(impl), fail_case, args,
			     1);
	free(args);
	return rc;
}

static int is_exec_file(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	       access(path, X_OK) == 0;
}

const char *bench_go_peer(const char *prog_argv0, const char *name)
{
	static char path[4096];
	const char *dir = getenv("PERF_GO_DIR");
	const char *slash;

	if (dir && *dir) {
		snprintf(path, sizeof path, "%s/go-%s", dir, name);
		if (is_exec_file(path))
			return path;
	}
	/* next to the program: <dir of argv0>/peers/go/go-NAME */
	slash = strrchr(prog_argv0, '/');
	if (slash) {
		int len = (int)(slash - prog_argv0);

		/* a libtool-built program runs from .libs/ */
		if (len >= 5 && !strncmp(slash - 5, ".libs", 5))
			len = len > 5 ? len - 6 : 0;
		snprintf(path, sizeof path, "%.*s%speers/go/go-%s", len,
			 prog_argv0, len ? "/" : "", name);
		if (is_exec_file(path))
			return path;
	}
	return NULL;
}

/* ------------------------------------------------------------------ */
/* Table and CSV                                                       */
/* ------------------------------------------------------------------ */

void bench_csv_append(const char *path, const char *benchmark,
		      const char *cas, const char *impl, const char *metric,
		      const char *unit, bench_stats s)
{
	FILE *f = path ? fopen(path, "a") : NULL;
	struct stat st;

	if (!path)
		return;
	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		return;
	}
	if (fstat(fileno(f), &st) == 0 && st.st_size == 0)
		fprintf(f, "benchmark,case,impl,metric,unit,median,min,max,reps\n");
	fprintf(f, "%s,%s,%s,%s,%s,%.6g,%.6g,%.6g,%d\n", benchmark, cas, impl,
		metric, unit, s.median, s.min, s.max, s.n);
	fclose(f);
}

static const char *const table_impls[] = { "tricolor", "bdwgc", "bdwgc-m1",
					   "malloc", "go", "java" };
#define NTI 6

static void fmt_num(char *buf, size_t cap, double v)
{
	double a = v < 0 ? -v : v;

	if (a >= 100000)
		snprintf(buf, cap, "%.0f", v);
	else if (a >= 100)
		snprintf(buf, cap, "%.1f", v);
	else if (a >= 1)
		snprintf(buf, cap, "%.3f", v);
	else
		snprintf(buf, cap, "%.4g", v);
}

int bench_finish(const bench_opts *o, const char *title)
{
	size_t i, j;
	char *done;
	int present[NTI] = { 0 };
	int k;

	if (bench_is_child())
		return failures[0] ? 1 : 0;
	for (i = 0; i < nrows; i++)
		for (k = 0; k < NTI; k++)
			if (!strcmp(rows[i].impl, table_impls[k]))
				present[k] = 1;
	done = calloc(nrows + 1, 1);
	printf("\n== %s ==\n", title);
	printf("%-22s %-20s %-8s", "case", "metric", "unit");
	for (k = 0; k < NTI; k++)
		if (present[k])
			printf(" %12s", table_impls[k]);
	for (k = 1; k < NTI; k++)
		if (present[0] && present[k])
			printf(" %9s", "tri/");
	printf("\n%-22s %-20s %-8s", "", "", "");
	for (k = 0; k < NTI; k++)
		if (present[k])
			printf(" %12s", "(median)");
	for (k = 1; k < NTI; k++)
		if (present[0] && present[k])
			printf(" %9s", table_impls[k]);
	printf("\n");
	for (i = 0; i < nrows; i++) {
		double val[NTI];
		int have[NTI] = { 0 };
		char nb[32];

		if (done[i])
			continue;
		for (j = i; j < nrows; j++) {
			if (done[j] || strcmp(rows[j].bench, rows[i].bench) ||
			    strcmp(rows[j].cas, rows[i].cas) ||
			    strcmp(rows[j].metric, rows[i].metric))
				continue;
			for (k = 0; k < NTI; k++)
				if (!strcmp(rows[j].impl, table_impls[k])) {
					val[k] = rows[j].s.median;
					have[k] = 1;
					done[j] = 1;
				}
		}
		if (!done[i]) { /* an impl name not in the table */
			done[i] = 1;
			printf("%-22s %-20s %-8s %s=%g\n", rows[i].cas,
			       rows[i].metric, rows[i].unit, rows[i].impl,
			       rows[i].s.median);
			continue;
		}
		printf("%-22s %-20s %-8s", rows[i].cas, rows[i].metric,
		       rows[i].unit);
		for (k = 0; k < NTI; k++) {
			if (!present[k])
				continue;
			if (have[k]) {
				fmt_num(nb, sizeof nb, val[k]);
				printf(" %12s", nb);
			} else {
				printf(" %12s", "-");
			}
		}
		for (k = 1; k < NTI; k++) {
			if (!(present[0] && present[k]))
				continue;
			if (have[0] && have[k] && val[k] != 0)
				printf(" %9.3f", val[0] / val[k]);
			else
				printf(" %9s", "-");
		}
		printf("\n");
	}
	free(done);
	if (o->csv) {
		for (i = 0; i < nrows; i++)
			bench_csv_append(o->csv, rows[i].bench, rows[i].cas,
					 rows[i].impl, rows[i].metric,
					 rows[i].unit, rows[i].s);
		printf("(%zu rows appended to %s)\n", nrows, o->csv);
	}
	if (failures[0]) {
		printf("FAILED runs:\n%s", failures);
		fflush(stdout);
		return 1;
	}
	fflush(stdout);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Pauses                                                              */
/* ------------------------------------------------------------------ */

const uint64_t bench_mmu_window_ns[BENCH_MMU_NWIN] = {
	100000u, 1000000u, 10000000u, 100000000u, 1000000000u
};
const char *const bench_mmu_window_name[BENCH_MMU_NWIN] = {
	"100us", "1ms", "10ms", "100ms", "1s"
};

size_t bench_tri_pauses(tri_pause **out)
{
	size_t cap = 1u << 16, n;

	for (;;) {
		tri_pause *p = malloc(cap * sizeof *p);

		if (!p) {
			perror("malloc");
			exit(1);
		}
		n = tri_pauses(p, cap);
		if (n < cap || cap >= (1u << 24)) {
			*out = p;
			return n;
		}
		free(p);
		cap *= 2;
	}
}

static int cmp_pause(const void *a, const void *b)
{
	const tri_pause *x = a, *y = b;

	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	if (x->start_ns != y->start_ns)
		return x->start_ns < y->start_ns ? -1 : 1;
	return 0;
}

/* Paused time of sorted disjoint intervals within [a, b). */
static uint64_t covered(const uint64_t *st, const uint64_t *en,
			const uint64_t *prefix, size_t n, uint64_t a,
			uint64_t b)
{
	size_t lo = 0, hi = n, l2, h2;
	uint64_t sum;

	/* lo: first interval with end > a */
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (en[mid] > a)
			hi = mid;
		else
			lo = mid + 1;
	}
	/* h2: first interval with start >= b */
	l2 = lo;
	h2 = n;
	while (l2 < h2) {
		size_t mid = (l2 + h2) / 2;

		if (st[mid] >= b)
			h2 = mid;
		else
			l2 = mid + 1;
	}
	if (lo >= h2)
		return 0;
	sum = prefix[h2] - prefix[lo];
	if (st[lo] < a)
		sum -= a - st[lo];
	if (en[h2 - 1] > b)
		sum -= en[h2 - 1] - b;
	return sum;
}

double bench_mmu_intervals(const uint64_t *st, const uint64_t *en, size_t n,
			   uint64_t t0, uint64_t t1, uint64_t w)
{
	uint64_t *prefix, best = 0;
	size_t i;
	int t;

	if (t1 <= t0 || w > t1 - t0)
		return -1;
	if (n == 0)
		return 1.0;
	prefix = malloc((n + 1) * sizeof *prefix);
	if (!prefix) {
		perror("malloc");
		exit(1);
	}
	prefix[0] = 0;
	for (i = 0; i < n; i++)
		prefix[i + 1] = prefix[i] + (en[i] - st[i]);
	/*
	 * covered(x, x+w) is piecewise linear in x; its maximum is at a
	 * breakpoint (x or x+w at an interval boundary) or at an end of the
	 * allowed range [t0, t1-w].
	 */
	for (i = 0; i <= n; i++) {
		for (t = 0; t < 4; t++) {
			int64_t x;
			uint64_t c;

			if (i == n) {
				if (t > 1)
					break;
				x = (int64_t)(t == 0 ? t0 : t1 - w);
			} else {
				switch (t) {
				case 0: x = (int64_t)st[i]; break;
				case 1: x = (int64_t)en[i]; break;
				case 2: x = (int64_t)st[i] - (int64_t)w; break;
				default: x = (int64_t)en[i] - (int64_t)w; break;
				}
			}
			if (x < (int64_t)t0)
				x = (int64_t)t0;
			if (x > (int64_t)(t1 - w))
				x = (int64_t)(t1 - w);
			c = covered(st, en, prefix, n, (uint64_t)x,
				    (uint64_t)x + w);
			if (c > best)
				best = c;
		}
	}
	free(prefix);
	if (best > w)
		best = w;
	return 1.0 - (double)best / (double)w;
}

void bench_pause_analyze(const tri_pause *p, size_t n, uint32_t kind,
			 uint64_t t0, uint64_t t1, bench_pause_summary *s)
{
	tri_pause *sel;
	uint64_t *len, *st, *en;
	size_t m = 0, i, j;
	int w;

	memset(s, 0, sizeof *s);
	for (w = 0; w < BENCH_MMU_NWIN; w++)
		s->mmu[w] = (t1 > t0 && bench_mmu_window_ns[w] <= t1 - t0) ? 1.0
									  : -1;
	sel = malloc((n + 1) * sizeof *sel);
	len = malloc((n + 1) * sizeof *len);
	st = malloc((n + 1) * sizeof *st);
	en = malloc((n + 1) * sizeof *en);
	if (!sel || !len || !st || !en) {
		perror("malloc");
		exit(1);
	}
	for (i = 0; i < n; i++) {
		if (kind && p[i].kind != kind)
			continue;
		if (p[i].start_ns + p[i].length_ns < t0 || p[i].start_ns > t1)
			continue;
		sel[m] = p[i];
		len[m] = p[i].length_ns;
		s->total_ns += p[i].length_ns;
		m++;
	}
	s->count = m;
	bench_sort_u64(len, m);
	s->p50_ns = bench_pct_u64(len, m, 0.50);
	s->p99_ns = bench_pct_u64(len, m, 0.99);
	s->p999_ns = bench_pct_u64(len, m, 0.999);
	s->max_ns = m ? len[m - 1] : 0;

	qsort(sel, m, sizeof *sel, cmp_pause);
	for (i = 0; i < m; i = j) {
		size_t k = 0;

		/* one thread: sel[i..j) */
		for (j = i; j < m && sel[j].thread == sel[i].thread; j++) {
			uint64_t a = sel[j].start_ns,
				 b = sel[j].start_ns + sel[j].length_ns;

			if (a < t0)
				a = t0;
			if (b > t1)
				b = t1;
			if (b <= a)
				continue;
			if (k > 0 && a <= en[k - 1]) { /* merge */
				if (b > en[k - 1])
					en[k - 1] = b;
				continue;
			}
			st[k] = a;
			en[k] = b;
			k++;
		}
		s->threads++;
		for (w = 0; w < BENCH_MMU_NWIN; w++) {
			double u = bench_mmu_intervals(st, en, k, t0, t1,
						       bench_mmu_window_ns[w]);

			if (u >= 0 && u < s->mmu[w]) {
				s->mmu[w] = u;
				s->mmu_thread[w] = sel[i].thread;
			}
		}
	}
	free(sel);
	free(len);
	free(st);
	free(en);
}

void bench_pause_print(FILE *f, const char *label,
		       const bench_pause_summary *s)
{
	int w;

	fprintf(f,
		"%s: %llu pauses on %d threads, total %.3f ms; p50 %.1f us, p99 %.1f us, p99.9 %.1f us, max %.1f us\n",
		label, (unsigned long long)s->count, s->threads,
		(double)s->total_ns / 1e6, (double)s->p50_ns / 1e3,
		(double)s->p99_ns / 1e3, (double)s->p999_ns / 1e3,
		(double)s->max_ns / 1e3);
	fprintf(f, "%s: MMU (worst thread):", label);
	for (w = 0; w < BENCH_MMU_NWIN; w++) {
		if (s->mmu[w] < 0)
			fprintf(f, " %s n/a", bench_mmu_window_name[w]);
		else
			fprintf(f, " %s %.3f", bench_mmu_window_name[w],
				s->mmu[w]);
	}
	fprintf(f, "\n");
}

void bench_pause_kinds_print(FILE *f, const char *label, const tri_pause *p,
			     size_t n, uint64_t t0, uint64_t t1)
{
	/* kinds the library may add later are printed by number */
	enum { NK = 16 };
	static const char *const names[9] = { "other", "handshake", "assist",
					      "stop", "wait", "sweep", "lock",
					      "heap", "callback" };
	uint64_t cnt[NK] = { 0 }, tot[NK] = { 0 }, mx[NK] = { 0 };
	size_t i;
	int k;

	for (i = 0; i < n; i++) {
		if (p[i].start_ns + p[i].length_ns < t0 || p[i].start_ns > t1)
			continue;
		k = p[i].kind < NK ? (int)p[i].kind : 0;
		cnt[k]++;
		tot[k] += p[i].length_ns;
		if (p[i].length_ns > mx[k])
			mx[k] = p[i].length_ns;
	}
	fprintf(f, "%s by kind:", label);
	for (k = 1; k < NK; k++) {
		if (!cnt[k])
			continue;
		if (k < 9)
			fprintf(f, " %s", names[k]);
		else
			fprintf(f, " kind %d", k);
		fprintf(f, " %llu (total %.3f ms, max %.1f us);",
			(unsigned long long)cnt[k], (double)tot[k] / 1e6,
			(double)mx[k] / 1e3);
	}
	if (cnt[0])
		fprintf(f, " other %llu;", (unsigned long long)cnt[0]);
	fprintf(f, "\n");
}

void bench_pause_emit(const char *benchmark, const char *cas,
		      const char *impl, const bench_pause_summary *s)
{
	int w;
	char metric[32];

	bench_emit(benchmark, cas, impl, "pause_count", "pauses",
		   bench_stats_one((double)s->count));
	bench_emit(benchmark, cas, impl, "pause_total", "ms",
		   bench_stats_one((double)s->total_ns / 1e6));
	bench_emit(benchmark, cas, impl, "pause_p50", "us",
		   bench_stats_one((double)s->p50_ns / 1e3));
	bench_emit(benchmark, cas, impl, "pause_p99", "us",
		   bench_stats_one((double)s->p99_ns / 1e3));
	bench_emit(benchmark, cas, impl, "pause_p99.9", "us",
		   bench_stats_one((double)s->p999_ns / 1e3));
	bench_emit(benchmark, cas, impl, "pause_max", "us",
		   bench_stats_one((double)s->max_ns / 1e3));
	for (w = 0; w < BENCH_MMU_NWIN; w++) {
		if (s->mmu[w] < 0)
			continue;
		snprintf(metric, sizeof metric, "mmu_%s",
			 bench_mmu_window_name[w]);
		bench_emit(benchmark, cas, impl, metric, "fraction",
			   bench_stats_one(s->mmu[w]));
	}
}

/* ------------------------------------------------------------------ */
/* bdwgc pauses                                                        */
/* ------------------------------------------------------------------ */

#define MAX_BDW_PAUSES (1u << 20)
static tri_pause *bdw_pauses;
static size_t bdw_npauses;

#ifdef HAVE_BDWGC
/* Written by bdw_event only, which bdwgc calls with its allocation lock held. */
static uint64_t bdw_stop_start, bdw_mark_start, bdw_last_mark;

static void bdw_event(GC_EventType ev)
{
	if (ev == GC_EVENT_MARK_START) {
		bdw_mark_start = bench_now_ns();
	} else if (ev == GC_EVENT_MARK_END && bdw_mark_start) {
		bdw_last_mark = bench_now_ns() - bdw_mark_start;
		bdw_mark_start = 0;
	} else if (ev == GC_EVENT_PRE_STOP_WORLD) {
		bdw_stop_start = bench_now_ns();
	} else if (ev == GC_EVENT_POST_START_WORLD && bdw_stop_start) {
		uint64_t now = bench_now_ns();

		if (bdw_npauses < MAX_BDW_PAUSES) {
			tri_pause *p = &bdw_pauses[bdw_npauses++];

			p->start_ns = bdw_stop_start;
			p->length_ns = now - bdw_stop_start;
			p->kind = TRI_PAUSE_STOP;
			p->thread = 0;
		}
		bdw_stop_start = 0;
	}
}
#endif

void bench_bdwgc_record_pauses(void)
{
#ifdef HAVE_BDWGC
	if (!bdw_pauses) {
		bdw_pauses = calloc(MAX_BDW_PAUSES, sizeof *bdw_pauses);
		if (!bdw_pauses) {
			perror("calloc");
			exit(1);
		}
	}
	GC_set_on_collection_event(bdw_event);
#endif
}

size_t bench_bdwgc_pauses(const tri_pause **out)
{
	*out = bdw_pauses;
	return bdw_pauses ? bdw_npauses : 0;
}

uint64_t bench_bdwgc_last_mark_ns(void)
{
#ifdef HAVE_BDWGC
	return bdw_last_mark;
#else
	return 0;
#endif
}

int bench_bdwgc_markers(void)
{
#ifdef HAVE_BDWGC
	return GC_get_parallel() + 1;
#else
	return 0;
#endif
}

/* ------------------------------------------------------------------ */
/* Handlers' work, and children reporting "R name value" lines          */
/* ------------------------------------------------------------------ */

void bench_burn_ns(uint64_t ns)
{
	uint64_t end = bench_now_ns() + ns;
	volatile uint64_t x = 88172645463325252ull;
	int i;

	while (bench_now_ns() < end) {
		for (i = 0; i < 32; i++) {
			uint64_t v = x;

			v ^= v << 13;
			v ^= v >> 7;
			v ^= v << 17;
			x = v;
		}
	}
}

void bench_sleep_ns(uint64_t ns)
{
	struct timespec ts = { (time_t)(ns / 1000000000u),
			       (long)(ns % 1000000000u) };

	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

void bench_precise_timers(void)
{
	(void)prctl(PR_SET_TIMERSLACK, 1UL, 0UL, 0UL, 0UL);
}

void bench_raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

long bench_peak_rss_bytes(void)
{
	struct rusage ru;

	if (getrusage(RUSAGE_SELF, &ru) != 0)
		return -1;
	return ru.ru_maxrss * 1024L;
}

uint64_t bench_quantile_u64(uint64_t *v, size_t n, double p)
{
	bench_sort_u64(v, n);
	return bench_pct_u64(v, n, p);
}

const char *bench_self_exe(const char *argv0)
{
	static char buf[4096];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);

	if (n > 0) {
		buf[n] = 0;
		return buf;
	}
	return argv0;
}

int bench_child_result(const char *text, const char *name, double *out)
{
	size_t len = strlen(name);
	const char *p;

	for (p = text; p && *p; p = strchr(p, '\n')) {
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

int bench_run_capture(char *const argv[], double timeout_s, char **out)
{
	int pfd[2], st = 0, timed_out = 0;
	size_t cap = 4096, len = 0;
	char *buf;
	uint64_t deadline;
	pid_t pid;

	*out = NULL;
	if (pipe(pfd) != 0)
		return -1;
	fflush(stdout);
	fflush(stderr);
	pid = fork();
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
	buf = malloc(cap);
	if (!buf) {
		perror("malloc");
		exit(1);
	}
	deadline = bench_now_ns() + (uint64_t)(timeout_s * 1e9);
	for (;;) {
		uint64_t now = bench_now_ns();
		struct pollfd pf = { pfd[0], POLLIN, 0 };
		int ms, r;
		ssize_t n;

		if (now >= deadline) {
			timed_out = 1;
			break;
		}
		ms = (int)((deadline - now) / 1000000u) + 1;
		r = poll(&pf, 1, ms > 1000 ? 1000 : ms);
		if (r < 0 && errno != EINTR)
			break;
		if (r <= 0)
			continue;
		if (len + 1024 > cap) {
			cap *= 2;
			buf = realloc(buf, cap);
			if (!buf) {
				perror("realloc");
				exit(1);
			}
		}
		n = read(pfd[0], buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	buf[len] = 0;
	close(pfd[0]);
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
		if (bench_now_ns() >= deadline && !timed_out) {
			timed_out = 1;
			kill(pid, SIGKILL);
		}
		bench_sleep_ns(1000000);
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

const char *bench_status_text(int status)
{
	static char buf[64];

	if (status == 124)
		return "timed out (killed)";
	if (status > 128)
		snprintf(buf, sizeof buf, "killed by signal %d (%s)",
			 status - 128, strsignal(status - 128));
	else
		snprintf(buf, sizeof buf, "exit status %d", status);
	return buf;
}
