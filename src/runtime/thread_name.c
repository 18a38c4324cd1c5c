/* SPDX-License-Identifier: MIT */
/*
 * thread_name.c - tri_thread_set_name and thread_name_read: a thread's name
 * for traces, reports and statistics (struct tri_thread's name field,
 * runtime/thread.h).
 *
 * Data: t->name (TRI_THREAD_NAME_MAX bytes) and its seqcount t->name_seq.
 * Invariants: only the owning thread writes its name, so there is one
 * writer and no lock; name_seq is odd exactly while a write is in
 * progress, and a reader that saw the same even value before and after
 * its copy has a name that was whole at some moment. It is ck_sequence's
 * protocol written with the compiler atomics of runtime/atomics.h, which
 * ThreadSanitizer sees (ck_pr's x86 inline assembly it does not). Every
 * byte is accessed atomically (relaxed), so the racing copy is no data
 * race. A name is always NUL-terminated within the buffer.
 * Callers: user threads (tri_thread_set_name), which also emits the name
 * to the trace (runtime/trace.c); reports and statistics
 * (thread_name_read), with the record kept alive by RCU or the registry
 * lock.
 */
#include "runtime/thread.h"
#include "runtime/preempt.h"
#include "runtime/trace.h"
#include <pthread.h>
#include <stdio.h>
#include <string.h>

void tri_thread_set_name(const char *name)
{
	NO_PREEMPT(); /* trace_thread_name takes the trace lock */
	struct tri_thread *t = thread_require("tri_thread_set_name");
	size_t len = name ? strnlen(name, TRI_THREAD_NAME_MAX - 1) : 0;
	uint32_t seq = ld_relaxed(&t->name_seq);
	st_relaxed(&t->name_seq, seq + 1);
	__atomic_thread_fence(__ATOMIC_RELEASE);
	for (size_t i = 0; i < TRI_THREAD_NAME_MAX; i++)
		st_relaxed(&t->name[i], i < len ? name[i] : '\0');
	st_release(&t->name_seq, seq + 2);
	trace_thread_name_now(t->id, len ? t->name : ""); /* debug=trace: escaped there */

	/* The kernel's name (15 bytes): best effort, failure is harmless. */
	char os[16];
	size_t oslen = len < sizeof os - 1 ? len : sizeof os - 1;
	memcpy(os, name ? name : "", oslen);
	os[oslen] = '\0';
	(void)pthread_setname_np(pthread_self(), os);

}

void thread_name_read(struct tri_thread *t, char *buf, size_t n)
{
	if (!n)
		return;
	size_t m = n < TRI_THREAD_NAME_MAX ? n : TRI_THREAD_NAME_MAX;
	for (;;) {
		uint32_t s1 = ld_acquire(&t->name_seq);
		if (s1 & 1) {
			cpu_relax();
			continue;
		}
		for (size_t i = 0; i < m; i++)
			buf[i] = ld_relaxed(&t->name[i]);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (ld_relaxed(&t->name_seq) == s1)
			break;
	}
	buf[m - 1] = '\0';
}
