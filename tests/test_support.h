/* SPDX-License-Identifier: MIT */
/*
 * test_support.h - helpers shared by the foundation and collector tests
 * (test_alloc, test_threads, test_collector, test_stress):
 *  - tsup_capture_child: run a scenario in a forked child with its stderr
 *    captured (death tests assert the misuse message, not only the abort);
 *  - tsup_rss_bytes: resident set size from /proc/self/statm;
 *  - tsup_metric: tri_read_metric that must succeed;
 *  - tsup_spawn / tsup_join: attached helper threads, joined inside a
 *    blocking region;
 *  - cleanup callbacks that set a flag or bump a counter (malloc'd args,
 *    invisible to the collector), and tsup_collect_until (retry collect +
 *    drain a few times before declaring that something was not collected);
 *  - tsup_env_long: numeric knobs from the environment (make stress);
 *  - sanitizer builds: TSUP_SANITIZER, tsup_time_scale / tsup_ms (test
 *    deadlines and, through CK_TIMEOUT_MULTIPLIER, Check's timeouts scale
 *    with the instrumented build's slowdown), tsup_heap_resident_bytes and
 *    tsup_malloc_bytes (memory measures that exclude a sanitizer's shadow).
 * Everything is static: each test binary includes this header once.
 */
#ifndef TRI_TEST_SUPPORT_H
#define TRI_TEST_SUPPORT_H

#include <check.h>
#include <errno.h>
#include <inttypes.h>
#include <malloc.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <tricolor.h>
#include <unistd.h>

#define TSUP_UNUSED __attribute__((unused))

/* ---------------------------------------------------------------- */
/* Sanitizer builds                                                  */
/* ---------------------------------------------------------------- */

/* TSUP_SANITIZER: 1 in a sanitizer build (GCC defines __SANITIZE_*__,
 * clang answers __has_feature), TSUP_SANITIZER_NAME which one, TSUP_TSAN 1
 * under ThreadSanitizer. */
#if defined(__SANITIZE_THREAD__)
#define TSUP_SANITIZER_NAME "thread"
#elif defined(__SANITIZE_ADDRESS__)
#define TSUP_SANITIZER_NAME "address"
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define TSUP_SANITIZER_NAME "thread"
#elif __has_feature(address_sanitizer)
#define TSUP_SANITIZER_NAME "address"
#endif
#endif
#ifdef TSUP_SANITIZER_NAME
#define TSUP_SANITIZER 1
#define TSUP_TSAN (TSUP_SANITIZER_NAME[0] == 't')
/* The sanitizer runtimes' allocator statistics (sanitizer/allocator_interface.h). */
size_t __sanitizer_get_current_allocated_bytes(void);
#else
#define TSUP_SANITIZER 0
#define TSUP_SANITIZER_NAME "none"
#define TSUP_TSAN 0
#endif

/* TSUP_VALGRIND(): running under valgrind (scripts/valgrind-check), where
 * the process's RSS and malloc statistics are valgrind's own. */
#if defined(__has_include)
#if __has_include(<valgrind/valgrind.h>)
#include <valgrind/valgrind.h>
#define TSUP_VALGRIND() (RUNNING_ON_VALGRIND != 0)
#endif
#endif
#ifndef TSUP_VALGRIND
#define TSUP_VALGRIND() 0
#endif

/*
 * How much slower than a normal build this one runs: TRI_TEST_TIME_SCALE
 * if set, else 4 under ASan+UBSan (measured 3-5x with --enable-debug),
 * 8 under TSan (5-15x), 1 otherwise. Deadlines that only guard against a
 * hang (a drain timeout, a child's alarm, a time budget for a fixed amount
 * of work) are multiplied by it; what the tests assert about the collector
 * (what is collected, what runs, in which order, memory bounds) is not.
 */
static TSUP_UNUSED long tsup_time_scale(void)
{
	const char *v = getenv("TRI_TEST_TIME_SCALE");
	if (v && *v) {
		char *end;
		long n = strtol(v, &end, 10);
		if (!*end && n > 0)
			return n;
	}
	if (!TSUP_SANITIZER)
		return 1;
	return TSUP_TSAN ? 8 : 4;
}

/* A deadline of ms milliseconds in this build. */
static TSUP_UNUSED long tsup_ms(long ms)
{
	return ms * tsup_time_scale();
}

