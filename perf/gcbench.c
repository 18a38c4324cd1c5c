/* SPDX-License-Identifier: MIT */
/*
 * perf/gcbench.c - the Boehm & Ellis GCBench (binary trees), written anew.
 *
 * One run: build and drop a stretch tree (depth 18); build a long-lived
 * tree (depth 16) and an array of 500000 doubles that stay live; then for
 * depth 4, 6, ..., 16 build NumIters(depth) trees top-down (Populate: the
 * children are stored into an already published node, through TRI_STORE
 * for tricolor) and as many bottom-up (MakeTree: a node is initialised
 * before it is published), dropping each; finally check that the long-lived
 * data survived. With --threads N > 1 the temporary-tree phases run in N
 * threads at once, each doing the full work, while the long-lived data
 * stays in the main thread.
 *
 * The standard form (Boehm's GCBench.c): the node is {left, right, int i,
 * int j} = 24 bytes on LP64, kStretchTreeDepth 18, kLongLivedTreeDepth 16,
 * kArraySize 500000, kMinTreeDepth 4, kMaxTreeDepth 16, NumIters(d) =
 * 2 * TreeSize(18) / TreeSize(d). --node-bytes 32 runs the older variant
 * of this suite with {left, right, long i, long j} (32 bytes; with bdwgc's
 * all-interior-pointers extra byte it becomes a 48-byte object), reported
 * under cases "node32-Nt" so it is never mistaken for the standard form.
 *
 * Reported per implementation and thread count: wall time and CPU time
 * (user + sys of the whole process, collector threads included:
 * getrusage(RUSAGE_SELF) around each run), medians over --reps.
 *
 * Impls: tricolor, bdwgc in its Debian default configuration (all interior
 * pointers, GC_MARKERS unset: one marker per core) and bdwgc-m1
 * (GC_MARKERS=1), malloc (calloc + explicit recursive free of every
 * dropped tree: a manual-management baseline), and the Go peer.
 */
#include "bench.h"

typedef struct node {
	struct node *left, *right;
	int i, j;
} node;

_Static_assert(sizeof(node) == 24 || sizeof(void *) != 8,
	       "the GCBench node is 24 bytes on LP64");

/* --node-bytes 32: the same tree with 8 padding bytes per node. */
typedef struct node32 {
	node n;
	long pad;
} node32;

static size_t g_node_bytes = sizeof(node);

static int k_stretch = 18, k_long_lived = 16, k_min = 4, k_max = 16;
static long k_array = 500000;
static int verbose;

static node *new_node(node *l, node *r)
{
	node *n = bh_alloc(g_node_bytes);

	if (!n) {
		fprintf(stderr, "gcbench: out of memory\n");
		exit(1);
	}
	n->left = l; /* just allocated, not yet published */
	n->right = r;
	return n;
}

static void free_tree(node *n)
{
	if (bench_impl != BENCH_IMPL_MALLOC || !n)
		return;
	free_tree(n->left);
	free_tree(n->right);
	free(n);
}

static long tree_size(int depth)
{
	return (1L << (depth + 1)) - 1;
}

static long num_iters(int depth)
{
	return 2 * tree_size(k_stretch) / tree_size(depth);
}

/* Top-down: children stored into a node that is already reachable. */
static void populate(int depth, node *n)
{
	if (depth <= 0)
		return;
	depth--;
	bh_store(&n->left, new_node(NULL, NULL));
	bh_store(&n->right, new_node(NULL, NULL));
	populate(depth, n->left);
	populate(depth, n->right);
}

/* Bottom-up. */
static node *make_tree(int depth)
{
	node *l, *r;

	if (depth <= 0)
		return new_node(NULL, NULL);
	l = make_tree(depth - 1);
	r = make_tree(depth - 1);
	return new_node(l, r);
}

static void time_construction(int depth, int tid)
{
	long iters = num_iters(depth), i;
	uint64_t t0, t1, t2;

	t0 = bench_now_ns();
	for (i = 0; i < iters; i++) {
		node *tmp = new_node(NULL, NULL);

		populate(depth, tmp);
		free_tree(tmp);
	}
	t1 = bench_now_ns();
	for (i = 0; i < iters; i++) {
		node *tmp = make_tree(depth);

		free_tree(tmp);
	}
	t2 = bench_now_ns();
	if (verbose)
		printf("#   [t%d] depth %2d: %6ld trees top-down %8.1f ms, bottom-up %8.1f ms\n",
		       tid, depth, iters, (double)(t1 - t0) / 1e6,
		       (double)(t2 - t1) / 1e6);
}

static void temp_phases(int tid)
{
	int d;

	for (d = k_min; d <= k_max; d += 2)
		time_construction(d, tid);
}

static void *thread_main(void *arg)
{
	int tid = (int)(intptr_t)arg;

	bench_thread_enter();
	temp_phases(tid);
	bench_thread_leave();
	return NULL;
}

static int check_node(const node *n, int depth)
{
	/* every internal node of the long-lived tree has two children */
	if (depth <= 0)
		return n != NULL;
	return n && check_node(n->left, depth - 1) &&
	       check_node(n->right, depth - 1);
}

