/* SPDX-License-Identifier: MIT */
/*
 * test_observability.c - what a user reads from a running program:
 * debug=gctrace lines in Go's exact format, the statistics report at exit
 * (TRICOLOR_SHOW_STATS=1, debug=stats), debug=trace=PATH JSON and the
 * debug=heapprofile=PATH profile.
 *
 * Each scenario runs in a forked child (tsup_capture_child) that sets the
 * environment, initialises tricolor and works; the parent parses the
 * child's stderr or trace file. The parent never calls tri_init.
 */
#include "test_support.h"
#include <dlfcn.h>
#include <regex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

void tri_debug_cycle_hook(void (*fn)(int point)); /* libtricolor-test.la */

/* Go's gctrace line (runtime/mgc.go gcMarkTermination, Go 1.21+). */
#define GO_GCTRACE_RE                                                                           \
	"^gc ([0-9]+) @[0-9]+\\.[0-9]{3}s ([0-9]+)%: "                                           \
	"[0-9]+(\\.[0-9]+)?\\+[0-9]+(\\.[0-9]+)?\\+[0-9]+(\\.[0-9]+)? ms clock, "                 \
	"[0-9]+(\\.[0-9]+)?\\+[0-9]+(\\.[0-9]+)?/[0-9]+(\\.[0-9]+)?/[0-9]+(\\.[0-9]+)?"           \
	"\\+[0-9]+(\\.[0-9]+)? ms cpu, "                                                           \
	"[0-9]+->[0-9]+->[0-9]+ MB, [0-9]+ MB goal, [0-9]+ MB stacks, [0-9]+ MB globals, "       \
	"[0-9]+ P( \\(forced\\))?$"

struct node {
	struct node *next;
	char pad[48];
};

static int fin_run, cln_run;
static void count_fin(void *o)
{
	(void)o;
	__atomic_fetch_add(&fin_run, 1, __ATOMIC_RELAXED);
}
static void count_cln(void *a)
{
	(void)a;
	__atomic_fetch_add(&cln_run, 1, __ATOMIC_RELAXED);
}

/* A live list of about `bytes`, dropped by the caller. */
static __attribute__((noinline)) struct node *build_list(size_t bytes)
{
	struct node *head = NULL;
	for (size_t i = 0; i < bytes / sizeof *head; i++) {
		struct node *n = tri_alloc(sizeof *n);
		n->next = head;
		head = n;
	}
	return head;
}

static __attribute__((noinline)) void make_callbacks(int nfin, int ncln)
{
	for (int i = 0; i < nfin; i++)
		tri_set_finalizer(tri_alloc(32), count_fin);
	for (int i = 0; i < ncln; i++)
		tri_add_cleanup(tri_alloc(32), count_cln, NULL);
}

/* Garbage for automatic cycles, forced cycles, callbacks; 16 MiB live once. */
static void child_work(void *env)
{
	char *spec = strdup(env);
	for (char *save = NULL, *kv = strtok_r(spec, " ", &save); kv; kv = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(kv, '=');
		*eq = 0;
		setenv(kv, eq + 1, 1);
	}
	if (tri_init(NULL))
		_exit(3);
	tri_thread_set_name("main \"q\" \\ \x01");
	struct node *big = build_list(16u << 20);
	tri_collect();
	__atomic_store_n(&big, NULL, __ATOMIC_RELAXED);
	tsup_scrub_stack();
	for (int i = 0; i < 200000; i++)
		tri_alloc(64);
	make_callbacks(10, 20);
	tri_collect();
	tri_collect();
	tri_drain(-1);
	if (getenv("OBS_ABORT"))
		abort();
	uint64_t pmax = 0;
	tri_read_metric("/gc/pauses/max:nanoseconds", &pmax);
	fprintf(stderr, "child: fin %d cln %d process max pause %llu ns\n", fin_run, cln_run,
		(unsigned long long)pmax);
	exit(0); /* not _exit: the reports are written by atexit handlers */
}

