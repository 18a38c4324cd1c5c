/* SPDX-License-Identifier: MIT */
/*
 * page_heap.c - the arena, its page map, span structs and free page runs
 * (see page_heap.h for the policy). Everything here runs under
 * tri_heap.lock except the lookups in span.h, which read the page map and
 * span structs racily and validate what they find.
 */
#include "alloc/page_heap.h"
#include "alloc/memcheck.h"
#include "alloc/os_mem.h"
#include "runtime/pause.h"
#include "runtime/runtime.h"
#include <errno.h>
#include <string.h>

struct tri_heap tri_heap = {.lock = PTHREAD_MUTEX_INITIALIZER};
#ifdef HAVE_VALGRIND_VALGRIND_H
int tri_on_valgrind; /* alloc/memcheck.h */
#endif

#define NBUCKETS 128 /* bucket n holds runs of n pages; bucket 0 runs >= 128 */
#define GROW_PAGES 512 /* commit the arena 4 MiB at a time */
#define SCAVENGE_AFTER_NS 500000000ull /* see page_heap.h */

/* Free runs by size. Order (page heap lock): the runs not released to the
 * OS first, the released (scavenged) ones after them, so the scavenger's
 * search stops at the first released run of a bucket (page_heap_scavenge). */
static struct span *bucket[NBUCKETS];
static struct span *bucket_tail[NBUCKETS];
static uint64_t bucket_mask[NBUCKETS / 64]; /* bit b: bucket[b] non-empty */
static struct span *unused_structs;
static uint64_t free_bytes, released_bytes; /* page heap lock */
/* The run being released with the lock dropped, or NULL (page heap lock;
 * see "release in flight" below); release_done is broadcast when it is back. */
static struct span *releasing;
static pthread_cond_t release_done = PTHREAD_COND_INITIALIZER;

int page_heap_init(size_t reserve)
{
	TRI_VG_INIT();
	reserve &= ~(TRI_PAGE_SIZE - 1);
	void *base = os_reserve(reserve);
	if (!base)
		return ENOMEM;
	size_t npages = reserve >> TRI_PAGE_SHIFT;
	tri_heap.pagemap = os_alloc_meta(npages * sizeof(struct span *));
	tri_heap.max_spans = npages + 16;
	tri_heap.spans = os_alloc_meta(tri_heap.max_spans * sizeof(struct span));
	if (!tri_heap.pagemap || !tri_heap.spans)
		return ENOMEM;
	tri_heap.base = (uintptr_t)base;
	tri_heap.reserved = reserve;
	tri_heap.committed = 0;
	return 0;
}

static struct span *struct_get(void)
{
	struct span *s = unused_structs;
	if (s) {
		unused_structs = s->next;
	} else {
		if (tri_heap.span_hwm >= tri_heap.max_spans)
			return NULL;
		s = &tri_heap.spans[tri_heap.span_hwm];
		tri_lock_init(&s->special_lock);
		st_release(&tri_heap.span_hwm, tri_heap.span_hwm + 1);
	}
	s->next = s->prev = NULL;
	st_relaxed(&s->specials, NULL);
	s->in_cache = 0;
	return s;
}

static void struct_put(struct span *s)
{
	st_release(&s->state, SPAN_UNUSED);
	s->next = unused_structs;
	unused_structs = s;
}

static unsigned bucket_of(size_t npages)
{
	return npages < NBUCKETS ? (unsigned)npages : 0;
}

static void bucket_insert(struct span *s)
{
	unsigned b = bucket_of(s->npages);
	if (s->scavenged) { /* at the tail */
		s->next = NULL;
		s->prev = bucket_tail[b];
		if (bucket_tail[b])
			bucket_tail[b]->next = s;
		else
			bucket[b] = s;
		bucket_tail[b] = s;
	} else { /* at the head */
		s->prev = NULL;
		s->next = bucket[b];
		if (bucket[b])
			bucket[b]->prev = s;
		else
			bucket_tail[b] = s;
		bucket[b] = s;
	}
	bucket_mask[b / 64] |= 1ull << (b % 64);
	free_bytes += (uint64_t)s->npages * TRI_PAGE_SIZE;
	if (s->scavenged)
		released_bytes += (uint64_t)s->npages * TRI_PAGE_SIZE;
	st_relaxed(&tri_stats.released_bytes, released_bytes);
}

static void bucket_remove(struct span *s)
{
	unsigned b = bucket_of(s->npages);
	if (s->prev)
		s->prev->next = s->next;
	else
		bucket[b] = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		bucket_tail[b] = s->prev;
	if (!bucket[b])
		bucket_mask[b / 64] &= ~(1ull << (b % 64));
	s->next = s->prev = NULL;
	free_bytes -= (uint64_t)s->npages * TRI_PAGE_SIZE;
	if (s->scavenged)
		released_bytes -= (uint64_t)s->npages * TRI_PAGE_SIZE;
	st_relaxed(&tri_stats.released_bytes, released_bytes);
}

