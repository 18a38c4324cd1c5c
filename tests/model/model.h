/* SPDX-License-Identifier: MIT */
/*
 * model.h - model-based test engine for tricolor's finalizer and cleanup
 * semantics (Go's runtime.SetFinalizer / runtime.AddCleanup rules), shared
 * by tests/test_model.c (Check, seeded random sequences) and
 * tests/model/fuzz_model.c (libFuzzer entry point).
 *
 * The engine drives operations against the real heap and against a small
 * reference model that computes reachability itself:
 *   objects   tri_alloc'd struct mobj_heap {tag, slot[MODEL_K]}; the tag
 *             holds the object's id (odd, never looks like a pointer);
 *   roots     model_roots[MODEL_ROOTS], a registered static array, and
 *             model_res[], a registered array where "resurrecting"
 *             finalizers store their object;
 *   ops       alloc (into a root slot), link (obj.slot = other, sometimes an
 *             interior pointer), unlink, move/drop a root, set/clear a
 *             finalizer (plain or resurrecting), add a cleanup (arg: a
 *             malloc'd record, NULL, or another heap object; ptr: base or
 *             interior), stop a cleanup (pending, ran or already stopped),
 *             drop a resurrected object, make a weak handle (base or
 *             interior pointer; kept in model_weak[], a registered array),
 *             collect.
 * After every tri_collect + tri_drain the events logged by the callbacks are
 * checked against the model:
 *   Rmin = everything reachable from the root slots, the resurrected slots,
 *          the args of pending cleanups and the referents of every object
 *          that has a finalizer (Go marks finalizer referents, not the
 *          object itself: dependency order, cycles never finalized).
 *   A finalizer may run only for an object that has one (no double run,
 *   cleared once run) and is outside Rmin. A cleanup may run only if it is
 *   pending (not run, not stopped), its object is outside Rmin and the
 *   object had no finalizer at the start of the cycle (the finalizer runs
 *   first; cleanups wait until the object is unreachable again).
 *   Safety violations fail at once. Liveness: every event the model expects
 *   (object outside Rmin) must happen; conservative scanning may retain an
 *   object by chance, so a missing event triggers up to 3 immediate retry
 *   collects, and an event still missing after 4 consecutive collects fails.
 * Weak handles (Go's weak.Pointer rules), checked after every collection:
 *   a handle reads the original pointer or NULL, nothing else; once NULL,
 *   NULL forever; it must not read NULL while its object is in Rmin unless
 *   the object's finalizer ran since the handle was made (a weak pointer
 *   reads NULL once the finalizer is queued, resurrected or not); and a
 *   handle of an object outside Rmin must read NULL within the same retry
 *   budget as a due callback. Handles made again from an equal pointer must
 *   be equal while the object lives, and differ from a handle that already
 *   reads NULL.
 * The model's state is the observed state (a finalizer is cleared when its
 * run is seen), so after a delay everything stays exact.
 *
 * Robustness against conservative retention: the engine runs on a helper
 * thread; object addresses are kept only XOR-masked in malloc'd tables the
 * collector does not scan; collections are started from a noinline function
 * after scrubbing 32 KiB of stack. The heap runs with gc_percent=off so
 * that only the engine's own tri_collect calls start cycles.
 *
 * Callbacks identify themselves through the event log: finalizers log the
 * object's id; cleanups come from a table of MODEL_NFN distinct functions,
 * and the engine never has two pending cleanups with the same (function,
 * arg) pair, so every cleanup event names exactly one cleanup.
 */
#ifndef TRI_MODEL_H
#define TRI_MODEL_H

#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <tricolor.h>

#define MODEL_K 3	    /* pointer slots per object */
#define MODEL_ROOTS 8	    /* root table slots */
#define MODEL_CAP 1024	    /* objects per sequence (ids are seq_base + index) */
#define MODEL_NFN 16	    /* distinct cleanup functions */
#define MODEL_MASK 0xa5c3f00d5a3c0ff1ull
#define MODEL_RECMAGIC 0x4d4f44454c524543ull
#define MODEL_RETRIES 3

struct mobj_heap {
	uint64_t tag; /* (id << 1) | 1 */
	void *slot[MODEL_K];
};

enum { EV_FIN = 1, EV_CLN_REC, EV_CLN_NULL, EV_CLN_OBJ };

struct model_ev {
	uint32_t kind, fni;
	uint64_t key;
	int ready;
};

