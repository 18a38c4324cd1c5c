/*
 * options.c - parsing of "key=value,key=value" settings (see options.h).
 * An unknown key or a bad value is reported by name and makes tri_init fail
 * with EINVAL; nothing is half-applied because parsing works on a copy.
 */
#include "runtime/runtime.h"
#include <ctype.h>
#include <signal.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

void tri_options_defaults(struct tri_options *o)
{
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	if (ncpu < 1)
		ncpu = 1;
	memset(o, 0, sizeof *o);
	o->gc_percent = 100;
	o->memory_limit = 0;
	o->mark_workers = ncpu / 4 > 1 ? (int)(ncpu / 4) : 1;
	o->cleanup_workers = ncpu > 4 ? (int)ncpu : 4;
	o->heap_reserve = 64ull << 30;
	o->min_heap = 4ull << 20;
	o->slow_finalizer_ms = 1000;
	o->preempt_ms = 1;
	o->preempt_signal = SIGURG;
	o->heapprofile_rate = 512 * 1024;
	o->data_roots = 1;
}

static int parse_size(const char *v, uint64_t *out)
{
	char *end;
	errno = 0;
	unsigned long long n = strtoull(v, &end, 10);
	if (errno || end == v || v[0] == '-')
		return -1;
	uint64_t mul = 1;
	switch (tolower((unsigned char)*end)) {
	case 0: break;
	case 'k': mul = 1ull << 10; end++; break;
	case 'm': mul = 1ull << 20; end++; break;
	case 'g': mul = 1ull << 30; end++; break;
	case 't': mul = 1ull << 40; end++; break;
	default: return -1;
	}
	if (*end == 'b' || *end == 'B')
		end++;
	if (*end)
		return -1;
	if (n > UINT64_MAX / mul)
		return -1;
	*out = n * mul;
	return 0;
}

static int parse_int(const char *v, long lo, long hi, int *out)
{
	char *end;
	errno = 0;
	long n = strtol(v, &end, 10);
	if (errno || end == v || *end || n < lo || n > hi)
		return -1;
	*out = (int)n;
	return 0;
}

static int parse_debug(struct tri_options *o, const char *v, const char *source)
{
	char buf[512];
	snprintf(buf, sizeof buf, "%s", v);
	char *save = NULL;
	for (char *f = strtok_r(buf, "+|", &save); f; f = strtok_r(NULL, "+|", &save)) {
		if (!strcmp(f, "gctrace") || !strcmp(f, "gctrace=1"))
			o->gctrace = 1;
		else if (!strcmp(f, "checkmark") || !strcmp(f, "checkmark=1"))
			o->checkmark = 1;
		else if (!strcmp(f, "poison") || !strcmp(f, "poison=1"))
			o->poison = 1;
		else if (!strcmp(f, "checkfinalizers") || !strcmp(f, "checkfinalizers=1"))
			o->checkfinalizers = 1;
		else if (!strcmp(f, "stats") || !strcmp(f, "stats=1"))
			o->stats = 1;
		else if (!strncmp(f, "heapprofile=", 12) && f[12])
			snprintf(o->heapprofile_path, sizeof o->heapprofile_path, "%s", f + 12);
		else if (!strncmp(f, "trace=", 6) && f[6])
			snprintf(o->trace_path, sizeof o->trace_path, "%s", f + 6);
		else {
			tri_warn("tri_init: unknown debug flag \"%s\" in %s (known: gctrace, checkmark, poison, checkfinalizers, stats, trace=PATH, heapprofile=PATH)",
				 f, source);
			return EINVAL;
		}
	}
	return 0;
}

