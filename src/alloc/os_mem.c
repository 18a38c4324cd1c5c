/* SPDX-License-Identifier: MIT */
/*
 * os_mem.c - mmap/madvise wrappers and the mmap fault injector.
 */
#include "alloc/os_mem.h"
#include "alloc/memcheck.h"
#include "runtime/runtime.h"
#include <sys/mman.h>

/* Number of commits still to fail (test hook); written by tests through
 * os_mem_fail_commits (tests' tri_debug_fail_mmap), decremented atomically by committers. */
static int fail_commits;

void os_mem_fail_commits(int n)
{
	st_seq(&fail_commits, n);
}

/* Under valgrind, where the kernel would put it natively: valgrind places
 * mappings low and cannot fit 64 GiB there (alloc/memcheck.h). A hint, not
 * MAP_FIXED: if the range is taken, mmap picks another. */
#define VG_ARENA_END 0x7e0000000000ull

void *os_reserve(size_t size)
{
	void *hint = TRI_VG && size < VG_ARENA_END / 2 ? (void *)(uintptr_t)(VG_ARENA_END - size) : NULL;
	void *p = mmap(hint, size, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

int os_commit(void *addr, size_t size)
{
	int f = ld_relaxed(&fail_commits);
	while (f > 0) {
		if (__atomic_compare_exchange_n(&fail_commits, &f, f - 1, 0, __ATOMIC_SEQ_CST,
						__ATOMIC_RELAXED))
			return -1;
	}
	void *p = mmap(addr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if (p == MAP_FAILED)
		return -1;
	fetch_add(&tri_stats.mapped_bytes, size);
	return 0;
}

void os_release(void *addr, size_t size)
{
	madvise(addr, size, MADV_DONTNEED);
}

void *os_alloc_meta(size_t size)
{
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	return p == MAP_FAILED ? NULL : p;
}

void *os_scratch_resize(void *p, size_t *cap, size_t size)
{
	size_t page = 4096, len = (size + page - 1) & ~(page - 1);
	if (p && len <= *cap)
		return p;
	void *n = p ? mremap(p, *cap, len, MREMAP_MAYMOVE)
		    : mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (n == MAP_FAILED)
		return NULL;
	*cap = len;
	return n;
}

void os_scratch_free(void *p, size_t cap)
{
	if (p)
		munmap(p, cap);
}