/* Registered roots (the only places the program keeps heap pointers). */
static void *model_roots[MODEL_ROOTS];
static void *model_res[MODEL_CAP];
static tri_weak model_weak[MODEL_CAP]; /* registered too: keeps the cells */

/* Event log, written by the finalizer thread and cleanup workers. */
#define MODEL_EVCAP 65536
static struct model_ev *model_evlog;
static unsigned model_evn;
static uint64_t model_seq_base; /* id of object index 0 of this sequence */

static void model_log(uint32_t kind, uint32_t fni, uint64_t key)
{
	unsigned i = __atomic_fetch_add(&model_evn, 1, __ATOMIC_SEQ_CST);
	if (i >= MODEL_EVCAP)
		return;
	model_evlog[i].kind = kind;
	model_evlog[i].fni = fni;
	model_evlog[i].key = key;
	__atomic_store_n(&model_evlog[i].ready, 1, __ATOMIC_RELEASE);
}

static void model_fin_plain(void *obj)
{
	model_log(EV_FIN, 1, ((struct mobj_heap *)obj)->tag >> 1);
}

/* Resurrects its object into model_res[index]. */
static void model_fin_res(void *obj)
{
	uint64_t id = ((struct mobj_heap *)obj)->tag >> 1;
	uint64_t li = id - __atomic_load_n(&model_seq_base, __ATOMIC_SEQ_CST);
	model_log(EV_FIN, 2, id);
	if (li < MODEL_CAP)
		tri_store(&model_res[li], obj);
}

static void model_cln_common(uint32_t i, void *arg)
{
	if (!arg) {
		model_log(EV_CLN_NULL, i, 0);
	} else if (((uint64_t *)arg)[0] == MODEL_RECMAGIC) {
		uint64_t cid = ((uint64_t *)arg)[1];
		free(arg);
		model_log(EV_CLN_REC, i, cid);
	} else {
		model_log(EV_CLN_OBJ, i, ((struct mobj_heap *)arg)->tag >> 1);
	}
}

#define MODEL_CFN(i)                                                           \
	static void model_cln_##i(void *a)                                     \
	{                                                                      \
		model_cln_common(i, a);                                        \
	}
MODEL_CFN(0) MODEL_CFN(1) MODEL_CFN(2) MODEL_CFN(3) MODEL_CFN(4) MODEL_CFN(5) MODEL_CFN(6)
MODEL_CFN(7) MODEL_CFN(8) MODEL_CFN(9) MODEL_CFN(10) MODEL_CFN(11) MODEL_CFN(12)
MODEL_CFN(13) MODEL_CFN(14) MODEL_CFN(15)
static void (*const model_cfn[MODEL_NFN])(void *) = {
	model_cln_0,  model_cln_1,  model_cln_2,  model_cln_3,	model_cln_4,  model_cln_5,
	model_cln_6,  model_cln_7,  model_cln_8,  model_cln_9,	model_cln_10, model_cln_11,
	model_cln_12, model_cln_13, model_cln_14, model_cln_15};

/* ------------------------------------------------------------------ */
/* Model state                                                          */
/* ------------------------------------------------------------------ */

struct mobj {
	uintptr_t masked; /* address ^ MODEL_MASK */
	int slot[MODEL_K]; /* index of the target, -1 if none */
	int fin;	   /* 0 none, 1 plain, 2 resurrecting */
	int fin_miss;	   /* consecutive collects it should have run and did not */
	int fin_runs;
	int res; /* held in model_res[index] */
	int weak;	   /* model_weak[index] holds a handle */
	unsigned woff;	   /* the handle's offset into the object */
	int weak_null;	   /* the handle has read NULL */
	int weak_fin;	   /* its finalizer ran since the handle was made */
	int weak_miss;	   /* consecutive collects it read set while outside Rmin */
};

enum { ARG_REC, ARG_NULL, ARG_OBJ };
enum { CL_PENDING, CL_RAN, CL_STOPPED };

struct mcleanup {
	int obj, argkind, argobj, fni, state, miss;
	uint64_t cid;
	uint64_t *rec;
	tri_cleanup h;
};

struct model_stats {
	unsigned long sequences, ops, collects, retries, fin_runs, cln_runs, resurrections,
		stops, held_by_dependency, allocs, links, cleanups_added, weak_made, weak_cleared;
};

