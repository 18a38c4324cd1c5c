/* SPDX-License-Identifier: MIT */
/*
 * perf/markbench.c - mark throughput.
 *
 * Builds a pointer-rich heap of --heap-mib MiB (default 1024, quick 128):
 * 64-byte nodes with 4 pointers (and 4 integer words), placed at random:
 * node k of a random permutation points to nodes 2k+1 and 2k+2 (so every
 * node is reachable from the root, node 0) and to two random nodes. Then
 * runs tri_collect() --reps times and reads /gc/mark/last:nanoseconds,
 * /gc/mark/scanned:bytes and /gc/mark/scanned:objects to report MB/s and
 * objects/s, total and per mark worker, for each --workers value (each in
 * its own process: tri_init("mark_workers=N")). gc_percent is off while
 * building and measuring, so only these explicit collections mark. Then
 * the graph is checked: garbage of the same size is allocated and every
 * node must still be reachable and intact (--no-verify skips this).
 *
 * Reference ("malloc" impl): the same graph in one malloc'd block,
 * traversed by a single thread (DFS with an explicit stack and a visited
 * bitmap, following the 4 pointers of each node). Ratio printed:
 * reference/tricolor per worker (how many tricolor workers match one plain
 * traversal). MB = 10^6 bytes; bytes = 64 per node for the reference.
 *
 * The tree case (--tree-depth D, default 22: 2^23 - 1 nodes; quick 19):
 * a complete binary tree of GCBench nodes {left, right, int i, int j}
 * (24 bytes; bdwgc makes each a 32-byte object with its all-interior-
 * pointers byte, so the graph is the 256 MiB of issue 13 there), built
 * bottom-up and held from one root, then --reps full collections:
 * tricolor (tri_collect, mark_workers=1 and 2) against bdwgc
 * (GC_gcollect, GC_MARKERS=1 and the default, one marker per core). Mark
 * time: /gc/mark/last:nanoseconds for tricolor, GC_EVENT_MARK_START to
 * GC_EVENT_MARK_END for bdwgc; MiB/s = nodes x 24 B / mark time, the same
 * numerator for both; per marker = MiB/s / markers. Cases are named by the
 * marker count ("tree22-1m", "tree22-2m"), so tricolor with N workers and
 * bdwgc with N markers share a row. Also the wall time and user+sys CPU
 * of the whole collection call. The parent prints how much the second
 * marker adds for each collector.
 */
#include "bench.h"

#include <errno.h>

#define NODE_PTRS 4

typedef struct mnode {
	struct mnode *p[NODE_PTRS];
	uint64_t data[4];
} mnode;

_Static_assert(sizeof(mnode) == 64, "64-byte nodes");

static long g_heap_mib = 1024;
static int g_workers[BENCH_MAX_LIST] = { 1, 2 };
static int g_nworkers = 2;
static long g_mark_workers; /* child: this process's mark_workers */
static unsigned long g_seed = 12345;

static mnode *g_root; /* registered root (tricolor) */
static long g_tree_depth = 22; /* tree case: 2^(depth+1) - 1 nodes */
static int g_tree; /* child: run the tree case */

/* The GCBench node of the tree case (24 bytes on LP64). */
typedef struct tnode {
	struct tnode *left, *right;
	int i, j;
} tnode;

static tnode *g_troot; /* the tree's root (registered with tricolor) */
static int g_verify = 1;

static uint64_t rng_state;

static uint64_t rng(void)
{
	return bench_xorshift(&rng_state);
}

/* perm[k] = index (allocation order) of the node playing role k */
static uint32_t *make_perm(size_t n)
{
	uint32_t *perm = malloc(n * sizeof *perm);
	size_t i;

	if (!perm) {
		perror("malloc");
		exit(1);
	}
	for (i = 0; i < n; i++)
		perm[i] = (uint32_t)i;
	for (i = n - 1; i > 0; i--) {
		size_t j = (size_t)(rng() % (i + 1));
		uint32_t t = perm[i];

		perm[i] = perm[j];
		perm[j] = t;
	}
	return perm;
}

