/* SPDX-License-Identifier: MIT */
/*
 * test_correctness.c - regression tests for the defects of issue 14, each
 * named by the behaviour it guarantees (docs/design.md section 20 lists the
 * bug behind each one):
 *  - roots: a root range registered while a cycle marks, after the
 *    coordinator's root scan, is scanned by the registration itself;
 *  - attach: a thread that attaches after the stack-scan handshake was posted
 *    makes its own stack a root of that cycle;
 *  - memmove: tri_memmove has memmove semantics for every overlap;
 *  - checkstacks: debug=checkstacks (the verifier asked for with case 2)
 *    aborts on a white object that a stack took up after its scan, and
 *    accepts one it held when it was scanned;
 *  - and the smaller ones further down (see each tcase).
 *
 * The deterministic harnesses hold a handshake up with a thread that runs
 * without polling (preempt_ms=off, so no signal acts on it): a thread that
 * polls with tri_safepoint until the handshake counter reaches X and then
 * stops polling has answered every handshake before X, and at most X itself
 * (one poll answers at most one action, and X+1 cannot be posted before it
 * answered X). gc_percent=off keeps automatic cycles out of the way, so the
 * counter's value at the start of a forced cycle is known.
 */
#include "test_support.h"

#include <sched.h>
#include <ucontext.h>

static uint64_t metric(const char *name)
{
	return tsup_metric(name);
}

static uint64_t handshakes(void)
{
	return metric("/gc/handshakes/total:handshakes");
}

static uint64_t cycles(void)
{
	return metric("/gc/cycles/total:gc-cycles");
}

static void spin_pause(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#endif
}

/* Poll until the handshake counter reaches target (see the header). */
static void poll_until_handshake(uint64_t target)
{
	while (handshakes() < target)
		tri_safepoint();
}

static void *collect_main(void *arg)
{
	(void)arg;
	tri_collect();
	return NULL;
}

/* A thread that holds up a handshake of the current cycle: it answers every
 * handshake before base + at, then stops polling until released. */
struct holder {
	uint64_t target;
	int started; /* atomic */
	int holding; /* atomic */
	int release; /* atomic */
};

static void *holder_main(void *arg)
{
	struct holder *h = arg;
	__atomic_store_n(&h->started, 1, __ATOMIC_SEQ_CST);
	poll_until_handshake(h->target);
	__atomic_store_n(&h->holding, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&h->release, __ATOMIC_SEQ_CST))
		spin_pause();
	return NULL;
}

/* Start the holder, and the forced cycle once the holder is attached and
 * polling (a thread that attached after the cycle would hold nothing). */
static void start_held_cycle(struct holder *h, struct tsup_thread *ht, struct tsup_thread *ct)
{
	tsup_spawn(ht, holder_main, h);
	while (!__atomic_load_n(&h->started, __ATOMIC_SEQ_CST))
		tri_safepoint();
	tsup_spawn(ct, collect_main, NULL);
	while (!__atomic_load_n(&h->holding, __ATOMIC_SEQ_CST))
		tri_safepoint();
}

/* ---------------------------------------------------------------- */
/* 1. tri_add_roots while marking                                    */
/* ---------------------------------------------------------------- */

#define ROOT_N 20
#define ROOT_SIZE 64
static void *late_roots[ROOT_N]; /* not a root until tri_add_roots */

static __attribute__((noinline)) void fill_late_roots(void)
{
	for (int i = 0; i < ROOT_N; i++) {
		void *p = tri_alloc(ROOT_SIZE);
		ck_assert_ptr_nonnull(p);
		tsup_fill(p, ROOT_SIZE, (uint64_t)i + 1);
		late_roots[i] = p; /* plain store: the range is not a root yet */
	}
}

/*
 * The only pointers to 20 white objects sit in a static array that is not
 * a root; the cycle's root scan and this thread's stack scan are done (a
 * holder keeps a termination flush from completing); the array is then
 * registered. Before the fix nothing scanned it in that cycle: checkmark
 * aborted ("reached from a root range ... left it white"), and without
 * checkmark the objects were freed and poisoned.
 */
START_TEST(test_root_range_registered_while_marking_keeps_its_objects)
{
	ck_assert_int_eq(tri_init("gc_percent=off,preempt_ms=off,data_roots=off,debug=checkmark+poison"), 0);
	fill_late_roots();
	tsup_scrub_stack();
	uint64_t c0 = cycles();
	/* barrier on = base+1, stacks = base+2, first flush = base+3: the
	 * holder answers the stack scan and holds flush A or flush B, both
	 * after the root scan and before termination. */
	struct holder h = {.target = handshakes() + 3};
	struct tsup_thread ht, ct;
	start_held_cycle(&h, &ht, &ct);
	ck_assert_uint_eq(cycles(), c0); /* still marking */
	tri_add_roots(late_roots, late_roots + ROOT_N);
	__atomic_store_n(&h.release, 1, __ATOMIC_SEQ_CST);
	tsup_join(&ct);
	tsup_join(&ht);
	ck_assert_uint_eq(cycles(), c0 + 1);
	tri_collect(); /* the next cycle must find them too */
	for (int i = 0; i < ROOT_N; i++)
		ck_assert_msg(tsup_check_fill(late_roots[i], ROOT_SIZE, (uint64_t)i + 1) == ROOT_SIZE,
			      "object %d of a root range registered during marking was freed", i);
	tri_remove_roots(late_roots, late_roots + ROOT_N);
}
END_TEST

/*
 * A range removed while marking: its referents were reachable at the start
 * of marking (the range was a root). One that moved to this thread's stack
 * before the removal stays alive, whatever instant of the cycle the removal
 * lands in (here: while the barrier-on handshake is held up, before the root
 * scan, and while a termination flush is held up, after it).
 */
static void *moved_root[1];