struct model {
	/* picks a number in [0, n); returns 0 when n == 0 */
	uint32_t (*pick)(void *ctx, uint32_t n);
	void *ctx;
	struct mobj o[MODEL_CAP];
	int nobj;
	struct mcleanup *c;
	int nc, ccap;
	int root[MODEL_ROOTS];
	unsigned evpos;
	uint64_t next_cid;
	int step;
	int verbose; /* print every operation on stderr */
	int no_obj_args; /* diagnostic: never use a heap object as a cleanup arg */
	char trace[8][96];
	struct model_stats st;
	char err[2048];
	/* scratch */
	unsigned char rmin[MODEL_CAP], prog[MODEL_CAP], fin0[MODEL_CAP], base[MODEL_CAP];
	int stack[MODEL_CAP * (MODEL_K + 1) + MODEL_ROOTS + 16];
};

static inline void *model_addr(const struct model *m, int i)
{
	return (void *)(m->o[i].masked ^ MODEL_MASK);
}

static uint32_t model_pick(struct model *m, uint32_t n)
{
	return n ? m->pick(m->ctx, n) % n : 0;
}

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
static void model_note(struct model *m, const char *fmt, int a, int b, int c)
{
	snprintf(m->trace[m->step & 7], sizeof m->trace[0], fmt, a, b, c);
	if (m->verbose)
		fprintf(stderr, "model step %d: %s\n", m->step, m->trace[m->step & 7]);
}
#pragma GCC diagnostic pop

__attribute__((format(printf, 2, 3))) static void model_fail(struct model *m, const char *fmt, ...)
{
	if (m->err[0])
		return;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(m->err, sizeof m->err, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof m->err)
		return;
	size_t len = (size_t)n;
	len += (size_t)snprintf(m->err + len, sizeof m->err - len, " [step %d; last ops:", m->step);
	for (int k = 7; k >= 0 && len < sizeof m->err; k--) {
		int s = m->step - k;
		if (s >= 0 && m->trace[s & 7][0])
			len += (size_t)snprintf(m->err + len, sizeof m->err - len, " {%s}",
						m->trace[s & 7]);
	}
	if (len < sizeof m->err)
		snprintf(m->err + len, sizeof m->err - len, "]");
}

/* Reachability from the given roots over model edges into out[]. */
static void model_reach(struct model *m, unsigned char *out, int with_args, int with_fin)
{
	int sp = 0;
	memset(out, 0, (size_t)m->nobj);
#define PUSH(x)                                                                \
	do {                                                                   \
		int x_ = (x);                                                  \
		if (x_ >= 0 && !out[x_]) {                                     \
			out[x_] = 1;                                           \
			m->stack[sp++] = x_;                                   \
		}                                                              \
	} while (0)
	for (int r = 0; r < MODEL_ROOTS; r++)
		PUSH(m->root[r]);
	for (int i = 0; i < m->nobj; i++)
		if (m->o[i].res)
			PUSH(i);
	if (with_args)
		for (int k = 0; k < m->nc; k++)
			if (m->c[k].state == CL_PENDING && m->c[k].argkind == ARG_OBJ)
				PUSH(m->c[k].argobj);
	if (with_fin)
		for (int i = 0; i < m->nobj; i++)
			if (m->o[i].fin)
				for (int s = 0; s < MODEL_K; s++)
					PUSH(m->o[i].slot[s]);
	while (sp > 0) {
		int i = m->stack[--sp];
		for (int s = 0; s < MODEL_K; s++)
			PUSH(m->o[i].slot[s]);
	}
#undef PUSH
}

/* Indices of program-reachable objects into list; returns the count. */
static int model_live(struct model *m, int *list)
{
	int n = 0;
	model_reach(m, m->prog, 0, 0);
	for (int i = 0; i < m->nobj; i++)
		if (m->prog[i])
			list[n++] = i;
	return n;
}

/* ------------------------------------------------------------------ */
/* Collection and checking                                              */
/* ------------------------------------------------------------------ */

static __attribute__((noinline)) void model_scrub(void)
{
	volatile char buf[32768];
	memset((char *)buf, 0, sizeof buf);
	__asm__ __volatile__("" : : "r"(buf) : "memory");
}

static __attribute__((noinline)) int model_collect_clean(void)
{
	tri_collect();
	return tri_drain(20000);
}

