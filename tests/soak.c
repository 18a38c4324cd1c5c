/* SPDX-License-Identifier: MIT */
/*
 * tests/soak.c - the long soak (`make stress`; a short run in `make check`).
 *
 * Threads mutate a shared random graph through tri_store (a registered root
 * array of slots, nodes with four edges and a checksum), attach and detach
 * (each worker retires and is replaced now and then), block and unblock
 * (inside blocking regions, and half the time in a 3 ms sleep without one,
 * which the collector preempts with a signal, src/runtime/preempt.c),
 * register finalizers and cleanups (some cleanups stopped, some finalizers
 * re-armed, some resurrecting their object into a root), and call
 * tri_collect at random, with debug=checkmark+poison on. Every callback
 * carries a token; a table outside the heap records what each token did.
 *
 * Exit status 1 on: a node whose checksum is wrong (corruption, or memory
 * freed while reachable and reused or poisoned), a callback run twice, a
 * stopped cleanup that runs, a finalizer that sees a corrupted object, or
 * lost callbacks (after the graph is dropped and several collections, every
 * registered, unstopped callback must have run, but for a small allowance
 * for conservative retention by stale stack words).
 *
 *   TRI_SOAK_SECONDS (default 600), TRI_SOAK_THREADS (default 4)
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <tricolor.h>
#include <unistd.h>

#define SLOTS 4096
#define MAXTOK (1u << 26) /* a byte per callback: enough for 10 minutes at full speed */
#define MAGIC 0x5eed5eed5eed5eedull

struct node {
	uint64_t id;
	uint64_t check;
	struct node *edge[4];
	uint32_t token; /* finalizer token, 0 if none */
	uint32_t rearm;
};

enum { T_FREE = 0, T_FIN, T_CLN, T_CLN_STOPPED, T_RAN };

static struct node *slots[SLOTS];    /* registered root range */
static struct node *resurrected[64]; /* registered root range */
/* Finalizer objects live only here: no node ever points to one, so none is
 * part of a cycle (never finalized, by Go's rule) or of a long chain of
 * finalizer objects (one cycle per link), and dropping it is enough. */
static struct node *fslots[256]; /* registered root range */
static uint8_t tok_state[MAXTOK];    /* malloc-free bookkeeping, never scanned */
static uint32_t tok_next = 1;
static int stop; /* atomic */
static uint64_t n_alloc, n_fin_run, n_cln_run, n_stopped, n_collect, n_attach, n_block, n_resurrect;
static uint64_t n_unbracketed;
static int failed;

static uint64_t sum(const struct node *n)
{
	return (n->id * 0x9e3779b97f4a7c15ull) ^ MAGIC;
}

static void fail(const char *what, const void *p)
{
	fprintf(stderr, "soak: FAILED: %s (%p)\n", what, p);
	__atomic_store_n(&failed, 1, __ATOMIC_SEQ_CST);
	abort();
}

static void check_node(const struct node *n)
{
	if (n && n->check != sum(n))
		fail("node checksum mismatch: corruption or use after free", n);
}

static uint32_t new_token(uint8_t state)
{
	uint32_t t = __atomic_fetch_add(&tok_next, 1, __ATOMIC_RELAXED);
	if (t >= MAXTOK)
		return 0;
	__atomic_store_n(&tok_state[t], state, __ATOMIC_RELAXED);
	return t;
}

static void ran(uint32_t t, uint8_t expect_a, uint8_t expect_b)
{
	uint8_t s = __atomic_exchange_n(&tok_state[t], T_RAN, __ATOMIC_SEQ_CST);
	if (s == T_RAN)
		fail("callback ran twice", (void *)(uintptr_t)t);
	if (s == T_CLN_STOPPED)
		fail("a stopped cleanup ran", (void *)(uintptr_t)t);
	if (s != expect_a && s != expect_b)
		fail("callback token in an unexpected state", (void *)(uintptr_t)t);
}

static void finalizer(void *obj)
{
	struct node *n = obj;
	check_node(n);
	for (int k = 0; k < 4; k++)
		check_node(n->edge[k]);
	ran(n->token, T_FIN, T_FIN);
	__atomic_fetch_add(&n_fin_run, 1, __ATOMIC_RELAXED);
	unsigned r = (unsigned)n->id % 16;
	if (r == 0) {
		/* Resurrect: the object lives on in a root, finalizer cleared. */
		tri_store(&resurrected[n->id % 64], n);
		__atomic_fetch_add(&n_resurrect, 1, __ATOMIC_RELAXED);
	} else if (r == 1 && n->rearm < 2) {
		/* Re-arm: a new token, the finalizer runs again next time. */
		n->rearm++;
		n->token = new_token(T_FIN);
		if (n->token)
			tri_set_finalizer(n, finalizer);
	}
}