static __attribute__((noinline)) void *fill_moved_root(uint64_t seed)
{
	void *p = tri_alloc(ROOT_SIZE);
	tsup_fill(p, ROOT_SIZE, seed);
	tri_store(&moved_root[0], p);
	return NULL;
}

static void remove_while_held(uint64_t at, uint64_t seed)
{
	fill_moved_root(seed);
	tsup_scrub_stack();
	uint64_t c0 = cycles();
	struct holder h = {.target = handshakes() + at};
	struct tsup_thread ht, ct;
	/* The object goes to this thread's stack (a load needs no barrier),
	 * then the range that held it is removed during the cycle. */
	void *volatile mine = tri_load(&moved_root[0]);
	start_held_cycle(&h, &ht, &ct);
	ck_assert_uint_eq(cycles(), c0);
	tri_remove_roots(moved_root, moved_root + 1);
	moved_root[0] = NULL;
	__atomic_store_n(&h.release, 1, __ATOMIC_SEQ_CST);
	tsup_join(&ct);
	tsup_join(&ht);
	tri_collect();
	ck_assert_msg(tsup_check_fill(mine, ROOT_SIZE, seed) == ROOT_SIZE,
		      "an object moved from a root range removed during marking was freed");
	tri_add_roots(moved_root, moved_root + 1);
}

START_TEST(test_root_range_removed_while_marking_keeps_what_the_stack_holds)
{
	ck_assert_int_eq(tri_init("gc_percent=off,preempt_ms=off,data_roots=off,debug=checkmark+poison"), 0);
	tri_add_roots(moved_root, moved_root + 1);
	remove_while_held(1, 7); /* the holder holds barrier-on: before the root scan */
	remove_while_held(3, 8); /* a termination flush: after the root scan */
	tri_remove_roots(moved_root, moved_root + 1);
}
END_TEST

/* ---------------------------------------------------------------- */
/* 2. a thread attaching after the stack-scan handshake was posted   */
/* ---------------------------------------------------------------- */

#define WORK_SIZE 96

struct child_arg {
	int attached; /* atomic */
	uint64_t cycles_before;
	uint64_t seed;
	int intact;
	int started; /* atomic: the creator is attached and polling */
	int tested; /* the creator dropped its reference before its stack scan */
};

/* The object travels only as pthread_create's argument; it is hidden from
 * the creator's stack in a mangled static between creation and hand-off. */
static uintptr_t hidden_work;
#define HIDE 0x5a5a5a5a5a5a5a5aull

static struct child_arg child_arg;

static void *child_main(void *arg)
{
	tri_thread_attach();
	__atomic_store_n(&child_arg.attached, 1, __ATOMIC_SEQ_CST);
	/* The work object is in this thread's registers and stack only. */
	while (cycles() == child_arg.cycles_before)
		tri_safepoint();
	void *again = tri_alloc(WORK_SIZE); /* reuses a freed slot, if any */
	tsup_fill(again, WORK_SIZE, 99);
	child_arg.intact = tsup_check_fill(arg, WORK_SIZE, child_arg.seed) == WORK_SIZE;
	tri_thread_detach();
	return NULL;
}

static __attribute__((noinline)) void make_hidden_work(uint64_t seed)
{
	void *p = tri_alloc(WORK_SIZE);
	tsup_fill(p, WORK_SIZE, seed);
	hidden_work = (uintptr_t)p ^ HIDE;
}

static __attribute__((noinline)) pthread_t start_child(void)
{
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, child_main, (void *)(hidden_work ^ HIDE)), 0);
	hidden_work = 0;
	return th;
}

static __attribute__((noinline)) void *peek_hidden_work(void)
{
	return (void *)(hidden_work ^ HIDE);
}

/*
 * The creator holds the object on its stack, answers barrier-on and (in a
 * rare race, where the round then tests nothing) the stack scan, then, while
 * its own stack scan is pending and holds the cycle up, starts the child and
 * drops its reference once the child has attached; only then does it poll
 * again. A round in which the coordinator had moved past the stack scan
 * before the drop keeps the reference until the cycle ends (it tests
 * nothing, and would otherwise free an object the program still held).
 */
static void *creator_main(void *arg)
{
	uint64_t base = *(uint64_t *)arg;
	void *volatile mine = peek_hidden_work();
	__atomic_store_n(&child_arg.started, 1, __ATOMIC_SEQ_CST);
	/* Answer barrier-on (counted before it is posted: keep polling a
	 * while), then stop polling during the long root scan, before the
	 * stack scan is posted. */
	poll_until_handshake(base + 1);
	for (double t0 = tsup_now(); tsup_now() - t0 < 0.001;)
		tri_safepoint();
	while (handshakes() < base + 2)
		spin_pause();
	struct timespec ts = {0, 2000000};
	nanosleep(&ts, NULL); /* let the coordinator finish posting it */
	pthread_t th = start_child();
	while (!__atomic_load_n(&child_arg.attached, __ATOMIC_SEQ_CST))
		spin_pause();
	if (handshakes() == base + 2) {
		mine = NULL;
		child_arg.tested = 1;
	}
	tsup_scrub_stack();
	while (cycles() == child_arg.cycles_before)
		tri_safepoint();
	tri_blocking_enter();
	pthread_join(th, NULL);
	tri_blocking_leave();
	(void)mine;
	return NULL;
}