static int set_option(struct tri_options *o, const char *key, const char *v, const char *source)
{
	int bad = 0;
	if (!strcasecmp(key, "gc_percent")) {
		if (!strcasecmp(v, "off"))
			o->gc_percent = -1;
		else
			bad = parse_int(v, 0, 1000000, &o->gc_percent);
	} else if (!strcasecmp(key, "memory_limit")) {
		if (!strcasecmp(v, "off") || !strcasecmp(v, "none"))
			o->memory_limit = 0;
		else
			bad = parse_size(v, &o->memory_limit);
	} else if (!strcasecmp(key, "heapprofile_rate")) {
		bad = parse_size(v, &o->heapprofile_rate);
		if (!bad && !o->heapprofile_rate)
			bad = 1;
	} else if (!strcasecmp(key, "show_stats")) {
		bad = parse_int(v, 0, 1, &o->stats);
	} else if (!strcasecmp(key, "mark_workers")) {
		bad = parse_int(v, 1, 256, &o->mark_workers);
	} else if (!strcasecmp(key, "cleanup_workers")) {
		bad = parse_int(v, 1, 4096, &o->cleanup_workers);
	} else if (!strcasecmp(key, "heap_reserve")) {
		bad = parse_size(v, &o->heap_reserve);
		if (!bad && (o->heap_reserve < (64ull << 20) || o->heap_reserve > (1ull << 40)))
			bad = 1;
	} else if (!strcasecmp(key, "min_heap")) {
		bad = parse_size(v, &o->min_heap);
	} else if (!strcasecmp(key, "slow_finalizer_ms")) {
		uint64_t ms;
		bad = parse_size(v, &ms);
		if (!bad)
			o->slow_finalizer_ms = ms;
	} else if (!strcasecmp(key, "preempt_ms")) {
		if (!strcasecmp(v, "off"))
			o->preempt_ms = 0;
		else
			bad = parse_size(v, &o->preempt_ms);
	} else if (!strcasecmp(key, "preempt_signal")) {
		bad = parse_int(v, 1, SIGRTMAX, &o->preempt_signal);
		if (!bad && (o->preempt_signal == SIGKILL || o->preempt_signal == SIGSTOP ||
			     o->preempt_signal == SIGSEGV || o->preempt_signal == SIGBUS ||
			     o->preempt_signal == SIGABRT))
			bad = 1;
	} else if (!strcasecmp(key, "data_roots")) {
		if (!strcasecmp(v, "on") || !strcmp(v, "1"))
			o->data_roots = 1;
		else if (!strcasecmp(v, "off") || !strcmp(v, "0"))
			o->data_roots = 0;
		else
			bad = 1;
	} else if (!strcasecmp(key, "debug")) {
		return parse_debug(o, v, source);
	} else {
		tri_warn("tri_init: unknown option \"%s\" in %s (known: gc_percent, memory_limit, mark_workers, cleanup_workers, heap_reserve, min_heap, slow_finalizer_ms, preempt_ms, preempt_signal, data_roots, show_stats, heapprofile_rate, debug)",
			 key, source);
		return EINVAL;
	}
	if (bad) {
		tri_warn("tri_init: bad value \"%s\" for option %s in %s", v, key, source);
		return EINVAL;
	}
	return 0;
}

int tri_options_parse(struct tri_options *o, const char *s, const char *source)
{
	if (!s)
		return 0;
	char buf[1024];
	if (strlen(s) >= sizeof buf) {
		tri_warn("tri_init: options string in %s is too long", source);
		return EINVAL;
	}
	snprintf(buf, sizeof buf, "%s", s);
	char *save = NULL;
	for (char *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
		while (isspace((unsigned char)*kv))
			kv++;
		if (!*kv)
			continue;
		char *eq = strchr(kv, '=');
		if (!eq) {
			tri_warn("tri_init: option \"%s\" in %s has no value (want key=value)", kv, source);
			return EINVAL;
		}
		*eq = 0;
		int r = set_option(o, kv, eq + 1, source);
		if (r)
			return r;
	}
	return 0;
}

int tri_options_from_env(struct tri_options *o)
{
	static const char *const keys[] = {"gc_percent", "memory_limit", "mark_workers",
					   "cleanup_workers", "heap_reserve", "min_heap",
					   "slow_finalizer_ms", "preempt_ms", "preempt_signal", "data_roots",
					   "show_stats", "debug",
					   "heapprofile_rate"};
	const char *env = getenv("TRICOLOR_OPTIONS");
	int r = tri_options_parse(o, env, "TRICOLOR_OPTIONS");
	if (r)
		return r;
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
		char name[64] = "TRICOLOR_";
		size_t n = strlen(name);
		for (const char *k = keys[i]; *k && n < sizeof name - 1; k++)
			name[n++] = (char)toupper((unsigned char)*k);
		name[n] = 0;
		const char *v = getenv(name);
		if (v && (r = set_option(o, keys[i], v, name)))
			return r;
	}
	return 0;
}