/*
 * Check's per-test timeouts scale the same way: Check multiplies every
 * timeout by CK_TIMEOUT_MULTIPLIER, read when a test case is created, so it
 * is set (unless the environment already sets it) before main.
 */
static __attribute__((constructor)) void tsup_scale_check_timeouts(void)
{
	long k = tsup_time_scale();
	if (k > 1 && !getenv("CK_TIMEOUT_MULTIPLIER")) {
		char buf[24];
		snprintf(buf, sizeof buf, "%ld", k);
		setenv("CK_TIMEOUT_MULTIPLIER", buf, 0);
	}
}

/* ---------------------------------------------------------------- */
/* Child processes with captured stderr                              */
/* ---------------------------------------------------------------- */

struct tsup_child {
	int status;	  /* from waitpid */
	char err[16384];  /* captured stderr, NUL-terminated */
	size_t err_len;
};

/*
 * Run fn(arg) in a forked child whose stderr goes into c->err. The child
 * exits with status 0 if fn returns. No core dumps. Call this before
 * tri_init in the test process when the scenario initialises tricolor
 * itself (the child then starts from a clean process image).
 */
static TSUP_UNUSED void tsup_capture_child(void (*fn)(void *), void *arg, struct tsup_child *c)
{
	int fds[2];
	memset(c, 0, sizeof *c);
	ck_assert_int_eq(pipe(fds), 0);
	fflush(NULL);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct rlimit rl = {0, 0};
		setrlimit(RLIMIT_CORE, &rl);
		close(fds[0]);
		dup2(fds[1], 2);
		close(fds[1]);
		fn(arg);
		fflush(NULL);
		_exit(0);
	}
	close(fds[1]);
	for (;;) {
		ssize_t n = read(fds[0], c->err + c->err_len, sizeof c->err - 1 - c->err_len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		c->err_len += (size_t)n;
		if (c->err_len >= sizeof c->err - 1)
			break;
	}
	c->err[c->err_len] = 0;
	close(fds[0]);
	while (waitpid(pid, &c->status, 0) < 0)
		ck_assert_int_eq(errno, EINTR);
}

/* The child died of signal sig and its stderr contains every needle. */
static TSUP_UNUSED void tsup_assert_died(const struct tsup_child *c, int sig, const char *needle1,
					 const char *needle2)
{
	ck_assert_msg(WIFSIGNALED(c->status) && WTERMSIG(c->status) == sig,
		      "child should die of signal %d; status 0x%x, stderr: %s", sig, c->status, c->err);
	ck_assert_msg(strstr(c->err, needle1) != NULL, "stderr lacks \"%s\": %s", needle1, c->err);
	if (needle2)
		ck_assert_msg(strstr(c->err, needle2) != NULL, "stderr lacks \"%s\": %s", needle2,
			      c->err);
}

/* ---------------------------------------------------------------- */
/* Process memory, metrics, time, environment                        */
/* ---------------------------------------------------------------- */

