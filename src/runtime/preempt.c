/* SPDX-License-Identifier: MIT */
/*
 * preempt.c - asynchronous preemption: a signal that makes a thread which
 * does not reach a safepoint run its pending handshake action from the
 * signal handler.
 *
 * Why. Handshakes are cooperative: a running thread acts at its next
 * safepoint (allocation slow path, tri_safepoint, tri_blocking_leave...),
 * and a thread inside tri_blocking_enter/leave is acted for by the
 * collector. A thread that blocks in a system call without declaring it (a
 * finalizer waiting on a semaphore, a server thread sleeping in read())
 * reaches neither, and every collection waited for it, forever. Go solves
 * the same problem for goroutines in tight loops with a signal (SIGURG) and
 * compiler-made tables of safe instructions. We have no such tables, so we
 * act only where the answer is known without them.
 *
 * The asynchronous safe point. When the coordinator has waited
 * tri_preempt_after_ns for a RUNNING thread, it sends it the signal
 * (pthread_sigqueue, with the thread's record in si_value so that other
 * senders' signals are told apart and forwarded to the handler the program had installed).
 * The handler runs handshake_safepoint_slow, exactly as if the thread had called
 * tri_safepoint at the interrupted instruction, only if all of these hold:
 *  1. the thread is attached and RUNNING (a BLOCKING thread is acted for by
 *     the collector; running its action here too would race with it);
 *  2. the interrupted instruction lies in the C library's code (libc.so or
 *     the vDSO). The inline write barrier (tri_store: load the flag, then
 *     store) and the allocation fast path contain no call, so a thread
 *     whose instruction is in libc is never between a barrier check and
 *     its store, or half-way through taking an object from its span;
 *  3. the thread is not inside tricolor (tri_nopreempt == 0): the runtime
 *     itself calls libc (memset, mutexes, mmap) with per-thread state
 *     half-updated or a lock held. Every entry point says NO_PREEMPT(), the
 *     runtime's own threads start with the count at 1, and user callbacks
 *     run through preemptible_call;
 *  4. both the interrupted stack pointer and the handler's frame lie within
 *     the thread's stack (not a sigaltstack): the action scans the stack
 *     from the handler's frame up, which covers the signal frame, i.e. every
 *     register of the interrupted code, caller-saved ones included;
 *  5. no live signal frame is on the stack above the interrupted one: a
 *     user's handler may have interrupted a tri_store between its check and
 *     its store and then called into libc. A signal frame starts with the
 *     handler's return address, the sigreturn trampoline; every copy of it
 *     between the interrupted stack pointer and the stack's top is a
 *     candidate frame, whose siginfo sits at the same offset from it as in
 *     our own frame (the kernel's rt_sigframe layout), measured in the
 *     handler. A frame is live while its handler runs, and while a handler
 *     runs its signal is blocked (unless the handler was installed with
 *     SA_NODEFER): so a candidate whose signal is not blocked in the
 *     interrupted context's mask, and whose current action lacks
 *     SA_NODEFER, is a dead frame (stale words left in memory a later frame
 *     never overwrote) and is ignored. A copy whose signal number or
 *     saved stack pointer is not plausible is no frame at all (a stale
 *     copy of the address; argued at candidate_frame_live) and is ignored
 *     too.
 *     Anything else makes us decline. Before this rule
 *     was "no copy at all": the frame of our own earlier preemption, left
 *     inside an uninitialised buffer of a deeper live frame, made the
 *     thread decline every signal (issue 14 case 7).
 *  6. the signal was sent by tricolor (checked first; otherwise it goes to
 *     the program's handler): si_code == SI_QUEUE, si_pid == this process,
 *     and si_value holds the address of the target thread's own record
 *     (pthread_sigqueue from preempt_poke sends exactly that). A fixed tag
 *     value was not enough: another sender's sigqueue with that value was
 *     swallowed (issue 14); another process has another si_pid, and the
 *     program's own sigqueue would have to guess a heap address.
 * Otherwise the handler returns at once and the coordinator sends again
 * later (backing off to one signal per 100 ms), so a thread computing in
 * its own code is never acted on, and still waited for, as before.
 *
 * What the action needs. The handler may run while the thread is inside
 * malloc or holding any libc-internal lock, so the actions take no libc lock
 * and never call malloc (grey-queue blocks come from mmap); they take only
 * tricolor locks, which by (3) the thread does not hold.
 *
 * Costs for the program: a preempted system call may fail with EINTR
 * (SA_RESTART restarts read/write/waits on futexes; nanosleep, poll, epoll
 * and friends return EINTR whatever the flag): only threads that hold up a
 * collection for tri_preempt_after_ns get signals. The signal is unblocked
 * in every attached thread. preempt_ms=off turns it all off;
 * preempt_signal=N picks another signal than SIGURG. Off in ThreadSanitizer
 * builds (see preempt_init).
 *
 * Who calls: tri_init (preempt_init), thread attach (preempt_thread_init),
 * handshake.c's wait loop (preempt_poke).
 */