/* One complete GCBench run; returns wall time in ms, *cpu_ms user+sys. */
static double run_once(int nthreads, double *cpu_ms)
{
	double c0 = bench_cpu_s();
	uint64_t t0 = bench_now_ns(), t1;
	node *tmp, *long_lived;
	double *array;
	long i;

	tmp = make_tree(k_stretch);
	free_tree(tmp);
	tmp = NULL;

	long_lived = new_node(NULL, NULL);
	populate(k_long_lived, long_lived);

	array = bh_alloc_atomic((size_t)k_array * sizeof(double));
	if (!array) {
		fprintf(stderr, "gcbench: out of memory\n");
		exit(1);
	}
	for (i = 0; i < k_array / 2; i++)
		array[i] = 1.0 / (double)i;

	if (nthreads <= 1) {
		temp_phases(0);
	} else {
		pthread_t *ts = calloc((size_t)nthreads, sizeof *ts);
		int k;

		for (k = 0; k < nthreads; k++)
			if (pthread_create(&ts[k], NULL, thread_main,
					   (void *)(intptr_t)k)) {
				perror("pthread_create");
				exit(1);
			}
		for (k = 0; k < nthreads; k++)
			bench_join(ts[k]);
		free(ts);
	}

	if (!check_node(long_lived, k_long_lived) || k_array <= 1000 ||
	    array[1000] != 1.0 / 1000) {
		fprintf(stderr, "gcbench: long-lived data was corrupted!\n");
		exit(3);
	}
	t1 = bench_now_ns();
	*cpu_ms = (bench_cpu_s() - c0) * 1e3;
	tri_keep_alive(long_lived);
	tri_keep_alive(array);
	free_tree(long_lived);
	bh_free(array);
	return (double)(t1 - t0) / 1e6;
}

/* The Go version (perf/peers/go/gcbench) with the same parameters. */
static void run_go_peer(const bench_opts *o, int reps)
{
	const char *go = bench_go_peer(o->argv[0], "gcbench");
	char a[7][32], threads[256] = "";
	char *args[20];
	int i, k = 0;

	if (!go) {
		printf("# go: skipped (perf/peers/go/go-gcbench not built: run perf/peers/go/build.sh OUTDIR and set PERF_GO_DIR=OUTDIR)\n");
		return;
	}
	for (i = 0; i < o->nthreads; i++) {
		size_t l = strlen(threads);

		snprintf(threads + l, sizeof threads - l, "%s%d", i ? "," : "",
			 o->threads[i]);
	}
	snprintf(a[0], sizeof a[0], "%d", reps);
	snprintf(a[1], sizeof a[1], "%d", k_stretch);
	snprintf(a[2], sizeof a[2], "%d", k_long_lived);
	snprintf(a[3], sizeof a[3], "%d", k_min);
	snprintf(a[4], sizeof a[4], "%d", k_max);
	snprintf(a[5], sizeof a[5], "%ld", k_array);
	args[k++] = (char *)go;
	args[k++] = (char *)"-reps";
	args[k++] = a[0];
	args[k++] = (char *)"-stretch-depth";
	args[k++] = a[1];
	args[k++] = (char *)"-long-lived-depth";
	args[k++] = a[2];
	args[k++] = (char *)"-min-depth";
	args[k++] = a[3];
	args[k++] = (char *)"-max-depth";
	args[k++] = a[4];
	args[k++] = (char *)"-array";
	args[k++] = a[5];
	args[k++] = (char *)"-threads";
	args[k++] = threads;
	if (verbose)
		args[k++] = (char *)"-verbose";
	if (g_node_bytes != sizeof(node))
		args[k++] = (char *)"-node32";
	args[k] = NULL;
	bench_spawn_cmd(o, "go gcbench", "go", "all", args, 0);
}

static void usage(void)
{
	printf("usage: gcbench [flags]\n"
	       "  --stretch-depth N  (18; quick 16)   --long-lived-depth N (16; quick 14)\n"
	       "  --min-depth N      (4)             --max-depth N        (16; quick 14)\n"
	       "  --array N          doubles in the long-lived array (500000)\n"
	       "  --verbose          per-depth times\n"
	       "  --node-bytes 24|32 node size: 24 is Boehm's GCBench (default); 32 is the\n"
	       "                     older variant, reported as cases node32-Nt\n"
	       "  default --threads 1,2 (N > 1: N threads run the temporary-tree phases),\n"
	       "  --reps 3 (quick 1); impls tricolor,bdwgc,malloc (explicit free),\n"
	       "  go (go-gcbench from $PERF_GO_DIR or <dir of this program>/peers/go)\n");
	bench_usage_common(stdout);
}