static void map_pages(struct span *s)
{
	size_t first = (s->base - tri_heap.base) >> TRI_PAGE_SHIFT;
	for (size_t i = 0; i < s->npages; i++)
		st_relaxed(&tri_heap.pagemap[first + i], s);
}

/*
 * INVARIANT (free-run bounds): the first and the last page of every free
 * run, and of a run in transit (taken by page_heap_alloc, not yet
 * published), map to its struct; its interior pages may hold stale entries.
 * Coalescing (neighbour_free) only ever reads the page just before a run
 * and the page just after it, which are a neighbour's last and first pages,
 * and an in-use span maps all of its pages (page_heap_span_publish). Stale interior
 * entries name a struct that is free, unused, or in use for other pages:
 * object_lookup rejects all three (state, then bounds). Mapping every page
 * of a run instead made each split and merge O(run): 13% of a 256-byte
 * allocation loop in page_heap_alloc and 8% in insert_coalesce, all under
 * the page heap lock.
 */
static void map_bounds(struct span *s)
{
	size_t first = (s->base - tri_heap.base) >> TRI_PAGE_SHIFT;
	st_relaxed(&tri_heap.pagemap[first], s);
	st_relaxed(&tri_heap.pagemap[first + s->npages - 1], s);
}

static struct span *neighbour_free(uintptr_t addr)
{
	if (addr < tri_heap.base || addr - tri_heap.base >= tri_heap.committed)
		return NULL;
	struct span *n = ld_relaxed(&tri_heap.pagemap[(addr - tri_heap.base) >> TRI_PAGE_SHIFT]);
	if (n && ld_relaxed(&n->state) == SPAN_FREE)
		return n;
	return NULL;
}

/* Insert a free run, merging it with free neighbours. */
static void insert_coalesce(struct span *s)
{
	struct span *p = s->base > tri_heap.base ? neighbour_free(s->base - 1) : NULL;
	if (p) {
		bucket_remove(p);
		if (s->free_since_ns > p->free_since_ns)
			p->free_since_ns = s->free_since_ns;
		p->npages += s->npages;
		p->needzero |= s->needzero;
		p->scavenged &= s->scavenged;
		struct_put(s);
		s = p;
	}
	struct span *n = neighbour_free(s->base + (uintptr_t)s->npages * TRI_PAGE_SIZE);
	if (n) {
		bucket_remove(n);
		if (n->free_since_ns > s->free_since_ns)
			s->free_since_ns = n->free_since_ns;
		s->npages += n->npages;
		s->needzero |= n->needzero;
		s->scavenged &= n->scavenged;
		struct_put(n);
	}
	map_bounds(s);
	bucket_insert(s);
}

static int grow(size_t npages)
{
	size_t want = npages > GROW_PAGES ? npages : GROW_PAGES;
	size_t bytes = want * TRI_PAGE_SIZE;
	if (tri_heap.committed + bytes > tri_heap.reserved) {
		bytes = npages * TRI_PAGE_SIZE;
		if (tri_heap.committed + bytes > tri_heap.reserved)
			return -1;
	}
	uintptr_t at = tri_heap.base + tri_heap.committed;
	if (os_commit((void *)at, bytes))
		return -1;
	struct span *s = struct_get();
	if (!s)
		return -1;
	s->base = at;
	s->npages = (uint32_t)(bytes >> TRI_PAGE_SHIFT);
	s->needzero = 0;
	s->scavenged = 0;
	s->free_since_ns = tri_now_ns();
	st_relaxed(&s->state, SPAN_FREE);
	map_bounds(s);
	st_release(&tri_heap.committed, tri_heap.committed + bytes);
	insert_coalesce(s);
	return 0;
}

static struct span *find_fit(size_t npages)
{
	for (size_t w = npages / 64; npages < NBUCKETS && w < NBUCKETS / 64; w++) {
		uint64_t m = bucket_mask[w];
		if (w == npages / 64)
			m &= ~0ull << (npages % 64);
		if (m)
			return bucket[w * 64 + (size_t)__builtin_ctzll(m)];
	}
	struct span *best = NULL;
	for (struct span *s = bucket[0]; s; s = s->next)
		if (s->npages >= npages && (!best || s->npages < best->npages))
			best = s;
	return best;
}

/* The page heap lock on a path an attached thread takes: a wait is
 * recorded as a TRI_PAUSE_LOCK stall. Critical sections are O(1) list work
 * plus, for growth, one mmap of the next arena step; the O(heap) and
 * syscall-heavy work (scavenging) drops the lock (page_heap_scavenge). */