static int model_find_cleanup(struct model *m, int kind, uint32_t fni, uint64_t key)
{
	for (int k = 0; k < m->nc; k++) {
		struct mcleanup *c = &m->c[k];
		if (c->state != CL_PENDING || c->argkind != kind)
			continue;
		if (kind == ARG_REC && c->cid == key)
			return k;
		if (kind == ARG_NULL && (uint32_t)c->fni == fni)
			return k;
		if (kind == ARG_OBJ && (uint32_t)c->fni == fni &&
		    (uint64_t)c->argobj + model_seq_base == key)
			return k;
	}
	/* not pending: ran already or stopped? for the message */
	return -1;
}

/* 0 NULL, 1 the original pointer, 2 anything else. noinline: the pointer
 * dies with the frame (the caller scrubs before the next collect). */
static __attribute__((noinline)) int model_weak_read(const struct model *m, int i)
{
	char *p = tri_weak_get(model_weak[i]);
	if (!p)
		return 0;
	return p == (char *)model_addr(m, i) + m->o[i].woff ? 1 : 2;
}

/* After a collect: the weak rules of the header comment, rmin being the
 * reachability at the start of the cycle. Returns 1 on a violation. */
static int model_check_weak(struct model *m)
{
	for (int i = 0; i < m->nobj; i++) {
		struct mobj *o = &m->o[i];
		if (!o->weak)
			continue;
		int r = model_weak_read(m, i);
		if (r == 2) {
			model_fail(m, "weak handle of object %d read a pointer that is not the one it was made from", i);
			return 1;
		}
		if (r && o->weak_null) {
			model_fail(m, "weak handle of object %d read its object again after it had read NULL", i);
			return 1;
		}
		if (r && o->weak_fin) {
			model_fail(m, "weak handle of object %d still reads it after its finalizer ran", i);
			return 1;
		}
		if (!r && m->rmin[i] && !o->weak_fin) {
			model_fail(m, "weak handle of object %d read NULL while the object is reachable", i);
			return 1;
		}
		if (!r && !o->weak_null) {
			o->weak_null = 1;
			m->st.weak_cleared++;
		}
		o->weak_miss = r && !m->rmin[i] ? o->weak_miss + 1 : 0;
	}
	return 0;
}

