/* SPDX-License-Identifier: MIT */
/*
 * trace.c - Chrome trace-event output (see trace.h).
 *
 * File layout: "[" on the first line, then one complete event per line,
 * each line after the first event starting with ",". At exit "]" closes the
 * array, so python3 -m json.tool and jq accept the file; a process that
 * dies leaves an unterminated array of complete events, which Perfetto and
 * chrome://tracing accept (the trace-event format allows the missing "]").
 *
 * Data, all under trace_lock:
 *   buf/blen   complete events not yet written; written with write(2) when
 *              the next event would not fit, at each cycle end
 *              (trace_flush) and at exit, so the file never ends inside an
 *              event (stdio would flush a full buffer mid-event).
 *   fd         the trace file; -1 once closed at exit (later events are
 *              dropped) or when tracing is off.
 *   owner      the pid that opened the file: a forked child writes nothing
 *              (its parent's buffered events would be written twice and its
 *              "]" would end the parent's array early).
 *   names      per thread id: the latest name given (trace_thread_name) and
 *              whether a thread_name event was written. The event is written
 *              lazily, before the thread's first event, so each thread is
 *              named once, with its final name (a runtime thread names
 *              itself right after attaching); a thread with no events is not
 *              named. A rename after the thread's first event writes one
 *              more thread_name event (viewers show the latest).
 * tri_trace_on: set once at open (release), cleared at exit; a hint that
 * lets callers skip formatting when tracing is off. Every name written is
 * escaped for JSON.
 */
#include "runtime/trace.h"
#include "runtime/runtime.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int tri_trace_on;
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;
static int fd = -1;
static pid_t owner;
static char buf[1 << 16];
static size_t blen;
struct tname {
	char name[64];
	int emitted;
};
static struct tname *names;
static size_t nnames;

static void write_all(const char *p, size_t n)
{
	while (n) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* disk full or closed: the trace is best effort */
		p += w;
		n -= (size_t)w;
	}
}

static void flush_locked(void)
{
	if (fd >= 0 && blen)
		write_all(buf, blen);
	blen = 0;
}

/* Append one complete event (its leading ",\n" included). trace_lock. */
static void emit_locked(const char *ev, size_t n)
{
	if (fd < 0 || owner != getpid())
		return;
	if (blen + n > sizeof buf)
		flush_locked();
	if (n > sizeof buf) {
		write_all(ev, n);
		return;
	}
	memcpy(buf + blen, ev, n);
	blen += n;
}

