/* SPDX-License-Identifier: MIT */
/*
 * stats.h - the statistics arithmetic of tricolor-kvserver's --stats
 * report, header-only so that tests/test_kvserver_stats.c compiles it
 * without the server.
 */
#ifndef KV_STATS_H
#define KV_STATS_H

#include <stddef.h>
#include <stdint.h>

/*
 * The p-th percentile (0 < p <= 100) of sorted v[0..n) by the nearest-rank
 * method: the value at rank ceil(p/100 * n) (1-based), the smallest sample
 * such that at least p% of the samples are <= it. So p99 of 2 samples is
 * the max, p50 of {1, 2, 3} is 2, and p100 is always the max; 0 when n is
 * 0. Never interpolates: every percentile reported is a measured sample.
 */
static inline uint64_t nearest_rank(const uint64_t *v, size_t n, unsigned p)
{
	if (!n)
		return 0;
	if (p > 100)
		p = 100;
	size_t rank = (n * p + 99) / 100;
	return v[(rank ? rank : 1) - 1];
}

#endif
