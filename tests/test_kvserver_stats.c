/* SPDX-License-Identifier: MIT */
/*
 * test_kvserver_stats.c - tricolor-kvserver's --stats percentiles
 * (examples/kvserver/stats.h) use the nearest-rank method: the reported
 * pN is the sample at rank ceil(N/100 * n), never an interpolation and
 * never a lower rank (the audit saw pause_p99_ns 77 with a max of 5948
 * over 2 samples). Fixed inputs, plus a check against the definition
 * (the smallest sample with at least N% of the samples <= it).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>

#include "../examples/kvserver/stats.h"

START_TEST(two_samples)
{
	const uint64_t v[] = { 77, 5948 };
	ck_assert_uint_eq(nearest_rank(v, 2, 99), 5948);
	ck_assert_uint_eq(nearest_rank(v, 2, 51), 5948);
	ck_assert_uint_eq(nearest_rank(v, 2, 50), 77);
	ck_assert_uint_eq(nearest_rank(v, 2, 1), 77);
	ck_assert_uint_eq(nearest_rank(v, 2, 100), 5948);
}
END_TEST

START_TEST(small_sets)
{
	const uint64_t one[] = { 42 }, three[] = { 1, 2, 3 };
	ck_assert_uint_eq(nearest_rank(NULL, 0, 50), 0);
	ck_assert_uint_eq(nearest_rank(NULL, 0, 99), 0);
	ck_assert_uint_eq(nearest_rank(one, 1, 1), 42);
	ck_assert_uint_eq(nearest_rank(one, 1, 99), 42);
	ck_assert_uint_eq(nearest_rank(three, 3, 50), 2);  /* rank ceil(1.5) = 2 */
	ck_assert_uint_eq(nearest_rank(three, 3, 33), 1);  /* ceil(0.99) = 1 */
	ck_assert_uint_eq(nearest_rank(three, 3, 34), 2);  /* ceil(1.02) = 2 */
	ck_assert_uint_eq(nearest_rank(three, 3, 67), 3);  /* ceil(2.01) = 3 */
	ck_assert_uint_eq(nearest_rank(three, 3, 99), 3);
}
END_TEST

START_TEST(hundred_and_thousand)
{
	uint64_t v[1000];
	for (int i = 0; i < 1000; i++)
		v[i] = (uint64_t)i + 1;
	ck_assert_uint_eq(nearest_rank(v, 100, 50), 50);
	ck_assert_uint_eq(nearest_rank(v, 100, 99), 99);
	ck_assert_uint_eq(nearest_rank(v, 100, 100), 100);
	ck_assert_uint_eq(nearest_rank(v, 1000, 99), 990);
	ck_assert_uint_eq(nearest_rank(v, 1000, 50), 500);
	ck_assert_uint_eq(nearest_rank(v, 101, 99), 100); /* ceil(99.99) = 100 */
}
END_TEST

/* Against the definition, for every n up to 300 and every p: the result
 * is a sample, at least p% of the samples are <= it, and fewer than p%
 * are < it (so no smaller sample qualifies). Samples are distinct and
 * increasing (the server sorts them first). */
START_TEST(definition)
{
	uint64_t v[300];
	for (int i = 0; i < 300; i++)
		v[i] = (uint64_t)i * 7 + 3;
	for (size_t n = 1; n <= 300; n++)
		for (unsigned p = 1; p <= 100; p++) {
			uint64_t r = nearest_rank(v, n, p);
			size_t le = 0, lt = 0;
			for (size_t i = 0; i < n; i++) {
				le += v[i] <= r;
				lt += v[i] < r;
			}
			ck_assert_msg(le * 100 >= (size_t)p * n,
				      "n %zu p%u: %zu of %zu samples <= %llu", n, p, le, n,
				      (unsigned long long)r);
			ck_assert_msg(lt * 100 < (size_t)p * n,
				      "n %zu p%u: %llu is not the smallest such sample", n, p,
				      (unsigned long long)r);
		}
}
END_TEST

int main(void)
{
	Suite *s = suite_create("kvserver_stats");
	TCase *tc = tcase_create("nearest_rank");
	tcase_add_test(tc, two_samples);
	tcase_add_test(tc, small_sets);
	tcase_add_test(tc, hundred_and_thousand);
	tcase_add_test(tc, definition);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
