/* SPDX-License-Identifier: MIT */
/*
 * test_hooks.c - test hooks exported by libtricolor-test.la only (the
 * installed libtricolor.so has none: tests/packaging/exports.sh).
 *   tri_debug_fail_mmap(n): the next n arena commits fail (0 stops), so
 *   tests reach the out-of-memory paths (alloc/os_mem.c).
 */
#include "alloc/os_mem.h"
#include "tricolor.h"

TRI_API void tri_debug_fail_mmap(int n);
void tri_debug_fail_mmap(int n)
{
	os_mem_fail_commits(n);
}
