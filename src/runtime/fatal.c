/*
 * fatal.c - how tricolor reports misuse and broken invariants: one line on
 * stderr, Go style ("tri_set_finalizer: pointer is NULL"), then abort().
 * Nothing is ever lost silently: a caller that breaks a rule learns which.
 */
#include "runtime/runtime.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

void tri_fatal(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	/* write(2) rather than stdio: safe while other threads hold locks. */
	ssize_t w = write(2, buf, (size_t)n);
	(void)w;
	abort();
}

void tri_warn(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof buf - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n > (int)sizeof buf - 2)
		n = (int)sizeof buf - 2;
	buf[n++] = '\n';
	ssize_t w = write(2, buf, (size_t)n);
	(void)w;
}
