/* SPDX-License-Identifier: MIT */
/*
 * test_api.c - the API porting users reach for (include/tricolor.h):
 * tri_version and the TRI_VERSION_* macros, tri_calloc's overflow check,
 * tri_realloc (grow, shrink, kind kept, barriered copy, misuse),
 * tri_strdup / tri_strndup, tri_thread_set_name, TRI_BLOCKING (errno,
 * and the collector not waiting for a thread blocked inside it), and
 * data_roots: a heap pointer in the program's data or bss, or in the bss
 * of a dlopen'd library (tests/test_dso.c), keeps its object alive.
 * Each test runs in its own process (Check's fork mode) and calls tri_init.
 * Built twice: tests/test_api against the shared library, and
 * tests/test_api_static with tricolor linked into the program, where its
 * own variables lie in the program's data segment.
 * Death is observed with cleanups whose args are malloc'd flags.
 */
#include "test_support.h"
#include <dlfcn.h>
#include <libgen.h>
#include <limits.h>

#define OPTS "debug=checkmark+poison,preempt_ms=off"

/* ---------------------------------------------------------------- */
/* Version                                                           */
/* ---------------------------------------------------------------- */

START_TEST(test_version_string_matches_header_macros)
{
	const char *v = tri_version();
	ck_assert_ptr_nonnull(v);
	ck_assert_str_eq(v, TRI_VERSION_STRING);
	int ma, mi, pa;
	ck_assert_int_eq(sscanf(v, "%d.%d.%d", &ma, &mi, &pa), 3);
	ck_assert_int_eq(ma, TRI_VERSION_MAJOR);
	ck_assert_int_eq(mi, TRI_VERSION_MINOR);
	ck_assert_int_eq(pa, TRI_VERSION_PATCH);
	ck_assert_int_eq(TRI_VERSION_NUMBER, ma * 10000 + mi * 100 + pa);
}
END_TEST

/* ---------------------------------------------------------------- */
/* tri_calloc                                                        */
/* ---------------------------------------------------------------- */

START_TEST(test_calloc_overflow_returns_null_with_enomem)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	errno = 0;
	ck_assert_ptr_null(tri_calloc(SIZE_MAX / 2, 3));
	ck_assert_int_eq(errno, ENOMEM);
	errno = 0;
	ck_assert_ptr_null(tri_calloc((size_t)1 << 33, (size_t)1 << 31));
	ck_assert_int_eq(errno, ENOMEM);
	unsigned char *p = tri_calloc(100, 3);
	ck_assert_ptr_nonnull(p);
	ck_assert_uint_ge(tri_size(p), 300);
	for (int i = 0; i < 300; i++)
		ck_assert_int_eq(p[i], 0);
	ck_assert_ptr_eq(tri_calloc(0, 7), tri_alloc(0));
}
END_TEST

/* ---------------------------------------------------------------- */
/* tri_realloc                                                       */
/* ---------------------------------------------------------------- */

struct holder {
	void *ptr;
	char bytes[8];
};

static void *holder_main(void *flag)
{
	struct holder *h = tri_alloc(sizeof *h);
	void *o = tri_alloc(64);
	tri_add_cleanup(o, tsup_cleanup_set_flag, flag);
	TRI_STORE(h->ptr, o);
	memcpy(h->bytes, "abcdefg", 8);
	return h;
}

/* A scanned block whose first word holds the only pointer to an object
 * with a cleanup setting *flag. Made on a helper thread, so that no stale
 * copy of the object's address stays on this thread's stack (the caller
 * keeps the returned holder itself alive). */
static struct holder *holder_new(int *flag)
{
	return tsup_run_in_thread(holder_main, flag);
}

static __attribute__((noinline)) void churn(int rounds)
{
	for (int r = 0; r < rounds; r++) {
		for (int i = 0; i < 20000; i++)
			(void)tri_alloc(48);
		tri_collect();
	}
}

struct grow {
	int *flag;
	size_t old;
	int moved; /* the new block is not the old one */
};