#include "runtime/preempt.h"
#include "alloc/memcheck.h"
#include "runtime/handshake.h"
#include "runtime/thread.h"
#include <errno.h>
#include <link.h>
#include <signal.h>
#include <stddef.h>
#include <string.h>
#include <ucontext.h>

/* The record this thread last attached with (set by preempt_thread_init,
 * kept after detach; owner only): a poke sent just before the thread
 * detached still carries it (condition 6). */
static __thread void *last_self __attribute__((tls_model("initial-exec")));

uint64_t tri_preempt_after_ns; /* written once by preempt_init */

#define MAX_RANGES 8

/* The C library's executable segments; written once by preempt_init,
 * before the handler is installed. */
static struct {
	uintptr_t lo, hi;
} code[MAX_RANGES];
static int ncode;
static int preempt_sig;
static struct sigaction forward_to;

static int find_libc(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	(void)data;
	const char *name = info->dlpi_name ? info->dlpi_name : "";
	const char *base = strrchr(name, '/');
	base = base ? base + 1 : name;
	if (strncmp(base, "libc.so", 7) && strncmp(base, "linux-vdso.so", 13))
		return 0;
	for (int i = 0; i < info->dlpi_phnum && ncode < MAX_RANGES; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			code[ncode].lo = info->dlpi_addr + ph->p_vaddr;
			code[ncode].hi = code[ncode].lo + ph->p_memsz;
			ncode++;
		}
	}
	return 0;
}

static bool in_libc(uintptr_t pc)
{
	for (int i = 0; i < ncode; i++)
		if (pc - code[i].lo < code[i].hi - code[i].lo)
			return true;
	return false;
}

static bool interrupted_context(void *ucv, uintptr_t *pc, uintptr_t *sp)
{
	ucontext_t *uc = ucv;
#if defined(__x86_64__)
	*pc = (uintptr_t)uc->uc_mcontext.gregs[REG_RIP];
	*sp = (uintptr_t)uc->uc_mcontext.gregs[REG_RSP];
	return true;
#elif defined(__aarch64__)
	*pc = (uintptr_t)uc->uc_mcontext.pc;
	*sp = (uintptr_t)uc->uc_mcontext.sp;
	return true;
#else
	(void)uc;
	(void)pc;
	(void)sp;
	return false;
#endif
}

/* Conditions 1-5 of the header comment. Reads every stack word above the
 * interrupted frame, dead slots included, like the conservative scanner:
 * hence TRI_NO_SANITIZE (ASan's redzones). */
static TRI_NO_SANITIZE uintptr_t stack_word(uintptr_t a)
{
	uintptr_t v = *(const uintptr_t *)a;
	return TRI_VG ? tri_vg_defined_word(v) : v;
}

