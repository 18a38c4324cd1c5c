/* SPDX-License-Identifier: MIT */
/*
 * finalizer.c - tri_set_finalizer and the slow-finalizer report (see
 * finalizer.h). The queue and the finalizer thread are callback/queue.c's
 * serial instance, cbq_finalizers.
 */
#include "final/finalizer.h"
#include "alloc/special.h"
#include "callback/queue.h"
#include "mark/scan.h"
#include "runtime/preempt.h"
#include "runtime/thread.h"

void tri_set_finalizer(void *obj, void (*fn)(void *obj))
{
	NO_PREEMPT();
	thread_require("tri_set_finalizer");
	if (!obj)
		tri_fatal("tri_set_finalizer: pointer is NULL");
	if (obj == (void *)tri_zerobase)
		return;
	struct span *s;
	uint32_t idx;
	uintptr_t base = object_lookup((uintptr_t)obj, &s, &idx);
	if (!base)
		tri_fatal("tri_set_finalizer: pointer not in allocated block (%p)", obj);
	if (base != (uintptr_t)obj)
		tri_fatal("tri_set_finalizer: pointer not at beginning of allocated block (%p is %zu bytes into the block at %p)",
			  obj, (size_t)((uintptr_t)obj - base), (void *)base);
	if (!fn) {
		special_remove_finalizer(s, idx);
		return;
	}
	cbq_start(&cbq_finalizers);
	if (special_add_finalizer(s, idx, fn))
		tri_fatal("tri_set_finalizer: finalizer already set (object %p)", obj);
	/* Rule 5: the marker may have walked the finalizer specials already;
	 * scan the referents now so the dependency order holds this cycle. */
	if (!s->noscan)
		mark_late_range(base, base + s->elemsize);
}

void finalizer_watchdog(void)
{
	cbq_watchdog(&cbq_finalizers, tri_rt.opt.slow_finalizer_ms * 1000000ull);
}