/* Make a holder and grow it, on a helper thread: the old block becomes
 * garbage with no stale copy of its address on the test's stack. */
static void *grow_main(void *arg)
{
	struct grow *gr = arg;
	struct holder *h = holder_main(gr->flag);
	gr->old = tri_size(h);
	struct holder *g = tri_realloc(h, 4096);
	gr->moved = g != h;
	return g;
}

START_TEST(test_realloc_grow_copies_contents_and_keeps_referents_alive)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	struct grow *gr = calloc(1, sizeof *gr);
	int *flag = gr->flag = tsup_new_flag();
	struct holder *g = tsup_run_in_thread(grow_main, gr);
	size_t old = gr->old;
	ck_assert_ptr_nonnull(g);
	ck_assert(gr->moved);
	ck_assert_ptr_eq(tri_base(g), g);
	ck_assert_uint_ge(tri_size(g), 4096);
	ck_assert_str_eq(g->bytes, "abcdefg");
	for (size_t i = old; i < 4096; i++)
		ck_assert_int_eq(((unsigned char *)g)[i], 0);
	free(gr);
	tsup_scrub_stack();
	churn(3);
	ck_assert_int_eq(tri_drain(tsup_ms(5000)), 0);
	ck_assert_msg(!tsup_flag(flag), "object referenced only from a realloc'd block was collected");
	tri_store(&g->ptr, NULL);
	ck_assert_msg(tsup_collect_until_flag(flag, 10) > 0, "object stayed alive after its slot was cleared");
	tri_keep_alive(g);
	free(flag);
}
END_TEST

/* Write the only pointer to a new object with a cleanup setting flag at
 * byte offset off of block b (on a helper thread: no stale copies here). */
struct plant {
	char *b;
	size_t off;
	int *flag;
};

static void *plant_main(void *arg)
{
	struct plant *p = arg;
	void *o = tri_alloc(64);
	tri_add_cleanup(o, tsup_cleanup_set_flag, p->flag);
	tri_store(p->b + p->off, o);
	return NULL;
}

static void plant(void *b, size_t off, int *flag)
{
	struct plant p = {b, off, flag};
	tsup_run_in_thread(plant_main, &p);
}

START_TEST(test_realloc_shrink_in_place_clears_the_tail)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	int *flag = tsup_new_flag();
	void **w = tri_alloc(64);
	plant(w, 5 * sizeof(void *), flag);
	ck_assert_ptr_nonnull(w[5]);
	ck_assert_ptr_eq(tri_realloc(w, 16), w); /* fits: same block */
	ck_assert_ptr_null(w[5]);
	tsup_scrub_stack();
	ck_assert_msg(tsup_collect_until_flag(flag, 10) > 0,
		      "a pointer in the cut tail still kept its object alive");
	tri_keep_alive(w);
	free(flag);
}
END_TEST

START_TEST(test_realloc_keeps_atomic_kind_and_handles_null_and_zero)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	char *a = tri_alloc_atomic(16);
	memcpy(a, "0123456789abcde", 16);
	char *b = tri_realloc(a, 100000); /* a large block */
	ck_assert_ptr_nonnull(b);
	ck_assert_str_eq(b, "0123456789abcde");
	/* b is atomic: a pointer stored in it does not keep its object alive */
	int *flag = tsup_new_flag();
	plant(b, 64, flag);
	tsup_scrub_stack();
	ck_assert_msg(tsup_collect_until_flag(flag, 10) > 0, "realloc of an atomic block made a scanned one");
	tri_keep_alive(b);
	free(flag);

	void *n = tri_realloc(NULL, 40);
	ck_assert_ptr_nonnull(n);
	ck_assert_uint_ge(tri_size(n), 40);
	ck_assert_ptr_eq(tri_realloc(n, 0), tri_alloc(0));
	void *z = tri_realloc(tri_alloc(0), 8);
	ck_assert_ptr_nonnull(z);
	ck_assert_ptr_ne(z, tri_alloc(0));
	errno = 0;
	ck_assert_ptr_null(tri_realloc(z, SIZE_MAX - 4096));
	ck_assert_int_eq(errno, ENOMEM);
	ck_assert_ptr_eq(tri_base(z), z); /* unchanged on failure */
}
END_TEST

