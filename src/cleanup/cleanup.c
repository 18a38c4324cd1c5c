/* SPDX-License-Identifier: MIT */
/*
 * cleanup.c - tri_add_cleanup and tri_cleanup_stop (see cleanup.h). The
 * queue and the worker pool are callback/queue.c's concurrent instance,
 * cbq_cleanups.
 */
#include "cleanup/cleanup.h"
#include "alloc/special.h"
#include "mark/scan.h"
#include "runtime/preempt.h"
#include "runtime/thread.h"

tri_cleanup tri_add_cleanup(void *ptr, void (*fn)(void *arg), void *arg)
{
	NO_PREEMPT();
	thread_require("tri_add_cleanup");
	tri_cleanup c = {0};
	if (!ptr)
		tri_fatal("tri_add_cleanup: ptr is NULL");
	if (ptr == (void *)tri_zerobase)
		return c;
	if (!fn)
		tri_fatal("tri_add_cleanup: fn is NULL");
	struct span *s;
	uint32_t idx;
	uintptr_t base = object_lookup((uintptr_t)ptr, &s, &idx);
	if (!base)
		tri_fatal("tri_add_cleanup: ptr not in allocated block (%p)", ptr);
	if (arg == ptr)
		tri_fatal("tri_add_cleanup: ptr is equal to arg, cleanup will never run");
	if ((uintptr_t)arg >= base && (uintptr_t)arg < base + s->elemsize)
		tri_fatal("tri_add_cleanup: arg points into ptr's object, cleanup will never run");
	c.id = special_add_cleanup(s, idx, fn, arg);
	/* A cleanup added while marking: its arg may already have been passed
	 * over by the root scan. */
	mark_late_range((uintptr_t)&arg, (uintptr_t)(&arg + 1));
	return c;
}

void tri_cleanup_stop(tri_cleanup c)
{
	NO_PREEMPT();
	if (!c.id)
		return;
	tri_require_init("tri_cleanup_stop");
	special_stop_cleanup(c.id);
}