/*
 * Condition 5 for one word at w that holds the trampoline's address: is it
 * the start of a live signal frame? si_off, uc_off: the offsets of the
 * siginfo and the ucontext from the trampoline word in our own frame (the
 * kernel's layout, measured). uc: the interrupted context (its mask).
 *
 * Not every copy of the trampoline's address starts a frame: a dead
 * handler's frames hold copies too (our own at_async_safe_point receives
 * it as an argument, and an -O0/ASan build spills it; a callee saves the
 * register holding it). Such a stale copy has whatever later frames left
 * where a frame's siginfo and context would be. So a word is taken for a
 * frame only if what the kernel writes there is plausible: a signal number
 * in 1..NSIG-1, and a saved stack pointer above the frame and within the
 * thread's stack (the kernel builds a frame below the interrupted sp, on
 * this stack, since a frame on a sigaltstack would not be between here
 * and the stack's top). Why ignoring the rest is safe: a handler that is
 * still running lies below its frame, and its code and its callees write
 * only below their own stack pointers, so its frame still holds what the
 * kernel wrote - unless the handler itself writes a signal number outside
 * 1..NSIG-1 into its siginfo or points its saved sp off the stack (a
 * stack switch from a handler, unsupported like coroutines, see
 * handshake.c). Before this rule a stale copy made the thread decline
 * every signal (seen under ASan: test_correctness's dead-signal-frame test
 * declined 205 signals; tests/test_correctness.c's stale-copy test plants
 * such copies in a normal build).
 */
static TRI_NO_SANITIZE bool candidate_frame_live(struct tri_thread *t, uintptr_t w, intptr_t si_off,
						 intptr_t uc_off, const ucontext_t *uc)
{
	if (si_off <= 0 || uc_off <= 0)
		return true; /* our own frame was not understood: decline */
	/* The part of a ucontext the kernel writes first: flags, link, stack,
	 * the registers. */
	const size_t uc_need = offsetof(ucontext_t, uc_mcontext) + sizeof(mcontext_t);
	uintptr_t si = w + (uintptr_t)si_off, cand_uc = w + (uintptr_t)uc_off;
	if (si + sizeof(siginfo_t) > t->stack_hi || cand_uc + uc_need > t->stack_hi)
		return false; /* a frame lies within the stack */
	int signo = (int)(uint32_t)stack_word(si + offsetof(siginfo_t, si_signo));
	if (signo < 1 || signo >= NSIG)
		return false;
	uintptr_t pc, sp;
	ucontext_t copy;
	memset(&copy, 0, sizeof copy);
	for (size_t i = 0; i < uc_need / sizeof(uintptr_t); i++)
		((uintptr_t *)&copy)[i] = stack_word(cand_uc + i * sizeof(uintptr_t));
	if (!interrupted_context(&copy, &pc, &sp) || !(w < sp && sp <= t->stack_hi))
		return false;
	if (sigismember(&uc->uc_sigmask, signo))
		return true;
	struct sigaction act; /* sigaction is async-signal-safe */
	if (sigaction(signo, NULL, &act) || (act.sa_flags & SA_NODEFER))
		return true;
	return false;
}

static TRI_NO_SANITIZE bool at_async_safe_point(struct tri_thread *t, void *ucv, uintptr_t trampoline, uintptr_t here,
						const siginfo_t *own_si)
{
	uintptr_t pc, sp;
	if (t == &tri_detached_thread || tri_nopreempt || ld_relaxed(&t->state) != TS_RUNNING)
		return false;
	if (!interrupted_context(ucv, &pc, &sp) || !in_libc(pc))
		return false;
	if (!(t->stack_lo < here && here < sp && sp < t->stack_hi))
		return false;
	/* Our own frame's trampoline word: the first copy above our frame
	 * pointer (the return address slot), below the interrupted sp. */
	uintptr_t own = 0;
	for (uintptr_t w = here; w < sp; w += sizeof(uintptr_t)) {
		if (stack_word(w) == trampoline) {
			own = w;
			break;
		}
	}
	if (!own)
		return false;
	intptr_t si_off = (intptr_t)((uintptr_t)own_si - own);
	intptr_t uc_off = (intptr_t)((uintptr_t)ucv - own);
	for (uintptr_t w = sp & ~(uintptr_t)7; w < t->stack_hi; w += sizeof(uintptr_t))
		if (stack_word(w) == trampoline && candidate_frame_live(t, w, si_off, uc_off, ucv))
			return false;
	return true;
}

static void forward(int sig, siginfo_t *si, void *ucv)
{
	if (forward_to.sa_flags & SA_SIGINFO) {
		if (forward_to.sa_sigaction)
			forward_to.sa_sigaction(sig, si, ucv);
	} else if (forward_to.sa_handler != SIG_DFL && forward_to.sa_handler != SIG_IGN) {
		forward_to.sa_handler(sig);
	}
	/* SIG_DFL of SIGURG is to ignore; for another preempt_signal the
	 * program asked for it, and it only ever comes from us or is
	 * dropped. */
}