int main(int argc, char **argv)
{
	bench_opts o;
	int i, j, impl, reps, set_s = 0, set_l = 0, set_m = 0;
	long v;

	bench_opts_init(&o, argc, argv);
	o.bench = "gcbench";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		if (!strcmp(argv[i], "--verbose")) {
			verbose = 1;
			continue;
		}
		if (bench_common_flag(&o, argc, argv, &i))
			continue;
		if (bench_flag_long(argc, argv, &i, "--stretch-depth", &v)) {
			k_stretch = (int)v;
			set_s = 1;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--long-lived-depth", &v)) {
			k_long_lived = (int)v;
			set_l = 1;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--min-depth", &v)) {
			k_min = (int)v;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--max-depth", &v)) {
			k_max = (int)v;
			set_m = 1;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--array", &k_array))
			continue;
		if (bench_flag_long(argc, argv, &i, "--node-bytes", &v)) {
			if (v != 24 && v != 32) {
				fprintf(stderr, "gcbench: --node-bytes is 24 or 32\n");
				return 2;
			}
			g_node_bytes = v == 24 ? sizeof(node) : sizeof(node32);
			continue;
		}
		bench_bad_flag(&o, argv[i]);
	}
	if (o.quick) {
		if (!set_s)
			k_stretch = 16;
		if (!set_l)
			k_long_lived = 14;
		if (!set_m)
			k_max = 14;
	}
	if (k_stretch < 1 || k_stretch > 30 || k_long_lived < 0 ||
	    k_long_lived > 30 || k_min < 1 || k_max < k_min || k_max > 30 ||
	    k_array < 1001) {
		fprintf(stderr, "gcbench: bad depths or array size\n");
		return 2;
	}
	reps = o.reps ? o.reps : (o.quick ? 1 : 3);
	if (!o.nthreads) {
		o.threads[0] = 1;
		o.threads[1] = 2;
		o.nthreads = 2;
	}
	if (!o.inproc) {
		printf("gcbench: %s: %zu-byte nodes, stretch depth %d, long-lived depth %d, array %ld doubles, temporary trees depth %d..%d step 2, threads",
		       g_node_bytes == sizeof(node) ? "Boehm's standard form"
						    : "NOT the standard form (32-byte node variant)",
		       g_node_bytes, k_stretch, k_long_lived, k_array, k_min,
		       k_max);
		for (i = 0; i < o.nthreads; i++)
			printf("%s%d", i ? "," : " ", o.threads[i]);
		printf(", %d reps\n", reps);
		for (impl = 0; impl < BENCH_IMPL_COUNT; impl++)
			if (impl != BENCH_IMPL_MALLOC_NOFREE &&
			    (impl == BENCH_IMPL_BDWGC_M1
				     ? bench_impl_selected_m1(&o)
				     : bench_impl_selected(&o, impl))) {
				printf("# [gcbench] running %s ...\n",
				       bench_impl_name(impl));
				bench_spawn(&o, impl, NULL, "all");
			}
		if (bench_go_selected(&o))
			run_go_peer(&o, reps);
		return bench_finish(&o, "gcbench: wall time and user+sys CPU time, ms (lower is better; bdwgc = Debian default: all interior pointers, one marker per core; bdwgc-m1 = GC_MARKERS=1)");
	}

	for (impl = 0; impl < BENCH_IMPL_COUNT; impl++)
		if (bench_impl_selected(&o, impl))
			break;
	if (impl == BENCH_IMPL_MALLOC_NOFREE || !bench_impl_available(impl)) {
		fprintf(stderr, "gcbench: impl %s not supported here\n",
			bench_impl_name(impl));
		return 1;
	}
	bench_heap_init(impl, o.tri_options);
	for (j = 0; j < o.nthreads; j++) {
		uint64_t gc0 = bench_gc_cycles(), gc1;
		char cas[32];
		bench_stats s, c;
		double *wall = calloc((size_t)reps, sizeof *wall);
		double *cpu = calloc((size_t)reps, sizeof *cpu);
		int r;

		if (!wall || !cpu) {
			perror("calloc");
			return 1;
		}
		for (r = 0; r < reps; r++)
			wall[r] = run_once(o.threads[j], &cpu[r]);
		s = bench_stats_of(wall, reps);
		c = bench_stats_of(cpu, reps);
		free(wall);
		free(cpu);
		gc1 = bench_gc_cycles();
		snprintf(cas, sizeof cas, "%s%dt",
			 g_node_bytes == sizeof(node) ? "" : "node32-",
			 o.threads[j]);
		printf("# %-9s %-4s median wall %9.1f ms (min %.1f, max %.1f), user+sys CPU %9.1f ms, over %d reps, %llu GC cycles\n",
		       bench_impl_name(impl), cas, s.median, s.min, s.max,
		       c.median, reps, (unsigned long long)(gc1 - gc0));
		bench_emit("gcbench", cas, bench_impl_csv(impl), "time", "ms",
			   s);
		bench_emit("gcbench", cas, bench_impl_csv(impl), "cpu", "ms",
			   c);
		if (impl != BENCH_IMPL_MALLOC)
			bench_emit("gcbench", cas, bench_impl_csv(impl),
				   "gc_cycles", "cycles",
				   bench_stats_one((double)(gc1 - gc0) / reps));
	}
	bench_emit("gcbench", "all", bench_impl_csv(impl), "peak_rss", "MiB",
		   bench_stats_one(bench_peak_rss_mib()));
	return bench_finish(&o, "gcbench (single impl)");
}