static void heap_lock(void)
{
	if (likely(pthread_mutex_trylock(&tri_heap.lock) == 0))
		return;
	uint64_t t0 = tri_now_ns();
	pthread_mutex_lock(&tri_heap.lock);
	pause_stall(TRI_PAUSE_LOCK, t0);
}

struct span *page_heap_alloc(size_t npages, bool *needzero)
{
	if (npages == 0 || npages > tri_heap.reserved >> TRI_PAGE_SHIFT) {
		errno = ENOMEM;
		return NULL;
	}
	heap_lock();
	struct span *s = find_fit(npages);
	while (!s && releasing) { /* release in flight: wait, don't grow */
		pthread_cond_wait(&release_done, &tri_heap.lock);
		s = find_fit(npages);
	}
	if (!s) {
		if (grow(npages)) {
			pthread_mutex_unlock(&tri_heap.lock);
			errno = ENOMEM;
			return NULL;
		}
		s = find_fit(npages);
	}
	bucket_remove(s);
	if (s->npages > npages) {
		struct span *rest = struct_get();
		if (!rest) {
			bucket_insert(s);
			pthread_mutex_unlock(&tri_heap.lock);
			errno = ENOMEM;
			return NULL;
		}
		rest->base = s->base + npages * TRI_PAGE_SIZE;
		rest->npages = (uint32_t)(s->npages - npages);
		rest->needzero = s->needzero;
		rest->scavenged = s->scavenged;
		rest->free_since_ns = s->free_since_ns;
		st_relaxed(&rest->state, SPAN_FREE);
		s->npages = (uint32_t)npages;
		map_bounds(rest);
		bucket_insert(rest);
	}
	map_bounds(s); /* in transit: its new last page (free-run bounds) */
	/* Neither free nor in use until page_heap_span_publish: coalescing skips it. */
	st_relaxed(&s->state, SPAN_UNUSED);
	*needzero = s->needzero;
	s->needzero = 0;
	s->scavenged = 0;
	fetch_add(&tri_stats.spans_inuse, 1);
	pthread_mutex_unlock(&tri_heap.lock);
	return s;
}

void page_heap_span_publish(struct span *s)
{
	map_pages(s);
	st_release(&s->state, SPAN_INUSE);
}

void page_heap_free(struct span *s, bool dirty)
{
	heap_lock();
	st_release(&s->state, SPAN_FREE);
	s->needzero = dirty;
	s->scavenged = 0;
	st_relaxed(&s->specials, NULL);
	s->free_since_ns = tri_now_ns();
	fetch_sub(&tri_stats.spans_inuse, 1);
	insert_coalesce(s);
	pthread_mutex_unlock(&tri_heap.lock);
}

/*
 * Scavenging, off the allocation path (the coordinator, between cycles and
 * at its idle tick; allocators only when out of memory). One run is
 * released per hold of the page heap lock, and the madvise itself runs with
 * the lock dropped: the run is taken out of its bucket and marked
 * SPAN_UNUSED (neighbour_free and find_fit skip it), released, then
 * reinserted among the released runs (coalescing with any neighbour freed
 * meanwhile). Holding the lock across the madvise made every allocator that
 * needed a span wait for a syscall and its TLB shootdown.
 * INVARIANT (release in flight): at most one run is out of the buckets for
 * release (releasing, under the lock); its pages belong to nobody else. An
 * allocator that finds no fit while a release is in flight waits for it
 * (release_done) instead of growing the arena: growing meanwhile (the first
 * attempt at dropping the lock) made a churning program's heap grow 3x
 * (tests/test_fork, 20 forks in 74 s instead of 10). That wait is the only
 * one an allocator has on a collector thread here, bounded by one madvise,
 * and only when the heap would otherwise grow; it is recorded as part of
 * the caller's TRI_PAUSE_HEAP stall. fork (page_heap_fork_lock) waits for
 * the release to finish, so a child never inherits a run out of its bucket.
 * Rate limit: one pass releases at most SCAVENGE_PASS_BYTES (plus the last
 * whole run), and none while the resident heap is within goal + 10% (Go's
 * scavenger target), unless `all` (memory limit, out of memory). Each
 * madvise is a TLB shootdown on every core the process runs on; running it
 * on the coordinator keeps the syscall off the mutators.
 */
#define SCAVENGE_PASS_BYTES (64ull << 20)

/* An unreleased run free long enough, searching each bucket only up to its
 * first released run (the bucket order above): a pass that drops the lock
 * between runs and searches again does not rescan released runs (it did,
 * O(runs) per run, and the coordinator spent the fork test in this loop). */
static struct span *scavenge_pick(uint64_t now_ns, bool all)
{
	for (unsigned b = 0; b < NBUCKETS; b++)
		for (struct span *s = bucket[b]; s && !s->scavenged; s = s->next)
			if (all || s->free_since_ns + SCAVENGE_AFTER_NS <= now_ns)
				return s;
	return NULL;
}

