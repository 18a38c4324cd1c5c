/* SPDX-License-Identifier: MIT */
/*
 * runtime.c - the definitions of the global state declared in runtime.h
 * (tri_rt, tri_stats), of the no-preemption counter of nopreempt.h
 * (tri_nopreempt), and tri_require_init. Base layer (docs/design.md,
 * "Layers"): every layer reads this state, so it lives at the bottom, not
 * in init.c (api), which only fills it. Who writes each field, and how it
 * is synchronized, is written next to the fields in runtime.h.
 */
#include "runtime/runtime.h"
#include "runtime/nopreempt.h"

struct tri_runtime tri_rt = {
	.cycle_lock = PTHREAD_MUTEX_INITIALIZER,
	.cycle_cond = PTHREAD_COND_INITIALIZER,
	.cycle_done = PTHREAD_COND_INITIALIZER,
};
struct tri_stats tri_stats;
__thread unsigned tri_nopreempt __attribute__((tls_model("initial-exec")));

void tri_require_init(const char *fn)
{
	if (unlikely(!ld_acquire(&tri_rt.initialized)))
		tri_fatal("%s: tri_init has not been called", fn);
}
