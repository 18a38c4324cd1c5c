/* SPDX-License-Identifier: MIT */
/*
 * test_stress.c - multi-thread stress of the concurrent collector.
 *
 * Four mutator threads build and mutate a shared graph held in a registered
 * root array of 10k slots (lists, binary trees, random cross edges), while a
 * fifth thread runs tri_collect back to back and verifies the whole graph
 * after every cycle. All pointer stores into published nodes go through
 * TRI_STORE; nodes removed from the graph are scrubbed (their pointer fields
 * overwritten) only through TRI_STORE, while other threads may still be
 * walking them. Every node carries a checksum of its own immutable fields
 * (id, generation, size, payload), checked on every traversal. Slot i is
 * structurally mutated only by thread i % 4, which keeps the node count of
 * each of its slots and checks it after every cycle; readers and edge
 * writers are any thread. Runs under debug=checkmark+poison.
 *
 * Duration: TRI_STRESS_SECONDS (default 8). `make stress` runs 600 s.
 */
#include "test_support.h"
#include <stdarg.h>

#define NSLOTS 10000
#define NMUT 4
#define NODE_MAGIC 0x6e6f64656e6f6465ull
#define MAX_WALK 100000

enum { KIND_LIST = 1, KIND_TREE = 2 };

struct node {
	uint64_t magic;
	uint64_t id;
	uint64_t gen;
	uint64_t check;
	uint32_t size; /* bytes requested, header included */
	uint32_t kind;
	struct node *next, *left, *right, *extra;
	unsigned char payload[];
};

static struct node *slots[NSLOTS]; /* registered root range */
static long *expected;		  /* malloc'd: node count per slot (owner writes) */

static int stop_flag;
static uint64_t cycles_done;  /* by the collector thread */
static long errors;
static char first_error[512];

static __attribute__((format(printf, 1, 2))) void report(const char *fmt, ...)
{
	if (__atomic_fetch_add(&errors, 1, __ATOMIC_SEQ_CST) == 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(first_error, sizeof first_error, fmt, ap);
		va_end(ap);
	}
}

static uint64_t node_sum(const struct node *n)
{
	return tsup_mix(n->id ^ tsup_mix(n->gen ^ ((uint64_t)n->size << 32) ^ n->kind)) ^
	       NODE_MAGIC;
}

static struct node *ld(struct node *const *slot)
{
	return __atomic_load_n(slot, __ATOMIC_ACQUIRE);
}

static struct node *node_new(uint64_t id, uint64_t gen, uint32_t kind, uint64_t r)
{
	uint32_t plen = (uint32_t)(r % 400);
	uint32_t size = (uint32_t)sizeof(struct node) + plen;
	struct node *n = tri_alloc(size);
	ck_assert_ptr_nonnull(n);
	n->magic = NODE_MAGIC;
	n->id = id;
	n->gen = gen;
	n->size = size;
	n->kind = kind;
	tsup_fill(n->payload, plen, id ^ gen);
	n->check = node_sum(n);
	return n;
}

/* 1 if n is an intact, allocated node. */
static int node_ok(const struct node *n)
{
	if (tri_base(n) != n) {
		report("node %p is not an allocated block (tri_base %p, size %zu)", (const void *)n,
		       tri_base(n), tri_size(n));
		return 0;
	}
	if (n->magic != NODE_MAGIC || n->check != node_sum(n)) {
		report("node %p: header corrupted (magic %llx, check %llx)", (const void *)n,
		       (unsigned long long)n->magic, (unsigned long long)n->check);
		return 0;
	}
	if (tri_size(n) < n->size) {
		report("node %p: block of %zu bytes for a %u-byte node", (const void *)n, tri_size(n),
		       n->size);
		return 0;
	}
	size_t plen = n->size - sizeof(struct node);
	size_t off = tsup_check_fill(n->payload, plen, n->id ^ n->gen);
	if (off != plen) {
		report("node %p: payload corrupted at byte %zu of %zu", (const void *)n, off, plen);
		return 0;
	}
	return 1;
}

/* Walk the structure at root through next/left/right, checking every node
 * and the one-hop extra edges; returns the node count (or -1 on error). */