static void realloc_interior(void *arg)
{
	(void)arg;
	tri_init(NULL);
	char *p = tri_alloc(64);
	tri_realloc(p + 8, 128);
}

static void realloc_foreign(void *arg)
{
	(void)arg;
	static char not_heap[64];
	tri_init(NULL);
	tri_realloc(not_heap, 128);
}

START_TEST(test_realloc_misuse_aborts_with_a_message)
{
	struct tsup_child c;
	tsup_capture_child(realloc_interior, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_realloc: pointer not at beginning of allocated block", NULL);
	tsup_capture_child(realloc_foreign, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_realloc: pointer not in allocated block", NULL);
}
END_TEST

/* ---------------------------------------------------------------- */
/* tri_strdup / tri_strndup                                          */
/* ---------------------------------------------------------------- */

START_TEST(test_strdup_and_strndup_copy_into_the_heap)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	char *s = tri_strdup("hello, heap");
	ck_assert_ptr_eq(tri_base(s), s);
	ck_assert_str_eq(s, "hello, heap");
	char *t = tri_strndup("hello, heap", 5);
	ck_assert_str_eq(t, "hello");
	ck_assert_uint_ge(tri_size(t), 6);
	char *u = tri_strndup("ab", 100);
	ck_assert_str_eq(u, "ab");
	char *e = tri_strdup("");
	ck_assert_ptr_nonnull(e);
	ck_assert_str_eq(e, "");
}
END_TEST

static void strdup_null(void *arg)
{
	tri_init(NULL);
	if (arg)
		tri_strndup(NULL, 3);
	else
		tri_strdup(NULL);
}

START_TEST(test_strdup_of_null_aborts_with_a_message)
{
	struct tsup_child c;
	tsup_capture_child(strdup_null, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_strdup: s is NULL", NULL);
	tsup_capture_child(strdup_null, (void *)1, &c);
	tsup_assert_died(&c, SIGABRT, "tri_strndup: s is NULL", NULL);
}
END_TEST

/* ---------------------------------------------------------------- */
/* tri_thread_set_name                                               */
/* ---------------------------------------------------------------- */

START_TEST(test_thread_name_reaches_the_operating_system_truncated)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	char os[64];
	tri_thread_set_name("api-main");
	ck_assert_int_eq(pthread_getname_np(pthread_self(), os, sizeof os), 0);
	ck_assert_str_eq(os, "api-main");
	tri_thread_set_name("a-name-that-is-much-longer-than-thirty-two-bytes");
	ck_assert_int_eq(pthread_getname_np(pthread_self(), os, sizeof os), 0);
	ck_assert_str_eq(os, "a-name-that-is-");
	tri_thread_set_name(NULL);
	ck_assert_int_eq(pthread_getname_np(pthread_self(), os, sizeof os), 0);
	ck_assert_str_eq(os, "");
}
END_TEST

static void traced_named_thread(void *arg)
{
	char opts[512];
	snprintf(opts, sizeof opts, "debug=trace=%s", (const char *)arg);
	if (tri_init(opts) != 0)
		_exit(3);
	tri_thread_set_name("api \"traced\"");
	tri_collect();
	exit(0); /* stdio flushes the trace at exit */
}

START_TEST(test_thread_name_appears_in_the_trace)
{
	char path[] = "/tmp/tricolor-test-trace-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	close(fd);
	struct tsup_child c;
	tsup_capture_child(traced_named_thread, path, &c);
	ck_assert_msg(WIFEXITED(c.status) && WEXITSTATUS(c.status) == 0, "child failed: %s", c.err);
	FILE *f = fopen(path, "r");
	ck_assert_ptr_nonnull(f);
	static char buf[1 << 20];
	size_t n = fread(buf, 1, sizeof buf - 1, f);
	buf[n] = 0;
	fclose(f);
	unlink(path);
	/* the quotes are escaped: the trace stays valid JSON */
	ck_assert_msg(strstr(buf, "\"thread_name\"") && strstr(buf, "\"api \\\"traced\\\"\""),
		      "the trace does not name the thread \"api \\\"traced\\\"\": %.400s", buf);
}
END_TEST

static void *name_unattached(void *arg)
{
	(void)arg;
	tri_thread_set_name("x");
	return NULL;
}

static void set_name_unattached(void *arg)
{
	(void)arg;
	pthread_t th;
	tri_init(NULL);
	pthread_create(&th, NULL, name_unattached, NULL);
	pthread_join(th, NULL);
}

START_TEST(test_thread_set_name_unattached_aborts)
{
	struct tsup_child c;
	tsup_capture_child(set_name_unattached, NULL, &c);
	tsup_assert_died(&c, SIGABRT, "tri_thread_set_name: thread not attached", NULL);
}
END_TEST

/* ---------------------------------------------------------------- */
/* TRI_BLOCKING                                                      */
/* ---------------------------------------------------------------- */

START_TEST(test_blocking_macro_returns_value_and_keeps_errno)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	errno = 0;
	int r = TRI_BLOCKING(close(-1));
	ck_assert_int_eq(r, -1);
	ck_assert_int_eq(errno, EBADF);
	long v = TRI_BLOCKING(sysconf(_SC_PAGESIZE));
	ck_assert_int_gt(v, 0);
}
END_TEST

