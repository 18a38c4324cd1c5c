/*
 * roots.c - registered root ranges (see roots.h).
 */
#include "mark/roots.h"
#include "runtime/preempt.h"
#include "mark/scan.h"
#include "runtime/runtime.h"
#include <stdlib.h>

struct root_range {
	uintptr_t lo, hi;
};

static pthread_mutex_t roots_lock = PTHREAD_MUTEX_INITIALIZER;
static struct root_range *ranges; /* roots_lock */
static size_t nranges, cap;

void tri_add_roots(void *start, void *end)
{
	NO_PREEMPT();
	tri_require_init("tri_add_roots");
	if ((uintptr_t)end < (uintptr_t)start)
		tri_fatal("tri_add_roots: end %p is below start %p", end, start);
	pthread_mutex_lock(&roots_lock);
	if (nranges == cap) {
		size_t ncap = cap ? cap * 2 : 16;
		struct root_range *n = realloc(ranges, ncap * sizeof *n);
		if (!n)
			tri_fatal("tri_add_roots: out of memory");
		ranges = n;
		cap = ncap;
	}
	ranges[nranges].lo = (uintptr_t)start;
	ranges[nranges].hi = (uintptr_t)end;
	nranges++;
	pthread_mutex_unlock(&roots_lock);
}

void tri_remove_roots(void *start, void *end)
{
	NO_PREEMPT();
	tri_require_init("tri_remove_roots");
	pthread_mutex_lock(&roots_lock);
	for (size_t i = 0; i < nranges; i++) {
		if (ranges[i].lo == (uintptr_t)start && ranges[i].hi == (uintptr_t)end) {
			ranges[i] = ranges[--nranges];
			pthread_mutex_unlock(&roots_lock);
			return;
		}
	}
	pthread_mutex_unlock(&roots_lock);
	tri_fatal("tri_remove_roots: range [%p, %p) is not registered", start, end);
}

void roots_visit(range_visitor visit, void *ctx)
{
	pthread_mutex_lock(&roots_lock);
	for (size_t i = 0; i < nranges; i++)
		visit(ranges[i].lo, ranges[i].hi, ctx);
	pthread_mutex_unlock(&roots_lock);
}

static void scan_visit(uintptr_t lo, uintptr_t hi, void *ctx)
{
	scan_range(lo, hi, ctx);
}

void roots_scan(struct gcwork *w)
{
	roots_visit(scan_visit, w);
}

/* fork (runtime/fork.c) */
void roots_fork_lock(void);
void roots_fork_unlock(void);
void roots_fork_lock(void)
{
	pthread_mutex_lock(&roots_lock);
}
void roots_fork_unlock(void)
{
	pthread_mutex_unlock(&roots_lock);
}
