/*
 * options.h - the runtime's settings, parsed once by tri_init from the
 * options string, then TRICOLOR_OPTIONS, then TRICOLOR_<KEY> variables
 * (later sources override earlier ones). Written only by tri_init before
 * any other runtime thread exists, read-only afterwards, except gc_percent,
 * which tri_gc_percent may change (atomically).
 */
#ifndef TRI_OPTIONS_H
#define TRI_OPTIONS_H
#include <stddef.h>
#include <stdint.h>

struct tri_options {
	int gc_percent;		/* -1 = off */
	uint64_t memory_limit;	/* 0 = none */
	int mark_workers;
	int cleanup_workers;
	uint64_t heap_reserve;
	uint64_t min_heap;
	uint64_t slow_finalizer_ms;
	uint64_t preempt_ms;	/* 0 = no asynchronous preemption */
	int preempt_signal;
	int data_roots;		/* scan data/bss segments (mark/data_roots.c) */
	/* debug=... flags */
	int gctrace;
	int checkmark;
	int poison;
	int checkfinalizers;
	int stats;		/* debug=stats or show_stats=1: report at exit */
	char trace_path[256];
	char heapprofile_path[256];	/* debug=heapprofile=PATH */
	uint64_t heapprofile_rate;	/* bytes per sample (Go's MemProfileRate) */
};

/* Parse into *o (defaults must already be there). Returns 0 or EINVAL after
 * printing "tri_init: ..." naming the bad key or value. */
int tri_options_parse(struct tri_options *o, const char *s, const char *source);
void tri_options_defaults(struct tri_options *o);
int tri_options_from_env(struct tri_options *o);
#endif
