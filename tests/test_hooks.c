/* SPDX-License-Identifier: MIT */
/*
 * test_hooks.c - test hooks exported by libtricolor-test.la only (the
 * installed libtricolor.so has none: tests/packaging/exports.sh).
 *   tri_debug_fail_mmap(n): the next n arena commits fail (0 stops), so
 *   tests reach the out-of-memory paths (alloc/os_mem.c).
 *   tri_debug_cycle_hook(fn): the coordinator calls fn(point) at fixed
 *   points of every cycle and waits for it (runtime/cycle.h lists them:
 *   1 stacks scanned, 2 mark done, 3 sweep start); NULL removes it.
 */
#include "alloc/os_mem.h"
#include "runtime/atomics.h"
#include "runtime/cycle.h"
#include "tricolor.h"

TRI_API void tri_debug_fail_mmap(int n);
void tri_debug_fail_mmap(int n)
{
	os_mem_fail_commits(n);
}

TRI_API void tri_debug_cycle_hook(void (*fn)(int point));
void tri_debug_cycle_hook(void (*fn)(int point))
{
	st_release(&cycle_test_hook, fn);
}
