/* SPDX-License-Identifier: MIT */
/*
 * perf/layoutbench.c - what precise object layouts buy the marker.
 *
 * A complete binary tree (--tree-depth D, default 20: 2^21 - 1 nodes;
 * quick 17) of GCBench-like nodes with a 64-byte payload:
 *     struct { node *left, *right; uint64_t i, j; uint64_t pay[8]; }
 * (96 bytes: 2 pointer words of 12), built bottom-up and held from one
 * root, then --reps full collections, each in its own process:
 *   - tricolor conservative: tri_alloc (every word scanned);
 *   - tricolor typed: tri_alloc_typed with a layout naming left and right
 *     (tri_layout_make);
 *   - bdwgc conservative: GC_malloc;
 *   - bdwgc typed: GC_malloc_explicitly_typed with GC_make_descriptor.
 * Each block is 112 bytes in all four (96 + an 8-byte layout word rounded
 * to 16 in the typed cases; 96 + bdwgc's extra byte rounded to 16, or the
 * size class, in the conservative ones).
 * The payload holds what real payloads hold: random 64-bit values (hashes,
 * counters); they rarely fall inside the heap, so the conservative scan
 * pays for reading and range-testing them rather than for retention.
 *
 * Mark time: /gc/mark/last:nanoseconds for tricolor, GC_EVENT_MARK_START
 * to GC_EVENT_MARK_END for bdwgc. MiB/s = nodes x 96 B / mark time (the
 * same numerator for every row). Also the wall time and user+sys CPU of
 * the whole collection call (CPU beside wall: the markers are other
 * threads). Cases are named by scan mode and marker count: "cons-1m",
 * "typed-1m" (tricolor mark_workers=1, bdwgc GC_MARKERS=1) and "cons-2m",
 * "typed-2m" (tricolor mark_workers=2, bdwgc default: one marker per
 * core). The parent prints typed/conservative for each collector.
 */
#include "bench.h"

#ifdef HAVE_BDWGC
#include <gc/gc_typed.h>
#endif

typedef struct lnode {
	struct lnode *left, *right;
	uint64_t i, j;
	uint64_t pay[8];
} lnode;

_Static_assert(sizeof(lnode) == 96, "96-byte nodes");

static long g_depth = 20;
static long g_mark_workers = 1; /* child, tricolor */
static int g_typed;		/* child: typed allocation */
static lnode *g_root;		/* registered root (tricolor) */
static const tri_layout *g_layout;
#ifdef HAVE_BDWGC
static GC_descr g_descr;
#endif
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rng(void)
{
	return bench_xorshift(&rng_state);
}

static lnode *node_alloc(void)
{
	if (bench_impl == BENCH_IMPL_TRICOLOR)
		return g_typed ? tri_alloc_typed(g_layout) : tri_alloc(sizeof(lnode));
#ifdef HAVE_BDWGC
	return g_typed ? GC_malloc_explicitly_typed(sizeof(lnode), g_descr) : GC_malloc(sizeof(lnode));
#else
	return NULL;
#endif
}

static long g_next;

static lnode *tree_make(long depth)
{
	lnode *n = node_alloc(), *l = NULL, *r = NULL;
	int k;

	if (depth > 0) {
		l = tree_make(depth - 1);
		r = tree_make(depth - 1);
	}
	if (!n) {
		fprintf(stderr, "layoutbench: out of memory building the tree\n");
		exit(1);
	}
	n->left = l; /* n is not yet published: plain stores */
	n->right = r;
	n->i = (uint64_t)g_next++;
	n->j = (uint64_t)depth;
	for (k = 0; k < 8; k++)
		n->pay[k] = rng();
	return n;
}

static long tree_check(const lnode *n, long depth)
{
	if (!n || n->j != (uint64_t)depth)
		return -1000000000L;
	if (depth == 0)
		return n->left || n->right ? -1000000000L : 1;
	return 1 + tree_check(n->left, depth - 1) + tree_check(n->right, depth - 1);
}

