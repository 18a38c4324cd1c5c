/*
 * lock.h - tri_lock: the short-critical-section lock of the collector
 * (central span lists, span specials). Concurrency Kit's FAS spinlock with
 * backoff in release builds; a pthread mutex in ThreadSanitizer builds, whose
 * instrumentation cannot see ck's inline assembly. Longer waits (page heap,
 * queues with condition variables) use pthread mutexes directly.
 */
#ifndef TRI_LOCK_H
#define TRI_LOCK_H
#include "config.h"
#include <pthread.h>
#ifdef TRI_TSAN
typedef pthread_mutex_t tri_lock_t;
#define TRI_LOCK_INIT PTHREAD_MUTEX_INITIALIZER
static inline void tri_lock_init(tri_lock_t *l) { pthread_mutex_init(l, NULL); }
static inline void tri_lock(tri_lock_t *l) { pthread_mutex_lock(l); }
static inline void tri_unlock(tri_lock_t *l) { pthread_mutex_unlock(l); }
#else
#include <ck_spinlock.h>
typedef ck_spinlock_fas_t tri_lock_t;
#define TRI_LOCK_INIT CK_SPINLOCK_FAS_INITIALIZER
static inline void tri_lock_init(tri_lock_t *l) { ck_spinlock_fas_init(l); }
static inline void tri_lock(tri_lock_t *l) { ck_spinlock_fas_lock_eb(l); }
static inline void tri_unlock(tri_lock_t *l) { ck_spinlock_fas_unlock(l); }
#endif
#endif
