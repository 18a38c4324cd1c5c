/* SPDX-License-Identifier: MIT */
/*
 * init.c - tri_init: options, the arena, the size classes, the coordinator
 * and mark workers, and the first attached thread.
 */
#include "alloc/central.h"
#include "alloc/page_heap.h"
#include "alloc/special.h"
#include "callback/queue.h"
#include "final/finalizer.h"
#include "mark/workers.h"
#include "runtime/cycle.h"
#include "runtime/fork.h"
#include "runtime/pacer.h"
#include "runtime/preempt.h"
#include "runtime/handshake.h"
#include "runtime/heapprof.h"
#include "runtime/stats.h"
#include "runtime/thread.h"
#include "runtime/trace.h"
#include "sweep/sweep.h"
#include <errno.h>
#include <string.h>
#include <unistd.h>

static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;

int tri_init(const char *options)
{
	NO_PREEMPT();
	pthread_mutex_lock(&init_lock);
	if (tri_rt.initialized) {
		pthread_mutex_unlock(&init_lock);
		return EALREADY;
	}
	struct tri_options o;
	tri_options_defaults(&o);
	int r = tri_options_parse(&o, options, "the options string");
	if (!r)
		r = tri_options_from_env(&o);
	if (r) {
		pthread_mutex_unlock(&init_lock);
		return r;
	}
	tri_rt.opt = o;
	tri_rt.start_ns = tri_now_ns();
	tri_rt.pid = getpid();
	size_class_init();
	sweep_dead_hook = specials_sweep;
	handshake_watchdog_hook = finalizer_watchdog;
	cycle_callbacks = (struct cycle_callbacks){
		.mark_roots = cbq_mark_roots,
		.check_report = cbq_check_report,
		.visit_queued = cbq_visit_queued,
		.drain = tri_drain,
	};
	central_init();
	r = page_heap_init(o.heap_reserve);
	if (r) {
		pthread_mutex_unlock(&init_lock);
		tri_warn("tri_init: cannot reserve %llu bytes of address space for the heap (option heap_reserve)",
			 (unsigned long long)o.heap_reserve);
		return r;
	}
	pacer_init();
	trace_open(o.trace_path);
	stats_init();
	heapprof_init(o.heapprofile_path, o.heapprofile_rate);
	fork_handlers_install();
	preempt_init();
	if ((r = mark_workers_start(o.mark_workers)) || (r = cycle_init())) {
		pthread_mutex_unlock(&init_lock);
		tri_warn("tri_init: cannot start the collector threads: %s", strerror(r));
		return r;
	}
	/* Only now: a failed start leaves the runtime uninitialised. */
	st_release(&tri_rt.initialized, 1);
	pthread_mutex_unlock(&init_lock);
	tri_thread_attach();
	return 0;
}