static void run(int reps)
{
	long nodes = (1L << (g_depth + 1)) - 1;
	double mib = (double)nodes * (double)sizeof(lnode) / 1048576.0;
	const char *impl = bench_impl_csv(bench_impl);
	int markers, old_pct = 0;
	uint64_t t0;
	char cas[64], label[64];
	bench_mark_series m;

	if (bench_impl == BENCH_IMPL_TRICOLOR) {
		static const size_t offs[] = { offsetof(lnode, left), offsetof(lnode, right) };

		markers = (int)g_mark_workers;
		g_layout = tri_layout_make(sizeof(lnode), offs, 2);
		if (!g_layout) {
			perror("tri_layout_make");
			exit(1);
		}
		tri_add_roots(&g_root, &g_root + 1);
		old_pct = tri_gc_percent(-1); /* build without collecting */
	} else {
		markers = bench_bdwgc_markers();
		bench_bdwgc_record_pauses(); /* also records the mark time */
#ifdef HAVE_BDWGC
		{
			GC_word bm[GC_BITMAP_SIZE(lnode)] = { 0 };

			GC_set_bit(bm, GC_WORD_OFFSET(lnode, left));
			GC_set_bit(bm, GC_WORD_OFFSET(lnode, right));
			g_descr = GC_make_descriptor(bm, GC_WORD_LEN(lnode));
		}
		GC_disable();
#endif
	}
	t0 = bench_now_ns();
	g_next = 0;
	g_root = tree_make(g_depth);
#ifdef HAVE_BDWGC
	if (bench_impl != BENCH_IMPL_TRICOLOR)
		GC_enable();
#endif
	printf("# %s %s (%d marker%s): built a depth-%ld tree, %ld nodes x %zu B (%.0f MiB) in %.1f ms\n",
	       impl, g_typed ? "typed" : "conservative", markers, markers == 1 ? "" : "s", g_depth, nodes,
	       sizeof(lnode), mib, (double)(bench_now_ns() - t0) / 1e6);
	snprintf(label, sizeof label, "%s %s %dm", impl, g_typed ? "typed" : "cons", markers);
	bench_mark_series_run(&m, reps, mib, label);
	if (tree_check(g_root, g_depth) != nodes) {
		fprintf(stderr, "layoutbench: the tree is damaged after collection\n");
		exit(4);
	}
	if (bench_impl == BENCH_IMPL_TRICOLOR)
		tri_gc_percent(old_pct);
	snprintf(cas, sizeof cas, "%s-%dm", g_typed ? "typed" : "cons", markers > 1 ? 2 : 1);
	bench_mark_series_emit(&m, "layout", cas, impl);
	tri_keep_alive(g_root);
	bench_mark_series_free(&m);
}

static void usage(void)
{
	printf("usage: layoutbench [flags]\n"
	       "  --tree-depth D   2^(D+1)-1 nodes of 96 bytes (20; quick 17)\n"
	       "  impls: tricolor (mark_workers 1 and 2), bdwgc (GC_MARKERS=1 and default);\n"
	       "  each conservative and typed\n"
	       "  default --reps 5 (quick 3) collections\n");
	bench_usage_common(stdout);
}

static void ratio(const char *label, const char *impl, const char *m)
{
	char c[32], t[32];
	double vc, vt;

	snprintf(c, sizeof c, "cons-%s", m);
	snprintf(t, sizeof t, "typed-%s", m);
	if (bench_lookup("layout", c, impl, "mark_rate", &vc) &&
	    bench_lookup("layout", t, impl, "mark_rate", &vt) && vc > 0)
		printf("  %-24s %s: conservative %.0f MiB/s, typed %.0f MiB/s: x%.2f\n", label, m, vc, vt,
		       vt / vc);
}