/* children/links of role k, as roles (or SIZE_MAX for none) */
static void links_of(size_t k, size_t n, size_t out[NODE_PTRS])
{
	out[0] = 2 * k + 1 < n ? 2 * k + 1 : SIZE_MAX;
	out[1] = 2 * k + 2 < n ? 2 * k + 2 : SIZE_MAX;
	out[2] = (size_t)(rng() % n);
	out[3] = (size_t)(rng() % n);
}

static size_t node_count(void)
{
	return (size_t)((uint64_t)g_heap_mib * 1024 * 1024 / sizeof(mnode));
}

/* ---------------- tricolor ---------------- */

/*
 * After the collections: allocate garbage of the same size with a pattern
 * (it would reuse any node freed by mistake), then walk the graph from the
 * root and check every node is reached once and holds its own data.
 */
static void verify_graph(size_t n)
{
	uint64_t *bits = calloc((n + 63) / 64, sizeof(uint64_t));
	size_t cap = 1 << 20, sp = 0, seen = 0, bad = 0, i;
	mnode **stack = malloc(cap * sizeof *stack);
	uint64_t t0 = bench_now_ns();

	if (!bits || !stack) {
		perror("malloc");
		exit(1);
	}
	for (i = 0; i < n / 4; i++) {
		mnode *g = tri_alloc(sizeof *g);

		if (!g)
			break;
		memset(g, 0xA5, sizeof *g);
	}
	stack[sp++] = g_root;
	bits[g_root->data[0] / 64] |= 1ull << (g_root->data[0] % 64);
	while (sp) {
		mnode *m = stack[--sp];
		uint64_t id = m->data[0];
		int j;

		seen++;
		if (id >= n || m->data[1] != id * 3 + 1 ||
		    m->data[2] != ~(uint64_t)0 - id || m->data[3] != 42) {
			if (bad++ < 5)
				fprintf(stderr,
					"markbench: node %p corrupted (data %llx %llx %llx %llx)\n",
					(void *)m, (unsigned long long)m->data[0],
					(unsigned long long)m->data[1],
					(unsigned long long)m->data[2],
					(unsigned long long)m->data[3]);
			continue;
		}
		for (j = 0; j < NODE_PTRS; j++) {
			mnode *c = m->p[j];
			uint64_t cid;

			if (!c)
				continue;
			cid = c->data[0];
			if (cid < n && (bits[cid / 64] & (1ull << (cid % 64))))
				continue;
			if (cid < n)
				bits[cid / 64] |= 1ull << (cid % 64);
			if (sp == cap) {
				cap *= 2;
				stack = realloc(stack, cap * sizeof *stack);
				if (!stack) {
					perror("realloc");
					exit(1);
				}
			}
			stack[sp++] = c;
		}
		if ((seen & 0xffff) == 0)
			tri_safepoint();
	}
	printf("# verify: %zu of %zu nodes reachable and intact, %zu corrupted (%.1f ms)\n",
	       seen - bad, n, bad, (double)(bench_now_ns() - t0) / 1e6);
	free(bits);
	free(stack);
	if (bad || seen != n) {
		fprintf(stderr, "markbench: the graph is damaged after collection: %zu corrupted, %zu of %zu reached\n",
			bad, seen, n);
		exit(4);
	}
}

