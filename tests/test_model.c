/* SPDX-License-Identifier: MIT */
/*
 * test_model.c - model-based test of finalizers and cleanups: seeded random
 * sequences of operations (alloc, link, unlink, roots, finalizers, cleanups,
 * weak handles, collect) checked after every collection against a reference model that
 * computes reachability itself (tests/model/model.h explains the rules and
 * how conservative retention is tolerated).
 *
 * Environment:
 *   TRI_MODEL_SEED   base seed (default 20261123); sequence i uses a seed
 *                    derived from (seed, i), printed on failure
 *   TRI_MODEL_SEQS   sequences per test (default 200)
 *   TRI_MODEL_STEPS  operations per sequence (default 60)
 *   TRI_MODEL_VERBOSE=1      print every operation and event on stderr
 *   TRI_MODEL_NO_OBJ_ARGS=1  diagnostic: no heap objects as cleanup args
 *                    (isolates the idle-cleanup-worker retention bug, see
 *                    docs/reliability.md)
 * Reproduce a failure: TRI_MODEL_SEED=<seed> TRI_MODEL_FIRST=<i>
 * TRI_MODEL_SEQS=1 ./tests/test_model
 */
#include "test_support.h"
#include "model/model.h"

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ull);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	return z ^ (z >> 31);
}

static uint32_t rng_pick(void *ctx, uint32_t n)
{
	return (uint32_t)(splitmix(ctx) % n);
}

struct run {
	uint64_t seed;
	long first, seqs, steps;
	struct model *m;
	long failed_seq;
	int no_obj_args;
};

static void *run_sequences(void *arg)
{
	struct run *r = arg;
	struct model *m = r->m;
	r->failed_seq = -1;
	for (long i = r->first; i < r->first + r->seqs; i++) {
		uint64_t s = tsup_mix(r->seed * 1000003u + (uint64_t)i);
		m->pick = rng_pick;
		m->ctx = &s;
		m->verbose = getenv("TRI_MODEL_VERBOSE") != NULL;
		m->no_obj_args = r->no_obj_args || getenv("TRI_MODEL_NO_OBJ_ARGS") != NULL;
		if (model_run_sequence(m, (int)r->steps)) {
			r->failed_seq = i;
			break;
		}
	}
	return NULL;
}

static void run_model(const char *options, const char *label, long default_seqs, int no_obj_args)
{
	ck_assert_int_eq(tri_init(options), 0);
	struct run r = {
		.seed = (uint64_t)tsup_env_long("TRI_MODEL_SEED", 20261123),
		.first = getenv("TRI_MODEL_FIRST") ? atol(getenv("TRI_MODEL_FIRST")) : 0,
		.seqs = tsup_env_long("TRI_MODEL_SEQS", default_seqs),
		.steps = tsup_env_long("TRI_MODEL_STEPS", 60),
		.no_obj_args = no_obj_args,
	};
	r.m = calloc(1, sizeof *r.m);
	ck_assert_ptr_nonnull(r.m);
	double t0 = tsup_now();
	tsup_run_in_thread(run_sequences, &r);
	double dt = tsup_now() - t0;
	struct model_stats *st = &r.m->st;
	printf("test_model [%s%s]: seed %llu: %lu cases (sequences) x %ld steps, %lu operations executed, "
	       "%lu collects (%lu retry collects after a delayed callback), %lu allocs, %lu links, "
	       "%lu finalizers run (%lu resurrections, %lu times a finalizer was held by a "
	       "finalizer's referents), %lu cleanups added, %lu run, %lu stopped, "
	       "%lu weak handles made, %lu seen cleared; %.2f s\n",
	       label, r.failed_seq >= 0 ? ", FAILED" : "", (unsigned long long)r.seed, st->sequences, r.steps, st->ops, st->collects,
	       st->retries, st->allocs, st->links, st->fin_runs, st->resurrections,
	       st->held_by_dependency, st->cleanups_added, st->cln_runs, st->stops,
	       st->weak_made, st->weak_cleared, dt);
	fflush(stdout);
	ck_assert_msg(r.failed_seq < 0,
		      "model violated (reproduce: TRI_MODEL_SEED=%llu TRI_MODEL_FIRST=%ld "
		      "TRI_MODEL_SEQS=1 TRI_MODEL_STEPS=%ld): %s",
		      (unsigned long long)r.seed, r.failed_seq, r.steps, r.m->err);
	ck_assert_int_eq((long)st->sequences, r.seqs);
	/* the random mix must actually exercise the interesting rules */
	if (r.seqs >= 50) {
		ck_assert_uint_gt(st->fin_runs, 0);
		ck_assert_uint_gt(st->cln_runs, 0);
		ck_assert_uint_gt(st->resurrections, 0);
		ck_assert_uint_gt(st->held_by_dependency, 0);
		ck_assert_uint_gt(st->stops, 0);
		ck_assert_uint_gt(st->weak_made, 0);
		ck_assert_uint_gt(st->weak_cleared, 0);
	}
	free(r.m->c);
	free(r.m);
}

START_TEST(test_model_random_sequences_obey_go_finalizer_and_cleanup_rules)
{
	run_model("gc_percent=off,debug=checkmark+poison", "checkmark+poison", 400, 0);
}
END_TEST

/* The same without heap objects as cleanup args: isolates the rules from
 * the retention of the last cleanup's arg by an idle cleanup worker (see
 * docs/reliability.md, library issues). */
START_TEST(test_model_random_sequences_without_heap_object_cleanup_args)
{
	run_model("gc_percent=off,debug=checkmark+poison", "no heap-object args", 1000, 1);
}
END_TEST

START_TEST(test_model_random_sequences_with_one_cleanup_worker_and_two_mark_workers)
{
	run_model("gc_percent=off,cleanup_workers=1,mark_workers=2", "1 cleanup worker", 150, 0);
}
END_TEST

static Suite *model_suite(void)
{
	Suite *s = suite_create("model");
	TCase *tc = tcase_create("model");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_model_random_sequences_obey_go_finalizer_and_cleanup_rules);
	tcase_add_test(tc, test_model_random_sequences_without_heap_object_cleanup_args);
	tcase_add_test(tc, test_model_random_sequences_with_one_cleanup_worker_and_two_mark_workers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(model_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
