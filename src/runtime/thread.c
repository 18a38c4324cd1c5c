/* SPDX-License-Identifier: MIT */
/*
 * thread.c - attaching and detaching threads, the registry (see thread.h),
 * and the architecture-specific bits: saving callee-saved registers and the
 * tri_blocking_enter entry stub.
 */
#include "runtime/thread.h"
#include "alloc/memcheck.h"
#include "alloc/span.h"
#include "alloc/tcache.h"
#include "mark/scan.h"
#include "runtime/handshake.h"
#include "runtime/preempt.h"
#include "runtime/trace.h"
#include <limits.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

__thread struct tri_thread *tri_self __attribute__((tls_model("initial-exec"))) = &tri_detached_thread;

/* The record every unattached thread sees: its slow bit sends every fast
 * path into the slow path, which reports "not attached". */
struct tri_thread tri_detached_thread = {.slow = SLOW_DETACHED | SLOW_POLL};

CDS_LIST_HEAD(tri_threads);
pthread_mutex_t tri_registry_lock = PTHREAD_MUTEX_INITIALIZER;

static uint32_t next_thread_id = 1; /* atomic */
static pthread_key_t exit_key;
static pthread_once_t exit_key_once = PTHREAD_ONCE_INIT;

#if defined(__x86_64__)
void thread_save_regs(uintptr_t *r)
{
	__asm__ __volatile__("movq %%rbx, 0(%0)\n\t"
			     "movq %%rbp, 8(%0)\n\t"
			     "movq %%r12, 16(%0)\n\t"
			     "movq %%r13, 24(%0)\n\t"
			     "movq %%r14, 32(%0)\n\t"
			     "movq %%r15, 40(%0)\n\t"
			     :
			     : "r"(r)
			     : "memory");
}

/*
 * tri_blocking_enter in assembly: a C function may have clobbered the
 * caller's callee-saved registers (after spilling them into its own frame,
 * which is gone once it returns) before it could save them. The stub saves
 * them first, then calls the C part with the caller's stack pointer.
 */
__asm__(".text\n"
	".globl tri_blocking_enter\n"
	".type tri_blocking_enter,@function\n"
	"tri_blocking_enter:\n"
	"\t.cfi_startproc\n"
	"\tpushq %rbp\n"
	"\t.cfi_def_cfa_offset 16\n"
	"\t.cfi_offset %rbp, -16\n"
	"\tmovq %rsp, %rbp\n"
	"\t.cfi_def_cfa_register %rbp\n"
	"\tsubq $64, %rsp\n"
	"\tmovq %rbx, 0(%rsp)\n"
	"\tmovq 0(%rbp), %rax\n"
	"\tmovq %rax, 8(%rsp)\n"
	"\tmovq %r12, 16(%rsp)\n"
	"\tmovq %r13, 24(%rsp)\n"
	"\tmovq %r14, 32(%rsp)\n"
	"\tmovq %r15, 40(%rsp)\n"
	"\tmovq %rsp, %rdi\n"
	"\tleaq 16(%rbp), %rsi\n"
	"\tcall tri_blocking_enter_impl\n"
	"\tleave\n"
	"\t.cfi_def_cfa %rsp, 8\n"
	"\tret\n"
	"\t.cfi_endproc\n"
	".size tri_blocking_enter, .-tri_blocking_enter\n");
#else
void thread_save_regs(uintptr_t *r)
{
	/* Other architectures: spill every callee-saved register into this
	 * frame's caller chain; the scanner covers the stack from here. */
	__builtin_unwind_init();
	memset(r, 0, 8 * sizeof *r);
}

void tri_blocking_enter(void)
{
	uintptr_t regs[8];
	__builtin_unwind_init();
	thread_save_regs(regs);
	tri_blocking_enter_impl(regs, (uintptr_t)__builtin_frame_address(0));
}
#endif

