/* SPDX-License-Identifier: MIT */
/*
 * cleanup.h - Go's runtime.AddCleanup and Cleanup.Stop for C, run by a
 * pool of concurrent workers (Go 1.25's model).
 *
 * Job: tri_add_cleanup validates and records a cleanup special (id, fn,
 * arg) on ptr's object; the sweep that frees the object (one with no
 * finalizer left) queues (fn, arg) on cbq_cleanups (callback/queue.h),
 * whose pool of up to cleanup_workers consumers (default max(4, ncpu), so
 * at least two cleanups overlap even on one core) runs them concurrently.
 * tri_cleanup_stop removes a special that is not queued yet.
 *
 * Roots: a cleanup's arg is a root while the cleanup is recorded
 * (special.c), queued or running (callback/queue.h); an arg added while
 * marking is marked at once.
 */
#ifndef TRI_CLEANUP_H
#define TRI_CLEANUP_H
/* Everything here is API (tri_add_cleanup, tri_cleanup_stop). */
#endif
