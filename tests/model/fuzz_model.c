/* SPDX-License-Identifier: MIT */
/*
 * fuzz_model.c - libFuzzer entry point for the model-based test
 * (tests/model/model.h): the input bytes choose the operations and their
 * operands (each choice consumes one byte, modulo the number of choices;
 * 0 once the input is exhausted), up to 256 operations per input, then the
 * end-of-sequence checks run. A violation of the model prints the model's
 * message and aborts, which libFuzzer reports as a crash with the input.
 *
 * Not built by make. Build and run (see docs/reliability.md):
 *   clang -g -O1 -fsanitize=fuzzer -Iinclude -Itests tests/model/fuzz_model.c \
 *       -o fuzz_model -L.libs -ltricolor -Wl,-rpath,$PWD/.libs -lpthread
 *   ./fuzz_model -max_len=512 -max_total_time=300 fuzz-corpus/
 * Environment: TRI_FUZZ_NO_OBJ_ARGS=1 never uses heap objects as cleanup
 * args (see the idle cleanup worker retention issue).
 */
#include "model/model.h"

#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct bytes {
	const uint8_t *p;
	size_t n, i;
};

static uint32_t byte_pick(void *ctx, uint32_t n)
{
	struct bytes *b = ctx;
	uint32_t v = b->i < b->n ? b->p[b->i] : 0;
	b->i++;
	return v % n;
}

struct fuzz_run {
	struct model *m;
	struct bytes b;
	int rc;
};

static void *fuzz_thread(void *arg)
{
	struct fuzz_run *r = arg;
	tri_thread_attach();
	int steps = (int)(r->b.n / 2);
	if (steps > 256)
		steps = 256;
	r->rc = model_run_sequence(r->m, steps);
	tri_thread_detach();
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct model *m;
	if (!m) {
		if (tri_init("gc_percent=off,debug=checkmark+poison"))
			abort();
		m = calloc(1, sizeof *m);
		if (!m)
			abort();
	}
	struct model_stats st = m->st;
	free(m->c);
	memset(m, 0, sizeof *m);
	m->st = st;
	struct fuzz_run r = {.m = m, .b = {data, size, 0}};
	m->pick = byte_pick;
	m->ctx = &r.b;
	m->no_obj_args = getenv("TRI_FUZZ_NO_OBJ_ARGS") != NULL;
	m->verbose = getenv("TRI_MODEL_VERBOSE") != NULL;
	/* on a fresh attached thread: nothing of the last input on its stack */
	pthread_t th;
	if (pthread_create(&th, NULL, fuzz_thread, &r))
		abort();
	tri_blocking_enter();
	pthread_join(th, NULL);
	tri_blocking_leave();
	if (r.rc) {
		fprintf(stderr, "fuzz_model: model violated: %s\n", m->err);
		abort();
	}
	return 0;
}
