/* SPDX-License-Identifier: MIT */
/*
 * workers.c - the mark worker threads (see workers.h).
 */
#include "mark/workers.h"
#include "mark/scan.h"
#include "runtime/gccpu.h"
#include "runtime/runtime.h"
#include "runtime/probes.h"

static void *worker_main(void *arg)
{
	(void)arg;
	gccpu_register_self();
	struct gcwork w;
	gcwork_init(&w, true);
	pthread_mutex_lock(&tri_grey.lock);
	for (;;) {
		while (!(ld_seq(&tri_rt.mark_enabled) && tri_grey.full)) {
			st_relaxed(&tri_grey.sleeping, tri_grey.sleeping + 1);
			pthread_cond_wait(&tri_grey.work, &tri_grey.lock);
			st_relaxed(&tri_grey.sleeping, tri_grey.sleeping - 1);
		}
		pthread_mutex_unlock(&tri_grey.lock);
		mark_drain(&w, 0);
		gcwork_dispose(&w);
		pthread_mutex_lock(&tri_grey.lock);
	}
	return NULL;
}

int mark_workers_start(int n)
{
	for (int i = 0; i < n; i++) {
		int r = tri_spawn_thread(worker_main, NULL, "tri-mark", i);
		if (r)
			return r;
	}
	return 0;
}

void mark_workers_wake(void)
{
	pthread_mutex_lock(&tri_grey.lock);
	pthread_cond_broadcast(&tri_grey.work);
	pthread_mutex_unlock(&tri_grey.lock);
}