void thread_stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
	pthread_attr_t attr;
	void *addr = NULL;
	size_t size = 0;
	if (pthread_getattr_np(pthread_self(), &attr) == 0) {
		pthread_attr_getstack(&attr, &addr, &size);
		pthread_attr_destroy(&attr);
	}
	if (!addr)
		tri_fatal("tri_thread_attach: cannot find the thread's stack bounds");
	*lo = (uintptr_t)addr;
	*hi = (uintptr_t)addr + size;
	/*
	 * Under valgrind the main thread's stack is valgrind's: it maps each
	 * extension of the client stack separately, and glibc, which takes the
	 * main stack to end at the next mapping below its top one, reports
	 * only the top few KB (seen: 12 KB in a forked Check child), so the
	 * stack-pointer check (thread_check_sp) aborted attach ("stack
	 * pointer ... is outside this thread's stack") in test_alloc's and
	 * test_threads' death tests. The stack may grow to RLIMIT_STACK below
	 * its top (valgrind's --main-stacksize is at most that; 16 MB when
	 * unlimited), and valgrind reserves that range for it, so nothing
	 * else - no TLS block (note_tls) - lies there. Natively glibc's answer
	 * is the kernel's (one VMA grows down) and is kept.
	 */
	if (TRI_VG && getpid() == (pid_t)syscall(SYS_gettid)) {
		struct rlimit rl;
		uintptr_t max = 16u << 20;
		if (getrlimit(RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
			max = rl.rlim_cur;
		if (*hi - *lo < max)
			*lo = *hi - max;
	}
}

void __attribute__((noinline)) thread_scan_own_stack(struct tri_thread *t, struct gcwork *w)
{
	uintptr_t regs[8];
	__builtin_unwind_init();
	thread_save_regs(regs);
	thread_check_sp(t, (uintptr_t)regs, "tricolor: stack scan");
	t->scan_lo = (uintptr_t)regs;
	t->scan_cycle = ld_relaxed(&tri_rt.cycle);
	scan_range((uintptr_t)regs, t->stack_hi, w);
	fetch_add(&tri_stats.stack_scanned_bytes, t->stack_hi - (uintptr_t)regs); /* gctrace */
	thread_scan_tls(t, w);
}

void thread_scan_tls(const struct tri_thread *t, struct gcwork *w)
{
	for (uint32_t i = 0; i < t->ntls; i++)
		scan_range(t->tls[i].lo, t->tls[i].hi, w);
}

/*
 * __thread roots (issue 14): glibc puts a new thread's static TLS inside the
 * stack mapping pthread_getattr_np reports, so those variables were scanned
 * with the stack, but the main thread's TLS (allocated by the dynamic
 * linker) was not. Now every attached thread's TLS blocks are roots: at
 * attach, the thread records each loaded module's block for itself
 * (dl_iterate_phdr's dlpi_tls_data) that does not already lie in its stack.
 * Blocks of modules loaded after the thread attached, or allocated lazily
 * later (dynamic TLS), are not covered (docs/design.md section 19).
 */
static int note_tls(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	struct tri_thread *t = data;
	if (!info->dlpi_tls_data)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_TLS || !ph->p_memsz)
			continue;
		uintptr_t lo = (uintptr_t)info->dlpi_tls_data, hi = lo + ph->p_memsz;
		if (lo >= t->stack_lo && hi <= t->stack_hi)
			continue; /* scanned with the stack */
		if (t->ntls == TRI_TLS_MAX)
			tri_fatal("tri_thread_attach: more than %d modules with thread-local storage", TRI_TLS_MAX);
		t->tls[t->ntls].lo = lo;
		t->tls[t->ntls].hi = hi;
		t->ntls++;
	}
	return 0;
}

/*
 * A thread that exits attached is detached by this pthread key destructor.
 * Destructors run in an unspecified order, and the program's own may use
 * the heap: so the thread stays attached through the first rounds of
 * destructor calls and detaches in the last one. glibc (POSIX) repeats the
 * rounds, up to PTHREAD_DESTRUCTOR_ITERATIONS, while a destructor sets a
 * value: re-arming the key each round until then keeps every destructor
 * of the earlier rounds (all of them, unless one re-arms itself) running
 * attached. Before, this detached in round 1 and a program's destructor that
 * ran after it aborted with "tri_alloc: thread not attached" (issue 14).
 */
/*
 * THREAD_EXIT_DETACH_ROUND: the round that detaches, not the last one.
 * Detaching calls call_rcu, whose read-side lock registers the thread with
 * liburcu-bp again (its first-round destructor had unregistered it), and
 * liburcu-bp's destructor, from a key created before ours, unregisters it
 * only in the next round: detaching in the last round left a dead thread
 * registered with liburcu-bp for good. ThreadSanitizer's runtime destroys
 * its per-thread state from a key destructor of its own that re-arms
 * itself to the last round, from the first key of all (called first in a
 * round): whatever runs after it in that round and calls an intercepted
 * function faults inside the TSan runtime (SEGV at a small address: our
 * detach in the last round, then liburcu-bp's destructor in the last
 * round - test_threads' exiting-attached test, test_faults' pthread_exit
 * from a finalizer or cleanup). So: one round before the last, and in
 * TSan builds two, which leaves liburcu-bp's round before TSan's. Program
 * destructors of rounds 1 to the detaching one - 1 (all of them unless
 * they re-arm) run attached.
 */
#ifdef TRI_TSAN
#define THREAD_EXIT_DETACH_ROUND (PTHREAD_DESTRUCTOR_ITERATIONS - 2)
#else
#define THREAD_EXIT_DETACH_ROUND (PTHREAD_DESTRUCTOR_ITERATIONS - 1)
#endif
#if THREAD_EXIT_DETACH_ROUND < 2
#error "PTHREAD_DESTRUCTOR_ITERATIONS too small to detach after the program's destructors"
#endif

static void thread_exit_destructor(void *arg)
{
	struct tri_thread *t = arg;
	if (tri_self != t)
		return;
	if (++t->exit_rounds < THREAD_EXIT_DETACH_ROUND) {
		pthread_setspecific(exit_key, t);
		return;
	}
	if (ld_relaxed(&t->state) != TS_RUNNING)
		tri_blocking_leave();
	tri_thread_detach();
}