static void cleanup(void *arg)
{
	uint32_t t = (uint32_t)(uintptr_t)arg;
	ran(t, T_CLN, T_CLN);
	__atomic_fetch_add(&n_cln_run, 1, __ATOMIC_RELAXED);
}

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

static struct node *new_node(uint64_t id)
{
	struct node *n = tri_alloc(sizeof *n);
	if (!n)
		fail("tri_alloc returned NULL", NULL);
	n->id = id;
	n->check = sum(n);
	__atomic_fetch_add(&n_alloc, 1, __ATOMIC_RELAXED);
	return n;
}

static void step(uint64_t *seed)
{
	uint64_t r = rnd(seed);
	unsigned s = (unsigned)(r % SLOTS), op = (unsigned)((r >> 16) % 1000);
	struct node *n = tri_load(&slots[s]);
	if (op < 500) {
		struct node *m = new_node(r >> 20);
		for (int k = 0; k < 4; k++)
			m->edge[k] = tri_load(&slots[(s + k * 97) % SLOTS]); /* unpublished: plain init */
		tri_store(&slots[s], m);
		/* The replaced node may stay reachable through other nodes' edges;
		 * cutting its own edges (through the barrier, while others may walk
		 * it) keeps the live graph bounded instead of an ever deeper DAG. */
		if (n)
			for (int k = 0; k < 4; k++)
				tri_store(&n->edge[k], NULL);
	} else if (op < 750) {
		if (n)
			tri_store(&n->edge[r % 4], tri_load(&slots[(r >> 24) % SLOTS]));
	} else if (op < 900) {
		/* Walk a few hops, checking every node. */
		for (int h = 0; h < 8 && n; h++) {
			check_node(n);
			n = tri_load(&n->edge[(r >> (h * 2)) % 4]);
		}
	} else if (op < 950) {
		tri_store(&slots[s], NULL);
	} else if (op < 975) {
		struct node *m = new_node(r >> 20);
		m->token = new_token(T_FIN);
		if (m->token)
			tri_set_finalizer(m, finalizer);
		m->edge[0] = n; /* its referents are graph nodes: kept until it runs */
		tri_store(&fslots[s % 256], m);
	} else if (op < 995) {
		struct node *m = new_node(r >> 20);
		uint32_t t = new_token(T_CLN);
		if (t) {
			tri_cleanup c = tri_add_cleanup(m, cleanup, (void *)(uintptr_t)t);
			if (r % 4 == 0) {
				/* Stop it while the object is still reachable (from m). */
				__atomic_store_n(&tok_state[t], T_CLN_STOPPED, __ATOMIC_SEQ_CST);
				tri_cleanup_stop(c);
				__atomic_fetch_add(&n_stopped, 1, __ATOMIC_RELAXED);
			}
		}
		tri_store(&slots[s], m);
		tri_keep_alive(m);
	} else if (op < 998) {
		if (r & 1) {
			tri_blocking_enter();
			usleep(50);
			tri_blocking_leave();
		} else {
			/* Blocking without saying so, n live in a register or
			 * on the stack: the collector preempts the sleep
			 * (runtime/preempt.c) instead of waiting for it. */
			usleep(3000);
			if (n)
				check_node(n);
			__atomic_fetch_add(&n_unbracketed, 1, __ATOMIC_RELAXED);
		}
		__atomic_fetch_add(&n_block, 1, __ATOMIC_RELAXED);
	} else {
		tri_collect();
		__atomic_fetch_add(&n_collect, 1, __ATOMIC_RELAXED);
	}
}

static void *worker(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg * 0x2545f4914f6cdd1dull + 1;
	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		tri_thread_attach();
		__atomic_fetch_add(&n_attach, 1, __ATOMIC_RELAXED);
		for (int i = 0; i < 20000 && !__atomic_load_n(&stop, __ATOMIC_RELAXED); i++)
			step(&seed);
		tri_thread_detach(); /* retire and come back as a "new" thread */
	}
	return NULL;
}

__attribute__((noinline)) static void scrub_stack(void)
{
	volatile char buf[16384];
	memset((char *)buf, 0, sizeof buf);
}