START_TEST(test_thread_attaching_after_stack_scan_post_keeps_its_argument)
{
	ck_assert_int_eq(tri_init("gc_percent=off,preempt_ms=off,debug=checkmark+poison"), 0);
	/* 64 MiB of zeros as a root range: the root scan, between barrier-on
	 * and the stack scan, takes milliseconds. */
	size_t big = 64u << 20;
	void *slow_roots = calloc(1, big);
	ck_assert_ptr_nonnull(slow_roots);
	tri_add_roots(slow_roots, (char *)slow_roots + big);
	int tested = 0;
	for (int round = 0; round < 8 && tested < 4; round++) {
		memset(&child_arg, 0, sizeof child_arg);
		child_arg.seed = 1000 + (uint64_t)round;
		make_hidden_work(child_arg.seed);
		tsup_scrub_stack();
		child_arg.cycles_before = cycles();
		uint64_t base = handshakes();
		struct tsup_thread cr, ct;
		tsup_spawn(&cr, creator_main, &base);
		while (!__atomic_load_n(&child_arg.started, __ATOMIC_SEQ_CST))
			tri_safepoint();
		tsup_spawn(&ct, collect_main, NULL);
		tsup_join(&ct);
		tsup_join(&cr);
		ck_assert_msg(child_arg.intact,
			      "round %d: the object a thread got as its pthread_create argument was freed "
			      "because the thread attached during marking", round);
		tested += child_arg.tested;
	}
	ck_assert_msg(tested > 0, "no round held the cycle at the stack scan");
}
END_TEST

/* ---------------------------------------------------------------- */
/* 3. tri_memmove                                                    */
/* ---------------------------------------------------------------- */

/* Every overlap and length up to 80 bytes in a 3x-sized buffer, with the
 * destination at every 8-byte-aligned offset from the source in both
 * directions, compared byte for byte with memmove. Outside marking and
 * inside it (the barrier path shades the words first). */
static void memmove_exhaustive(void)
{
	enum { MAXN = 80, SPAN = 3 * MAXN };
	uint64_t *heap = tri_alloc_atomic(SPAN + 16);
	unsigned char *base = (unsigned char *)heap;
	unsigned char ref[SPAN];
	unsigned bad = 0, cases = 0;
	for (size_t n = 0; n <= MAXN; n++) {
		for (size_t so = 0; so + n <= SPAN; so += 8) {
			for (size_t d = 0; d + n <= SPAN; d += 8) {
				for (size_t i = 0; i < SPAN; i++)
					base[i] = ref[i] = (unsigned char)(i * 7 + n + 1);
				memmove(ref + d, ref + so, n);
				void *r = tri_memmove(base + d, base + so, n);
				ck_assert_ptr_eq(r, base + d);
				cases++;
				if (memcmp(base, ref, SPAN))
					bad++;
			}
		}
	}
	ck_assert_msg(bad == 0, "tri_memmove differs from memmove in %u of %u cases", bad, cases);
}

START_TEST(test_memmove_matches_memmove_for_every_overlap_and_length)
{
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	memmove_exhaustive();
}
END_TEST

START_TEST(test_memmove_matches_memmove_while_marking)
{
	ck_assert_int_eq(tri_init("gc_percent=off,preempt_ms=off,debug=checkmark+poison"), 0);
	struct holder h = {.target = handshakes() + 3};
	struct tsup_thread ht, ct;
	start_held_cycle(&h, &ht, &ct);
	memmove_exhaustive();
	__atomic_store_n(&h.release, 1, __ATOMIC_SEQ_CST);
	tsup_join(&ct);
	tsup_join(&ht);
}
END_TEST

/* ---------------------------------------------------------------- */
/* 4. debug=checkmark with a thread busy in malloc                   */
/* ---------------------------------------------------------------- */

struct mallocer {
	int stop; /* atomic */
	long rounds;
};

/* Attached and RUNNING, almost always inside malloc or free: the checkmark
 * stop parks it there through the preemption signal, possibly holding the
 * (only) arena's lock. */
static void *mallocer_main(void *arg)
{
	struct mallocer *m = arg;
	void *keep[64] = {0};
	for (unsigned i = 0; !__atomic_load_n(&m->stop, __ATOMIC_RELAXED); i++) {
		free(keep[i & 63]);
		keep[i & 63] = malloc(16 + (i * 37) % 4000);
		m->rounds++;
	}
	for (int i = 0; i < 64; i++)
		free(keep[i]);
	return NULL;
}

struct collector_loop {
	int n, done, completed; /* done, completed: atomic */
};