static int pipe_fds[2];

static void *collect_then_write(void *arg)
{
	(void)arg;
	tri_collect(); /* handshakes with the main thread, blocked in read */
	tri_collect();
	ck_assert_int_eq(TRI_BLOCKING(write(pipe_fds[1], "k", 1)), 1);
	return NULL;
}

START_TEST(test_collector_does_not_wait_for_a_thread_inside_tri_blocking)
{
	/* preempt_ms=off: no signal would rescue a read that was not
	 * bracketed, and tri_collect would wait for it forever */
	ck_assert_int_eq(tri_init(OPTS), 0);
	ck_assert_int_eq(pipe(pipe_fds), 0);
	uint64_t before = tsup_metric("/gc/cycles/total:gc-cycles");
	struct tsup_thread t;
	tsup_spawn(&t, collect_then_write, NULL);
	char *buf = tri_alloc_atomic(16); /* pointer-free bytes of a live object */
	ssize_t n = TRI_BLOCKING(read(pipe_fds[0], buf, 16));
	ck_assert_int_eq(n, 1);
	ck_assert_int_eq(buf[0], 'k');
	tsup_join(&t);
	ck_assert_uint_ge(tsup_metric("/gc/cycles/total:gc-cycles"), before + 2);
}
END_TEST

/* ---------------------------------------------------------------- */
/* data_roots                                                        */
/* ---------------------------------------------------------------- */

static void *bss_slot;
static int data_anchor;
static void *data_slot = &data_anchor; /* initialised: .data, not .bss */

struct publish {
	void **slot;
	int *flag;
};

static void *publish_main(void *arg)
{
	struct publish *p = arg;
	void *o = tri_alloc(128);
	tri_add_cleanup(o, tsup_cleanup_set_flag, p->flag);
	tri_store(p->slot, o);
	return NULL;
}

/* An object with a cleanup, stored into *slot; no other reference. It is
 * made on a helper thread (gone when this returns), so no stale copy of
 * its address can linger on this thread's stack or registers. */
static void publish_into(void **slot, int *flag)
{
	struct publish p = {slot, flag};
	tsup_run_in_thread(publish_main, &p);
}

/* Not inlined: the object's address is loaded only in this frame, which
 * is dead (below the stack pointer, not scanned) once it returns. */