static void run_tricolor(int reps)
{
	size_t n = node_count(), i, k;
	mnode **idx;
	uint32_t *perm;
	int old_pct, r;
	uint64_t t0, t1;
	double *mbps = calloc((size_t)reps, sizeof(double));
	double *mops = calloc((size_t)reps, sizeof(double));
	double *ms = calloc((size_t)reps, sizeof(double));
	double *mbps_w = calloc((size_t)reps, sizeof(double));
	double *mops_w = calloc((size_t)reps, sizeof(double));
	double *objs = calloc((size_t)reps, sizeof(double));
	char cas[64];
	int w = (int)g_mark_workers;

	rng_state = g_seed * 2654435761u + 1;
	t0 = bench_now_ns();
	idx = calloc(n, sizeof *idx);
	if (!idx) {
		perror("calloc");
		exit(1);
	}
	tri_add_roots(idx, idx + n);
	tri_add_roots(&g_root, &g_root + 1);
	old_pct = tri_gc_percent(-1); /* build without collecting */
	for (i = 0; i < n; i++) {
		mnode *m = tri_alloc(sizeof *m);

		if (!m) {
			fprintf(stderr, "markbench: out of memory after %zu nodes\n", i);
			exit(1);
		}
		m->data[0] = i;
		m->data[1] = i * 3 + 1;
		m->data[2] = ~(uint64_t)0 - i;
		m->data[3] = 42;
		tri_store(&idx[i], m);
	}
	perm = make_perm(n);
	for (k = 0; k < n; k++) {
		size_t l[NODE_PTRS];
		mnode *m = idx[perm[k]];
		int j;

		links_of(k, n, l);
		for (j = 0; j < NODE_PTRS; j++)
			if (l[j] != SIZE_MAX)
				TRI_STORE(m->p[j], idx[perm[l[j]]]);
	}
	TRI_STORE(g_root, idx[perm[0]]);
	free(perm);
	tri_remove_roots(idx, idx + n);
	free(idx);
	idx = NULL;
	/* gc stays off while measuring: only our tri_collect calls mark */
	t1 = bench_now_ns();
	printf("# tricolor (mark_workers=%d): built %zu nodes (%.0f MiB) in %.1f ms\n",
	       w, n, (double)n * 64 / 1048576.0, (double)(t1 - t0) / 1e6);

	bench_collect(); /* warm-up: frees nothing much, settles sweeping */
	for (r = 0; r < reps; r++) {
		uint64_t b0 = bench_metric("/gc/mark/scanned:bytes");
		uint64_t o0 = bench_metric("/gc/mark/scanned:objects");
		uint64_t c0 = bench_now_ns(), c1, ns, db, dobj;

		tri_collect();
		c1 = bench_now_ns();
		ns = bench_metric("/gc/mark/last:nanoseconds");
		db = bench_metric("/gc/mark/scanned:bytes") - b0;
		dobj = bench_metric("/gc/mark/scanned:objects") - o0;
		if (ns == 0) {
			printf("# note: /gc/mark/last:nanoseconds is 0; using tri_collect wall time\n");
			ns = c1 - c0;
		}
		ms[r] = (double)ns / 1e6;
		mbps[r] = (double)db / ((double)ns / 1e9) / 1e6;
		mops[r] = (double)dobj / ((double)ns / 1e9) / 1e6;
		mbps_w[r] = mbps[r] / w;
		mops_w[r] = mops[r] / w;
		if ((double)dobj < 0.98 * (double)n ||
		    (double)dobj > 1.02 * (double)n + 1000)
			printf("# warning: /gc/mark/scanned:objects grew by %llu in this tri_collect, but the graph has %zu reachable nodes: the scanned metrics look inconsistent\n",
			       (unsigned long long)dobj, n);
		objs[r] = (double)dobj;
		printf("# tricolor w%d collect %d: mark %.1f ms (tri_collect %.1f ms), scanned %.1f MB / %llu objects: %.0f MB/s, %.2f Mobj/s\n",
		       w, r + 1, ms[r], (double)(c1 - c0) / 1e6, (double)db / 1e6,
		       (unsigned long long)dobj, mbps[r], mops[r]);
	}
	tri_gc_percent(old_pct);
	if (g_verify)
		verify_graph(n);
	tri_keep_alive(g_root);
	snprintf(cas, sizeof cas, "%ldMiB-w%d", g_heap_mib, w);
	bench_emit("mark", cas, "tricolor", "mark_time", "ms",
		   bench_stats_of(ms, reps));
	bench_emit("mark", cas, "tricolor", "mark_rate", "MB/s",
		   bench_stats_of(mbps, reps));
	bench_emit("mark", cas, "tricolor", "mark_rate_per_worker", "MB/s",
		   bench_stats_of(mbps_w, reps));
	bench_emit("mark", cas, "tricolor", "mark_objs", "Mobj/s",
		   bench_stats_of(mops, reps));
	bench_emit("mark", cas, "tricolor", "mark_objs_per_worker", "Mobj/s",
		   bench_stats_of(mops_w, reps));
	bench_emit("mark", cas, "tricolor", "scanned_objects", "objects",
		   bench_stats_of(objs, reps));
	bench_emit("mark", cas, "tricolor", "graph_nodes", "objects",
		   bench_stats_one((double)n));
	bench_emit("mark", cas, "tricolor", "peak_rss", "MiB",
		   bench_stats_one(bench_peak_rss_mib()));
	free(mbps);
	free(mops);
	free(ms);
	free(mbps_w);
	free(mops_w);
	free(objs);
}