static void *collect_n_main(void *arg)
{
	struct collector_loop *c = arg;
	for (int i = 0; i < c->n; i++) {
		tri_collect();
		__atomic_store_n(&c->completed, i + 1, __ATOMIC_SEQ_CST);
	}
	__atomic_store_n(&c->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

/* Not attached, so a stopped world does not stop it: if no collection
 * completes for 60 s (times the build's slowdown), report the hang and
 * exit. A hang is no progress at all, so a loaded machine that runs the
 * cycles slowly is not mistaken for one. */
static void *hang_watchdog_main(void *arg)
{
	struct collector_loop *c = arg;
	double t0 = tsup_now();
	int seen = 0;
	while (!__atomic_load_n(&c->done, __ATOMIC_SEQ_CST)) {
		int now = __atomic_load_n(&c->completed, __ATOMIC_SEQ_CST);
		if (now != seen) {
			seen = now;
			t0 = tsup_now();
		}
		if (tsup_now() - t0 > tsup_ms(60000) / 1000.0) {
			fprintf(stderr, "no checkmark cycle finished for 60 s (%d of %d done) with a thread busy in malloc: "
					"the stopped world is waiting in malloc\n", seen, c->n);
			_exit(3);
		}
		usleep(10000);
	}
	return NULL;
}

/*
 * One malloc arena (MALLOC_ARENA_MAX=1) and a thread busy in malloc: before
 * the fix the first checkmark's calloc, with the world stopped, waited for
 * the arena lock the parked thread held, and the program hung. The deadline
 * only guards against that hang.
 */
START_TEST(test_checkmark_finishes_while_a_thread_is_busy_in_malloc)
{
	if (TSUP_SANITIZER) {
		/* The sanitizer runtimes replace malloc: glibc's arena lock, the
		 * one the stopped world waited for, is not taken, and their
		 * mallopt ignores M_ARENA_MAX and returns 0. */
		fprintf(stderr, "%s: skipped under the %s sanitizer (its malloc is not glibc's, mallopt(M_ARENA_MAX) is meaningless)\n",
			__func__, TSUP_SANITIZER_NAME);
		return;
	}
	ck_assert_int_eq(mallopt(M_ARENA_MAX, 1), 1);
	ck_assert_int_eq(tri_init("gc_percent=off,debug=checkmark"), 0);
	struct mallocer m = {0};
	struct collector_loop c = {.n = 8};
	struct tsup_thread mt, ct;
	tsup_spawn(&mt, mallocer_main, &m);
	while (!__atomic_load_n(&m.rounds, __ATOMIC_RELAXED))
		tsup_sleep_ms(1);
	pthread_t wd;
	ck_assert_int_eq(pthread_create(&wd, NULL, hang_watchdog_main, &c), 0);
	tsup_spawn(&ct, collect_n_main, &c);
	tsup_join(&ct);
	pthread_join(wd, NULL);
	__atomic_store_n(&m.stop, 1, __ATOMIC_SEQ_CST);
	tsup_join(&mt);
	ck_assert_uint_gt(metric("/sched/preempt/acted:signals"), 0);
}
END_TEST

/* ---------------------------------------------------------------- */
/* 6. fork inside a blocking region                                  */
/* ---------------------------------------------------------------- */

static __attribute__((noinline)) int heap_works(void)
{
	void *p = tri_alloc(256);
	if (!p)
		return 0;
	tsup_fill(p, 256, 5);
	tri_collect();
	return tsup_check_fill(p, 256, 5) == 256;
}

/*
 * fork (or a helper that forks and waits) is a blocking call, so a program
 * may call it inside tri_blocking_enter/leave. Before the fix the atfork
 * handler entered a second blocking region and aborted with "already inside
 * a blocking region". Both processes leave their region and keep collecting.
 */
START_TEST(test_fork_inside_a_blocking_region_works_in_both_processes)
{
	ck_assert_int_eq(tri_init("gc_percent=off,debug=checkmark+poison"), 0);
	ck_assert(heap_works());
	tri_blocking_enter();
	pid_t pid = fork();
	if (pid == 0) {
		tri_blocking_leave();
		_exit(heap_works() ? 0 : 1);
	}
	int status = 0;
	pid_t r = waitpid(pid, &status, 0);
	tri_blocking_leave();
	ck_assert_int_eq(r, pid);
	ck_assert_msg(WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
	ck_assert(heap_works());
	/* And outside a blocking region, as before. */
	pid = fork();
	if (pid == 0)
		_exit(heap_works() ? 0 : 1);
	tri_blocking_enter();
	r = waitpid(pid, &status, 0);
	tri_blocking_leave();
	ck_assert_msg(r == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0, "child status 0x%x", status);
}
END_TEST

/* ---------------------------------------------------------------- */
/* 7. preemption after a dead signal frame; foreign queued signals   */
/* ---------------------------------------------------------------- */

static int pre_pipe[2];
static int deep_reads; /* atomic: the reader entered its deep read */

/* A read below a 16 KiB buffer the thread never writes: the frame of the
 * earlier preemption (in a shallow read) lies inside it, untouched. */
static __attribute__((noinline)) void deep_read(void)
{
	volatile char buf[16384];
	__atomic_store_n(&deep_reads, 1, __ATOMIC_SEQ_CST);
	ssize_t r = read(pre_pipe[0], (char *)buf, 1);
	ck_assert_int_eq(r, 1);
}

static void *reader_main(void *arg)
{
	(void)arg;
	char c;
	ssize_t r = read(pre_pipe[0], &c, 1); /* shallow: preempted here first */
	ck_assert_int_eq(r, 1);
	deep_read();
	return NULL;
}

static int deep_unblocked; /* atomic: the watchdog had to end the deep read */

static void *unblock_watchdog_main(void *arg)
{
	int *done = arg;
	double t0 = tsup_now();
	while (!__atomic_load_n(done, __ATOMIC_SEQ_CST) && tsup_now() - t0 < tsup_ms(5000) / 1000.0)
		usleep(10000);
	if (!__atomic_load_n(done, __ATOMIC_SEQ_CST)) {
		__atomic_store_n(&deep_unblocked, 1, __ATOMIC_SEQ_CST);
		ck_assert_int_eq(write(pre_pipe[1], "y", 1), 1);
	}
	return NULL;
}

/* Once the reader is in its deep read, collect: the collection must not
 * wait for the read (that is, for the watchdog to end it after 5 s). */
static void collect_while_deep_read_blocks(const char *below)
{
	while (!__atomic_load_n(&deep_reads, __ATOMIC_SEQ_CST))
		tsup_sleep_ms(1);
	tsup_sleep_ms(20);
	int done = 0;
	pthread_t wd;
	ck_assert_int_eq(pthread_create(&wd, NULL, unblock_watchdog_main, &done), 0);
	uint64_t declined0 = metric("/sched/preempt/declined:signals");
	tri_collect();
	__atomic_store_n(&done, 1, __ATOMIC_SEQ_CST);
	pthread_join(wd, NULL);
	ck_assert_msg(!__atomic_load_n(&deep_unblocked, __ATOMIC_SEQ_CST),
		      "the collection waited for a thread blocked in read() below %s (%llu signals declined)", below,
		      (unsigned long long)(metric("/sched/preempt/declined:signals") - declined0));
}

/*
 * A thread blocked in read() outside a blocking region is preempted; then,
 * after a shallow read that was preempted once, it blocks in a read below a
 * buffer it never wrote. Before the fix the safe-point check found the old
 * signal frame's return address in that buffer, took it for a live nested
 * handler and declined every signal: the collection waited until the read
 * returned (here: until the watchdog ended it after 5 s).
 */
START_TEST(test_preemption_is_not_declined_because_of_a_dead_signal_frame)
{
	ck_assert_int_eq(pipe(pre_pipe), 0);
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	struct tsup_thread rt;
	tsup_spawn(&rt, reader_main, NULL);
	tsup_sleep_ms(20);
	uint64_t acted0 = metric("/sched/preempt/acted:signals");
	tri_collect(); /* the reader is preempted in its shallow read */
	ck_assert_uint_gt(metric("/sched/preempt/acted:signals"), acted0);
	ck_assert_int_eq(write(pre_pipe[1], "x", 1), 1);
	collect_while_deep_read_blocks("a dead signal frame");
	if (!__atomic_load_n(&deep_unblocked, __ATOMIC_SEQ_CST))
		ck_assert_int_eq(write(pre_pipe[1], "y", 1), 1);
	tsup_join(&rt);
}
END_TEST

/* The signal trampoline's address (libc's sa_restorer): the return
 * address of any handler, read in one. */
static uintptr_t trampoline_addr; /* written by the handler, read after raise */

static void record_trampoline(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	trampoline_addr = (uintptr_t)__builtin_return_address(0);
}

static uintptr_t signal_trampoline(void)
{
	struct sigaction sa, old;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = record_trampoline;
	sa.sa_flags = SA_SIGINFO;
	ck_assert_int_eq(sigaction(SIGUSR2, &sa, &old), 0);
	ck_assert_int_eq(raise(SIGUSR2), 0);
	ck_assert_int_eq(sigaction(SIGUSR2, &old, NULL), 0);
	ck_assert(trampoline_addr != 0);
	return trampoline_addr;
}

static volatile uintptr_t stale_sink;

/* Blocks in read() below a buffer that holds stale copies of the
 * trampoline's address - what a dead handler's spilled argument or saved
 * register leaves - with zeros (no siginfo, no context) around them. */
static __attribute__((noinline)) void read_below_stale_copies(uintptr_t tramp)
{
	volatile uintptr_t buf[2048];
	for (size_t i = 0; i < 2048; i++)
		buf[i] = i % 61 == 7 ? tramp : 0;
	__atomic_store_n(&deep_reads, 1, __ATOMIC_SEQ_CST);
	ssize_t r = read(pre_pipe[0], (char *)&stale_sink, 1);
	ck_assert_int_eq(r, 1);
	stale_sink = buf[7];
}

static void *stale_reader_main(void *arg)
{
	read_below_stale_copies((uintptr_t)arg);
	return NULL;
}

/*
 * A copy of the trampoline's address on the stack is not always a signal
 * frame: a dead handler's frames hold copies of it. Before the fix such a
 * copy, with no plausible siginfo after it, counted as a live frame and
 * the thread blocked below it declined every signal (found under ASan,
 * where at_async_safe_point's argument is spilled, as 205 signals declined
 * by the dead-signal-frame test); the collection waited until the
 * watchdog ended the read.
 */
START_TEST(test_preemption_is_not_declined_because_of_stale_copies_of_the_trampoline_address)
{
	uintptr_t tramp = signal_trampoline();
	ck_assert_int_eq(pipe(pre_pipe), 0);
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	struct tsup_thread rt;
	tsup_spawn(&rt, stale_reader_main, (void *)tramp);
	uint64_t acted0 = metric("/sched/preempt/acted:signals");
	collect_while_deep_read_blocks("stale copies of the trampoline address");
	ck_assert_uint_gt(metric("/sched/preempt/acted:signals"), acted0);
	ck_assert_int_eq(write(pre_pipe[1], "y", 1), 1);
	tsup_join(&rt);
}
END_TEST

static int urg_seen; /* atomic: the program's own SIGURG handler ran */

static void program_urg_handler(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)si;
	(void)uc;
	__atomic_add_fetch(&urg_seen, 1, __ATOMIC_SEQ_CST);
}

/*
 * A SIGURG queued by another process, or by the program itself, with the
 * value tricolor's tag used to have, is the program's: it reaches the
 * handler the program installed. Before the fix the tag alone decided, and
 * both were swallowed.
 */
START_TEST(test_queued_preemption_signal_from_another_sender_reaches_the_program)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = program_urg_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	ck_assert_int_eq(sigaction(SIGURG, &sa, NULL), 0);
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	union sigval v = {.sival_int = 0x74726963}; /* the old tag, "tric" */
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid == 0)
		_exit(sigqueue(parent, SIGURG, v) == 0 ? 0 : 1);
	int status;
	tri_blocking_enter();
	waitpid(pid, &status, 0);
	tri_blocking_leave();
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	for (int i = 0; i < 1000 && __atomic_load_n(&urg_seen, __ATOMIC_SEQ_CST) < 1; i++)
		tsup_sleep_ms(1);
	ck_assert_int_eq(__atomic_load_n(&urg_seen, __ATOMIC_SEQ_CST), 1);
	ck_assert_int_eq(pthread_sigqueue(pthread_self(), SIGURG, v), 0);
	for (int i = 0; i < 1000 && __atomic_load_n(&urg_seen, __ATOMIC_SEQ_CST) < 2; i++)
		tsup_sleep_ms(1);
	ck_assert_int_eq(__atomic_load_n(&urg_seen, __ATOMIC_SEQ_CST), 2);
	/* Tricolor's own signals still work. */
	tri_collect();
}
END_TEST