static TSUP_UNUSED uint64_t tsup_rss_bytes(void)
{
	FILE *f = fopen("/proc/self/statm", "r");
	unsigned long size = 0, resident = 0;
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%lu %lu", &size, &resident), 2);
	fclose(f);
	return (uint64_t)resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/*
 * Resident bytes of the heap's address range: the sum of the Rss (from
 * /proc/self/smaps) of the mappings inside the heap's reservation, found
 * from p, a pointer into the heap, and reserve, the heap_reserve it was
 * initialised with. The reservation is one PROT_NONE mapping, split as
 * parts of it are committed from its start; its uncommitted top is the
 * first PROT_NONE mapping at or above p, which ends where the reservation
 * ends. Unlike process RSS this counts neither a sanitizer's shadow memory
 * nor its allocator (both at fixed addresses far from the heap), so in a
 * sanitizer build it still measures what the collector keeps resident:
 * pages in use, and pages it says it returned to the OS but did not.
 */
static TSUP_UNUSED uint64_t tsup_heap_resident_bytes(const void *p, uint64_t reserve)
{
	enum { MAXMAP = 8192 };
	static struct tsup_map {
		uintptr_t lo, hi;
		uint64_t rss;
		int anon, noaccess;
	} maps[MAXMAP];
	FILE *f = fopen("/proc/self/smaps", "r");
	ck_assert_ptr_nonnull(f);
	char line[512];
	int n = 0;
	while (fgets(line, sizeof line, f)) {
		uintptr_t lo, hi;
		char perms[8];
		int name_at = 0;
		unsigned long kb;
		if (sscanf(line, "%" SCNxPTR "-%" SCNxPTR " %7s %*s %*s %*s%n", &lo, &hi, perms, &name_at) >= 3 &&
		    name_at > 0) {
			ck_assert_int_lt(n, MAXMAP);
			const char *name = line + name_at;
			while (*name == ' ')
				name++;
			maps[n].lo = lo;
			maps[n].hi = hi;
			maps[n].rss = 0;
			maps[n].anon = *name == '\n' || *name == 0;
			maps[n].noaccess = !strncmp(perms, "---", 3);
			n++;
		} else if (n > 0 && sscanf(line, "Rss: %lu kB", &kb) == 1) {
			maps[n - 1].rss = (uint64_t)kb << 10;
		}
	}
	fclose(f);
	int at = 0;
	while (at < n && !(maps[at].lo <= (uintptr_t)p && (uintptr_t)p < maps[at].hi))
		at++;
	ck_assert_msg(at < n && maps[at].anon, "%p is not in an anonymous mapping", p);
	while (!maps[at].noaccess) {
		ck_assert_msg(at + 1 < n && maps[at + 1].anon && maps[at + 1].lo == maps[at].hi,
			      "no uncommitted heap reservation above %p", p);
		at++;
	}
	uintptr_t end = maps[at].hi, base = end - (uintptr_t)reserve;
	uint64_t sum = 0;
	int base_found = 0;
	for (int i = 0; i < n; i++) {
		if (maps[i].lo == base)
			base_found = 1;
		if (maps[i].lo >= base && maps[i].hi <= end)
			sum += maps[i].rss;
	}
	ck_assert_msg(base_found, "no mapping starts at the heap's base %#" PRIxPTR " (end %#" PRIxPTR
		      " less heap_reserve %" PRIu64 ")", base, end, reserve);
	return sum;
}

/* Bytes the process has malloc'd and not freed (the sanitizer allocator's
 * count in a sanitizer build, glibc's otherwise). */
static TSUP_UNUSED uint64_t tsup_malloc_bytes(void)
{
#if TSUP_SANITIZER
	return __sanitizer_get_current_allocated_bytes();
#else
	struct mallinfo2 mi = mallinfo2();
	return mi.uordblks + mi.hblkhd;
#endif
}

static TSUP_UNUSED uint64_t tsup_metric(const char *name)
{
	uint64_t v = 0;
	int r = tri_read_metric(name, &v);
	ck_assert_msg(r == 0, "tri_read_metric(%s) returned %d", name, r);
	return v;
}

static TSUP_UNUSED double tsup_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static TSUP_UNUSED long tsup_env_long(const char *name, long dflt)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return dflt;
	char *end;
	long n = strtol(v, &end, 10);
	return (*end || n <= 0) ? dflt : n;
}

/* Sleep inside a blocking region (the collector never waits for us). */
static TSUP_UNUSED void tsup_sleep_ms(long ms)
{
	struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
	int attached = tri_thread_is_attached();
	if (attached)
		tri_blocking_enter();
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
	if (attached)
		tri_blocking_leave();
}

/* ---------------------------------------------------------------- */
/* Attached helper threads                                           */
/* ---------------------------------------------------------------- */

struct tsup_thread {
	pthread_t th;
	void *(*fn)(void *);
	void *arg;
	void *ret;
};

static void *tsup_trampoline(void *a)
{
	struct tsup_thread *t = a;
	tri_thread_attach();
	t->ret = t->fn(t->arg);
	tri_thread_detach();
	return NULL;
}

/* Start fn(arg) on a new thread that is attached while fn runs. */
static TSUP_UNUSED void tsup_spawn(struct tsup_thread *t, void *(*fn)(void *), void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->ret = NULL;
	ck_assert_int_eq(pthread_create(&t->th, NULL, tsup_trampoline, t), 0);
}

/* Join (inside a blocking region if the caller is attached); returns fn's result. */
static TSUP_UNUSED void *tsup_join(struct tsup_thread *t)
{
	int attached = tri_thread_is_attached();
	if (attached)
		tri_blocking_enter();
	int r = pthread_join(t->th, NULL);
	if (attached)
		tri_blocking_leave();
	ck_assert_int_eq(r, 0);
	return t->ret;
}

