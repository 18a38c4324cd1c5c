/* SPDX-License-Identifier: MIT */
/*
 * data_roots.c - scanning the writable data and bss segments of the program
 * and of every loaded shared library as roots, as bdwgc does, so that heap
 * pointers in global and static variables keep their objects alive without
 * tri_add_roots (option data_roots, default on: include/tricolor.h says
 * why).
 *
 * How: once per cycle (and once per checkmark pass), dl_iterate_phdr lists
 * the loaded objects; every PT_LOAD segment with PF_W, [bias + p_vaddr,
 * + p_memsz) (data, then bss), is a range. dlopen'd libraries are found
 * from the next cycle on; a library dlclose'd is simply absent.
 * Ranges are only collected under the loader's lock, then each is copied
 * with process_vm_readv into a buffer and the copy is scanned:
 *  - the loader lock is held for O(number of objects), never across a
 *    scan: a thread that waits for the collector (tri_collect, a memory-
 *    limit wait) inside a library constructor, under that lock, cannot
 *    deadlock the cycle;
 *  - a library unmapped by dlclose between the listing and the copy makes
 *    process_vm_readv return short or EFAULT instead of faulting: the
 *    collector scans what it could read (a gone library has no roots).
 * Where process_vm_readv is not permitted (ENOSYS, EPERM under some
 * seccomp filters), the segments are scanned in place inside the
 * dl_iterate_phdr callback, under the loader lock, as bdwgc does.
 *
 * Excluded: tricolor's own object when it is a shared library (its data
 * holds no user pointers and the collector's queues keep what they must
 * alive on their own). When tricolor is linked statically, its variables
 * are part of the program's segments and are scanned too, which can only
 * retain, never free; but a variable that permanently holds an arena
 * address would retain an object forever: tri_heap.base is the address of
 * the first object ever allocated, whose finalizer then never ran (found by
 * tests/test_faults linked statically). So every such variable is listed
 * in excluded[] and cut out of the ranges, whatever object it is in.
 * A new tricolor global that keeps an arena address for good belongs in
 * that list. The heap's metadata (page map, span structs) is mmap'd,
 * never in a segment. Sanitizer runtimes loaded as shared libraries are
 * skipped too (object_is_sanitizer_runtime); a runtime linked statically
 * into the program (clang's default) is scanned, which only retains. Stores into globals still need tri_store (the barrier), as for
 * any root: the scan is concurrent with the mutators.
 *
 * Data: the range list (segs, nsegs) and the copy buffer, both mmap'd
 * scratch (alloc/os_mem.h), written and read only by the coordinator
 * thread, which is the only caller (cycle.c's root scan lists the segments
 * anew; checkmark.c, with the world stopped, reuses that list).
 * No malloc and no loader lock while the world is stopped: a parked thread
 * may hold malloc's arena lock (issue 14 case 4) or, parked inside libc by
 * the preemption handler, the loader lock that dl_iterate_phdr takes. So
 * the checkmark pass scans the segments listed at this cycle's root scan
 * (a library loaded since is a root from the next cycle on, one unloaded
 * since reads short through process_vm_readv).
 * Callers: runtime/cycle.c (global roots), mark/checkmark.c.
 */
#include "mark/data_roots.h"
#include "alloc/os_mem.h"
#include "alloc/span.h"
#include "mark/scan.h"
#include "runtime/runtime.h"
#include <errno.h>
#include <link.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

/* An address inside tricolor's own data segment. */
static int self_marker;

struct seg {
	uintptr_t lo, hi;
};

struct walk {
	struct seg *segs; /* os_scratch memory, seg_bytes long */
	size_t n, seg_bytes;
	bool oom;
	/* in-place mode (no process_vm_readv): visit during the walk */
	range_visitor visit;
	void *ctx;
};

/* tricolor globals that hold arena addresses for good (see the top). */
static void excluded_range(size_t i, uintptr_t *lo, uintptr_t *hi)
{
	switch (i) {
	case 0:
		*lo = (uintptr_t)&tri_heap;
		*hi = (uintptr_t)(&tri_heap + 1);
		return;
	default:
		*lo = *hi = 0;
	}
}
#define NEXCLUDED 1

static bool object_is_tricolor(const struct dl_phdr_info *info)
{
	if (!info->dlpi_name || !info->dlpi_name[0])
		return false; /* the main program: tricolor linked statically */
	uintptr_t me = (uintptr_t)&self_marker;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (ph->p_type == PT_LOAD && me >= lo && me < lo + ph->p_memsz)
			return true;
	}
	return false;
}

/* Record (or, in place, visit) [lo, hi) minus the excluded ranges from
 * index i on. Returns false when out of memory. */
