/* SPDX-License-Identifier: MIT */
/*
 * heapprof.c - the sampled heap profile (see heapprof.h).
 *
 * Data: buckets, one per distinct stack of sampled allocations, in a
 * chained hash table; each holds the stack and four counters (objects and
 * bytes in use and allocated). All of it under heapprof_lock, which is
 * taken by a sampling thread (after its allocation, holding no allocator
 * lock), by the cleanup of a sampled object (a cleanup worker) and by the
 * exit handler. Buckets are never freed. Each sampled object carries a
 * malloc'd struct sample (its bucket and size) as its cleanup argument.
 */
#include "runtime/heapprof.h"
#include "runtime/runtime.h"
#include <dlfcn.h>
#include <execinfo.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_DEPTH 32
#define NBUCKETS 4096

struct bucket {
	struct bucket *next;
	uint64_t hash;
	int depth;
	void *pc[MAX_DEPTH];
	uint64_t inuse_objs, inuse_bytes, alloc_objs, alloc_bytes;
};

struct sample {
	struct bucket *b;
	size_t size;
};

int tri_heapprof_on;
static char path[256];
static uint64_t rate;
static pthread_mutex_t heapprof_lock = PTHREAD_MUTEX_INITIALIZER;
static struct bucket *table[NBUCKETS];

/* ln(u) for u in (0, 1) without libm (a static link then needs no -lm):
 * u = m * 2^e with m in [1, 2), ln(m) = 2 atanh((m - 1) / (m + 1)) by its
 * series; |z| <= 1/3, so six terms are exact to about 1e-7. */
static double ln01(double u)
{
	uint64_t bits;
	memcpy(&bits, &u, sizeof bits);
	int e = (int)((bits >> 52) & 0x7ff) - 1023;
	bits = (bits & ((1ull << 52) - 1)) | (1023ull << 52);
	double m;
	memcpy(&m, &bits, sizeof m);
	double z = (m - 1) / (m + 1), z2 = z * z, term = z, sum = 0;
	for (int k = 1; k <= 11; k += 2, term *= z2)
		sum += term / k;
	return e * 0.6931471805599453 + 2 * sum;
}

/* Bytes to the next sample: exponential with mean `rate` (Go's
 * fastexprand), from a per-thread xorshift seeded by the thread id. */
static int64_t next_interval(struct tri_thread *t)
{
	uint64_t x = t->prof_rng ? t->prof_rng : 0x9e3779b97f4a7c15ull * (t->id + 1);
	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	t->prof_rng = x;
	double u = ((double)(x >> 11) + 0.5) / 9007199254740992.0; /* (0,1) */
	return (int64_t)(-ln01(u) * (double)rate) + 1;
}

void heapprof_refill_slow(struct tri_thread *t, size_t bytes)
{
	if (!t->prof_countdown && !t->prof_pending)
		t->prof_countdown = next_interval(t);
	t->prof_countdown -= (int64_t)bytes;
	if (t->prof_countdown <= 0) {
		t->prof_pending = 1;
		t->prof_countdown = next_interval(t);
	}
}

static uint64_t stack_hash(void *const *pc, int n)
{
	uint64_t h = 14695981039346656037ull;
	for (int i = 0; i < n; i++)
		h = (h ^ (uint64_t)(uintptr_t)pc[i]) * 1099511628211ull;
	return h;
}

/* heapprof_lock held. */
static struct bucket *bucket_for(void *const *pc, int n)
{
	uint64_t h = stack_hash(pc, n);
	struct bucket **slot = &table[h % NBUCKETS];
	for (struct bucket *b = *slot; b; b = b->next)
		if (b->hash == h && b->depth == n && !memcmp(b->pc, pc, (size_t)n * sizeof *pc))
			return b;
	struct bucket *b = calloc(1, sizeof *b);
	if (!b)
		return NULL;
	b->hash = h;
	b->depth = n;
	memcpy(b->pc, pc, (size_t)n * sizeof *pc);
	b->next = *slot;
	*slot = b;
	return b;
}

static void sample_freed(void *arg)
{
	struct sample *s = arg;
	pthread_mutex_lock(&heapprof_lock);
	s->b->inuse_objs--;
	s->b->inuse_bytes -= s->size;
	pthread_mutex_unlock(&heapprof_lock);
	free(s);
}