static long walk(struct node *root)
{
	struct node *stack[64];
	int sp = 0;
	long count = 0;
	if (!root)
		return 0;
	stack[sp++] = root;
	while (sp) {
		struct node *n = stack[--sp];
		if (!node_ok(n))
			return -1;
		if (++count > MAX_WALK) {
			report("structure at %p: more than %d nodes (a cycle?)", (void *)root, MAX_WALK);
			return -1;
		}
		struct node *e = ld(&n->extra);
		if (e && !node_ok(e))
			return -1;
		struct node *x;
		if ((x = ld(&n->right)))
			stack[sp++] = x;
		if ((x = ld(&n->left)))
			stack[sp++] = x;
		if ((x = ld(&n->next)))
			stack[sp++] = x;
		if (sp > 60) {
			report("structure at %p: deeper than expected (%d)", (void *)root, sp);
			return -1;
		}
	}
	return count;
}

/* ---------------------------------------------------------------- */
/* Mutators                                                          */
/* ---------------------------------------------------------------- */

struct mut {
	int id;
	uint64_t rng;
	uint64_t next_id;
	uint64_t gen;
	long ops, builds, inserts, removes, replaces, edges, walks, scrubs, verifies;
};

static uint64_t rnd(struct mut *m)
{
	m->rng = tsup_mix(m->rng + 0x9e3779b97f4a7c15ull);
	return m->rng;
}

static uint64_t new_id(struct mut *m)
{
	return ((uint64_t)(m->id + 1) << 48) | m->next_id++;
}

static struct node *build_list(struct mut *m, int len)
{
	struct node *head = NULL;
	for (int i = 0; i < len; i++) {
		struct node *n = node_new(new_id(m), m->gen, KIND_LIST, rnd(m));
		n->next = head; /* unpublished: plain store */
		head = n;
	}
	return head;
}

static struct node *build_tree(struct mut *m, int depth, long *count)
{
	if (depth <= 0)
		return NULL;
	struct node *n = node_new(new_id(m), m->gen, KIND_TREE, rnd(m));
	(*count)++;
	n->left = build_tree(m, depth - 1, count);
	if (rnd(m) & 3)
		n->right = build_tree(m, depth - 1, count);
	return n;
}

/* Overwrite the pointer fields of a removed structure, through the
 * barrier; other threads may still be walking it. */
static void scrub(struct node *n, int depth)
{
	if (!n || depth > 40)
		return;
	struct node *a = ld(&n->next), *b = ld(&n->left), *c = ld(&n->right);
	TRI_STORE(n->next, NULL);
	TRI_STORE(n->left, NULL);
	TRI_STORE(n->right, NULL);
	scrub(a, depth + 1);
	scrub(b, depth + 1);
	scrub(c, depth + 1);
}

static int owned_slot(struct mut *m)
{
	return (int)(rnd(m) % (NSLOTS / NMUT)) * NMUT + m->id;
}

static void op_rebuild(struct mut *m)
{
	int s = owned_slot(m);
	struct node *old = ld(&slots[s]), *fresh;
	long count = 0;
	m->gen++;
	if (rnd(m) & 1) {
		count = 1 + (long)(rnd(m) % 16);
		fresh = build_list(m, (int)count);
	} else {
		fresh = build_tree(m, 1 + (int)(rnd(m) % 4), &count);
	}
	TRI_STORE(slots[s], fresh); /* a release store: fresh is seen built */
	expected[s] = count;
	__atomic_store_n(&m->builds, m->builds + 1, __ATOMIC_RELAXED); /* read by the main thread */
	if (old && (rnd(m) & 1)) {
		scrub(old, 0);
		m->scrubs++;
	}
}

static void op_list_mutate(struct mut *m)
{
	int s = owned_slot(m);
	struct node *head = ld(&slots[s]);
	if (!head || head->kind != KIND_LIST)
		return;
	/* pick a random position */
	struct node *a = head;
	for (uint64_t k = rnd(m) % 8; k && ld(&a->next); k--)
		a = ld(&a->next);
	if ((rnd(m) & 1) || expected[s] < 3) {
		struct node *n = node_new(new_id(m), m->gen, KIND_LIST, rnd(m));
		n->next = ld(&a->next);
		/* TRI_STORE is a release store: readers that tri_load a->next
		 * see n initialised (no separate fence, which TSan ignores) */
		TRI_STORE(a->next, n);
		expected[s]++;
		m->inserts++;
	} else {
		struct node *x = ld(&a->next);
		if (!x)
			return;
		TRI_STORE(a->next, ld(&x->next));
		expected[s]--;
		m->removes++;
		if (rnd(m) & 1) {
			TRI_STORE(x->next, NULL); /* scrub the removed node */
			m->scrubs++;
		}
	}
}