static void model_verify(struct model *m, int depth)
{
	if (m->err[0])
		return;
	/* state at the start of the cycle */
	model_reach(m, m->rmin, 1, 1);
	model_reach(m, m->base, 1, 0);
	for (int i = 0; i < m->nobj; i++) {
		m->fin0[i] = (unsigned char)(m->o[i].fin != 0);
		if (m->o[i].fin && !m->base[i] && m->rmin[i])
			m->st.held_by_dependency++;
	}
	model_scrub();
	int rc = model_collect_clean();
	m->st.collects++;
	if (rc) {
		model_fail(m, "tri_drain(20000) returned %d after tri_collect", rc);
		return;
	}
	unsigned n = __atomic_load_n(&model_evn, __ATOMIC_SEQ_CST);
	if (n > MODEL_EVCAP) {
		model_fail(m, "event log overflow (%u events)", n);
		return;
	}
	unsigned char *ran_fin = m->prog; /* reuse as scratch: finalizer ran this cycle */
	memset(ran_fin, 0, (size_t)m->nobj);
	for (; m->evpos < n; m->evpos++) {
		struct model_ev *e = &model_evlog[m->evpos];
		while (!__atomic_load_n(&e->ready, __ATOMIC_ACQUIRE))
			;
		if (m->verbose)
			fprintf(stderr, "  event kind %u fn %u key %lld\n", e->kind, e->fni,
				(long long)(e->key - (e->kind == EV_CLN_REC ? 0 : model_seq_base)));
		if (e->kind == EV_FIN) {
			uint64_t li = e->key - model_seq_base;
			if (e->key < model_seq_base || li >= (uint64_t)m->nobj) {
				model_fail(m, "finalizer ran for object id %llu of an earlier sequence",
					   (unsigned long long)e->key);
				return;
			}
			struct mobj *o = &m->o[li];
			if (!o->fin) {
				model_fail(m, "finalizer ran for object %d which has none (double run? it ran %d times before; set this cycle: %d)",
					   (int)li, o->fin_runs, m->fin0[li]);
				return;
			}
			if (m->rmin[li]) {
				model_fail(m, "finalizer ran for object %d which is %s", (int)li,
					   m->base[li] ? "reachable from the roots/cleanup args"
						       : "reachable from a finalizer's referents (dependency order or cycle violated)");
				return;
			}
			if ((int)e->fni != o->fin) {
				model_fail(m, "object %d: finalizer kind %u ran, model set %d", (int)li,
					   e->fni, o->fin);
				return;
			}
			if (o->weak)
				o->weak_fin = 1;
			if (o->fin == 2) {
				o->res = 1;
				m->st.resurrections++;
			}
			o->fin = 0;
			o->fin_miss = 0;
			o->fin_runs++;
			ran_fin[li] = 1;
			m->st.fin_runs++;
			continue;
		}
		int kind = e->kind == EV_CLN_REC ? ARG_REC : e->kind == EV_CLN_NULL ? ARG_NULL : ARG_OBJ;
		int k = model_find_cleanup(m, kind, e->fni, e->key);
		if (k < 0) {
			model_fail(m, "cleanup (kind %d, fn %u, key %lld) ran but none such is pending (double run or run after stop)",
				   kind, e->fni, (long long)(e->key - (kind == ARG_OBJ ? model_seq_base : 0)));
			return;
		}
		struct mcleanup *c = &m->c[k];
		if (m->rmin[c->obj]) {
			model_fail(m, "cleanup %d on object %d ran while the object is %s", k, c->obj,
				   m->base[c->obj] ? "reachable" : "held by a finalizer's referents");
			return;
		}
		if (m->fin0[c->obj]) {
			model_fail(m, "cleanup %d on object %d ran in the cycle that %s its finalizer", k,
				   c->obj, ran_fin[c->obj] ? "ran" : "found set on");
			return;
		}
		c->state = CL_RAN;
		c->miss = 0;
		m->st.cln_runs++;
	}
	if (model_check_weak(m))
		return;
	/* liveness */
	int missing = 0, worst = 0, what = -1, isfin = 0;
	for (int i = 0; i < m->nobj; i++) {
		if (m->o[i].weak_miss) {
			missing++;
			if (m->o[i].weak_miss > MODEL_RETRIES) {
				model_fail(m, "weak handle of unreachable object %d still reads it after %d consecutive collects",
					   i, m->o[i].weak_miss);
				return;
			}
		}
	}
	for (int i = 0; i < m->nobj; i++) {
		struct mobj *o = &m->o[i];
		if (o->fin && !m->rmin[i] && m->fin0[i]) {
			missing++;
			if (++o->fin_miss > worst) {
				worst = o->fin_miss;
				what = i;
				isfin = 1;
			}
		} else {
			o->fin_miss = 0;
		}
	}
	for (int k = 0; k < m->nc; k++) {
		struct mcleanup *c = &m->c[k];
		if (c->state == CL_PENDING && !m->rmin[c->obj] && !m->fin0[c->obj]) {
			missing++;
			if (++c->miss > worst) {
				worst = c->miss;
				what = k;
				isfin = 0;
			}
		} else {
			c->miss = 0;
		}
	}
	if (m->verbose && missing) {
		fprintf(stderr, "  missing after collect (depth %d):", depth);
		for (int i = 0; i < m->nobj; i++)
			if (m->o[i].fin_miss)
				fprintf(stderr, " fin(o%d)x%d", i, m->o[i].fin_miss);
		for (int k = 0; k < m->nc; k++)
			if (m->c[k].miss)
				fprintf(stderr, " c%d(o%d)x%d", k, m->c[k].obj, m->c[k].miss);
		fprintf(stderr, "\n");
	}
	if (worst > MODEL_RETRIES) {
		if (isfin)
			model_fail(m, "finalizer of unreachable object %d did not run in %d consecutive collects",
				   what, worst);
		else
			model_fail(m, "cleanup %d of unreachable object %d (arg kind %d) did not run in %d consecutive collects",
				   what, m->c[what].obj, m->c[what].argkind, worst);
		return;
	}
	if (missing && depth < MODEL_RETRIES) {
		m->st.retries++;
		model_verify(m, depth + 1);
	}
}

