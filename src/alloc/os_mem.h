/* SPDX-License-Identifier: MIT */
/*
 * os_mem.h - the only place that asks the kernel for memory.
 * reserve: address space, no access. commit: make a range usable (zeroed).
 * release: give the pages back (MADV_DONTNEED; the range stays committed and
 * reads back as zeros). Test hook: tri_debug_fail_mmap(n) makes the next n
 * commits fail, to exercise the ENOMEM paths.
 */
#ifndef TRI_OS_MEM_H
#define TRI_OS_MEM_H
#include <stddef.h>
void *os_reserve(size_t size);
int os_commit(void *addr, size_t size);
void os_release(void *addr, size_t size);
void *os_alloc_meta(size_t size); /* zeroed, lazily backed, never freed */
/*
 * Scratch memory for code that must not call malloc: anything run while the
 * world is stopped (debug=checkmark parks mutators, some inside the
 * preemption signal handler, possibly holding a malloc arena lock) or in a
 * signal handler. os_scratch_resize grows (or, with p == NULL, creates) an
 * anonymous mapping to at least size bytes, keeping its contents (new bytes
 * are zero); *cap holds the mapping's length. NULL on failure (p is then
 * still valid). os_scratch_free unmaps it.
 */
void *os_scratch_resize(void *p, size_t *cap, size_t size);
void os_scratch_free(void *p, size_t cap);
/* Test hook: fail the next n arena commits (n = 0 stops). Hidden like every
 * internal name; tests call it as tri_debug_fail_mmap, exported only by the
 * test library libtricolor-test.la (tests/test_hooks.c). */
void os_mem_fail_commits(int n);
#endif