static bool is_api_frame(void *pc)
{
	Dl_info info;
	return dladdr(pc, &info) && info.dli_sname && !strncmp(info.dli_sname, "tri_", 4);
}

void heapprof_sample(struct tri_thread *t, void *p, size_t size)
{
	t->prof_pending = 0;
	void *pc[MAX_DEPTH + 3];
	int n = backtrace(pc, MAX_DEPTH + 3);
	/* Drop the library's own frames: heapprof_sample and alloc_slow
	 * always (two real calls), then the API function (tri_alloc, ...)
	 * unless it tail-called alloc_slow; the profile starts at its caller.
	 * (With a static library whose symbols dladdr cannot see, the API
	 * frame stays.) */
	int skip = n > 2 ? 2 : 0;
	if (skip < n - 1 && is_api_frame(pc[skip]))
		skip++;
	struct sample *s = malloc(sizeof *s);
	if (!s)
		return;
	pthread_mutex_lock(&heapprof_lock);
	struct bucket *b = bucket_for(pc + skip, n - skip > MAX_DEPTH ? MAX_DEPTH : n - skip);
	if (b) {
		b->inuse_objs++;
		b->inuse_bytes += size;
		b->alloc_objs++;
		b->alloc_bytes += size;
	}
	pthread_mutex_unlock(&heapprof_lock);
	if (!b) {
		free(s);
		return;
	}
	s->b = b;
	s->size = size;
	/* Called after the allocation, holding no lock: registering the
	 * cleanup may allocate on the heap itself (t->prof_pending is clear,
	 * so that allocation is not sampled again right away). */
	tri_add_cleanup(p, sample_freed, s);
}

static void write_profile(void)
{
	FILE *f = fopen(path, "w");
	if (!f) {
		tri_warn("tricolor: debug=heapprofile: cannot write %s", path);
		return;
	}
	pthread_mutex_lock(&heapprof_lock);
	uint64_t io = 0, ib = 0, ao = 0, ab = 0;
	for (int i = 0; i < NBUCKETS; i++)
		for (struct bucket *b = table[i]; b; b = b->next) {
			io += b->inuse_objs, ib += b->inuse_bytes;
			ao += b->alloc_objs, ab += b->alloc_bytes;
		}
	fprintf(f, "heap profile: %llu: %llu [%llu: %llu] @ heap_v2/%llu\n", (unsigned long long)io,
		(unsigned long long)ib, (unsigned long long)ao, (unsigned long long)ab,
		(unsigned long long)rate);
	for (int i = 0; i < NBUCKETS; i++)
		for (struct bucket *b = table[i]; b; b = b->next) {
			fprintf(f, "%llu: %llu [%llu: %llu] @", (unsigned long long)b->inuse_objs,
				(unsigned long long)b->inuse_bytes, (unsigned long long)b->alloc_objs,
				(unsigned long long)b->alloc_bytes);
			for (int k = 0; k < b->depth; k++)
				fprintf(f, " %p", b->pc[k]);
			fputc('\n', f);
		}
	pthread_mutex_unlock(&heapprof_lock);
	/* pprof maps addresses to binaries through this section. */
	fputs("\nMAPPED_LIBRARIES:\n", f);
	FILE *m = fopen("/proc/self/maps", "r");
	if (m) {
		char buf[4096];
		size_t k;
		while ((k = fread(buf, 1, sizeof buf, m)) > 0)
			fwrite(buf, 1, k, f);
		fclose(m);
	}
	fclose(f);
}

static void at_exit(void)
{
	/* In use as of a last collection, when this thread can run one. */
	struct tri_thread *t = tri_self;
	if (t != &tri_detached_thread && ld_relaxed(&t->state) != TS_BLOCKING && !t->in_callback) {
		tri_collect();
		tri_drain(1000);
	}
	write_profile();
}

void heapprof_init(const char *p, uint64_t r)
{
	if (!p || !*p)
		return;
	snprintf(path, sizeof path, "%s", p);
	rate = r ? r : 512 * 1024;
	void *pc[2];
	backtrace(pc, 2); /* load the unwinder now, not inside an allocation */

	atexit(at_exit);
	tri_heapprof_on = 1;
}
