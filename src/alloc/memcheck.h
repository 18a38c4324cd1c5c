/* SPDX-License-Identifier: MIT */
/*
 * memcheck.h - telling valgrind's memcheck what the heap holds.
 *
 * Memcheck sees the arena as one big anonymous mapping, so without help it
 * can neither report a use of a collected object nor tell a conservative
 * scan of an uninitialised stack word from a real bug. With
 * <valgrind/memcheck.h> (configure: HAVE_VALGRIND_VALGRIND_H) and the process
 * running under valgrind (RUNNING_ON_VALGRIND, read once by page_heap_init
 * into tri_on_valgrind):
 *
 *  - every small object is a MALLOCLIKE block of its slot size (elemsize)
 *    from the moment the allocation slow path picks its slot (before
 *    freeindex makes it visible to a marker) until the sweep that frees it
 *    (FREELIKE, after zeroing): a read or write of a collected object is an
 *    "Invalid read/write ... inside a block ... free'd" naming sweep_span
 *    and the tri_alloc call site;
 *  - a large object is one MALLOCLIKE block of its whole span;
 *  - the slots of a fresh small span are NOACCESS (new_span), so a
 *    never-allocated slot is invalid too, and page-heap pages stay NOACCESS
 *    between uses (every object in them was FREELIKE'd);
 *  - conservatively scanned words are made DEFINED on the scanner's copy
 *    (tri_vg_defined_word), never in memory: a stack or object word that is
 *    uninitialised is a possible pointer by design, and the taint would
 *    otherwise flow into mark bits, the grey queue, the sweep and the pacer.
 *
 * Blocks have the slot size, not the requested size: the scanner reads and
 * the sweeper clears whole slots, so an overflow into a slot's size-class
 * slack is not reported (an overflow into the next slot is, if that slot is
 * free).
 *
 * The allocation fast path (alloc_fast in tcache.c) has no request: under
 * valgrind the slow path leaves the span's alloc_cache empty after every
 * allocation, so every allocation takes the slow path and is registered.
 * Natively each use costs a predictable branch on tri_on_valgrind in slow
 * paths only (sweep, slow allocation, once per scanned range); without the
 * header everything compiles to nothing.
 *
 * The arena's place: valgrind puts a client's mappings low (below 2^37) and
 * has no room there for the default 64 GiB reservation; os_reserve asks
 * for the native place (just below 0x7e0000000000) instead. In the low
 * place a data word whose high bytes are zero (4 random bytes and the zero
 * slack of a slot) also looks like a heap address, which the checkmark
 * verification reported as a lost object (tests/test_stress).
 *
 * Internal accesses to free memory (poison checks, zeroing a fresh span)
 * happen only after the memory was registered or before it is made
 * NOACCESS; each such place says so.
 */
#ifndef TRI_MEMCHECK_H
#define TRI_MEMCHECK_H
#include "config.h"
#include <stddef.h>
#include <stdint.h>

#ifdef HAVE_VALGRIND_VALGRIND_H
#include <valgrind/memcheck.h>

extern int tri_on_valgrind;
#define TRI_VG __builtin_expect(tri_on_valgrind, 0)
#define TRI_VG_INIT() (tri_on_valgrind = RUNNING_ON_VALGRIND != 0)
/* Memory handed out by the allocator: zeroed, so defined. */
#define TRI_VG_ALLOC(p, n) VALGRIND_MALLOCLIKE_BLOCK((p), (n), 0, 1)
#define TRI_VG_FREE(p) VALGRIND_FREELIKE_BLOCK((p), 0)
#define TRI_VG_NOACCESS(p, n) VALGRIND_MAKE_MEM_NOACCESS((p), (n))
#define TRI_VG_UNDEFINED(p, n) VALGRIND_MAKE_MEM_UNDEFINED((p), (n))
#define TRI_VG_DEFINED(p, n) VALGRIND_MAKE_MEM_DEFINED((p), (n))

/* A conservatively scanned word, declared defined on the scanner's copy
 * (the memory it came from keeps its state). */
static inline uintptr_t tri_vg_defined_word(uintptr_t v)
{
	VALGRIND_MAKE_MEM_DEFINED(&v, sizeof v);
	return v;
}
#else
#define TRI_VG 0
#define TRI_VG_INIT() ((void)0)
#define TRI_VG_ALLOC(p, n) ((void)(p), (void)(n))
#define TRI_VG_FREE(p) ((void)(p))
#define TRI_VG_NOACCESS(p, n) ((void)(p), (void)(n))
#define TRI_VG_UNDEFINED(p, n) ((void)(p), (void)(n))
#define TRI_VG_DEFINED(p, n) ((void)(p), (void)(n))
static inline uintptr_t tri_vg_defined_word(uintptr_t v)
{
	return v;
}
#endif
#endif