/* JSON string contents for s (without quotes), truncated to fit. */
static void json_escape(char *out, size_t cap, const char *s)
{
	size_t o = 0;
	for (; *s && o + 7 < cap; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\') {
			out[o++] = '\\';
			out[o++] = (char)c;
		} else if (c < 0x20) {
			o += (size_t)snprintf(out + o, cap - o, "\\u%04x", c);
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = 0;
}

static void emit_thread_name_locked(uint32_t tid, const char *name)
{
	char esc[6 * 64 + 8], ev[512];
	json_escape(esc, sizeof esc, name);
	int n = snprintf(ev, sizeof ev,
			 ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%u,\"args\":{\"name\":\"%s\"}}",
			 (int)tri_rt.pid, tid, esc);
	if (n > 0 && (size_t)n < sizeof ev)
		emit_locked(ev, (size_t)n);
}

static struct tname *tname_get_locked(uint32_t tid)
{
	if (tid >= nnames) {
		size_t nn = nnames ? nnames : 64;
		while (nn <= tid)
			nn *= 2;
		struct tname *t = realloc(names, nn * sizeof *t);
		if (!t)
			return NULL;
		memset(t + nnames, 0, (nn - nnames) * sizeof *t);
		names = t;
		nnames = nn;
	}
	return &names[tid];
}

/* Before a thread's first event: its thread_name event. tid 0 (the
 * collector) is named at open. */
static void ensure_named_locked(uint32_t tid)
{
	if (!tid)
		return;
	struct tname *t = tname_get_locked(tid);
	if (!t || t->emitted)
		return;
	if (!t->name[0])
		snprintf(t->name, sizeof t->name, "thread %u", tid);
	emit_thread_name_locked(tid, t->name);
	t->emitted = 1;
}

static void trace_at_exit(void)
{
	pthread_mutex_lock(&trace_lock);
	if (fd >= 0 && owner == getpid()) {
		flush_locked();
		write_all("\n]\n", 3);
		close(fd);
		fd = -1;
		st_relaxed(&tri_trace_on, 0);
	}
	pthread_mutex_unlock(&trace_lock);
}

void trace_open(const char *path)
{
	if (!path || !*path)
		return;
	int f = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (f < 0) {
		tri_warn("tri_init: debug=trace: cannot open %s; tracing is off", path);
		return;
	}
	pthread_mutex_lock(&trace_lock);
	fd = f;
	owner = getpid();
	char ev[256];
	int n = snprintf(ev, sizeof ev,
			 "[\n{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":\"tricolor\"}}",
			 (int)tri_rt.pid);
	emit_locked(ev, (size_t)n);
	emit_thread_name_locked(0, "collector");
	pthread_mutex_unlock(&trace_lock);
	atexit(trace_at_exit);
	st_release(&tri_trace_on, 1);
}

static double us(uint64_t ns)
{
	return (double)(ns - tri_rt.start_ns) / 1e3;
}

void trace_complete(const char *name, const char *cat, uint32_t tid, uint64_t start_ns, uint64_t dur_ns,
		    uint64_t arg)
{
	if (!ld_relaxed(&tri_trace_on))
		return;
	char en[256], ec[64], ev[512];
	json_escape(en, sizeof en, name);
	json_escape(ec, sizeof ec, cat);
	int n = snprintf(ev, sizeof ev,
			 ",\n{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":%d,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,"
			 "\"args\":{\"n\":%llu}}",
			 en, ec, (int)tri_rt.pid, tid, us(start_ns), (double)dur_ns / 1e3, (unsigned long long)arg);
	if (n <= 0 || (size_t)n >= sizeof ev)
		return;
	pthread_mutex_lock(&trace_lock);
	ensure_named_locked(tid);
	emit_locked(ev, (size_t)n);
	pthread_mutex_unlock(&trace_lock);
}

void trace_counter(const char *name, uint64_t ts_ns, uint64_t value)
{
	if (!ld_relaxed(&tri_trace_on))
		return;
	char en[256], ev[512];
	json_escape(en, sizeof en, name);
	int n = snprintf(ev, sizeof ev,
			 ",\n{\"name\":\"%s\",\"ph\":\"C\",\"pid\":%d,\"tid\":0,\"ts\":%.3f,\"args\":{\"bytes\":%llu}}",
			 en, (int)tri_rt.pid, us(ts_ns), (unsigned long long)value);
	if (n <= 0 || (size_t)n >= sizeof ev)
		return;
	pthread_mutex_lock(&trace_lock);
	emit_locked(ev, (size_t)n);
	pthread_mutex_unlock(&trace_lock);
}

void trace_thread_name(uint32_t tid, const char *name)
{
	if (!ld_relaxed(&tri_trace_on) || !tid)
		return;
	pthread_mutex_lock(&trace_lock);
	struct tname *t = tname_get_locked(tid);
	char dflt[32];
	if (!*name) { /* tri_thread_set_name(NULL or ""): back to the number */
		snprintf(dflt, sizeof dflt, "thread %u", tid);
		name = dflt;
	}
	if (t && strncmp(t->name, name, sizeof t->name - 1)) {
		snprintf(t->name, sizeof t->name, "%s", name);
		if (t->emitted) /* renamed after its first event */
			emit_thread_name_locked(tid, t->name);
	}
	pthread_mutex_unlock(&trace_lock);
}

void trace_thread_name_now(uint32_t tid, const char *name)
{
	trace_thread_name(tid, name);
	if (!ld_relaxed(&tri_trace_on) || !tid)
		return;
	pthread_mutex_lock(&trace_lock);
	ensure_named_locked(tid);
	/* Into the file now, not at the next cycle's flush: a process that dies
	 * before then (test_observability's abort trace, ~1 run in 10: the
	 * finalizer thread started after the last cycle's flush) still names the
	 * thread. Rare (a thread's start, tri_thread_set_name), so one write(2)
	 * each. Not in a forked child: its copy of the buffer is the parent's. */
	if (owner == getpid())
		flush_locked();
	pthread_mutex_unlock(&trace_lock);
}

void trace_flush(void)
{
	if (!ld_relaxed(&tri_trace_on))
		return;
	pthread_mutex_lock(&trace_lock);
	flush_locked();
	pthread_mutex_unlock(&trace_lock);
}