static long subtree_count(struct node *n)
{
	if (!n)
		return 0;
	return 1 + subtree_count(ld(&n->left)) + subtree_count(ld(&n->right));
}

static void op_tree_mutate(struct mut *m)
{
	int s = owned_slot(m);
	struct node *root = ld(&slots[s]);
	if (!root || root->kind != KIND_TREE)
		return;
	struct node *a = root;
	for (uint64_t k = rnd(m) % 4; k; k--) {
		struct node *c = ld((rnd(m) & 1) ? &a->left : &a->right);
		if (!c)
			break;
		a = c;
	}
	struct node **side = (rnd(m) & 1) ? &a->left : &a->right;
	struct node *old = ld(side);
	long count = 0;
	m->gen++;
	struct node *fresh = build_tree(m, (int)(rnd(m) % 3), &count);
	long oldcount = subtree_count(old);
	TRI_STORE(*side, fresh); /* a release store: fresh is seen built */
	expected[s] += count - oldcount;
	m->replaces++;
	if (old && (rnd(m) & 1)) {
		scrub(old, 0);
		m->scrubs++;
	}
}

static void op_edge(struct mut *m)
{
	struct node *a = ld(&slots[rnd(m) % NSLOTS]);
	struct node *b = ld(&slots[rnd(m) % NSLOTS]);
	if (!a)
		return;
	/* sometimes one step down */
	struct node *c = ld(&a->next);
	if (!c)
		c = ld(&a->left);
	if (c && (rnd(m) & 1))
		a = c;
	TRI_STORE(a->extra, b);
	m->edges++;
}

static void op_walk(struct mut *m)
{
	struct node *r = ld(&slots[rnd(m) % NSLOTS]);
	walk(r);
	m->walks++;
}

/* Check every slot this thread owns: nodes intact and counts exact (the
 * owner is the only structural writer, so they are stable for it). */
static void verify_owned(struct mut *m)
{
	for (int s = m->id; s < NSLOTS; s += NMUT) {
		long c = walk(ld(&slots[s]));
		if (c >= 0 && c != expected[s])
			report("slot %d: %ld nodes, expected %ld", s, c, expected[s]);
	}
	m->verifies++;
}

static void *mutator(void *a)
{
	struct mut *m = a;
	uint64_t seen = __atomic_load_n(&cycles_done, __ATOMIC_SEQ_CST);
	while (!__atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST) && !__atomic_load_n(&errors, __ATOMIC_SEQ_CST)) {
		uint64_t r = rnd(m) % 100;
		if (r < 25)
			op_rebuild(m);
		else if (r < 40)
			op_list_mutate(m);
		else if (r < 50)
			op_tree_mutate(m);
		else if (r < 65)
			op_edge(m);
		else if (r < 95)
			op_walk(m);
		else
			for (int g = 0; g < 32; g++) /* garbage */
				((volatile char *)tri_alloc(16 + (rnd(m) % 1024)))[0] = 1;
		m->ops++;
		uint64_t c = __atomic_load_n(&cycles_done, __ATOMIC_SEQ_CST);
		if (c != seen) {
			seen = c;
			verify_owned(m);
		}
	}
	return NULL;
}

struct coll {
	long cycles, full_verifies;
};

static void *collector(void *a)
{
	struct coll *c = a;
	while (!__atomic_load_n(&stop_flag, __ATOMIC_SEQ_CST) && !__atomic_load_n(&errors, __ATOMIC_SEQ_CST)) {
		tri_collect();
		c->cycles++;
		__atomic_add_fetch(&cycles_done, 1, __ATOMIC_SEQ_CST);
		/* the mutators check their own slots after every cycle; this
		 * thread walks the whole graph after every 4th */
		if (c->cycles % 4 == 0) {
			for (int s = 0; s < NSLOTS; s++)
				walk(ld(&slots[s]));
			c->full_verifies++;
		}
	}
	return NULL;
}