/* ---------------- tree: tricolor and bdwgc ---------------- */

static long g_tree_next; /* node ids in build order */

static tnode *tree_make(long depth)
{
	tnode *n = bh_alloc(sizeof *n), *l = NULL, *r = NULL;

	if (depth > 0) {
		l = tree_make(depth - 1);
		r = tree_make(depth - 1);
	}
	/* re-read: n stays reachable from this frame while the children are built */
	if (!n) {
		fprintf(stderr, "markbench: out of memory building the tree\n");
		exit(1);
	}
	n->left = l; /* n is not yet published: plain stores */
	n->right = r;
	n->i = (int)(g_tree_next++ & 0x7fffffff);
	n->j = (int)depth;
	return n;
}

static long tree_check(const tnode *n, long depth)
{
	if (!n || n->j != depth)
		return -1000000000L;
	if (depth == 0)
		return n->left || n->right ? -1000000000L : 1;
	return 1 + tree_check(n->left, depth - 1) +
	       tree_check(n->right, depth - 1);
}

static void run_tree(int reps)
{
	long nodes = (1L << (g_tree_depth + 1)) - 1;
	double mib = (double)nodes * (double)sizeof(tnode) / 1048576.0;
	const char *impl = bench_impl_csv(bench_impl);
	int markers, r, old_pct = 0;
	uint64_t t0;
	char cas[64], label[64];
	bench_mark_series m;
	double *per;

	if (bench_impl == BENCH_IMPL_TRICOLOR) {
		markers = (int)g_mark_workers;
		tri_add_roots(&g_troot, &g_troot + 1);
		old_pct = tri_gc_percent(-1); /* build without collecting */
	} else {
		markers = bench_bdwgc_markers();
		bench_bdwgc_record_pauses(); /* also records the mark time */
#ifdef HAVE_BDWGC
		GC_disable();
#endif
	}
	t0 = bench_now_ns();
	g_tree_next = 0;
	g_troot = tree_make(g_tree_depth);
#ifdef HAVE_BDWGC
	if (bench_impl == BENCH_IMPL_BDWGC)
		GC_enable();
#endif
	printf("# %s (%d marker%s): built a depth-%ld tree, %ld nodes x %zu B (%.0f MiB) in %.1f ms\n",
	       impl, markers, markers == 1 ? "" : "s", g_tree_depth, nodes,
	       sizeof(tnode), mib, (double)(bench_now_ns() - t0) / 1e6);
	snprintf(label, sizeof label, "%s %dm", impl, markers);
	bench_mark_series_run(&m, reps, mib, label);
	per = calloc((size_t)reps, sizeof(double));
	if (!per) {
		perror("calloc");
		exit(1);
	}
	for (r = 0; r < reps; r++)
		per[r] = m.rate[r] / markers;
	if (tree_check(g_troot, g_tree_depth) != nodes) {
		fprintf(stderr, "markbench: the tree is damaged after collection\n");
		exit(4);
	}
	if (bench_impl == BENCH_IMPL_TRICOLOR)
		tri_gc_percent(old_pct);
	snprintf(cas, sizeof cas, "tree%ld-%dm", g_tree_depth, markers);
	bench_mark_series_emit(&m, "mark", cas, impl);
	bench_emit("mark", cas, impl, "mark_rate_per_marker", "MiB/s",
		   bench_stats_of(per, reps));
	bench_emit("mark", cas, impl, "peak_rss", "MiB",
		   bench_stats_one(bench_peak_rss_mib()));
	tri_keep_alive(g_troot);
	bench_mark_series_free(&m);
	free(per);
}

/* ---------------- reference ---------------- */