static __attribute__((noinline)) int slot_holds_block(void **slot)
{
	void *o = *slot;
	return o && tri_base(o) == o;
}

static void global_keeps_alive(void **slot)
{
	int *flag = tsup_new_flag();
	publish_into(slot, flag);
	tsup_scrub_stack();
	churn(3);
	ck_assert_int_eq(tri_drain(tsup_ms(5000)), 0);
	ck_assert_msg(!tsup_flag(flag), "object referenced only from a global was collected");
	ck_assert_msg(slot_holds_block(slot), "the global no longer points at an allocated block");
	tri_store(slot, NULL);
	tsup_scrub_stack();
	ck_assert_msg(tsup_collect_until_flag(flag, 10) > 0, "object stayed alive after its global was cleared");
	free(flag);
}

START_TEST(test_global_pointer_in_bss_and_data_keeps_object_alive)
{
	ck_assert_int_eq(tri_init(OPTS), 0); /* data_roots is on by default */
	global_keeps_alive(&bss_slot);
	global_keeps_alive(&data_slot);
}
END_TEST

START_TEST(test_global_pointer_is_no_root_with_data_roots_off)
{
	ck_assert_int_eq(tri_init(OPTS ",data_roots=off"), 0);
	int *flag = tsup_new_flag();
	publish_into(&bss_slot, flag);
	tsup_scrub_stack();
	ck_assert_msg(tsup_collect_until_flag(flag, 10) > 0, "data_roots=off still scanned the bss");
	ck_assert_ptr_nonnull(bss_slot);
	free(flag);
}
END_TEST

static int first_finalized;
static void note_finalized(void *obj)
{
	(void)obj;
	__atomic_store_n(&first_finalized, 1, __ATOMIC_SEQ_CST);
}

static __attribute__((noinline)) void drop_first_object(void)
{
	tri_set_finalizer(tri_alloc(32), note_finalized);
}

START_TEST(test_first_object_allocated_is_collected_with_data_roots_on)
{
	/* Linked statically (tests/test_api_static), tricolor's variables are
	 * part of the program's data: tri_heap.base, the arena's start, is the
	 * address of the first object, which stayed alive forever until
	 * data_roots cut tricolor's arena-address variables out of the scan. */
	ck_assert_int_eq(tri_init(OPTS), 0);
	drop_first_object();
	tsup_scrub_stack();
	for (int i = 0; i < 10 && !__atomic_load_n(&first_finalized, __ATOMIC_SEQ_CST); i++) {
		tri_collect();
		ck_assert_int_eq(tri_drain(tsup_ms(5000)), 0);
	}
	ck_assert_msg(first_finalized, "the first object allocated was never found unreachable");
}
END_TEST

static void *open_test_dso(void)
{
	char exe[PATH_MAX], path[PATH_MAX + 64];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	ck_assert_int_gt(n, 0);
	exe[n] = 0;
	const char *dir = dirname(exe);
	const char *tries[] = {"%s/libtri_test_dso.so", "%s/.libs/libtri_test_dso.so"};
	for (size_t i = 0; i < sizeof tries / sizeof *tries; i++) {
		snprintf(path, sizeof path, tries[i], dir);
		void *h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
		if (h)
			return h;
	}
	ck_abort_msg("cannot dlopen libtri_test_dso.so next to %s: %s", dir, dlerror());
	return NULL;
}

START_TEST(test_dlopened_library_bss_keeps_object_alive)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	void *h = open_test_dso();
	void **(*slot_addr)(void) = (void **(*)(void))dlsym(h, "tri_test_dso_slot_addr");
	ck_assert_ptr_nonnull(slot_addr);
	global_keeps_alive(slot_addr());
}
END_TEST

/* The exceptions to "__thread variables are roots" (include/tricolor.h,
 * tri_thread_attach): a library dlopen'd after the thread attached has TLS
 * the collector does not know; registered with tri_add_roots from its
 * thread, its variable keeps its object alive like a global, and is
 * removed again before the thread goes. */