static void make_exit_key(void)
{
	pthread_key_create(&exit_key, thread_exit_destructor);
}

void thread_attach_internal(void)
{
	struct tri_thread *t;
	if (posix_memalign((void **)&t, 64, sizeof *t))
		tri_fatal("tri_thread_attach: out of memory");
	memset(t, 0, sizeof *t);
	for (unsigned i = 0; i < TRI_NUM_SPANCLASSES; i++)
		t->alloc[i] = &tri_empty_span;
	t->slow = tri_rt.opt.poison ? SLOW_DEBUG : 0;
	t->id = fetch_add(&next_thread_id, 1);
	thread_stack_bounds(&t->stack_lo, &t->stack_hi);
	thread_check_sp(t, (uintptr_t)__builtin_frame_address(0), "tri_thread_attach");
	dl_iterate_phdr(note_tls, t);
	pthread_mutex_init(&t->sig_lock, NULL);
	t->state = TS_RUNNING;
	t->pthread = pthread_self();
	t->ring = pause_ring_get(t->id);

	pthread_mutex_lock(&tri_registry_lock);
	/* Under the registry lock, so fork's prepare handler (which holds it)
	 * never forks while liburcu's own registry lock is taken. */
	rcu_register_thread();
	tsan_release(t);
	cds_list_add_tail_rcu(&t->node, &tri_threads);
	pthread_mutex_unlock(&tri_registry_lock);
	/* Pairs with the coordinator's fence between setting a global state and
	 * walking the registry: either it sees this record, or this thread sees
	 * the new state. */
	fence_seq();
	if (ld_seq(&tri_barrier_enabled_) && ld_seq(&tri_rt.phase) == PHASE_MARK)
		t->barrier_on = 1;
	/* Attaching after the stack-scan handshake began: the coordinator may
	 * skip this record (it attached after the post, hs_req < epoch), so the
	 * thread makes its own stack and registers a root of this cycle before
	 * it allocates black. Its stack may hold the only pointer to an object
	 * (pthread_create's argument, which the creator dropped once we
	 * attached, before its own scan). Through the mark gate: once marking
	 * is over (MARK_DONE, SWEEP) no scan is needed, since every thread that
	 * could have handed us a pointer had its stack scanned before
	 * termination, while it still held that pointer or had stored it with
	 * the barrier (issue 14 case 2; docs/design.md sections 4 and 20). */
	if (ld_seq(&tri_rt.mark_black)) {
		if (ld_seq(&tri_rt.phase) == PHASE_MARK && mark_gate_enter()) {
			struct gcwork w;
			gcwork_init(&w, false);
			thread_scan_own_stack(t, &w);
			gcwork_dispose(&w);
			mark_gate_exit();
		}
		t->alloc_black = 1;
		t->alloc_black_cycle = ld_seq(&tri_rt.cycle);
	}
	tri_self = t;
	preempt_thread_init();
	fetch_add(&tri_stats.threads_attached, 1);
	if (tri_trace_on) {
		char name[32];
		snprintf(name, sizeof name, "thread %u", t->id);
		trace_thread_name(t->id, name);
	}
	pthread_once(&exit_key_once, make_exit_key);
	pthread_setspecific(exit_key, t);
}

void tri_thread_attach(void)
{
	NO_PREEMPT();
	tri_require_init("tri_thread_attach");
	if (tri_self != &tri_detached_thread)
		return;
	thread_attach_internal();
}

int tri_thread_is_attached(void)
{
	return tri_self != &tri_detached_thread;
}

int tri_rcu_sync_token;

static void free_thread(struct rcu_head *h)
{
	struct tri_thread *t = caa_container_of(h, struct tri_thread, rcu);
	tsan_acquire(&tri_rcu_sync_token);
	tsan_acquire(t);
	free(t);
}

void tri_thread_detach(void)
{
	NO_PREEMPT();
	struct tri_thread *t = thread_require("tri_thread_detach");
	if (ld_relaxed(&t->state) != TS_RUNNING)
		tri_fatal("tri_thread_detach: called inside tri_blocking_enter/tri_blocking_leave");
	if (ld_relaxed(&t->slow) & SLOW_POLL)
		handshake_safepoint_slow(t);
	/* Everything this thread shaded reaches the marker before it goes. */
	wbuf_flush(t);
	handshake_thread_exit(t); /* unless the coordinator already took them */
	tcache_release_all(t);
	pause_ring_retire(t->ring);
	pthread_mutex_lock(&t->sig_lock);
	st_seq(&t->state, TS_DETACHED);
	pthread_mutex_unlock(&t->sig_lock);
	pthread_mutex_lock(&tri_registry_lock);
	cds_list_del_rcu(&t->node);
	tri_self = &tri_detached_thread;
	pthread_setspecific(exit_key, NULL);
	fetch_sub(&tri_stats.threads_attached, 1);
	tsan_release(t); /* this thread's last writes to t, before free_thread */
	call_rcu(&t->rcu, free_thread);
	rcu_unregister_thread();
	pthread_mutex_unlock(&tri_registry_lock);
}