static long total_builds(const struct mut *m)
{
	long n = 0;
	for (int i = 0; i < NMUT; i++)
		n += __atomic_load_n(&m[i].builds, __ATOMIC_RELAXED);
	return n;
}

START_TEST(test_four_mutators_and_back_to_back_cycles_keep_the_graph_intact)
{
	ck_assert_int_eq(tri_init("debug=checkmark+poison"), 0);
	long seconds = tsup_env_long("TRI_STRESS_SECONDS", 8);
	memset(slots, 0, sizeof slots);
	expected = calloc(NSLOTS, sizeof *expected);
	tri_add_roots(slots, slots + NSLOTS);
	uint64_t cycles0 = tsup_metric("/gc/cycles/total:gc-cycles");

	struct mut m[NMUT];
	struct tsup_thread th[NMUT + 1];
	struct coll c = {0, 0};
	memset(m, 0, sizeof m);
	for (int i = 0; i < NMUT; i++) {
		m[i].id = i;
		m[i].rng = tsup_mix((uint64_t)i * 7919 + 1);
		tsup_spawn(&th[i], mutator, &m[i]);
	}
	tsup_spawn(&th[NMUT], collector, &c);
	/* For `seconds`, and past them until the mutators built NSLOTS lists
	 * and trees between them (the graph checks below need a populated
	 * graph; under valgrind at load 40 ten seconds left it 4994 nodes). */
	double t_end = tsup_now() + (double)seconds;
	while ((tsup_now() < t_end || total_builds(m) < NSLOTS) && !__atomic_load_n(&errors, __ATOMIC_SEQ_CST))
		tsup_sleep_ms(50);
	__atomic_store_n(&stop_flag, 1, __ATOMIC_SEQ_CST);
	for (int i = 0; i <= NMUT; i++)
		tsup_join(&th[i]);
	ck_assert_msg(errors == 0, "%ld errors; first: %s", errors, first_error);

	/* quiescent: two more cycles, then exact counts everywhere */
	tri_collect();
	tri_collect();
	long total = 0, want = 0;
	for (int s = 0; s < NSLOTS; s++) {
		long n = walk(ld(&slots[s]));
		ck_assert_msg(n >= 0, "slot %d: %s", s, first_error);
		ck_assert_msg(n == expected[s], "slot %d has %ld nodes, expected %ld", s, n, expected[s]);
		total += n;
		want += expected[s];
	}
	ck_assert_int_eq(total, want);
	ck_assert_int_gt(total, NSLOTS / 2);

	long ops = 0;
	for (int i = 0; i < NMUT; i++) {
		ck_assert_msg(m[i].builds > 0 && m[i].walks > 0 && m[i].edges > 0,
			      "mutator %d did not do every kind of operation", i);
		ck_assert_msg(m[i].verifies > 0, "mutator %d never verified after a cycle", i);
		ops += m[i].ops;
	}
	uint64_t cycles = tsup_metric("/gc/cycles/total:gc-cycles") - cycles0;
	ck_assert_msg(c.cycles >= 3, "only %ld cycles from the collector thread", c.cycles);
	ck_assert_uint_ge(cycles, (uint64_t)c.cycles);
	fprintf(stderr,
		"stress: %lds, %ld ops, %ld forced cycles (%llu total), %ld full verifies, %ld nodes live\n",
		seconds, ops, c.cycles, (unsigned long long)cycles, c.full_verifies, total);
	for (int i = 0; i < NMUT; i++)
		fprintf(stderr,
			"  mutator %d: %ld builds %ld inserts %ld removes %ld subtree replaces %ld edges "
			"%ld walks %ld scrubs %ld verifies\n",
			i, m[i].builds, m[i].inserts, m[i].removes, m[i].replaces, m[i].edges, m[i].walks,
			m[i].scrubs, m[i].verifies);
	tri_remove_roots(slots, slots + NSLOTS);
	free(expected);
}
END_TEST

static Suite *stress_suite(void)
{
	Suite *s = suite_create("stress");
	TCase *tc = tcase_create("graph");
	long seconds = tsup_env_long("TRI_STRESS_SECONDS", 8);
	tcase_set_timeout(tc, (double)(seconds * 2 + 120));
	tcase_add_test(tc, test_four_mutators_and_back_to_back_cycles_keep_the_graph_intact);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(stress_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
