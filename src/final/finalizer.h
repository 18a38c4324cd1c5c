/* SPDX-License-Identifier: MIT */
/*
 * finalizer.h - Go's runtime.SetFinalizer for C.
 *
 * Job: tri_set_finalizer validates and records a finalizer special on the
 * object (alloc/special.c); the sweep that finds the object dead resurrects
 * it and queues (fn, object) on cbq_finalizers (callback/queue.h), whose one
 * resident consumer, the finalizer thread, started by the first
 * tri_set_finalizer, runs them in order, one at a time. finalizer_watchdog
 * is the slow-finalizer report (slow_finalizer_ms).
 *
 * Invariants: a finalizer runs at most once per registration (the special is
 * removed when it is queued), on an object the collector found unreachable,
 * never concurrently with another finalizer. While queued or running, its
 * object is a root (callback/queue.h). No guarantee that queued finalizers
 * run before the process exits (as in Go).
 */
#ifndef TRI_FINALIZER_H
#define TRI_FINALIZER_H

/* Called every ~100 ms by the coordinator: the slow-finalizer report. */
void finalizer_watchdog(void);
#endif