static void __attribute__((noinline)) preempt_handler(int sig, siginfo_t *si, void *ucv)
{
	/* Condition 6. A thread that detached after the poke was sent gets
	 * it with tri_self already reset: still ours (same process, queued),
	 * and declined below since the thread is not attached. */
	bool ours = si->si_code == SI_QUEUE && si->si_pid == tri_rt.pid && si->si_value.sival_ptr &&
		    si->si_value.sival_ptr == last_self;
	if (!ours) {
		forward(sig, si, ucv);
		return;
	}
	int saved_errno = errno;
	struct tri_thread *t = tri_self;
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	if (at_async_safe_point(t, ucv, (uintptr_t)__builtin_return_address(0), here, si)) {
		fetch_add(&tri_stats.preempt_acted, 1);
		/* valgrind builds the signal frame below the interrupted
		 * function's red zone and marks the space between them
		 * inaccessible; the stack scans (ours, or the checkmark's while
		 * we are stopped here) read every word up from this frame. */
		uintptr_t pc, sp;
		interrupted_context(ucv, &pc, &sp);
		if (TRI_VG)
			TRI_VG_DEFINED((void *)here, sp - here);
		tri_nopreempt++;
		t->sig_sp = sp;
		handshake_safepoint_slow(t);
		t->sig_sp = 0;
		tri_nopreempt--;
	} else {
		fetch_add(&tri_stats.preempt_declined, 1);
	}
	errno = saved_errno;
}

void preempt_init(void)
{
#ifdef TRI_TSAN /* configure --enable-sanitizer=thread */
	/* ThreadSanitizer defers an asynchronous signal to the thread's next
	 * intercepted call, and a thread blocked in read() makes none: the
	 * handler would never run when it is needed. Off in TSan builds. */
	return;
#endif
	if (!tri_rt.opt.preempt_ms)
		return;
	dl_iterate_phdr(find_libc, NULL);
	uintptr_t pc, sp;
	ucontext_t probe;
	memset(&probe, 0, sizeof probe);
	if (!ncode || !interrupted_context(&probe, &pc, &sp)) {
		tri_warn("tricolor: asynchronous preemption is off (no shared C library found, or an unknown architecture)");
		return;
	}
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_sigaction = preempt_handler;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigfillset(&sa.sa_mask);
	/* Synchronous faults inside the handler must still be reported. */
	sigdelset(&sa.sa_mask, SIGSEGV);
	sigdelset(&sa.sa_mask, SIGBUS);
	sigdelset(&sa.sa_mask, SIGABRT);
	preempt_sig = tri_rt.opt.preempt_signal;
	if (sigaction(preempt_sig, &sa, &forward_to)) {
		tri_warn("tricolor: asynchronous preemption is off: sigaction(%d): %s", preempt_sig, strerror(errno));
		return;
	}
	tri_preempt_after_ns = tri_rt.opt.preempt_ms * 1000000ull;
	preempt_thread_init();
}

void preempt_thread_init(void)
{
	last_self = tri_self;
	if (!tri_preempt_after_ns)
		return;
	sigset_t s;
	sigemptyset(&s);
	sigaddset(&s, preempt_sig);
	pthread_sigmask(SIG_UNBLOCK, &s, NULL);
}

/* t->sig_lock keeps t->pthread valid: the thread marks itself DETACHED
 * under it before it can exit. */
void preempt_poke(struct tri_thread *t)
{
	if (!tri_preempt_after_ns)
		return;
	bool sent = false;
	pthread_mutex_lock(&t->sig_lock);
	if (ld_acquire(&t->state) == TS_RUNNING) {
		union sigval v = {.sival_ptr = t}; /* condition 6 */
		sent = pthread_sigqueue(t->pthread, preempt_sig, v) == 0;
	}
	pthread_mutex_unlock(&t->sig_lock);
	if (sent)
		fetch_add(&tri_stats.preempt_signals, 1);
}