/* ---------------------------------------------------------------- */
/* 8. coroutine stacks                                               */
/* ---------------------------------------------------------------- */

static ucontext_t co_main_ctx, co_ctx;
static int co_mode;

static void coroutine_body(void)
{
	if (co_mode == 0) {
		tri_blocking_enter(); /* the saved stack pointer is the coroutine's */
		tri_blocking_leave();
	} else {
		/* Allocate on the coroutine stack while another thread collects:
		 * the stack-scan action runs here. */
		for (;;)
			tri_alloc(64);
	}
	swapcontext(&co_ctx, &co_main_ctx);
}

static void *co_collector_main(void *arg)
{
	(void)arg;
	for (;;)
		tri_collect();
	return NULL;
}

static void scenario_coroutine(void *arg)
{
	co_mode = *(int *)arg;
	if (tri_init("preempt_ms=off"))
		_exit(2);
	size_t size = 256 << 10;
	char *stack = malloc(size);
	getcontext(&co_ctx);
	co_ctx.uc_stack.ss_sp = stack;
	co_ctx.uc_stack.ss_size = size;
	co_ctx.uc_link = &co_main_ctx;
	makecontext(&co_ctx, coroutine_body, 0);
	if (co_mode == 1) {
		/* static: the new thread reads it after this block (ASan found
		 * a stack-use-after-scope here), and the process never joins it */
		static struct tsup_thread ct;
		tsup_spawn(&ct, co_collector_main, NULL);
	}
	swapcontext(&co_main_ctx, &co_ctx);
}

