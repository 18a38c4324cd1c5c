/* SPDX-License-Identifier: MIT */
/*
 * fatal.c - how tricolor reports misuse and broken invariants: one line on
 * stderr, Go style ("tri_set_finalizer: pointer is NULL"), then abort().
 * Nothing is ever lost silently: a caller that breaks a rule learns which.
 * Also the helpers every part shares: naming a function in a report
 * (rt_describe_fn), detached internal threads and condition waits with a
 * deadline.
 */
#include "runtime/runtime.h"
#include "runtime/nopreempt.h"
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

void rt_describe_fn(void *fn, char *buf, size_t len)
{
	Dl_info info;
	if (dladdr(fn, &info) && info.dli_sname)
		snprintf(buf, len, "%s+%#lx", info.dli_sname,
			 (unsigned long)((char *)fn - (char *)info.dli_saddr));
	else if (dladdr(fn, &info) && info.dli_fname)
		snprintf(buf, len, "%p (in %s)", fn, info.dli_fname);
	else
		snprintf(buf, len, "%p", fn);
}

static void vreport(const char *fmt, va_list ap)
{
	char buf[512];
	int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	/* write(2) rather than stdio: safe while other threads hold locks. */
	ssize_t w = write(2, buf, (size_t)n);
	(void)w;
}

void tri_fatal(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
	abort();
}

void tri_warn(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vreport(fmt, ap);
	va_end(ap);
}

/* Not messages, but the two other bits of plumbing every part shares. */
struct spawn_start {
	void *(*fn)(void *);
	void *arg;
	char name[16];
};

/* Monotonic per-process counter for thread names without their own index. */
static unsigned spawn_seq;

/*
 * glibc gives a new thread the cached stack of a thread that exited (and,
 * in a fork child, of every parent thread that did not survive the fork).
 * The new thread's frames leave slots unwritten (alignment, unused locals,
 * many more under ASan's redzones) that still hold the old thread's words;
 * a runtime thread that is attached (finalizer thread, cleanup workers) has
 * its stack scanned conservatively, and such a word retained the object
 * that reused its address (under ASan a search of a tests/test_fork child
 * whose finalizer never ran found the only word naming its object 5 KiB
 * below the top of such a reused stack).
 * So a runtime thread zeroes the stack its frames will use (runtime threads
 * run shallow: their deepest frames, user callbacks aside, are far less)
 * before it runs. 64 KiB written once per thread start.
 */
#define SPAWN_SCRUB_BYTES 65536
static __attribute__((noinline)) void scrub_reused_stack(void)
{
	volatile char buf[SPAWN_SCRUB_BYTES];
	memset((char *)buf, 0, sizeof buf);
	__asm__ __volatile__("" : : "r"(buf) : "memory");
}

/* The runtime's threads run tricolor code: never preempted, except inside
 * the user callbacks they run (preemptible_call). */
static void *spawn_main(void *p)
{
	scrub_reused_stack();
	struct spawn_start st = *(struct spawn_start *)p;
	free(p);
	tri_nopreempt = 1;
	if (st.name[0])
		(void)pthread_setname_np(pthread_self(), st.name);
	return st.fn(st.arg);
}

int tri_spawn_thread(void *(*fn)(void *), void *arg, const char *name, int index)
{
	struct spawn_start *st = calloc(1, sizeof *st);
	if (!st)
		return ENOMEM;
	st->fn = fn;
	st->arg = arg;
	if (name) {
		if (index == TRI_SPAWN_AUTO_INDEX)
			index = (int)fetch_add(&spawn_seq, 1);
		if (index >= 0)
			snprintf(st->name, sizeof st->name, "%s-%d", name, index);
		else
			snprintf(st->name, sizeof st->name, "%s", name);
	}
	pthread_t tid;
	pthread_attr_t attr;
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	int r = pthread_create(&tid, &attr, spawn_main, st);
	pthread_attr_destroy(&attr);
	if (r)
		free(st);
	return r;
}

int tri_spawn_detached(void *(*fn)(void *), void *arg)
{
	return tri_spawn_thread(fn, arg, NULL, -1);
}

int tri_cond_wait_until(pthread_cond_t *cond, pthread_mutex_t *mutex, uint64_t deadline_ns)
{
	if (!deadline_ns) {
		pthread_cond_wait(cond, mutex);
		return 0;
	}
	uint64_t now = tri_now_ns();
	if (now >= deadline_ns)
		return ETIMEDOUT;
	uint64_t wait = deadline_ns - now;
	if (wait > 50000000)
		wait = 50000000;
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_nsec += (long)wait;
	ts.tv_sec += ts.tv_nsec / 1000000000;
	ts.tv_nsec %= 1000000000;
	pthread_cond_timedwait(cond, mutex, &ts);
	return 0;
}
