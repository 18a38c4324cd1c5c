/* SPDX-License-Identifier: MIT */
/*
 * atomics.h - the few atomic operations the collector uses, named by the
 * ordering they provide. They are compiler builtins, so ThreadSanitizer sees
 * every one of them (Concurrency Kit's ck_pr uses inline assembly on x86,
 * which TSan cannot see). Relaxed loads and stores compile to plain moves on
 * x86-64: they mark a field as shared and raced on purpose.
 */
#ifndef TRI_ATOMICS_H
#define TRI_ATOMICS_H

#define ld_relaxed(p) __atomic_load_n((p), __ATOMIC_RELAXED)
#define ld_acquire(p) __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ld_seq(p) __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define st_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define st_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define st_seq(p, v) __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)
#define fetch_add(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define fetch_sub(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_RELAXED)
#define fetch_sub_release(p, v) __atomic_fetch_sub((p), (v), __ATOMIC_RELEASE)
#define fetch_add_seq(p, v) __atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define fetch_or(p, v) __atomic_fetch_or((p), (v), __ATOMIC_RELAXED)
#define fetch_and_seq(p, v) __atomic_fetch_and((p), (v), __ATOMIC_SEQ_CST)
#define fetch_or_seq(p, v) __atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define cas_acq(p, expp, v)                                                   \
	__atomic_compare_exchange_n((p), (expp), (v), 0, __ATOMIC_ACQ_REL,    \
				    __ATOMIC_ACQUIRE)
#define fence_seq() __atomic_thread_fence(__ATOMIC_SEQ_CST)

/* Raise *p to at least v (monotonic maximum, relaxed). */
#define atomic_max(p, v)                                                      \
	do {                                                                  \
		__typeof__(*(p)) o_ = ld_relaxed(p), v_ = (v);                \
		while (o_ < v_ &&                                             \
		       !__atomic_compare_exchange_n((p), &o_, v_, 1,          \
						    __ATOMIC_RELAXED,         \
						    __ATOMIC_RELAXED))        \
			;                                                     \
	} while (0)

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield");
#endif
}

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif
