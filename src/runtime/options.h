/* SPDX-License-Identifier: MIT */
/*
 * options.h - the runtime's settings, parsed once by tri_init from the
 * options string, then TRICOLOR_OPTIONS, then TRICOLOR_<KEY> variables
 * (later sources override earlier ones). Written only by tri_init before
 * any other runtime thread exists, read-only afterwards, except gc_percent,
 * which tri_gc_percent may change (atomically).
 *
 * One table, TRI_OPTION_TABLE, is the only place an option is named (as
 * mimalloc's options[]): it generates the struct tri_options fields, the
 * defaults, the parser's rows, the TRICOLOR_<KEY> environment keys, the
 * "known: ..." message and the reference list docs/options.md (written by
 * `make docs-tables`, checked by tests/test_tables). TRI_DEBUG_FLAG_TABLE
 * does the same for the flags of debug=. Adding an option is one row here
 * (plus its line in the tri_init comment of tricolor.h and in README.md,
 * which tests/test_tables also checks).
 *
 * TRI_OPTION_TABLE(X): X(key, type, field, kind, lo, hi, off, offval,
 *                        dflt, dflt_doc, doc)
 *   key     the option's name (also TRICOLOR_<KEY> in upper case)
 *   type    the field's C type (int or uint64_t); field its name
 *   kind    OPT_INT (decimal lo..hi), OPT_SIZE (size with k/m/g/t suffix,
 *           lo..hi), OPT_BOOL (on/off/1/0), OPT_SIGNAL (signal number
 *           lo..SIGRTMAX, not one the runtime cannot borrow), OPT_DEBUG
 *           (the debug= flag list; no field of its own)
 *   off     "" or the words ('|'-separated) that set the field to offval
 *   dflt    default value (an expression of ncpu, the online CPUs)
 *   dflt_doc, doc   the default and one line for docs/options.md
 * Rows are in the order of the "known:" message; the environment is read
 * in the same order (show_stats before debug: debug=stats wins).
 */
#ifndef TRI_OPTIONS_H
#define TRI_OPTIONS_H
#include <stddef.h>
#include <stdint.h>

#define TRI_OPTION_TABLE(X)                                                                        \
	X(gc_percent, int, gc_percent, OPT_INT, 0, 1000000, "off", -1, 100, "100",                   \
	  "GOGC: start a cycle when the heap has grown this many percent over the live heap; off disables the pacer") \
	X(memory_limit, uint64_t, memory_limit, OPT_SIZE, 0, UINT64_MAX, "off|none", 0, 0, "none",    \
	  "GOMEMLIMIT: a soft limit on the resident heap (tricolor.h, tri_init)")                   \
	X(mark_workers, int, mark_workers, OPT_INT, 1, 256, "", 0, ncpu / 4 > 1 ? (int)(ncpu / 4) : 1, \
	  "max(1, ncpu/4)", "background mark worker threads")                                       \
	X(cleanup_workers, int, cleanup_workers, OPT_INT, 1, 4096, "", 0, ncpu > 4 ? (int)ncpu : 4,   \
	  "max(4, ncpu)", "most cleanup worker threads at once")                                     \
	X(heap_reserve, uint64_t, heap_reserve, OPT_SIZE, 64ull << 20, 1ull << 40, "", 0, 64ull << 30, \
	  "64g", "address space reserved for the heap (64m to 1t)")                                 \
	X(min_heap, uint64_t, min_heap, OPT_SIZE, 0, UINT64_MAX, "", 0, 4ull << 20, "4m",            \
	  "heap size below which no cycle is triggered")                                             \
	X(slow_finalizer_ms, uint64_t, slow_finalizer_ms, OPT_SIZE, 0, UINT64_MAX, "", 0, 1000, "1000", \
	  "report a finalizer running longer than this (ms); 0 turns the report off")               \
	X(preempt_ms, uint64_t, preempt_ms, OPT_SIZE, 0, UINT64_MAX, "off", 0, 1, "1",              \
	  "delay before a thread holding up a handshake is preempted by a signal; off never sends one") \
	X(preempt_signal, int, preempt_signal, OPT_SIGNAL, 1, 0, "", 0, SIGURG, "SIGURG",            \
	  "the preemption signal (not SIGKILL, SIGSTOP, SIGSEGV, SIGBUS or SIGABRT)")               \
	X(gc_period_ms, uint64_t, gc_period_ms, OPT_SIZE, 0, UINT64_MAX, "off", 0, 120000, "120000", \
	  "Go's forcegcperiod: start a cycle when none has run for this long (ms), however little is allocated; off never does") \
	X(data_roots, int, data_roots, OPT_BOOL, 0, 1, "", 0, 1, "on",                              \
	  "scan the data and bss segments of the program and its libraries as roots")               \
	X(show_stats, int, stats, OPT_INT, 0, 1, "", 0, 0, "0",                                      \
	  "1: statistics on stderr at exit (as debug=stats)")                                        \
	X(heapprofile_rate, uint64_t, heapprofile_rate, OPT_SIZE, 1, UINT64_MAX, "", 0, 512 * 1024,   \
	  "512k", "bytes allocated per heap-profile sample (Go's MemProfileRate)")                   \
	X(debug, int, debug_unused, OPT_DEBUG, 0, 0, "", 0, 0, "",                                   \
	  "a '+'-separated list of the debug flags below")

/*
 * TRI_DEBUG_FLAG_TABLE(X): X(name, field, kind, doc); kind DBG_FLAG (an int
 * set by "name" or "name=1"), DBG_SHARED (the same, on a field an option
 * row declares), DBG_PATH (a char[256] set by "name=PATH").
 */
#define TRI_DEBUG_FLAG_TABLE(X)                                                                    \
	X(gctrace, gctrace, DBG_FLAG, "one line per cycle on stderr, in Go's gctrace format")        \
	X(checkmark, checkmark, DBG_FLAG, "after each mark, mark again stopped and abort on a white reachable object") \
	X(checkstacks, checkstacks, DBG_FLAG, "checkmark, also strict about the part of each stack scanned this cycle") \
	X(poison, poison, DBG_FLAG, "fill freed memory with 0xdeadbeef and check it on reuse")      \
	X(checkfinalizers, checkfinalizers, DBG_FLAG, "report finalizers and cleanups that can never run") \
	X(stats, stats, DBG_SHARED, "statistics on stderr at exit")                                  \
	X(trace, trace_path, DBG_PATH, "the collector's timeline as Chrome trace-event JSON")        \
	X(heapprofile, heapprofile_path, DBG_PATH, "a sampled heap profile in pprof's text format")

#define TRI_OPT_FIELD_OPT_INT(type, field) type field;
#define TRI_OPT_FIELD_OPT_SIZE(type, field) type field;
#define TRI_OPT_FIELD_OPT_BOOL(type, field) type field;
#define TRI_OPT_FIELD_OPT_SIGNAL(type, field) type field;
#define TRI_OPT_FIELD_OPT_DEBUG(type, field)
#define TRI_OPT_FIELD(key, type, field, kind, ...) TRI_OPT_FIELD_##kind(type, field)
#define TRI_DBG_FIELD_DBG_FLAG(field) int field;
#define TRI_DBG_FIELD_DBG_SHARED(field)
#define TRI_DBG_FIELD_DBG_PATH(field) char field[256];
#define TRI_DBG_FIELD(name, field, kind, doc) TRI_DBG_FIELD_##kind(field)

struct tri_options {
	TRI_OPTION_TABLE(TRI_OPT_FIELD)
	TRI_DEBUG_FLAG_TABLE(TRI_DBG_FIELD)
};

enum tri_option_kind { OPT_INT, OPT_SIZE, OPT_BOOL, OPT_SIGNAL, OPT_DEBUG };
enum tri_debug_kind { DBG_FLAG, DBG_SHARED, DBG_PATH };

/* One row of a table, as data (the parser, tests/test_tables, the docs). */
struct tri_option_desc {
	const char *key;
	enum tri_option_kind kind;
	size_t offset, size; /* of the field in struct tri_options */
	uint64_t lo, hi;     /* hi 0 with OPT_SIGNAL: SIGRTMAX */
	const char *off;     /* "" or '|'-separated words meaning offval */
	int64_t offval;
	const char *dflt_doc, *doc;
};
struct tri_debug_desc {
	const char *name;
	enum tri_debug_kind kind;
	size_t offset;
	const char *doc;
};
const struct tri_option_desc *tri_options_table(size_t *count);
const struct tri_debug_desc *tri_debug_flags_table(size_t *count);
/* The "known: ..." lists of the messages: "gc_percent, ..., debug" and
 * "gctrace, ..., trace=PATH, heapprofile=PATH". Static storage. */
const char *tri_options_known(void);
const char *tri_debug_flags_known(void);

/* Parse into *o (defaults must already be there). Returns 0 or EINVAL after
 * printing "tri_init: ..." naming the bad key or value. */
int tri_options_parse(struct tri_options *o, const char *s, const char *source);
void tri_options_defaults(struct tri_options *o);
int tri_options_from_env(struct tri_options *o);
#endif
