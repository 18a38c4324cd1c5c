/* SPDX-License-Identifier: MIT */
/*
 * gccpu.c - CPU time of the collector's threads (see gccpu.h).
 *
 * Data: a fixed table of collector-thread CPU clocks. A slot is claimed
 * with an atomic increment of nslots, filled, then published by a release
 * store of its `ready` flag; readers load nslots and skip slots not ready.
 * Slots are never freed: collector threads run for the life of the process.
 * After fork the parent's collector threads are gone and the child starts
 * new ones, which register again; a slot whose pid is not ours is skipped,
 * so the child counts only its own collector threads. No lock, so no
 * fork-time lock state to repair and nothing a mutator waits on.
 */
#include "runtime/gccpu.h"
#include "runtime/runtime.h"
#include <sched.h>
#include <time.h>
#include <unistd.h>

#define GCCPU_SLOTS 512 /* mark_workers <= 256, plus coordinators across forks */

static struct {
	clockid_t clock;
	pid_t pid;
	int ready; /* release store by the owner after clock and pid */
} slots[GCCPU_SLOTS];
static unsigned nslots; /* atomic; may exceed GCCPU_SLOTS (then not counted) */

void gccpu_register_self(void)
{
	unsigned i = fetch_add(&nslots, 1);
	if (i >= GCCPU_SLOTS)
		return; /* only after hundreds of forks with many workers */
	if (pthread_getcpuclockid(pthread_self(), &slots[i].clock))
		return;
	slots[i].pid = getpid();
	st_release(&slots[i].ready, 1);
}

uint64_t gccpu_collector_ns(void)
{
	unsigned n = ld_acquire(&nslots);
	if (n > GCCPU_SLOTS)
		n = GCCPU_SLOTS;
	pid_t me = getpid();
	uint64_t sum = 0;
	for (unsigned i = 0; i < n; i++) {
		struct timespec ts;
		if (!ld_acquire(&slots[i].ready) || slots[i].pid != me)
			continue;
		if (clock_gettime(slots[i].clock, &ts) == 0)
			sum += (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	}
	return sum;
}

uint64_t gccpu_total_ns(void)
{
	return gccpu_collector_ns() + ld_relaxed(&tri_stats.assist_ns) +
	       ld_relaxed(&tri_stats.pause_handshake_ns);
}

unsigned gccpu_nprocs(void)
{
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
		return (unsigned)CPU_COUNT(&set);
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (unsigned)n : 1;
}

double gccpu_fraction(void)
{
	uint64_t wall = tri_now_ns() - tri_rt.start_ns;
	if (!wall)
		return 0;
	double f = (double)gccpu_total_ns() / ((double)wall * gccpu_nprocs());
	return f > 1 ? 1 : f;
}
