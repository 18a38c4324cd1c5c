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
static int g_verify = 1;

static uint64_t rng_state;

static uint64_t rng(void)
{
	uint64_t x = rng_state;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	rng_state = x;
	return x * 0x2545F4914F6CDD1DULL;
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
	       "  default --reps 5 (quick 3) collections / traversals\n"
	       "  impls: tricolor (collector), malloc (plain single-thread traversal)\n");
	bench_usage_common(stdout);
}

int main(int argc, char **argv)
{
	bench_opts o;
	int i, reps, impl, set_heap = 0;
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
	if (g_heap_mib < 1 || node_count() >= UINT32_MAX) {
		fprintf(stderr, "markbench: bad --heap-mib\n");
		return 2;
	}
	reps = o.reps ? o.reps : (o.quick ? 3 : 5);

	if (!o.inproc) {
		printf("markbench: %ld MiB graph of 64-byte nodes with %d pointers, mark_workers",
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
				bench_spawn(&o, BENCH_IMPL_TRICOLOR, extra, cas);
			}
		if (bench_impl_selected(&o, BENCH_IMPL_MALLOC))
			bench_spawn(&o, BENCH_IMPL_MALLOC, NULL, "all");
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
		return bench_finish(&o, "markbench: mark throughput (higher is better)");
	}

	for (impl = 0; impl < BENCH_IMPL_COUNT; impl++)
		if (bench_impl_selected(&o, impl))
			break;
	if (impl == BENCH_IMPL_TRICOLOR) {
		char opts[256];

		if (g_mark_workers < 1)
			g_mark_workers = g_workers[0];
		snprintf(opts, sizeof opts, "%s%smark_workers=%ld",
			 o.tri_options ? o.tri_options : "",
			 o.tri_options ? "," : "", g_mark_workers);
		bench_heap_init(impl, opts);
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
