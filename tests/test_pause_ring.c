/* SPDX-License-Identifier: MIT */
/*
 * test_pause_ring.c - the pause rings' per-entry seqlock (src/runtime/pause.c)
 * under concurrent readers: writers record synthetic pauses whose fields
 * are functions of each other, readers call tri_pauses while they do, and
 * every entry a reader gets must be one a writer wrote whole.
 *
 * Linked statically (tests/core.mk) to call pause_ring_get/pause_record
 * (internal) with chosen values. In the TSan run (scripts/sanitize tsan's
 * TSAN_TESTS) so that ThreadSanitizer checks every access of the write and
 * read sides: the entry fields are relaxed atomics bracketed by the
 * sequence word, so a plain access added to either side is reported.
 * TRI_PAUSE_RECORDS (records per writer, default 200000) scales it.
 */
#include "test_support.h"
#include "runtime/pause.h"

#define WRITERS 3
#define THREAD_BASE 100000u /* ring thread ids of the writers */

struct writer {
	int id;
	long records;
	int *done; /* atomic: writers finished */
};

/* The fields of record k of writer w: start encodes (w, k), the rest follow. */
#define REC_TAG (0xa5ull << 56)
static uint64_t rec_start(int w, uint64_t k)
{
	return REC_TAG | ((uint64_t)w << 40) | k;
}

static uint64_t rec_length(uint64_t start)
{
	return (start * 0x9e3779b97f4a7c15ull) >> 30;
}

static uint32_t rec_kind(uint64_t start)
{
	return 1 + (uint32_t)((start & 0xffffffffffull) % (PAUSE_KINDS - 1));
}

static void *writer_main(void *arg)
{
	struct writer *w = arg;
	struct pause_ring *r = pause_ring_get(THREAD_BASE + (uint32_t)w->id);
	for (long k = 0; k < w->records; k++) {
		uint64_t s = rec_start(w->id, (uint64_t)k);
		pause_record(r, rec_kind(s), s, rec_length(s));
	}
	pause_ring_retire(r);
	__atomic_add_fetch(w->done, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

struct reader {
	int *done;
	long reads, checked, torn;
	uint64_t first_bad_start, first_bad_len;
	uint32_t first_bad_kind, first_bad_thread;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	enum { MAXP = 4 * PAUSE_RING_CAP };
	tri_pause *buf = malloc(MAXP * sizeof *buf);
	ck_assert_ptr_nonnull(buf);
	while (__atomic_load_n(rd->done, __ATOMIC_SEQ_CST) < WRITERS) {
		size_t n = tri_pauses(buf, MAXP);
		for (size_t i = 0; i < n; i++) {
			const tri_pause *p = &buf[i];
			if (p->thread < THREAD_BASE)
				continue; /* a real pause of the runtime */
			int w = (int)((p->start_ns >> 40) & 0xffff);
			int ok = (p->start_ns & (0xffull << 56)) == REC_TAG && w < WRITERS &&
				 p->thread == THREAD_BASE + (uint32_t)w &&
				 p->length_ns == rec_length(p->start_ns) && p->kind == rec_kind(p->start_ns);
			if (!ok && !rd->torn++) {
				rd->first_bad_start = p->start_ns;
				rd->first_bad_len = p->length_ns;
				rd->first_bad_kind = p->kind;
				rd->first_bad_thread = p->thread;
			}
			rd->checked++;
		}
		rd->reads++;
	}
	free(buf);
	return NULL;
}

START_TEST(test_pause_ring_entries_read_while_their_owners_rewrite_them_are_never_torn)
{
	ck_assert_int_eq(tri_init("gc_percent=off"), 0);
	long records = tsup_env_long("TRI_PAUSE_RECORDS", 200000);
	int done = 0;
	struct writer w[WRITERS];
	struct reader rd[2];
	pthread_t wt[WRITERS], rt[2];
	for (int i = 0; i < 2; i++) {
		rd[i] = (struct reader){.done = &done};
		ck_assert_int_eq(pthread_create(&rt[i], NULL, reader_main, &rd[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++) {
		w[i] = (struct writer){.id = i, .records = records, .done = &done};
		ck_assert_int_eq(pthread_create(&wt[i], NULL, writer_main, &w[i]), 0);
	}
	for (int i = 0; i < WRITERS; i++)
		pthread_join(wt[i], NULL);
	long checked = 0;
	for (int i = 0; i < 2; i++) {
		pthread_join(rt[i], NULL);
		ck_assert_msg(rd[i].torn == 0,
			      "reader %d got %ld torn entries of %ld, first: start %#llx length %llu kind %u thread %u", i,
			      rd[i].torn, rd[i].checked, (unsigned long long)rd[i].first_bad_start,
			      (unsigned long long)rd[i].first_bad_len, rd[i].first_bad_kind, rd[i].first_bad_thread);
		checked += rd[i].checked;
	}
	fprintf(stderr, "pause rings: %d writers x %ld records, %ld entries checked by 2 readers (%ld + %ld reads)\n",
		WRITERS, records, checked, rd[0].reads, rd[1].reads);
	/* The readers ran while the writers did (they stop only when all are
	 * done), and the final rings still hold the last entries. */
	tri_pause *buf = malloc(4 * PAUSE_RING_CAP * sizeof *buf);
	ck_assert_ptr_nonnull(buf);
	size_t n = tri_pauses(buf, 4 * PAUSE_RING_CAP);
	size_t mine = 0;
	for (size_t i = 0; i < n; i++)
		if (buf[i].thread >= THREAD_BASE && buf[i].length_ns == rec_length(buf[i].start_ns))
			mine++;
	free(buf);
	ck_assert_uint_eq(mine, (size_t)WRITERS * (records < PAUSE_RING_CAP ? (size_t)records : PAUSE_RING_CAP));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pause_ring");
	TCase *tc = tcase_create("seqlock");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pause_ring_entries_read_while_their_owners_rewrite_them_are_never_torn);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
