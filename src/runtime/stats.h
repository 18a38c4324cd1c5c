/* SPDX-License-Identifier: MIT */
/*
 * stats.h - statistics at exit on request (TRICOLOR_SHOW_STATS=1,
 * show_stats=1 or debug=stats), like MIMALLOC_SHOW_STATS and
 * GC_PRINT_STATS. tri_init calls stats_init once, after the options are
 * set; the report is printed by an atexit handler on the exiting thread.
 */
#ifndef TRI_STATS_H
#define TRI_STATS_H
#include <stdint.h>
#include <stdio.h>
#include <stddef.h>
void stats_init(void);
/* The p-th percentile (0 < p <= 100) of v[0..n) by the nearest-rank
 * method: the smallest value with at least p% of the samples at or below
 * it (v is sorted in place). 0 when n == 0. */
uint64_t stats_nearest_rank(uint64_t *v, size_t n, double p);
#endif