int main(int argc, char **argv)
{
	bench_opts o;
	int i, reps, impl, set_depth = 0, ty;
	long v;

	bench_opts_init(&o, argc, argv);
	o.bench = "layout";
	for (i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
			usage();
			return 0;
		}
		if (bench_common_flag(&o, argc, argv, &i))
			continue;
		if (bench_flag_long(argc, argv, &i, "--tree-depth", &v)) {
			g_depth = v;
			set_depth = 1;
			continue;
		}
		if (bench_flag_long(argc, argv, &i, "--mark-workers", &g_mark_workers))
			continue;
		if (!strcmp(argv[i], "--typed")) {
			g_typed = 1;
			continue;
		}
		bench_bad_flag(&o, argv[i]);
	}
	if (o.quick && !set_depth)
		g_depth = 17;
	if (g_depth < 1 || g_depth > 26) {
		fprintf(stderr, "layoutbench: --tree-depth must be 1..26\n");
		return 2;
	}
	reps = o.reps ? o.reps : (o.quick ? 3 : 5);

	if (!o.inproc) {
		printf("layoutbench: full collections of a live depth-%ld tree of 96-byte nodes (2 pointers, 2 integers, 64-byte payload; %ld nodes), %d collections each\n",
		       g_depth, (1L << (g_depth + 1)) - 1, reps);
		for (ty = 0; ty < 2; ty++) {
			const char *t1[] = { "--mark-workers", "1", ty ? "--typed" : NULL, NULL };
			const char *t2[] = { "--mark-workers", "2", ty ? "--typed" : NULL, NULL };
			const char *b[] = { ty ? "--typed" : NULL, NULL };
			char c1[32], c2[32];

			snprintf(c1, sizeof c1, "%s-1m", ty ? "typed" : "cons");
			snprintf(c2, sizeof c2, "%s-2m", ty ? "typed" : "cons");
			if (bench_impl_selected(&o, BENCH_IMPL_TRICOLOR)) {
				printf("# [layoutbench] tricolor %s mark_workers=1 ...\n", ty ? "typed" : "conservative");
				bench_spawn(&o, BENCH_IMPL_TRICOLOR, t1, c1);
				printf("# [layoutbench] tricolor %s mark_workers=2 ...\n", ty ? "typed" : "conservative");
				bench_spawn(&o, BENCH_IMPL_TRICOLOR, t2, c2);
			}
			if (bench_impl_selected_m1(&o)) {
				printf("# [layoutbench] bdwgc %s GC_MARKERS=1 ...\n", ty ? "typed" : "conservative");
				bench_spawn(&o, BENCH_IMPL_BDWGC_M1, b, c1);
			}
			if (bench_impl_selected(&o, BENCH_IMPL_BDWGC)) {
				printf("# [layoutbench] bdwgc %s default markers ...\n", ty ? "typed" : "conservative");
				bench_spawn(&o, BENCH_IMPL_BDWGC, b, c2);
			}
		}
		printf("\ntyped / conservative mark rate (same collector, same markers; > 1: the layout helps):\n");
		ratio("tricolor", "tricolor", "1m");
		ratio("tricolor", "tricolor", "2m");
		ratio("bdwgc GC_MARKERS=1", "bdwgc", "1m");
		ratio("bdwgc default", "bdwgc", "2m");
		return bench_finish(&o, "layoutbench: mark throughput, conservative vs typed (higher is better; 1m: one marker each, 2m: tricolor 2 workers vs bdwgc default)");
	}

	for (impl = 0; impl < BENCH_IMPL_COUNT; impl++)
		if (bench_impl_selected(&o, impl))
			break;
	if (impl == BENCH_IMPL_BDWGC || impl == BENCH_IMPL_BDWGC_M1) {
		if (!bench_impl_available(impl)) {
			fprintf(stderr, "layoutbench: bdwgc not built in\n");
			return 1;
		}
		bench_heap_init(impl, NULL);
		run(reps);
	} else if (impl == BENCH_IMPL_TRICOLOR) {
		char opts[256];

		snprintf(opts, sizeof opts, "%s%smark_workers=%ld", o.tri_options ? o.tri_options : "",
			 o.tri_options ? "," : "", g_mark_workers);
		bench_heap_init(impl, opts);
		run(reps);
	} else {
		fprintf(stderr, "layoutbench: impl %s not supported (tricolor, bdwgc, bdwgc-m1)\n",
			bench_impl_name(impl));
		return 1;
	}
	return bench_finish(&o, "layoutbench (single impl)");
}