static void run_child(const char *env, struct tsup_child *c)
{
	tsup_capture_child(child_work, (void *)env, c);
	if (!getenv("OBS_ABORT_EXPECTED"))
		ck_assert_msg(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0,
			      "child failed: status 0x%x, stderr: %s", c->status, c->err);
}

/* Every "gc N @" line matches Go's format; numbers count up from 1; the
 * forced cycles say so; the GC CPU percentage is a percentage. */
START_TEST(gctrace_lines_match_go_format)
{
	static struct tsup_child c;
	run_child("TRICOLOR_DEBUG=gctrace", &c);
	regex_t re;
	ck_assert_int_eq(regcomp(&re, GO_GCTRACE_RE, REG_EXTENDED | REG_NEWLINE), 0);
	int lines = 0, forced = 0;
	long last = 0;
	for (char *save = NULL, *l = strtok_r(c.err, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
		if (strncmp(l, "gc ", 3))
			continue;
		regmatch_t m[3];
		ck_assert_msg(regexec(&re, l, 3, m, 0) == 0, "not Go's gctrace format: \"%s\"", l);
		long n = strtol(l + m[1].rm_so, NULL, 10), pct = strtol(l + m[2].rm_so, NULL, 10);
		ck_assert_int_eq(n, last + 1);
		ck_assert_int_le(pct, 100);
		last = n;
		lines++;
		forced += strstr(l, " (forced)") != NULL;
	}
	regfree(&re);
	ck_assert_int_ge(lines, 3);
	ck_assert_int_ge(forced, 3);
}
END_TEST

/* The second line's max pause is the cycle's: a 16 MiB live heap checked
 * by debug=checkmark (a stop of every thread while the whole heap is
 * re-marked) makes the longest pause of the process early; the last cycle,
 * with almost nothing live, reports less. (The old line printed the
 * process's maximum on every line.) */
START_TEST(gctrace_max_pause_is_per_cycle)
{
	static struct tsup_child c;
	run_child("TRICOLOR_DEBUG=gctrace+checkmark", &c);
	double first_max = -1, last = -1, overall = 0;
	int n = 0;
	for (char *p = c.err; (p = strstr(p, " ms cpu, max pause ")); p++) {
		double v = strtod(p + 19, NULL);
		if (first_max < 0 || v > first_max)
			first_max = v;
		last = v;
		n++;
	}
	const char *pm = strstr(c.err, "process max pause ");
	ck_assert_ptr_nonnull(pm);
	overall = strtod(pm + 18, NULL) / 1e6;
	ck_assert_int_ge(n, 3);
	ck_assert_msg(first_max > 0 && last < first_max,
		      "last cycle's max pause %.3f ms should be below the earlier %.3f ms: %s", last,
		      first_max, c.err);
	ck_assert_msg(first_max <= overall + 0.01, "a cycle's max %.3f ms exceeds the process max %.3f ms",
		      first_max, overall);
}
END_TEST

/* A steady single-threaded loop: a live set of STEADY_N objects of
 * STEADY_SIZE bytes (8 MiB) in a ring whose slots are overwritten with new
 * objects, 128 MiB allocated in all, then two forced cycles. */
#define STEADY_N 16384
#define STEADY_SIZE 512
static void **steady_ring; /* a global: a root through data_roots */

static void child_steady(void *arg)
{
	(void)arg;
	setenv("TRICOLOR_DEBUG", "gctrace", 1);
	if (tri_init(NULL))
		_exit(3);
	steady_ring = tri_alloc(STEADY_N * sizeof *steady_ring);
	for (int i = 0; i < STEADY_N; i++)
		tri_store(&steady_ring[i], tri_alloc(STEADY_SIZE));
	uint64_t done = 0;
	tri_read_metric("/gc/cycles/total:gc-cycles", &done);
	fprintf(stderr, "child: filled after cycle %llu\n", (unsigned long long)done);
	for (long i = 0; i < (128l << 20) / STEADY_SIZE; i++)
		tri_store(&steady_ring[i % STEADY_N], tri_alloc(STEADY_SIZE));
	tri_collect();
	tri_collect();
	exit(0);
}

/* Run a gctrace scenario in a child that must exit 0; returns the text
 * after the marker line's prefix it printed. */
static const char *gt_run(void (*fn)(void *), struct tsup_child *c, const char *marker)
{
	tsup_capture_child(fn, NULL, c);
	ck_assert_msg(WIFEXITED(c->status) && WEXITSTATUS(c->status) == 0, "child failed: 0x%x: %s",
		      c->status, c->err);
	const char *f = strstr(c->err, marker);
	ck_assert_msg(f != NULL, "no \"%s\" line: %s", marker, c->err);
	return f + strlen(marker);
}

/*
 * gctrace's H0->H1->H2 keeps Go's meaning: H2, the marked live heap, is at
 * most H1, the heap when marking terminated (H2 used to be the bytes the
 * sweep kept, objects allocated until the sweep handshake included, and
 * read 15->27->60 MB). Deterministic bounds, not timing: every object H2
 * counts (mark bit set) was allocated before mark termination and not yet
 * freed, so heap_live counted it at H1; every ring object present when a
 * cycle's black allocation began is marked (by the ring's scan or by the
 * deletion barrier when its slot is overwritten), so a cycle that starts
 * after the ring is full has H2 >= 8 MiB; and the bytes kept (second line)
 * are at least H2. How many cycles the loop gets depends on the pacer and
 * the machine; the last forced cycle always starts after the fill (cycle
 * filled+1 may have been running during it, filled+2 cannot), so at least
 * one cycle is checked against the lower bound.
 */
/* One cycle's heap figures from a gctrace capture: H0->H1->H2 of its "gc N"
 * line and "L MB kept" of its "tricolor gc N:" line. */
struct gt_heap {
	long n, h0, h1, h2, kept;
};

/* Parse every cycle in err into g[0..max); returns the count. Asserts the
 * rules every cycle keeps: H2 <= H1 and kept >= H2. */
static int gt_heaps(const char *err, struct gt_heap *g, int max)
{
	int k = 0;
	for (const char *p = err; (p = strstr(p, "gc ")); p++) {
		if (p != err && p[-1] != '\n')
			continue; /* "tricolor gc N:" lines are read below */
		struct gt_heap h;
		const char *arrow = strstr(p, "->");
		const char *eol = strchr(p, '\n');
		if (!eol)
			break; /* the capture's end (tsup_child keeps 16 KiB) */
		ck_assert_msg(arrow && arrow < eol, "no heap figures: %.200s", p);
		while (arrow > p && arrow[-1] >= '0' && arrow[-1] <= '9')
			arrow--;
		ck_assert_int_eq(sscanf(p, "gc %ld ", &h.n), 1);
		ck_assert_msg(sscanf(arrow, "%ld->%ld->%ld MB", &h.h0, &h.h1, &h.h2) == 3,
			      "heap figures: %.200s", p);
		ck_assert_msg(h.h2 <= h.h1, "gc %ld: H2 %ld MB > H1 %ld MB: %.*s", h.n, h.h2, h.h1,
			      (int)(eol - p), p);
		char key[48];
		snprintf(key, sizeof key, "\ntricolor gc %ld: ", h.n);
		const char *t = strstr(eol, key);
		const char *t_eol = t ? strchr(t + 1, '\n') : NULL;
		if (!t_eol && strlen(err) >= sizeof ((struct tsup_child *)0)->err - 1)
			break; /* cut off at the capture's end */
		ck_assert_msg(t != NULL, "no second line for gc %ld", h.n);
		const char *kp = strstr(t, " MB kept");
		ck_assert_msg(kp && (!t_eol || kp < t_eol), "gc %ld: no \"MB kept\": %.200s", h.n, t + 1);
		while (kp > t && kp[-1] >= '0' && kp[-1] <= '9')
			kp--;
		h.kept = strtol(kp, NULL, 10);
		ck_assert_msg(h.kept >= h.h2, "gc %ld: kept %ld MB < H2 %ld MB", h.n, h.kept, h.h2);
		if (k < max)
			g[k++] = h;
	}
	return k;
}

/*
 * gctrace's H0->H1->H2 keeps Go's meaning: H2, the marked live heap, is at
 * most H1, the heap when marking terminated (H2 used to be the bytes the
 * sweep kept, objects allocated until the sweep handshake included, and
 * read 15->27->60 MB). Deterministic bounds, not timing: every object H2
 * counts (mark bit set) was allocated before mark termination and not yet
 * freed, so heap_live counted it at H1; every ring object present when a
 * cycle's black allocation began is marked (by the ring's scan or by the
 * deletion barrier when its slot is overwritten), so a cycle that starts
 * after the ring is full has H2 >= 8 MiB; and the bytes kept (second line)
 * are at least H2. How many cycles the loop gets depends on the pacer and
 * the machine; the last forced cycle always starts after the fill (cycle
 * filled+1 may have been running during it, filled+2 cannot), so at least
 * one cycle is checked against the lower bound.
 */
START_TEST(gctrace_h2_is_marked_heap_at_most_h1)
{
	static struct tsup_child c;
	long filled = strtol(gt_run(child_steady, &c, "child: filled after cycle "), NULL, 10);
	struct gt_heap g[64];
	int k = gt_heaps(c.err, g, 64), after = 0;
	for (int i = 0; i < k; i++)
		if (g[i].n >= filled + 2) {
			ck_assert_msg(g[i].h2 >= (STEADY_N * STEADY_SIZE) >> 20,
				      "gc %ld: H2 %ld MB below the %d MiB live ring", g[i].n, g[i].h2,
				      (STEADY_N * STEADY_SIZE) >> 20);
			after++;
		}
	ck_assert_msg(after >= 1, "%d cycles after the fill (%d in all): %s", after, k, c.err);
}
END_TEST

/* The case that broke the old H2 on purpose: the cycle hook holds a forced
 * cycle between mark termination and the sweep handshake while the main
 * thread, which did not allocate before, allocates WINDOW_BYTES of garbage
 * (black: black allocation lasts until the sweep handshake). H1 is about
 * the 1 MiB live list; the window's bytes are kept by the sweep (second
 * line) but are not marked, so H2 stays <= H1 (the old H2 read >= 32). */
#define WINDOW_BYTES (32u << 20)
static struct node *window_list;
static int win_armed, win_open, win_collected;
static uint64_t win_bytes;

static void win_hook(int point)
{
	if (point != 2 /* CYCLE_AT_MARK_DONE */ || !__atomic_exchange_n(&win_armed, 0, __ATOMIC_SEQ_CST))
		return;
	__atomic_store_n(&win_open, 1, __ATOMIC_SEQ_CST);
	struct timespec d = { 0, 1000000 };
	for (long waited = 0; __atomic_load_n(&win_bytes, __ATOMIC_SEQ_CST) < WINDOW_BYTES &&
			      waited < tsup_ms(5000); waited++)
		nanosleep(&d, NULL);
	__atomic_store_n(&win_open, 0, __ATOMIC_SEQ_CST);
}

static void *win_collect(void *arg)
{
	(void)arg;
	tri_collect();
	__atomic_store_n(&win_collected, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void child_window(void *arg)
{
	(void)arg;
	setenv("TRICOLOR_DEBUG", "gctrace", 1);
	if (tri_init(NULL))
		_exit(3);
	__atomic_store_n(&window_list, build_list(1u << 20), __ATOMIC_SEQ_CST); /* kept: read below */
	tri_collect();
	tri_collect();
	tri_debug_cycle_hook(win_hook);
	__atomic_store_n(&win_armed, 1, __ATOMIC_SEQ_CST);
	struct tsup_thread t;
	tsup_spawn(&t, win_collect, NULL);
	while (!__atomic_load_n(&win_collected, __ATOMIC_SEQ_CST)) {
		if (__atomic_load_n(&win_open, __ATOMIC_SEQ_CST)) {
			tri_alloc(256);
			__atomic_fetch_add(&win_bytes, 256, __ATOMIC_SEQ_CST);
		} else {
			tri_safepoint();
		}
	}
	tsup_join(&t);
	tri_debug_cycle_hook(NULL);
	fprintf(stderr, "child: window %llu bytes, list %s\n", (unsigned long long)win_bytes,
		__atomic_load_n(&window_list, __ATOMIC_SEQ_CST) ? "kept" : "gone");
	exit(0);
}

START_TEST(gctrace_h2_excludes_objects_allocated_after_mark_termination)
{
	static struct tsup_child c;
	long window_mb = (long)(strtoull(gt_run(child_window, &c, "child: window "), NULL, 10) >> 20);
	struct gt_heap g[64];
	int k = gt_heaps(c.err, g, 64); /* H2 <= H1 and kept >= H2 on every line */
	long most_kept = 0;
	for (int i = 0; i < k; i++)
		if (g[i].kept - g[i].h2 > most_kept)
			most_kept = g[i].kept - g[i].h2;
	/* The window's objects are in some cycle's kept, not in its H2. */
	ck_assert_msg(most_kept + 1 >= window_mb, "window of %ld MB not in any cycle's kept: %s",
		      window_mb, c.err);
	ck_assert_msg(window_mb >= 8 || TSUP_SANITIZER, "window of %ld MB only: %s", window_mb, c.err);
}
END_TEST

static double field(const char *text, const char *key)
{
	const char *p = strstr(text, key);
	ck_assert_msg(p != NULL, "report lacks \"%s\": %s", key, text);
	return strtod(p + strlen(key), NULL);
}

static void check_report(const char *err)
{
	ck_assert_ptr_nonnull(strstr(err, "tricolor: statistics at exit"));
	ck_assert_int_ge((int)field(err, "  cycles: "), 3);
	ck_assert_int_ge((int)field(err, "forced"), 0);
	const char *f = strstr(err, "  cycles: ");
	ck_assert_ptr_nonnull(strstr(f, "(3 forced)") ? f : NULL);
	ck_assert_msg(field(err, "  heap peak: ") >= 15.0, "heap peak below the 16 MiB live list: %s", err);
	ck_assert_int_eq((int)field(err, "  finalizers run: "), 10);
	ck_assert_int_eq((int)field(err, "  cleanups run: "), 20);
	double cpu = field(err, "  gc cpu: ");
	ck_assert(cpu > 0);
	const char *g = strstr(err, "  gc cpu: ");
	double pct = field(g, "ms, ");
	ck_assert(pct >= 0 && pct <= 100);
	const char *pl = strstr(err, "  pauses: ");
	ck_assert_ptr_nonnull(pl);
	double cnt = strtod(pl + 10, NULL), p50 = field(pl, "p50 "), p99 = field(pl, "p99 "),
	       max = field(pl, "max ");
	ck_assert(cnt >= 1);
	ck_assert_msg(p50 <= p99 && p99 <= max, "percentiles out of order: %s", pl);
	ck_assert_ptr_nonnull(strstr(err, "  memory returned to the OS: "));
}

START_TEST(stats_at_exit_with_env_variable)
{
	static struct tsup_child c;
	run_child("TRICOLOR_SHOW_STATS=1", &c);
	check_report(c.err);
}
END_TEST

START_TEST(stats_at_exit_with_debug_flag)
{
	static struct tsup_child c;
	run_child("TRICOLOR_DEBUG=stats", &c);
	check_report(c.err);
}
END_TEST

START_TEST(stats_not_printed_by_default)
{
	static struct tsup_child c;
	run_child("OBS_NOTHING=1", &c);
	ck_assert_ptr_null(strstr(c.err, "statistics at exit"));
	ck_assert_ptr_null(strstr(c.err, "gc 1 @"));
}
END_TEST

/* python3's json module reads the file; every thread with an event is
 * named exactly once, before its first event. */
static const char *check_py =
	"import json, sys\n"
	"text = open(sys.argv[1]).read()\n"
	"if sys.argv[2] == 'open':\n"
	"    assert not text.rstrip().endswith(']'), 'array closed by a dying process?'\n"
	"    text = text + ']'\n"
	"ev = json.loads(text)\n"
	"named = {}\n"
	"for e in ev:\n"
	"    if e.get('ph') == 'M' and e['name'] == 'thread_name':\n"
	"        assert e['tid'] not in named, 'thread %d named twice' % e['tid']\n"
	"        named[e['tid']] = e['args']['name']\n"
	"    elif e.get('ph') == 'X':\n"
	"        assert e['tid'] in named, 'event before its thread is named: %r' % e\n"
	"assert any(e.get('name') == 'GC cycle' for e in ev), 'no GC cycle event'\n"
	"assert 'finalizer' in named.values(), named\n"
	"assert 'main \"q\" \\\\ \\x01' in named.values(), named\n"
	"print('events', len(ev))\n";

static void check_trace(const char *path, const char *mode)
{
	char cmd[512];
	FILE *f = fopen("obs_check.py", "w");
	ck_assert_ptr_nonnull(f);
	fputs(check_py, f);
	fclose(f);
	snprintf(cmd, sizeof cmd, "python3 obs_check.py %s %s >&2", path, mode);
	ck_assert_msg(system(cmd) == 0, "%s failed on %s", cmd, path);
	if (!strcmp(mode, "closed") && system("command -v jq >/dev/null 2>&1") == 0) {
		snprintf(cmd, sizeof cmd, "jq length %s >/dev/null", path);
		ck_assert_int_eq(system(cmd), 0);
	}
	unlink("obs_check.py");
}

START_TEST(trace_is_json_at_exit)
{
	static struct tsup_child c;
	char env[128];
	snprintf(env, sizeof env, "TRICOLOR_DEBUG=trace=obs_trace_%d.json", (int)getpid());
	run_child(env, &c);
	check_trace(env + strlen("TRICOLOR_DEBUG=trace="), "closed");
	unlink(env + strlen("TRICOLOR_DEBUG=trace="));
}
END_TEST

/* A process that dies leaves complete events in an unterminated array. */
START_TEST(trace_readable_after_abort)
{
	static struct tsup_child c;
	char env[128];
	snprintf(env, sizeof env, "OBS_ABORT=1 TRICOLOR_DEBUG=trace=obs_trace_a%d.json", (int)getpid());
	setenv("OBS_ABORT_EXPECTED", "1", 1);
	run_child(env, &c);
	unsetenv("OBS_ABORT_EXPECTED");
	ck_assert_msg(WIFSIGNALED(c.status) && WTERMSIG(c.status) == SIGABRT, "status 0x%x", c.status);
	const char *path = strstr(env, "trace=") + 6;
	check_trace(path, "open");
	unlink(path);
}
END_TEST

/* debug=heapprofile: two sites allocate 96-byte objects; one keeps 9.6 MB
 * reachable, the other makes 96 MB of garbage. The profile (pprof's legacy
 * text format) must put the in-use bytes at the first site and only
 * allocations at the second. The sites are looked up with dladdr (the
 * binary is linked with -export-dynamic); the child is a fork of this
 * process, so its addresses are ours. */
#define HP_LIVE 100000
static void *hp_keep[HP_LIVE];
__attribute__((noinline)) void obs_hp_leak_site(int i);
__attribute__((noinline)) void obs_hp_garbage_site(void);
__attribute__((noinline)) void obs_hp_leak_site(int i)
{
	hp_keep[i] = tri_alloc(96);
	__asm__ __volatile__("" ::: "memory"); /* not a tail call */
}
__attribute__((noinline)) void obs_hp_garbage_site(void)
{
	tri_alloc(96);
	__asm__ __volatile__("" ::: "memory");
}

static void child_heapprofile(void *path)
{
	char env[300];
	snprintf(env, sizeof env, "heapprofile=%s", (char *)path);
	setenv("TRICOLOR_DEBUG", env, 1);
	if (tri_init(NULL))
		_exit(3);
	tri_add_roots(hp_keep, hp_keep + HP_LIVE);
	for (int i = 0; i < HP_LIVE; i++)
		obs_hp_leak_site(i);
	for (int i = 0; i < 10 * HP_LIVE; i++)
		obs_hp_garbage_site();
	exit(0);
}

static const char *site_of(unsigned long pc)
{
	Dl_info info;
	if (dladdr((void *)(pc - 1), &info) && info.dli_sname)
		return info.dli_sname;
	return "?";
}

START_TEST(heapprofile_names_the_site_that_keeps_memory)
{
	static struct tsup_child c;
	char path[64];
	snprintf(path, sizeof path, "obs_heap_%d.prof", (int)getpid());
	tsup_capture_child(child_heapprofile, path, &c);
	ck_assert_msg(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "child: 0x%x %s", c.status, c.err);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	char line[4096];
	unsigned long long ti, tib, ta, tab, rate;
	ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
	ck_assert_int_eq(sscanf(line, "heap profile: %llu: %llu [%llu: %llu] @ heap_v2/%llu", &ti, &tib, &ta,
				&tab, &rate), 5);
	ck_assert_uint_eq(rate, 512 * 1024);
	unsigned long long si = 0, sa = 0, leak_inuse = 0, garbage_alloc = 0, garbage_inuse = 0;
	int maps = 0;
	while (fgets(line, sizeof line, f)) {
		unsigned long long io, ib, ao, ab;
		int used = 0;
		if (sscanf(line, "%llu: %llu [%llu: %llu] @%n", &io, &ib, &ao, &ab, &used) == 4 && used) {
			si += ib;
			sa += ab;
			ck_assert_uint_le(io, ao);
			/* The first frames: the site, maybe a wrapper below it. */
			char *p = line + used;
			for (int k = 0; k < 2 && *p; k++) {
				unsigned long pc = strtoul(p, &p, 16);
				const char *name = site_of(pc);
				if (!strcmp(name, "obs_hp_leak_site"))
					leak_inuse += ib;
				if (!strcmp(name, "obs_hp_garbage_site"))
					garbage_alloc += ab, garbage_inuse += ib;
			}
		} else if (!strncmp(line, "MAPPED_LIBRARIES:", 17)) {
			maps = 1;
		}
	}
	fclose(f);
	unlink(path);
	ck_assert_uint_eq(si, tib);
	ck_assert_uint_eq(sa, tab);
	ck_assert(maps);
	/* 9.6 MB live at 512 KiB per sample: about 18 samples of 96 bytes. */
	ck_assert_msg(leak_inuse >= 8 * 96, "in use at the leaking site: %llu bytes", leak_inuse);
	ck_assert_msg(leak_inuse * 10 >= tib * 9, "leaking site holds %llu of %llu in-use bytes", leak_inuse, tib);
	ck_assert_msg(garbage_alloc >= 80 * 96, "allocated at the garbage site: %llu bytes", garbage_alloc);
	ck_assert_msg(garbage_inuse <= 3 * 96, "garbage site still in use: %llu bytes", garbage_inuse);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("observability");
	TCase *tc = tcase_create("observability");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, gctrace_lines_match_go_format);
	tcase_add_test(tc, gctrace_max_pause_is_per_cycle);
	tcase_add_test(tc, gctrace_h2_is_marked_heap_at_most_h1);
	tcase_add_test(tc, gctrace_h2_excludes_objects_allocated_after_mark_termination);
	tcase_add_test(tc, stats_at_exit_with_env_variable);
	tcase_add_test(tc, stats_at_exit_with_debug_flag);
	tcase_add_test(tc, stats_not_printed_by_default);
	tcase_add_test(tc, trace_is_json_at_exit);
	tcase_add_test(tc, trace_readable_after_abort);
	tcase_add_test(tc, heapprofile_names_the_site_that_keeps_memory);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