/*
 * Running tricolor code on a stack the thread switched to (ucontext, a
 * coroutine library) is not supported. Before the fix the collector scanned
 * from the coroutine's stack pointer to the thread stack's top and crashed
 * in scan_range (SIGSEGV); now the entry point that notices says so and
 * aborts: tri_blocking_enter at once, a handshake at the stack scan.
 */
START_TEST(test_running_on_a_coroutine_stack_aborts_with_a_clear_message)
{
	struct tsup_child c;
	int mode = 0;
	tsup_capture_child(scenario_coroutine, &mode, &c);
	tsup_assert_died(&c, SIGABRT, "tri_blocking_enter: stack pointer", "is not supported");
	mode = 1;
	tsup_capture_child(scenario_coroutine, &mode, &c);
	/* Whichever entry point sees the coroutine's stack pointer first (the
	 * stack scan, or a blocking region the allocation enters to wait for a
	 * cycle) names it. */
	tsup_assert_died(&c, SIGABRT, "stack pointer", "(ucontext, coroutines)");
}
END_TEST

/* ---------------------------------------------------------------- */
/* Smaller defects                                                   */
/* ---------------------------------------------------------------- */

static pthread_key_t program_key;
static void *dtor_root[1];
static int dtor_ran; /* atomic */

/* The program's own destructor uses the heap while the thread exits. */
static void program_destructor(void *v)
{
	void *p = tri_alloc(128);
	tsup_fill(p, 128, (uintptr_t)v);
	tri_store(&dtor_root[0], p);
	__atomic_store_n(&dtor_ran, 1, __ATOMIC_SEQ_CST);
}

static void *exits_attached_main(void *arg)
{
	(void)arg;
	tri_thread_attach();
	pthread_setspecific(program_key, (void *)(uintptr_t)77);
	return NULL; /* exits attached: tricolor's own destructor detaches it */
}

/*
 * A key created after tri_init comes after tricolor's own key, whose
 * destructor used to run first and detach the thread: the program's
 * destructor then aborted with "tri_alloc: thread not attached".
 */
START_TEST(test_program_key_destructor_may_use_the_heap_when_the_thread_exits_attached)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	tri_add_roots(dtor_root, dtor_root + 1);
	ck_assert_int_eq(pthread_key_create(&program_key, program_destructor), 0);
	uint64_t attached = metric("/sched/threads/attached:threads");
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, exits_attached_main, NULL), 0);
	tri_blocking_enter();
	pthread_join(th, NULL);
	tri_blocking_leave();
	ck_assert(__atomic_load_n(&dtor_ran, __ATOMIC_SEQ_CST));
	ck_assert_uint_eq(metric("/sched/threads/attached:threads"), attached); /* detached in the end */
	tri_collect();
	ck_assert_uint_eq(tsup_check_fill(tri_load(&dtor_root[0]), 128, 77), 128);
	tri_collect(); /* no handshake waits for the exited thread */
}
END_TEST

static __thread void *tls_ref;

static __attribute__((noinline)) void fill_tls_ref(uint64_t seed)
{
	void *p = tri_alloc(200);
	tsup_fill(p, 200, seed);
	tls_ref = p; /* the only pointer: a plain store, like a stack variable */
}

static __attribute__((noinline)) void *tls_root_survives(void *arg)
{
	uint64_t seed = (uintptr_t)arg;
	fill_tls_ref(seed);
	tsup_scrub_stack();
	for (int i = 0; i < 3; i++)
		tri_collect();
	ck_assert_msg(tsup_check_fill(tls_ref, 200, seed) == 200,
		      "an object held only by a __thread variable was freed (%s thread)",
		      seed == 1 ? "main" : "another");
	return NULL;
}

/*
 * __thread variables are roots on every attached thread. Before the fix
 * they were on threads other than main (glibc puts their TLS inside the
 * reported stack) but not on the main thread, whose TLS the dynamic linker
 * allocates elsewhere.
 */
START_TEST(test_thread_local_variables_are_roots_on_main_and_other_threads)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	tls_root_survives((void *)1);
	tsup_run_in_thread(tls_root_survives, (void *)2);
}
END_TEST

/* The description of /gc/gogc:percent says what the value reads when off. */
START_TEST(test_gogc_metric_reads_uint64_max_when_off_as_its_description_says)
{
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	ck_assert_uint_eq(metric("/gc/gogc:percent"), UINT64_MAX);
	size_t n = 0;
	const tri_metric_desc *d = tri_metrics_list(&n);
	const char *desc = NULL;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(d[i].name, "/gc/gogc:percent"))
			desc = d[i].description;
	ck_assert_ptr_nonnull(desc);
	ck_assert_msg(strstr(desc, "UINT64_MAX") != NULL, "description: %s", desc);
	tri_gc_percent(150);
	ck_assert_uint_eq(metric("/gc/gogc:percent"), 150);
}
END_TEST