/* Resident heap within the target: nothing to release. */
static bool within_retain(void)
{
	/* Keep goal + 10% resident; with no goal (gc_percent=off) the heap in
	 * use + 10%. */
	uint64_t goal = ld_relaxed(&tri_stats.heap_goal);
	int64_t hl = ld_relaxed(&tri_stats.heap_live);
	if (goal == UINT64_MAX)
		goal = hl > 0 ? (uint64_t)hl : 0;
	return page_heap_resident_bytes() <= goal + goal / 10;
}

void page_heap_scavenge(uint64_t now_ns, bool all)
{
	uint64_t done = 0;
	while (all || done < SCAVENGE_PASS_BYTES) {
		if (!all && within_retain())
			return;
		pthread_mutex_lock(&tri_heap.lock);
		while (releasing) /* another scavenger's (an allocator out of memory) */
			pthread_cond_wait(&release_done, &tri_heap.lock);
		struct span *s = scavenge_pick(now_ns, all);
		if (!s) {
			pthread_mutex_unlock(&tri_heap.lock);
			return;
		}
		size_t bytes = (size_t)s->npages * TRI_PAGE_SIZE;
		bucket_remove(s);
		st_relaxed(&s->state, SPAN_UNUSED); /* release in flight */
		releasing = s;
		pthread_mutex_unlock(&tri_heap.lock);
		os_release((void *)s->base, bytes);
		pthread_mutex_lock(&tri_heap.lock);
		releasing = NULL;
		st_relaxed(&s->state, SPAN_FREE);
		s->scavenged = 1; /* reinserted among the released runs */
		s->needzero = 0;
		insert_coalesce(s);
		fetch_add(&tri_stats.released_total, (uint64_t)bytes);
		pthread_cond_broadcast(&release_done);
		pthread_mutex_unlock(&tri_heap.lock);
		done += bytes;
	}
}

void page_heap_fork_lock(void)
{
	pthread_mutex_lock(&tri_heap.lock);
	while (releasing)
		pthread_cond_wait(&release_done, &tri_heap.lock);
}

void page_heap_fork_child(void)
{
	pthread_cond_init(&release_done, NULL);
}

void page_heap_usage(uint64_t *freeb, uint64_t *released)
{
	pthread_mutex_lock(&tri_heap.lock);
	*freeb = free_bytes;
	*released = released_bytes;
	pthread_mutex_unlock(&tri_heap.lock);
}

uint64_t page_heap_resident_bytes(void)
{
	uint64_t m = ld_relaxed(&tri_stats.mapped_bytes), r = ld_relaxed(&tri_stats.released_bytes);
	return m > r ? m - r : 0;
}

/* heap_check.c: free-run invariants, under the page heap lock. */
void page_heap_check_free_runs(void)
{
	pthread_mutex_lock(&tri_heap.lock);
	uint64_t total = 0;
	for (unsigned b = 0; b < NBUCKETS; b++) {
		for (struct span *s = bucket[b]; s; s = s->next) {
			if (s->state != SPAN_FREE || bucket_of(s->npages) != b)
				tri_fatal("tricolor: heap check: free run %p in the wrong state or bucket", (void *)s->base);
			if (s->base < tri_heap.base ||
			    s->base + (uintptr_t)s->npages * TRI_PAGE_SIZE > tri_heap.base + tri_heap.committed)
				tri_fatal("tricolor: heap check: free run %p outside the committed arena", (void *)s->base);
			size_t first = (s->base - tri_heap.base) >> TRI_PAGE_SHIFT;
			if (tri_heap.pagemap[first] != s || tri_heap.pagemap[first + s->npages - 1] != s)
				tri_fatal("tricolor: heap check: free run %p not in the page map", (void *)s->base);
			if (s->scavenged && s->next && !s->next->scavenged)
				tri_fatal("tricolor: heap check: released free run %p before an unreleased one in its bucket",
					  (void *)s->base);
			if (!s->next && bucket_tail[b] != s)
				tri_fatal("tricolor: heap check: bucket %u's tail is not its last run", b);
			struct span *n = neighbour_free(s->base + (uintptr_t)s->npages * TRI_PAGE_SIZE);
			if (n)
				tri_fatal("tricolor: heap check: free runs %p and %p are adjacent (not coalesced)",
					  (void *)s->base, (void *)n->base);
			total += (uint64_t)s->npages * TRI_PAGE_SIZE;
		}
	}
	if (total != free_bytes)
		tri_fatal("tricolor: heap check: free runs hold %llu bytes, the counter says %llu",
			  (unsigned long long)total, (unsigned long long)free_bytes);
	pthread_mutex_unlock(&tri_heap.lock);
}
