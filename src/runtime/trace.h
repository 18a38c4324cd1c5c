/* SPDX-License-Identifier: MIT */
/*
 * trace.h - debug=trace=PATH: the collector's timeline as Chrome
 * trace-event JSON (opened by Perfetto and chrome://tracing).
 *
 * Events: one complete ("X") event per cycle and per phase on the
 * collector's track (tid 0), one per pause on the paused thread's track
 * (tid = registry id), one per batch of finalizers or cleanups on the
 * running thread's track, and heap counters ("C") at each cycle's end.
 * Writes go through one mutex-protected buffer of complete events, written
 * out at each cycle end, when full and at exit; the exit handler closes the
 * JSON array (one event per line), and a process that dies leaves complete
 * events in an unterminated array, which the format allows. Names are
 * JSON-escaped; each thread gets one thread_name event, before its first
 * event. When tracing is off every call returns after one load.
 */
#ifndef TRI_TRACE_H
#define TRI_TRACE_H
#include <stdint.h>
extern int tri_trace_on;
void trace_open(const char *path);
void trace_complete(const char *name, const char *cat, uint32_t tid, uint64_t start_ns, uint64_t dur_ns,
		    uint64_t arg);
void trace_counter(const char *name, uint64_t ts_ns, uint64_t value);
void trace_thread_name(uint32_t tid, const char *name);
/* trace_thread_name, and the thread_name event written at once even if the
 * thread has no event yet (tri_thread_set_name: a name the program chose
 * shows in the timeline), and flushed to the file with what was buffered
 * before it, so a process that dies later still names the thread. */
void trace_thread_name_now(uint32_t tid, const char *name);
void trace_flush(void);
#endif