/* Run fn(arg) on an attached helper thread and wait for it: objects it
 * allocates leave no stale copies on the caller's stack. */
static TSUP_UNUSED void *tsup_run_in_thread(void *(*fn)(void *), void *arg)
{
	struct tsup_thread t;
	tsup_spawn(&t, fn, arg);
	return tsup_join(&t);
}

/* ---------------------------------------------------------------- */
/* Cleanup callbacks and collection helpers                          */
/* ---------------------------------------------------------------- */

/* arg: a malloc'd int set to 1 (invisible to the collector). */
static TSUP_UNUSED void tsup_cleanup_set_flag(void *arg)
{
	__atomic_store_n((int *)arg, 1, __ATOMIC_SEQ_CST);
}

/* arg: a malloc'd long incremented. */
static TSUP_UNUSED void tsup_cleanup_count(void *arg)
{
	__atomic_add_fetch((long *)arg, 1, __ATOMIC_SEQ_CST);
}

static TSUP_UNUSED int *tsup_new_flag(void)
{
	int *f = calloc(1, sizeof *f);
	ck_assert_ptr_nonnull(f);
	return f;
}

static TSUP_UNUSED int tsup_flag(const int *f)
{
	return __atomic_load_n(f, __ATOMIC_SEQ_CST);
}

static TSUP_UNUSED long tsup_count(const long *c)
{
	return __atomic_load_n(c, __ATOMIC_SEQ_CST);
}

/* Collect and drain up to `tries` times until *counter >= want; returns
 * the number of collections that were needed (or 0 if never reached). */
static TSUP_UNUSED int tsup_collect_until_count(const long *counter, long want, int tries)
{
	for (int i = 1; i <= tries; i++) {
		tri_collect();
		ck_assert_int_eq(tri_drain(tsup_ms(5000)), 0);
		if (tsup_count(counter) >= want)
			return i;
	}
	return 0;
}

static TSUP_UNUSED int tsup_collect_until_flag(const int *flag, int tries)
{
	for (int i = 1; i <= tries; i++) {
		tri_collect();
		ck_assert_int_eq(tri_drain(tsup_ms(5000)), 0);
		if (tsup_flag(flag))
			return i;
	}
	return 0;
}

/* Overwrite a chunk of this thread's stack below the caller, so stale
 * pointers left by earlier calls do not keep objects alive by chance. */
static TSUP_UNUSED __attribute__((noinline)) void tsup_scrub_stack(void)
{
	volatile char buf[16384];
	memset((char *)buf, 0, sizeof buf);
	__asm__ __volatile__("" : : "r"(buf) : "memory");
}

/* ---------------------------------------------------------------- */
/* Checksums                                                         */
/* ---------------------------------------------------------------- */

static TSUP_UNUSED uint64_t tsup_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	x ^= x >> 33;
	return x;
}

/* Fill n bytes with a pattern derived from seed. */
static TSUP_UNUSED void tsup_fill(void *p, size_t n, uint64_t seed)
{
	unsigned char *b = p;
	uint64_t s = tsup_mix(seed | 1);
	for (size_t i = 0; i < n; i++) {
		if ((i & 7) == 0)
			s = tsup_mix(s + i);
		b[i] = (unsigned char)(s >> ((i & 7) * 8));
	}
}

/* Offset of the first byte that differs from the pattern, or n if none. */
static TSUP_UNUSED size_t tsup_check_fill(const void *p, size_t n, uint64_t seed)
{
	const unsigned char *b = p;
	uint64_t s = tsup_mix(seed | 1);
	for (size_t i = 0; i < n; i++) {
		if ((i & 7) == 0)
			s = tsup_mix(s + i);
		if (b[i] != (unsigned char)(s >> ((i & 7) * 8)))
			return i;
	}
	return n;
}

/* 1 if all n bytes are zero. */
static TSUP_UNUSED int tsup_all_zero(const void *p, size_t n)
{
	const unsigned char *b = p;
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		uint64_t w;
		memcpy(&w, b + i, 8);
		if (w)
			return 0;
	}
	for (; i < n; i++)
		if (b[i])
			return 0;
	return 1;
}

#endif