static void **open_dso_tls_slot(void)
{
	void *h = open_test_dso();
	void **(*tls_addr)(void) = (void **(*)(void))dlsym(h, "tri_test_dso_tls_slot_addr");
	ck_assert_ptr_nonnull(tls_addr);
	return tls_addr(); /* this thread's instance: allocated at first access */
}

START_TEST(test_tls_of_library_dlopened_after_attach_is_a_root_once_registered)
{
	ck_assert_int_eq(tri_init(OPTS), 0); /* attaches the main thread */
	void **slot = open_dso_tls_slot();
	tri_add_roots(slot, slot + 1);
	global_keeps_alive(slot);
	tri_remove_roots(slot, slot + 1);
}
END_TEST

static void *tls_registered_on_thread(void *arg)
{
	(void)arg;
	void **slot = open_dso_tls_slot(); /* dlopen'd (or first touched) after attach */
	tri_add_roots(slot, slot + 1);
	global_keeps_alive(slot);
	tri_remove_roots(slot, slot + 1); /* before the thread exits: its TLS goes with it */
	return NULL;
}

START_TEST(test_tls_of_library_dlopened_after_attach_registered_on_another_thread)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	tsup_run_in_thread(tls_registered_on_thread, NULL);
}
END_TEST

START_TEST(test_tls_of_library_dlopened_after_attach_is_no_root_unregistered)
{
	ck_assert_int_eq(tri_init(OPTS), 0);
	void **slot = open_dso_tls_slot();
	int *flag = tsup_new_flag();
	publish_into(slot, flag);
	tsup_scrub_stack();
	ck_assert_msg(tsup_collect_until_flag(flag, 10) > 0,
		      "the TLS of a library dlopen'd after attach was scanned without tri_add_roots "
		      "(then include/tricolor.h's exception no longer holds: update it)");
	ck_assert_ptr_nonnull(*slot);
	free(flag);
}
END_TEST

static Suite *api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("version");
	tcase_add_test(tc, test_version_string_matches_header_macros);
	suite_add_tcase(s, tc);

	tc = tcase_create("libc");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_calloc_overflow_returns_null_with_enomem);
	tcase_add_test(tc, test_realloc_grow_copies_contents_and_keeps_referents_alive);
	tcase_add_test(tc, test_realloc_shrink_in_place_clears_the_tail);
	tcase_add_test(tc, test_realloc_keeps_atomic_kind_and_handles_null_and_zero);
	tcase_add_test(tc, test_realloc_misuse_aborts_with_a_message);
	tcase_add_test(tc, test_strdup_and_strndup_copy_into_the_heap);
	tcase_add_test(tc, test_strdup_of_null_aborts_with_a_message);
	suite_add_tcase(s, tc);

	tc = tcase_create("threads");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_thread_name_reaches_the_operating_system_truncated);
	tcase_add_test(tc, test_thread_set_name_unattached_aborts);
	tcase_add_test(tc, test_thread_name_appears_in_the_trace);
	tcase_add_test(tc, test_blocking_macro_returns_value_and_keeps_errno);
	tcase_add_test(tc, test_collector_does_not_wait_for_a_thread_inside_tri_blocking);
	suite_add_tcase(s, tc);

	tc = tcase_create("data_roots");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_global_pointer_in_bss_and_data_keeps_object_alive);
	tcase_add_test(tc, test_global_pointer_is_no_root_with_data_roots_off);
	tcase_add_test(tc, test_dlopened_library_bss_keeps_object_alive);
	tcase_add_test(tc, test_tls_of_library_dlopened_after_attach_is_a_root_once_registered);
	tcase_add_test(tc, test_tls_of_library_dlopened_after_attach_registered_on_another_thread);
	tcase_add_test(tc, test_tls_of_library_dlopened_after_attach_is_no_root_unregistered);
	tcase_add_test(tc, test_first_object_allocated_is_collected_with_data_roots_on);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(api_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