/* 1 if some finalizer or cleanup is due (its object is outside Rmin). */
static int model_expecting(struct model *m)
{
	model_reach(m, m->rmin, 1, 1);
	for (int i = 0; i < m->nobj; i++)
		if (m->o[i].fin && !m->rmin[i])
			return 1;
	for (int k = 0; k < m->nc; k++)
		if (m->c[k].state == CL_PENDING && !m->rmin[m->c[k].obj] && !m->o[m->c[k].obj].fin)
			return 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Operations                                                           */
/* ------------------------------------------------------------------ */

enum {
	OP_ALLOC,
	OP_LINK,
	OP_UNLINK,
	OP_MOVE_ROOT,
	OP_DROP_ROOT,
	OP_SET_FIN,
	OP_CLEAR_FIN,
	OP_ADD_CLEANUP,
	OP_STOP_CLEANUP,
	OP_DROP_RES,
	OP_WEAK,
	OP_COLLECT,
	OP_COUNT
};

static const unsigned model_weights[OP_COUNT] = {18, 22, 8, 4, 9, 11, 3, 12, 5, 4, 7, 8};

static int model_pick_op(struct model *m)
{
	unsigned total = 0;
	for (int i = 0; i < OP_COUNT; i++)
		total += model_weights[i];
	unsigned r = model_pick(m, total);
	for (int i = 0; i < OP_COUNT; i++) {
		if (r < model_weights[i])
			return i;
		r -= model_weights[i];
	}
	return OP_COLLECT;
}

static __attribute__((noinline)) void model_op_alloc(struct model *m)
{
	if (m->nobj >= MODEL_CAP)
		return;
	int r = (int)model_pick(m, MODEL_ROOTS);
	struct mobj_heap *h = tri_alloc(sizeof *h);
	if (!h) {
		model_fail(m, "tri_alloc(%d) returned NULL", (int)sizeof *h);
		return;
	}
	int i = m->nobj++;
	h->tag = ((model_seq_base + (uint64_t)i) << 1) | 1;
	m->o[i] = (struct mobj){.masked = (uintptr_t)h ^ MODEL_MASK, .slot = {-1, -1, -1}};
	tri_store(&model_roots[r], h);
	m->root[r] = i;
	m->st.allocs++;
	model_note(m, "alloc o%d -> root%d", i, r, 0);
}

/* noinline, and the caller scrubs the stack after it returns: the heap
 * addresses it unmasks die with its frame. OP_COLLECT is done by the
 * caller (model_run_sequence) after the scrub. */
static __attribute__((noinline)) void model_do(struct model *m, int op, int *live, int nlive)
{
	int a = nlive ? live[model_pick(m, (uint32_t)nlive)] : -1;
	switch (op) {
	case OP_ALLOC:
		model_op_alloc(m);
		break;
	case OP_LINK: {
		if (a < 0)
			break;
		/* bias towards recent objects: more chains and cycles */
		int b = live[nlive - 1 - (int)model_pick(m, (uint32_t)(nlive < 4 ? nlive : 4))];
		if (model_pick(m, 4) == 0)
			b = live[model_pick(m, (uint32_t)nlive)];
		int s = (int)model_pick(m, MODEL_K);
		struct mobj_heap *ha = model_addr(m, a);
		char *pb = model_addr(m, b);
		/* sometimes an interior pointer (the collector honours them) */
		unsigned off = model_pick(m, 5) == 0 ? 8u * (1 + model_pick(m, 3)) : 0;
		TRI_STORE(ha->slot[s], (void *)(pb + off));
		m->o[a].slot[s] = b;
		m->st.links++;
		model_note(m, "link o%d.%d = o%d", a, s, b);
		break;
	}
	case OP_UNLINK: {
		if (a < 0)
			break;
		int s = (int)model_pick(m, MODEL_K);
		struct mobj_heap *ha = model_addr(m, a);
		TRI_STORE(ha->slot[s], NULL);
		m->o[a].slot[s] = -1;
		model_note(m, "unlink o%d.%d", a, s, 0);
		break;
	}
	case OP_MOVE_ROOT: {
		int r1 = (int)model_pick(m, MODEL_ROOTS), r2 = (int)model_pick(m, MODEL_ROOTS);
		tri_store(&model_roots[r2], tri_load(&model_roots[r1]));
		m->root[r2] = m->root[r1];
		model_note(m, "root%d = root%d", r2, r1, 0);
		break;
	}
	case OP_DROP_ROOT: {
		int r = (int)model_pick(m, MODEL_ROOTS);
		tri_store(&model_roots[r], NULL);
		m->root[r] = -1;
		model_note(m, "drop root%d", r, 0, 0);
		break;
	}
	case OP_SET_FIN:
		if (a < 0 || m->o[a].fin)
			break;
		m->o[a].fin = model_pick(m, 4) == 0 ? 2 : 1;
		tri_set_finalizer(model_addr(m, a), m->o[a].fin == 2 ? model_fin_res : model_fin_plain);
		model_note(m, "set finalizer o%d kind %d (runs before: %d)", a, m->o[a].fin,
			   m->o[a].fin_runs);
		break;
	case OP_CLEAR_FIN:
		if (a < 0)
			break;
		tri_set_finalizer(model_addr(m, a), NULL); /* silently none if unset */
		model_note(m, "clear finalizer o%d (had %d)", a, m->o[a].fin, 0);
		m->o[a].fin = 0;
		break;
	case OP_ADD_CLEANUP: {
		if (a < 0)
			break;
		if (m->nc == m->ccap) {
			m->ccap = m->ccap ? 2 * m->ccap : 64;
			m->c = realloc(m->c, (size_t)m->ccap * sizeof *m->c);
			if (!m->c)
				abort();
		}
		struct mcleanup c = {.obj = a, .argobj = -1};
		int kind = (int)model_pick(m, 3);
		int z = -1;
		if (kind == ARG_OBJ && m->no_obj_args)
			kind = ARG_NULL;
		if (kind == ARG_OBJ) {
			z = live[model_pick(m, (uint32_t)nlive)];
			if (z == a)
				kind = ARG_REC; /* ptr == arg aborts: misuse, tested in test_faults */
		}
		c.argkind = kind;
		c.argobj = kind == ARG_OBJ ? z : -1;
		if (kind != ARG_REC) {
			/* a function index unused by pending cleanups with this arg */
			unsigned used = 0;
			for (int k = 0; k < m->nc; k++)
				if (m->c[k].state == CL_PENDING && m->c[k].argkind == kind &&
				    m->c[k].argobj == c.argobj)
					used |= 1u << m->c[k].fni;
			if (used == (1u << MODEL_NFN) - 1) {
				kind = c.argkind = ARG_REC;
				c.argobj = -1;
			} else {
				int f = (int)model_pick(m, MODEL_NFN);
				while (used & (1u << f))
					f = (f + 1) % MODEL_NFN;
				c.fni = f;
			}
		}
		void *arg = NULL;
		if (kind == ARG_REC) {
			c.fni = (int)model_pick(m, MODEL_NFN);
			c.cid = ++m->next_cid;
			c.rec = malloc(2 * sizeof(uint64_t));
			if (!c.rec)
				abort();
			c.rec[0] = MODEL_RECMAGIC;
			c.rec[1] = c.cid;
			arg = c.rec;
		} else if (kind == ARG_OBJ) {
			arg = model_addr(m, z);
		}
		char *p = (char *)model_addr(m, a) + 8 * model_pick(m, 4);
		c.h = tri_add_cleanup(p, model_cfn[c.fni], arg);
		if (c.h.id == 0)
			model_fail(m, "tri_add_cleanup returned a zero handle for a heap object");
		m->c[m->nc++] = c;
		m->st.cleanups_added++;
		model_note(m, "cleanup c%d on o%d arg kind %d", m->nc - 1, a, kind * 1000 + z);
		break;
	}
	case OP_STOP_CLEANUP: {
		if (!m->nc)
			break;
		int k = (int)model_pick(m, (uint32_t)m->nc);
		struct mcleanup *c = &m->c[k];
		tri_cleanup_stop(c->h); /* no-op if it ran or was stopped */
		model_note(m, "stop c%d (state %d)", k, c->state, 0);
		if (c->state == CL_PENDING) {
			c->state = CL_STOPPED;
			free(c->rec);
			c->rec = NULL;
			m->st.stops++;
		}
		break;
	}
	case OP_DROP_RES: {
		int n = 0, pickn;
		for (int i = 0; i < m->nobj; i++)
			n += m->o[i].res;
		if (!n)
			break;
		pickn = (int)model_pick(m, (uint32_t)n);
		for (int i = 0; i < m->nobj; i++)
			if (m->o[i].res && pickn-- == 0) {
				tri_store(&model_res[i], NULL);
				m->o[i].res = 0;
				model_note(m, "drop resurrected o%d", i, 0, 0);
				break;
			}
		break;
	}
	case OP_WEAK: {
		if (a < 0)
			break;
		struct mobj *o = &m->o[a];
		unsigned off = model_pick(m, 3) == 0 ? 8u * (1 + model_pick(m, 3)) : 0;
		tri_weak w = tri_weak_make((char *)model_addr(m, a) + off);
		if (o->weak && o->woff == off && !o->weak_null && !o->weak_fin &&
		    !tri_weak_equal(w, model_weak[a])) {
			model_fail(m, "two weak handles made from the same pointer into live object %d differ", a);
			break;
		}
		if (o->weak && (o->weak_null || o->weak_fin) && tri_weak_equal(w, model_weak[a])) {
			model_fail(m, "a new weak handle of object %d equals one that reads NULL", a);
			break;
		}
		tri_weak_store(&model_weak[a], w);
		o->weak = 1;
		o->woff = off;
		o->weak_null = o->weak_fin = o->weak_miss = 0;
		m->st.weak_made++;
		model_note(m, "weak o%d+%d", a, (int)off, 0);
		break;
	}
	case OP_COLLECT:
		model_note(m, "collect", 0, 0, 0);
		break;
	}
}

/* ------------------------------------------------------------------ */
/* Sequences                                                            */
/* ------------------------------------------------------------------ */

static pthread_once_t model_once = PTHREAD_ONCE_INIT;

static void model_setup_once(void)
{
	model_evlog = calloc(MODEL_EVCAP, sizeof *model_evlog);
	if (!model_evlog)
		abort();
	tri_add_roots(model_roots, model_roots + MODEL_ROOTS);
	tri_add_roots(model_res, model_res + MODEL_CAP);
	tri_add_roots(model_weak, model_weak + MODEL_CAP);
	model_seq_base = 1;
}

/* Run one sequence of `steps` operations (the model must be zeroed except
 * pick/ctx/st). Returns 0, or -1 with m->err set. Call on an attached
 * thread after tri_init("gc_percent=off..."). */
static int model_run_sequence(struct model *m, int steps)
{
	pthread_once(&model_once, model_setup_once);
	m->nobj = 0;
	m->nc = 0;
	m->err[0] = 0;
	m->step = 0;
	memset(m->trace, 0, sizeof m->trace);
	for (int r = 0; r < MODEL_ROOTS; r++)
		m->root[r] = -1;
	__atomic_store_n(&model_evn, 0, __ATOMIC_SEQ_CST);
	memset(model_evlog, 0, MODEL_EVCAP * sizeof *model_evlog);
	m->evpos = 0;
	for (int i = 0; i < MODEL_CAP; i++)
		tri_weak_store(&model_weak[i], (tri_weak){0});
	int *live = malloc(MODEL_CAP * sizeof *live);
	if (!live)
		abort();
	for (m->step = 0; m->step < steps && !m->err[0]; m->step++) {
		int nlive = model_live(m, live);
		int op = model_pick_op(m);
		if (nlive == 0 && op != OP_COLLECT)
			op = OP_ALLOC;
		model_do(m, op, live, nlive);
		model_scrub();
		if (op == OP_COLLECT)
			model_verify(m, 0);
		m->st.ops++;
	}
	/* end: drop every root; collect until the model is quiet */
	for (int r = 0; r < MODEL_ROOTS; r++) {
		tri_store(&model_roots[r], NULL);
		m->root[r] = -1;
	}
	model_note(m, "end of sequence: all roots dropped", 0, 0, 0);
	/* until no finalizer or cleanup is due (finalizer chains need one
	 * cycle per link; resurrected objects are dropped again each time);
	 * what remains can never run (cycles with finalizers, args reaching
	 * their object) and stays with the library. */
	for (int guard = 0; !m->err[0] && guard < m->nobj + 8; guard++) {
		for (int i = 0; i < m->nobj; i++)
			if (m->o[i].res) {
				tri_store(&model_res[i], NULL);
				m->o[i].res = 0;
			}
		if (!model_expecting(m))
			break;
		model_scrub();
		model_verify(m, 0);
	}
	if (!m->err[0] && model_expecting(m))
		model_fail(m, "finalizers or cleanups still due after %d collects at the end", m->nobj + 8);
	free(live);
	m->st.sequences++;
	model_seq_base += MODEL_CAP;
	return m->err[0] ? -1 : 0;
}

#endif