/* ---------------------------------------------------------------- */
/* 5. memory_limit on a fragmented heap                              */
/* ---------------------------------------------------------------- */

#define FRAG_SIZE 3000
#define FRAG_KEEP 8 /* one object in 8 stays live: every span stays resident */
static void **frag_live;
static size_t frag_n;

static __attribute__((noinline)) void build_fragmented_heap(size_t total)
{
	size_t n = total / FRAG_SIZE;
	frag_n = (n + FRAG_KEEP - 1) / FRAG_KEEP;
	tri_add_roots(&frag_live, &frag_live + 1);
	tri_store(&frag_live, tri_alloc(frag_n * sizeof *frag_live));
	ck_assert_ptr_nonnull(frag_live);
	for (size_t i = 0; i < n; i++) {
		void *p = tri_alloc(FRAG_SIZE);
		ck_assert_ptr_nonnull(p);
		if (i % FRAG_KEEP == 0)
			tri_store(&frag_live[i / FRAG_KEEP], p);
	}
}

/*
 * 12 MB live under memory_limit=16m, spread over ~96 MB of spans that
 * collecting cannot return (each keeps live objects). Before the fix every
 * span refill above 1.25x the limit ran a full collection: thousands of
 * cycles for 20,000 allocations. Now, as with Go's limit, collections the
 * limit forces take at most half the time, and after one that did not bring
 * the heap back under the limit the next waits until another 1/8 of the
 * limit has been allocated: what remains is the pacer's background cycles
 * (the goal is lowered to live + 1/16 + 1 MiB), about one per MiB. The
 * bound counts cycles, not time.
 */
START_TEST(test_memory_limit_on_a_fragmented_heap_runs_a_bounded_number_of_cycles)
{
	ck_assert_int_eq(tri_init("memory_limit=16m"), 0);
	build_fragmented_heap(96u << 20);
	tri_collect();
	uint64_t c0 = cycles();
	uint64_t allocs0 = metric("/gc/heap/allocs:bytes");
	for (int i = 0; i < 20000; i++)
		ck_assert_ptr_nonnull(tri_alloc(FRAG_SIZE));
	uint64_t n = cycles() - c0;
	uint64_t mb = (metric("/gc/heap/allocs:bytes") - allocs0) >> 20;
	fprintf(stderr, "fragmented heap under memory_limit=16m: %llu cycles for 20000 allocations (%llu MiB)\n",
		(unsigned long long)n, (unsigned long long)mb);
	fprintf(stderr, "resident %llu MiB, live %llu MiB\n", (unsigned long long)(metric("/memory/classes/total:bytes") >> 20),
		(unsigned long long)(metric("/gc/heap/live:bytes") >> 20));
	/* one background cycle per ~1 MiB of runway, one forced cycle per
	 * 2 MiB (1/8 of the limit), and a few in flight */
	ck_assert_msg(n <= mb + mb / 2 + 8, "%llu cycles for %llu MiB allocated", (unsigned long long)n,
		      (unsigned long long)mb);
	for (size_t i = 0; i < frag_n; i += 97)
		ck_assert_ptr_nonnull(frag_live[i]);
}
END_TEST


/* ---------------------------------------------------------------- */
/* debug=checkstacks: the verifier of case 2                         */
/* ---------------------------------------------------------------- */

/* A stack the cycle scanned before it held an object, which it then holds
 * (and nothing else does): what a missed stack scan looks like to the
 * checkmark. Plain checkmark forgives stack words; checkstacks must abort,
 * naming the stack. The object is hidden from the holder's stack until the
 * coordinator reports the stacks scanned (cycle hook point 1), then put in
 * a stack slot of the frame that polls. */
void tri_debug_cycle_hook(void (*fn)(int point)); /* libtricolor-test.la */

#define HELD_SIZE 64
static uintptr_t held_hidden;
static int held_scanned, held_exposed, held_done, held_ready; /* atomics */

static __attribute__((noinline)) void make_held(void)
{
	void *p = tri_alloc(HELD_SIZE);
	tsup_fill(p, HELD_SIZE, 41);
	held_hidden = (uintptr_t)p ^ HIDE;
}

static void *stackholder_main(void *arg)
{
	int expose_early = *(int *)arg;
	tri_thread_attach();
	make_held();
	tsup_scrub_stack();
	volatile uintptr_t slot = 0;
	if (expose_early)
		slot = held_hidden ^ HIDE;
	__atomic_store_n(&held_ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&held_scanned, __ATOMIC_SEQ_CST))
		tri_safepoint();
	slot = held_hidden ^ HIDE;
	__atomic_store_n(&held_exposed, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&held_done, __ATOMIC_SEQ_CST))
		tri_safepoint();
	int intact = tsup_check_fill((void *)slot, HELD_SIZE, 41) == HELD_SIZE;
	slot = 0;
	tri_thread_detach();
	return (void *)(uintptr_t)intact;
}

static void held_hook(int point)
{
	if (point != 1) /* stacks scanned */
		return;
	__atomic_store_n(&held_scanned, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&held_exposed, __ATOMIC_SEQ_CST))
		sched_yield();
}

/* Runs the scenario; returns the holder's verdict on its object. */
static int run_held(int expose_early)
{
	ck_assert_int_eq(tri_init("gc_percent=off,preempt_ms=off,data_roots=off,debug=checkstacks+poison"), 0);
	tri_collect();
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, stackholder_main, &expose_early), 0);
	while (!__atomic_load_n(&held_ready, __ATOMIC_SEQ_CST))
		sched_yield();
	tri_debug_cycle_hook(held_hook);
	tri_collect(); /* checkstacks verifies here */
	tri_debug_cycle_hook(NULL);
	tri_collect();
	__atomic_store_n(&held_done, 1, __ATOMIC_SEQ_CST);
	void *intact;
	ck_assert_int_eq(pthread_join(th, &intact), 0);
	return (int)(uintptr_t)intact;
}

