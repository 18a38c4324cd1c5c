/*
 * trace.c - Chrome trace-event output (see trace.h).
 */
#include "runtime/trace.h"
#include "runtime/runtime.h"
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int tri_trace_on;
static FILE *out;		/* trace_lock */
static pthread_mutex_t trace_lock = PTHREAD_MUTEX_INITIALIZER;

static void trace_at_exit(void)
{
	trace_flush();
}

void trace_open(const char *path)
{
	if (!path || !*path)
		return;
	out = fopen(path, "w");
	if (!out) {
		tri_warn("tri_init: debug=trace: cannot open %s; tracing is off", path);
		return;
	}
	setvbuf(out, NULL, _IOFBF, 1 << 20);
	fputs("[\n", out);
	fprintf(out, "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":\"tricolor\"}}",
		(int)getpid());
	fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":0,\"args\":{\"name\":\"collector\"}}",
		(int)getpid());
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
	pthread_mutex_lock(&trace_lock);
	fprintf(out,
		",\n{\"name\":\"%s\",\"cat\":\"%s\",\"ph\":\"X\",\"pid\":%d,\"tid\":%u,\"ts\":%.3f,\"dur\":%.3f,"
		"\"args\":{\"n\":%llu}}",
		name, cat, (int)tri_rt.pid, tid, us(start_ns), (double)dur_ns / 1e3, (unsigned long long)arg);
	pthread_mutex_unlock(&trace_lock);
}

void trace_counter(const char *name, uint64_t ts_ns, uint64_t value)
{
	if (!ld_relaxed(&tri_trace_on))
		return;
	pthread_mutex_lock(&trace_lock);
	fprintf(out, ",\n{\"name\":\"%s\",\"ph\":\"C\",\"pid\":%d,\"tid\":0,\"ts\":%.3f,\"args\":{\"bytes\":%llu}}",
		name, (int)tri_rt.pid, us(ts_ns), (unsigned long long)value);
	pthread_mutex_unlock(&trace_lock);
}

void trace_thread_name(uint32_t tid, const char *name)
{
	if (!ld_relaxed(&tri_trace_on))
		return;
	pthread_mutex_lock(&trace_lock);
	fprintf(out, ",\n{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":%d,\"tid\":%u,\"args\":{\"name\":\"%s\"}}",
		(int)tri_rt.pid, tid, name);
	pthread_mutex_unlock(&trace_lock);
}

void trace_flush(void)
{
	if (!ld_relaxed(&tri_trace_on))
		return;
	pthread_mutex_lock(&trace_lock);
	fflush(out);
	pthread_mutex_unlock(&trace_lock);
}