static void run_reference(int reps)
{
	size_t n = node_count(), k, stack_cap = 1 << 20;
	mnode *base = malloc(n * sizeof *base);
	uint64_t *bits = calloc((n + 63) / 64, sizeof(uint64_t));
	mnode **stack = malloc(stack_cap * sizeof *stack);
	uint32_t *perm;
	double *mbps = calloc((size_t)reps, sizeof(double));
	double *mops = calloc((size_t)reps, sizeof(double));
	double *ms = calloc((size_t)reps, sizeof(double));
	uint64_t t0, t1;
	int r, i;
	mnode *root;

	if (!base || !bits || !stack) {
		perror("malloc");
		exit(1);
	}
	rng_state = g_seed * 2654435761u + 1;
	t0 = bench_now_ns();
	for (k = 0; k < n; k++) {
		memset(base[k].p, 0, sizeof base[k].p);
		base[k].data[0] = k;
		base[k].data[1] = k * 3 + 1;
		base[k].data[2] = ~(uint64_t)0 - k;
		base[k].data[3] = 42;
	}
	perm = make_perm(n);
	for (k = 0; k < n; k++) {
		size_t l[NODE_PTRS];
		mnode *m = &base[perm[k]];
		int j;

		links_of(k, n, l);
		for (j = 0; j < NODE_PTRS; j++)
			if (l[j] != SIZE_MAX)
				m->p[j] = &base[perm[l[j]]];
	}
	root = &base[perm[0]];
	free(perm);
	t1 = bench_now_ns();
	printf("# reference: built %zu nodes (%.0f MiB, one malloc block) in %.1f ms\n",
	       n, (double)n * 64 / 1048576.0, (double)(t1 - t0) / 1e6);

	for (r = 0; r < reps; r++) {
		size_t sp = 0, visited = 0;
		uint64_t a, b;

		memset(bits, 0, (n + 63) / 64 * sizeof(uint64_t));
		a = bench_now_ns();
		{
			size_t ri = (size_t)(root - base);

			bits[ri / 64] |= 1ull << (ri % 64);
		}
		stack[sp++] = root;
		while (sp) {
			mnode *m = stack[--sp];
			int j;

			visited++;
			for (j = 0; j < NODE_PTRS; j++) {
				mnode *c = m->p[j];
				size_t ci;

				if (!c)
					continue;
				ci = (size_t)(c - base);
				if (bits[ci / 64] & (1ull << (ci % 64)))
					continue;
				bits[ci / 64] |= 1ull << (ci % 64);
				if (sp == stack_cap) {
					stack_cap *= 2;
					stack = realloc(stack, stack_cap * sizeof *stack);
					if (!stack) {
						perror("realloc");
						exit(1);
					}
				}
				stack[sp++] = c;
			}
		}
		b = bench_now_ns();
		ms[r] = (double)(b - a) / 1e6;
		mbps[r] = (double)visited * 64 / ((double)(b - a) / 1e9) / 1e6;
		mops[r] = (double)visited / ((double)(b - a) / 1e9) / 1e6;
		printf("# reference traversal %d: %zu nodes in %.1f ms: %.0f MB/s, %.2f Mobj/s\n",
		       r + 1, visited, ms[r], mbps[r], mops[r]);
		if (visited != n) {
			fprintf(stderr, "markbench: reference visited %zu of %zu nodes\n",
				visited, n);
			exit(3);
		}
	}
	/* one thread: the same numbers stand against every worker case */
	for (i = 0; i < g_nworkers; i++) {
		char cas[64];

		snprintf(cas, sizeof cas, "%ldMiB-w%d", g_heap_mib, g_workers[i]);
		bench_emit("mark", cas, "malloc", "mark_time", "ms",
			   bench_stats_of(ms, reps));
		bench_emit("mark", cas, "malloc", "mark_rate_per_worker",
			   "MB/s", bench_stats_of(mbps, reps));
		bench_emit("mark", cas, "malloc", "mark_objs_per_worker",
			   "Mobj/s", bench_stats_of(mops, reps));
	}
	free(base);
	free(bits);
	free(stack);
	free(mbps);
	free(mops);
	free(ms);
}

static void usage(void)
{
	printf("usage: markbench [flags]\n"
	       "  --heap-mib N     size of the node graph (1024; quick 128)\n"
	       "  --workers LIST   mark_workers values, one process each (1,2)\n"
	       "  --seed N         graph seed (12345)\n"
	       "  --no-verify      skip the check that the graph survived intact\n"
	       "  --tree-depth D   the tree case: 2^(D+1)-1 GCBench nodes (22; quick 19)\n"
	       "  --graph LIST     which cases: tree,random (both)\n"
	       "  impls in the tree case: tricolor (mark_workers 1 and 2), bdwgc (GC_MARKERS=1\n"
	       "  and default)\n"
	       "  default --reps 5 (quick 3) collections / traversals\n"
	       "  impls: tricolor (collector), malloc (plain single-thread traversal)\n");
	bench_usage_common(stdout);
}