START_TEST(test_checkstacks_aborts_on_a_white_object_held_by_a_stack_after_its_scan)
{
	run_held(0);
	ck_abort_msg("checkstacks did not report the object the scanned stack took up after its scan");
}
END_TEST

START_TEST(test_checkstacks_accepts_an_object_the_stack_held_when_it_was_scanned)
{
	ck_assert_msg(run_held(1), "the object a scanned stack held was freed");
}
END_TEST


/* The checkmark and a block allocated black: the concurrent mark never
 * scans such a block (black allocation), so its integers reach the
 * checkmark unchecked. A word inside a white garbage block is forgiven (a
 * node's random payload did that in test_stress); a base pointer stored
 * there with a plain store, the only reference to its block, is a missing
 * barrier and is reported. The holder thread allocates the white block
 * before the cycle (hidden from its stack), waits until the stacks are
 * scanned, then allocates a block (black), writes the word, and publishes
 * the black block in a root range. */
static void *volatile bw_root[1];
static uintptr_t bw_offset;

static void *blackword_main(void *arg)
{
	(void)arg;
	tri_thread_attach();
	make_held();
	tsup_scrub_stack();
	__atomic_store_n(&held_ready, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&held_scanned, __ATOMIC_SEQ_CST))
		tri_safepoint();
	uintptr_t *b = tri_alloc(64);
	b[3] = (held_hidden ^ HIDE) + bw_offset; /* a plain store into a fresh block */
	TRI_STORE(bw_root[0], b);
	b = NULL;
	__atomic_store_n(&held_exposed, 1, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&held_done, __ATOMIC_SEQ_CST))
		tri_safepoint();
	tri_thread_detach();
	return NULL;
}

static void run_blackword(uintptr_t offset)
{
	ck_assert_int_eq(tri_init("gc_percent=off,preempt_ms=off,data_roots=off,debug=checkmark+poison"), 0);
	tri_add_roots((void *)bw_root, (void *)(bw_root + 1));
	bw_offset = offset;
	tri_collect();
	pthread_t th;
	ck_assert_int_eq(pthread_create(&th, NULL, blackword_main, NULL), 0);
	while (!__atomic_load_n(&held_ready, __ATOMIC_SEQ_CST))
		sched_yield();
	tri_debug_cycle_hook(held_hook);
	tri_collect(); /* the checkmark runs here */
	tri_debug_cycle_hook(NULL);
	__atomic_store_n(&held_done, 1, __ATOMIC_SEQ_CST);
	ck_assert_int_eq(pthread_join(th, NULL), 0);
	tri_remove_roots((void *)bw_root, (void *)(bw_root + 1));
}

START_TEST(test_checkmark_forgives_an_integer_inside_a_white_block_in_a_block_allocated_black)
{
	run_blackword(0x23); /* like the payload word: odd, inside the block */
}
END_TEST

START_TEST(test_checkmark_reports_a_base_pointer_stored_without_barrier_in_a_block_allocated_black)
{
	run_blackword(0);
	ck_abort_msg("checkmark did not report the white block a black block's word names");
}
END_TEST

static Suite *correctness_suite(void)
{
	Suite *s = suite_create("correctness");
	TCase *tc = tcase_create("roots");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_root_range_registered_while_marking_keeps_its_objects);
	tcase_add_test(tc, test_root_range_removed_while_marking_keeps_what_the_stack_holds);
	suite_add_tcase(s, tc);

	tc = tcase_create("attach");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_thread_attaching_after_stack_scan_post_keeps_its_argument);
	suite_add_tcase(s, tc);

	tc = tcase_create("nomalloc");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_checkmark_finishes_while_a_thread_is_busy_in_malloc);
	suite_add_tcase(s, tc);

	tc = tcase_create("fork");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_fork_inside_a_blocking_region_works_in_both_processes);
	suite_add_tcase(s, tc);

	tc = tcase_create("preempt");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_preemption_is_not_declined_because_of_a_dead_signal_frame);
	tcase_add_test(tc, test_preemption_is_not_declined_because_of_stale_copies_of_the_trampoline_address);
	tcase_add_test(tc, test_queued_preemption_signal_from_another_sender_reaches_the_program);
	suite_add_tcase(s, tc);

	tc = tcase_create("coroutine");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_running_on_a_coroutine_stack_aborts_with_a_clear_message);
	suite_add_tcase(s, tc);

	tc = tcase_create("smaller");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_program_key_destructor_may_use_the_heap_when_the_thread_exits_attached);
	tcase_add_test(tc, test_gogc_metric_reads_uint64_max_when_off_as_its_description_says);
	tcase_add_test(tc, test_thread_local_variables_are_roots_on_main_and_other_threads);
	suite_add_tcase(s, tc);

	tc = tcase_create("memlimit");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_memory_limit_on_a_fragmented_heap_runs_a_bounded_number_of_cycles);
	suite_add_tcase(s, tc);

	tc = tcase_create("checkstacks");
	tcase_set_timeout(tc, 60);
	tcase_add_test_raise_signal(tc, test_checkstacks_aborts_on_a_white_object_held_by_a_stack_after_its_scan, SIGABRT);
	tcase_add_test(tc, test_checkstacks_accepts_an_object_the_stack_held_when_it_was_scanned);
	suite_add_tcase(s, tc);

	tc = tcase_create("blackword");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_checkmark_forgives_an_integer_inside_a_white_block_in_a_block_allocated_black);
	tcase_add_test_raise_signal(tc, test_checkmark_reports_a_base_pointer_stored_without_barrier_in_a_block_allocated_black, SIGABRT);
	suite_add_tcase(s, tc);

	tc = tcase_create("memmove");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_memmove_matches_memmove_for_every_overlap_and_length);
	tcase_add_test(tc, test_memmove_matches_memmove_while_marking);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(correctness_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