static bool add_range(struct walk *w, uintptr_t lo, uintptr_t hi, size_t i)
{
	for (; i < NEXCLUDED; i++) {
		uintptr_t xlo, xhi;
		excluded_range(i, &xlo, &xhi);
		if (xlo < hi && xhi > lo) {
			if (lo < xlo && !add_range(w, lo, xlo, i + 1))
				return false;
			if (xhi < hi)
				return add_range(w, xhi, hi, i + 1);
			return true;
		}
	}
	/* Word-align: a copy must keep the original's word boundaries. */
	lo = (lo + sizeof(uintptr_t) - 1) & ~(uintptr_t)(sizeof(uintptr_t) - 1);
	if (lo >= hi)
		return true;
	if (w->visit) {
		w->visit(lo, hi, w->ctx);
		return true;
	}
	if ((w->n + 1) * sizeof *w->segs > w->seg_bytes) {
		size_t want = w->seg_bytes ? w->seg_bytes * 2 : 64 * sizeof *w->segs;
		struct seg *s = os_scratch_resize(w->segs, &w->seg_bytes, want);
		if (!s) {
			w->oom = true;
			return false;
		}
		w->segs = s;
	}
	w->segs[w->n].lo = lo;
	w->segs[w->n].hi = hi;
	w->n++;
	return true;
}

/* A sanitizer's runtime library (ASan, TSan, UBSan, LSan, HWASan, shared
 * builds): its data is the tool's bookkeeping, never a program root, and
 * it is large (libtsan's bss is 47 MiB) and full of copies of addresses
 * that would retain garbage (found by tests/test_api under TSan). */
static bool object_is_sanitizer_runtime(const struct dl_phdr_info *info)
{
	static const char *const names[] = {"libasan.so", "libtsan.so", "libubsan.so", "liblsan.so",
					    "libhwasan.so", "libclang_rt."};
	const char *base = strrchr(info->dlpi_name, '/');
	base = base ? base + 1 : info->dlpi_name;
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (!strncmp(base, names[i], strlen(names[i])))
			return true;
	return false;
}

static int walk_object(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct walk *w = arg;
	(void)size;
	if (object_is_tricolor(info) || object_is_sanitizer_runtime(info))
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_W) || !ph->p_memsz)
			continue;
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		if (!add_range(w, lo, lo + ph->p_memsz, 0))
			return 1;
	}
	return 0;
}

#define COPY_BYTES (64u << 10)

/* Copy [lo, hi) in chunks and visit each copy. Returns false if the copy
 * mechanism is unavailable (nothing was visited then). */
static bool visit_copied(uintptr_t lo, uintptr_t hi, uintptr_t *buf, range_visitor visit, void *ctx)
{
	pid_t self = getpid();
	for (uintptr_t a = lo; a < hi;) {
		size_t len = hi - a < COPY_BYTES ? (size_t)(hi - a) : COPY_BYTES;
		struct iovec local = {.iov_base = buf, .iov_len = len};
		struct iovec remote = {.iov_base = (void *)a, .iov_len = len};
		ssize_t got = process_vm_readv(self, &local, 1, &remote, 1, 0);
		if (got < 0) {
			if (errno == ENOSYS || errno == EPERM)
				return a != lo; /* first chunk: unavailable */
			return true; /* EFAULT/ESRCH: unmapped meanwhile */
		}
		if (got > 0)
			visit((uintptr_t)buf, (uintptr_t)buf + (size_t)got, ctx);
		if ((size_t)got < len)
			return true; /* the rest is gone (dlclose) */
		a += len;
	}
	return true;
}

/* The coordinator's list and copy buffer (see Data at the top). */
static struct walk listed;
static uintptr_t *copy_buf;
static size_t copy_cap;

static void visit_segments(bool relist, range_visitor visit, void *ctx)
{
	if (!tri_rt.opt.data_roots)
		return;
	if (!copy_buf)
		copy_buf = os_scratch_resize(NULL, &copy_cap, COPY_BYTES);
	if (copy_buf) {
		if (relist) {
			listed.n = 0;
			listed.oom = false;
			dl_iterate_phdr(walk_object, &listed);
		}
		bool copied = !listed.oom;
		for (size_t i = 0; copied && i < listed.n; i++)
			copied = visit_copied(listed.segs[i].lo, listed.segs[i].hi, copy_buf, visit, ctx);
		if (copied)
			return;
		/* No process_vm_readv (or no memory for the list): ranges
		 * visited before the failure are visited again below, which
		 * only repeats marking. */
	}
	struct walk inplace = {.visit = visit, .ctx = ctx};
	dl_iterate_phdr(walk_object, &inplace);
}

void data_roots_visit(range_visitor visit, void *ctx)
{
	visit_segments(false, visit, ctx);
}

static void scan_visit(uintptr_t lo, uintptr_t hi, void *ctx)
{
	scan_range(lo, hi, ctx);
}

void data_roots_scan(struct gcwork *w)
{
	visit_segments(true, scan_visit, w);
}