int main(void)
{
	const char *e = getenv("TRI_SOAK_SECONDS");
	int seconds = e ? atoi(e) : 600;
	e = getenv("TRI_SOAK_THREADS");
	int nthreads = e ? atoi(e) : 4;
	if (nthreads < 1 || nthreads > 64)
		nthreads = 4;
	const char *opts = getenv("TRI_SOAK_OPTIONS");
	if (tri_init(opts ? opts : "debug=checkmark+poison,slow_finalizer_ms=5000"))
		return 2;
	tri_add_roots(slots, slots + SLOTS);
	tri_add_roots(resurrected, resurrected + 64);
	tri_add_roots(fslots, fslots + 256);
	pthread_t th[64];
	for (int i = 0; i < nthreads; i++)
		pthread_create(&th[i], NULL, worker, (void *)(uintptr_t)(i + 1));
	time_t end = time(NULL) + seconds, last = time(NULL);
	while (time(NULL) < end) {
		tri_blocking_enter();
		sleep(1);
		tri_blocking_leave();
		if (time(NULL) - last >= 30) {
			last = time(NULL);
			uint64_t cyc;
			tri_read_metric("/gc/cycles/total:gc-cycles", &cyc);
			printf("soak: %lds: %llu cycles, %llu objects, %llu finalizers and %llu cleanups run\n",
			       (long)(seconds - (end - last)), (unsigned long long)cyc,
			       (unsigned long long)n_alloc, (unsigned long long)n_fin_run,
			       (unsigned long long)n_cln_run);
			fflush(stdout);
		}
	}
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
	tri_blocking_enter();
	for (int i = 0; i < nthreads; i++)
		pthread_join(th[i], NULL);
	tri_blocking_leave();

	/* Drop everything; finalizers may re-arm or resurrect, so collect
	 * several times. Resurrected objects are dropped too. */
	for (int round = 0; round < 8; round++) {
		for (int i = 0; i < SLOTS; i++)
			tri_store(&slots[i], NULL);
		for (int i = 0; i < 64; i++)
			tri_store(&resurrected[i], NULL);
		for (int i = 0; i < 256; i++)
			tri_store(&fslots[i], NULL);
		scrub_stack();
		tri_collect();
		if (tri_drain(60000)) {
			fprintf(stderr, "soak: FAILED: tri_drain timed out\n");
			return 1;
		}
	}
	uint32_t tokens = tok_next < MAXTOK ? tok_next : MAXTOK;
	uint64_t pending_fin = 0, pending_cln = 0, registered = 0;
	for (uint32_t t = 1; t < tokens; t++) {
		uint8_t s = tok_state[t];
		if (s == T_FIN)
			pending_fin++;
		if (s == T_CLN)
			pending_cln++;
		if (s != T_CLN_STOPPED)
			registered++;
	}
	uint64_t cyc, fq, fe, cq, ce, pmax;
	tri_read_metric("/gc/cycles/total:gc-cycles", &cyc);
	tri_read_metric("/gc/finalizers/queued:finalizers", &fq);
	tri_read_metric("/gc/finalizers/executed:finalizers", &fe);
	tri_read_metric("/gc/cleanups/queued:cleanups", &cq);
	tri_read_metric("/gc/cleanups/executed:cleanups", &ce);
	tri_read_metric("/gc/pauses/max:nanoseconds", &pmax);
	uint64_t psig, pact;
	tri_read_metric("/sched/preempt/signals:signals", &psig);
	tri_read_metric("/sched/preempt/acted:signals", &pact);
	printf("soak: %d s, %d threads (%llu attaches), %llu cycles (%llu by tri_collect), %llu objects, "
	       "%llu finalizers run (%llu resurrected), %llu cleanups run, %llu cleanups stopped, "
	       "%llu blocking regions, max pause %.1f us\n",
	       seconds, nthreads, (unsigned long long)n_attach, (unsigned long long)cyc,
	       (unsigned long long)n_collect, (unsigned long long)n_alloc, (unsigned long long)n_fin_run,
	       (unsigned long long)n_resurrect, (unsigned long long)n_cln_run,
	       (unsigned long long)n_stopped, (unsigned long long)n_block, (double)pmax / 1e3);
	printf("soak: %llu sleeps outside a blocking region; %llu preemption signals, %llu acted\n",
	       (unsigned long long)n_unbracketed, (unsigned long long)psig, (unsigned long long)pact);
	printf("soak: callbacks not run after the graph was dropped: %llu finalizers, %llu cleanups (of %llu registered)\n",
	       (unsigned long long)pending_fin, (unsigned long long)pending_cln, (unsigned long long)registered);
	if (fq != fe || cq != ce) {
		fprintf(stderr, "soak: FAILED: queued and executed callbacks differ after drain\n");
		return 1;
	}
	/* Conservative scanning may retain a few objects through stale words;
	 * more than 1% unrun means callbacks are being lost. */
	if ((pending_fin + pending_cln) * 100 > registered + 100) {
		fprintf(stderr, "soak: FAILED: lost callbacks\n");
		return 1;
	}
	printf("soak: OK\n");
	return failed;
}