int main(int argc, char **argv)
{
	bench_opts o;
	int i, reps, impl, set_heap = 0, set_tree = 0, do_tree = 1,
					       do_random = 1;
	const char *gs;
	long v;

	bench_opts_init(&o, argc, argv);
	o.bench = "mark";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		if (bench_common_flag(&o, argc, argv, &i))
			continue;
		if (bench_flag_long(argc, argv, &i, "--heap-mib", &g_heap_mib)) {
			set_heap = 1;
			continue;
		}
		if (bench_flag_list(argc, argv, &i, "--workers", g_workers,
				    &g_nworkers))
			continue;
		if (bench_flag_long(argc, argv, &i, "--mark-workers",
				    &g_mark_workers))
			continue;
		if (bench_flag_long(argc, argv, &i, "--tree-depth", &v)) {
			g_tree_depth = v;
			set_tree = 1;
			continue;
		}
		if (bench_flag_val(argc, argv, &i, "--graph", &gs)) {
			do_tree = strstr(gs, "tree") != NULL;
			do_random = strstr(gs, "random") != NULL;
			continue;
		}
		if (!strcmp(argv[i], "--tree")) {
			g_tree = 1;
			continue;
		}
		if (!strcmp(argv[i], "--no-verify")) {
			g_verify = 0;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--seed", &v)) {
			g_seed = (unsigned long)v;
			continue;
		}
		bench_bad_flag(&o, argv[i]);
	}
	if (o.quick && !set_heap)
		g_heap_mib = 128;
	if (o.quick && !set_tree)
		g_tree_depth = 19;
	if (g_tree_depth < 1 || g_tree_depth > 28) {
		fprintf(stderr, "markbench: --tree-depth must be 1..28\n");
		return 2;
	}
	if (g_heap_mib < 1 || node_count() >= UINT32_MAX) {
		fprintf(stderr, "markbench: bad --heap-mib\n");
		return 2;
	}
	reps = o.reps ? o.reps : (o.quick ? 3 : 5);

	if (!o.inproc && do_tree) {
		const char *tx[] = { "--tree", "--mark-workers", "1", NULL };
		const char *tx2[] = { "--tree", "--mark-workers", "2", NULL };
		const char *bx[] = { "--tree", NULL };
		char c1[32], c2[32];
		double t1, t2, b1, b2;

		snprintf(c1, sizeof c1, "tree%ld-1m", g_tree_depth);
		snprintf(c2, sizeof c2, "tree%ld-2m", g_tree_depth);
		printf("markbench tree: full collections of a live depth-%ld binary tree of 24-byte GCBench nodes (%ld nodes), %d collections each\n",
		       g_tree_depth, (1L << (g_tree_depth + 1)) - 1, reps);
		if (bench_impl_selected(&o, BENCH_IMPL_TRICOLOR)) {
			printf("# [markbench tree] tricolor mark_workers=1 ...\n");
			bench_spawn(&o, BENCH_IMPL_TRICOLOR, tx, c1);
			printf("# [markbench tree] tricolor mark_workers=2 ...\n");
			bench_spawn(&o, BENCH_IMPL_TRICOLOR, tx2, c2);
		}
		if (bench_impl_selected_m1(&o)) {
			printf("# [markbench tree] bdwgc GC_MARKERS=1 ...\n");
			bench_spawn(&o, BENCH_IMPL_BDWGC_M1, bx, c1);
		}
		if (bench_impl_selected(&o, BENCH_IMPL_BDWGC)) {
			printf("# [markbench tree] bdwgc default (one marker per core) ...\n");
			bench_spawn(&o, BENCH_IMPL_BDWGC, bx, c2);
		}
		printf("\ntree: what the second marker adds (mark MiB/s with 2 markers / with 1; goal for tricolor >= 1.6 on 2 idle cores):\n");
		if (bench_lookup("mark", c1, "tricolor", "mark_rate", &t1) &&
		    bench_lookup("mark", c2, "tricolor", "mark_rate", &t2) && t1 > 0)
			printf("  tricolor: %.0f -> %.0f MiB/s: x%.2f\n", t1, t2, t2 / t1);
		if (bench_lookup("mark", c1, "bdwgc", "mark_rate", &b1) &&
		    bench_lookup("mark", c2, "bdwgc", "mark_rate", &b2) && b1 > 0)
			printf("  bdwgc:    %.0f -> %.0f MiB/s: x%.2f\n", b1, b2, b2 / b1);
	}
	if (!o.inproc && do_random) {
		printf("\nmarkbench: %ld MiB graph of 64-byte nodes with %d pointers, mark_workers",
		       g_heap_mib, NODE_PTRS);
		for (i = 0; i < g_nworkers; i++)
			printf("%s%d", i ? "," : " ", g_workers[i]);
		printf(", %d collections each; reference: single-thread DFS over malloc'd copy\n",
		       reps);
		if (bench_impl_selected(&o, BENCH_IMPL_TRICOLOR))
			for (i = 0; i < g_nworkers; i++) {
				char arg[32], cas[64];
				const char *extra[3] = { "--mark-workers", arg,
							 NULL };

				snprintf(arg, sizeof arg, "%d", g_workers[i]);
				snprintf(cas, sizeof cas, "%ldMiB-w%d",
					 g_heap_mib, g_workers[i]);
				printf("# [markbench random] tricolor mark_workers=%d ...\n",
				       g_workers[i]);
				bench_spawn(&o, BENCH_IMPL_TRICOLOR, extra, cas);
			}
		if (bench_impl_selected(&o, BENCH_IMPL_MALLOC)) {
			printf("# [markbench random] reference traversal ...\n");
			bench_spawn(&o, BENCH_IMPL_MALLOC, NULL, "all");
		}
		printf("\nratio reference/tricolor (per worker, MB/s; > 1: the plain traversal is faster):\n");
		for (i = 0; i < g_nworkers; i++) {
			char cas[64];
			double t, ref;

			snprintf(cas, sizeof cas, "%ldMiB-w%d", g_heap_mib,
				 g_workers[i]);
			if (bench_lookup("mark", cas, "tricolor",
					 "mark_rate_per_worker", &t) &&
			    bench_lookup("mark", cas, "malloc",
					 "mark_rate_per_worker", &ref) && t > 0)
				printf("  %-16s reference %.0f MB/s, tricolor %.0f MB/s per worker: ratio %.2f\n",
				       cas, ref, t, ref / t);
		}
	}
	if (!o.inproc)
		return bench_finish(&o, "markbench: mark throughput (higher is better; tree cases: tricolor N workers vs bdwgc N markers, bdwgc column = bdwgc with that many markers)");

	for (impl = 0; impl < BENCH_IMPL_COUNT; impl++)
		if (bench_impl_selected(&o, impl))
			break;
	if (g_tree && (impl == BENCH_IMPL_BDWGC || impl == BENCH_IMPL_BDWGC_M1)) {
		if (!bench_impl_available(impl)) {
			fprintf(stderr, "markbench: bdwgc not built in\n");
			return 1;
		}
		bench_heap_init(impl, NULL);
		/* bdwgc-m1 rows are bdwgc rows of the 1-marker case */
		run_tree(reps);
	} else if (impl == BENCH_IMPL_TRICOLOR) {
		char opts[256];

		if (g_mark_workers < 1)
			g_mark_workers = g_workers[0];
		snprintf(opts, sizeof opts, "%s%smark_workers=%ld",
			 o.tri_options ? o.tri_options : "",
			 o.tri_options ? "," : "", g_mark_workers);
		bench_heap_init(impl, opts);
		if (g_tree)
			run_tree(reps);
		else
			run_tricolor(reps);
	} else if (impl == BENCH_IMPL_MALLOC) {
		bench_heap_init(impl, NULL);
		run_reference(reps);
	} else {
		fprintf(stderr, "markbench: impl %s not supported (tricolor, malloc)\n",
			bench_impl_name(impl));
		return 1;
	}
	return bench_finish(&o, "markbench (single impl)");
}
