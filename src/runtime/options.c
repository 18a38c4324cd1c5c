/* SPDX-License-Identifier: MIT */
/*
 * options.c - parsing of "key=value,key=value" settings (see options.h).
 * An unknown key or a bad value is reported by name and makes tri_init fail
 * with EINVAL; nothing is half-applied because parsing works on a copy.
 * Every key, default and range comes from TRI_OPTION_TABLE (options.h);
 * this file holds only the generic parser over its rows.
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
#define DEFAULT_OPT_INT(field, dflt) o->field = dflt;
#define DEFAULT_OPT_SIZE(field, dflt) o->field = dflt;
#define DEFAULT_OPT_BOOL(field, dflt) o->field = dflt;
#define DEFAULT_OPT_SIGNAL(field, dflt) o->field = dflt;
#define DEFAULT_OPT_DEBUG(field, dflt)
#define DEFAULT(key, type, field, kind, lo, hi, off, offval, dflt, ...) DEFAULT_##kind(field, dflt)
	TRI_OPTION_TABLE(DEFAULT)
}

#define OFFSET_OPT_INT(field) offsetof(struct tri_options, field), sizeof(int)
#define OFFSET_OPT_SIZE(field) offsetof(struct tri_options, field), sizeof(uint64_t)
#define OFFSET_OPT_BOOL(field) OFFSET_OPT_INT(field)
#define OFFSET_OPT_SIGNAL(field) OFFSET_OPT_INT(field)
#define OFFSET_OPT_DEBUG(field) 0, 0
#define DESC(key, type, field, kind, lo, hi, off, offval, dflt, dflt_doc, doc) \
	{#key, kind, OFFSET_##kind(field), lo, hi, off, offval, dflt_doc, doc},
static const struct tri_option_desc options[] = {TRI_OPTION_TABLE(DESC)};
#define NOPTIONS (sizeof options / sizeof options[0])

#define DEBUG_DESC(name, field, kind, doc) {#name, kind, offsetof(struct tri_options, field), doc},
static const struct tri_debug_desc debug_flags[] = {TRI_DEBUG_FLAG_TABLE(DEBUG_DESC)};
#define NDEBUG_FLAGS (sizeof debug_flags / sizeof debug_flags[0])

const struct tri_option_desc *tri_options_table(size_t *count)
{
	*count = NOPTIONS;
	return options;
}

const struct tri_debug_desc *tri_debug_flags_table(size_t *count)
{
	*count = NDEBUG_FLAGS;
	return debug_flags;
}

/* The lists are built once, by tri_init's thread, before any other runtime
 * thread exists (pthread_once makes a second caller wait). */
static char known_options[512], known_flags[256];
static pthread_once_t known_once = PTHREAD_ONCE_INIT;

static void known_build(void)
{
	size_t n = 0;
	for (size_t i = 0; i < NOPTIONS; i++)
		n += (size_t)snprintf(known_options + n, sizeof known_options - n, "%s%s", i ? ", " : "",
				      options[i].key);
	n = 0;
	for (size_t i = 0; i < NDEBUG_FLAGS; i++)
		n += (size_t)snprintf(known_flags + n, sizeof known_flags - n, "%s%s%s", i ? ", " : "",
				      debug_flags[i].name, debug_flags[i].kind == DBG_PATH ? "=PATH" : "");
}

const char *tri_options_known(void)
{
	pthread_once(&known_once, known_build);
	return known_options;
}

const char *tri_debug_flags_known(void)
{
	pthread_once(&known_once, known_build);
	return known_flags;
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
		size_t i;
		for (i = 0; i < NDEBUG_FLAGS; i++) {
			const struct tri_debug_desc *d = &debug_flags[i];
			size_t len = strlen(d->name);
			char *field = (char *)o + d->offset;
			if (d->kind == DBG_PATH) {
				if (!strncmp(f, d->name, len) && f[len] == '=' && f[len + 1]) {
					snprintf(field, sizeof o->trace_path, "%s", f + len + 1);
					break;
				}
			} else if (!strncmp(f, d->name, len) && (!f[len] || !strcmp(f + len, "=1"))) {
				*(int *)field = 1;
				break;
			}
		}
		if (i == NDEBUG_FLAGS) {
			tri_warn("tri_init: unknown debug flag \"%s\" in %s (known: %s)", f, source,
				 tri_debug_flags_known());
			return EINVAL;
		}
	}
	if (o->checkstacks) /* checkstacks is checkmark with strict stacks */
		o->checkmark = 1;
	return 0;
}

/* v is one of the '|'-separated words of list (case-insensitive). */
static bool word_in(const char *v, const char *list)
{
	size_t n = strlen(v);
	for (const char *w = list; n && *w;) {
		size_t len = strcspn(w, "|");
		if (len == n && !strncasecmp(v, w, n))
			return true;
		w += len + (w[len] == '|');
	}
	return false;
}

static bool signal_borrowable(uint64_t sig)
{
	return sig != SIGKILL && sig != SIGSTOP && sig != SIGSEGV && sig != SIGBUS && sig != SIGABRT;
}

/* Parse v for d into *out; -1 if malformed or out of range. */
static int parse_value(const struct tri_option_desc *d, const char *v, uint64_t *out)
{
	int n;
	switch (d->kind) {
	case OPT_BOOL:
		if (!strcasecmp(v, "on") || !strcmp(v, "1"))
			*out = 1;
		else if (!strcasecmp(v, "off") || !strcmp(v, "0"))
			*out = 0;
		else
			return -1;
		return 0;
	case OPT_INT:
		if (parse_int(v, (long)d->lo, (long)d->hi, &n))
			return -1;
		*out = (uint64_t)n;
		return 0;
	case OPT_SIGNAL:
		if (parse_int(v, (long)d->lo, SIGRTMAX, &n) || !signal_borrowable((uint64_t)n))
			return -1;
		*out = (uint64_t)n;
		return 0;
	case OPT_SIZE:
		return parse_size(v, out) || *out < d->lo || *out > d->hi ? -1 : 0;
	case OPT_DEBUG:
		break;
	}
	return -1;
}

static int set_option(struct tri_options *o, const char *key, const char *v, const char *source)
{
	const struct tri_option_desc *d = NULL;
	for (size_t i = 0; i < NOPTIONS && !d; i++)
		if (!strcasecmp(key, options[i].key))
			d = &options[i];
	if (!d) {
		tri_warn("tri_init: unknown option \"%s\" in %s (known: %s)", key, source, tri_options_known());
		return EINVAL;
	}
	if (d->kind == OPT_DEBUG)
		return parse_debug(o, v, source);
	uint64_t x;
	if (word_in(v, d->off)) {
		x = (uint64_t)d->offval;
	} else if (parse_value(d, v, &x)) {
		tri_warn("tri_init: bad value \"%s\" for option %s in %s", v, key, source);
		return EINVAL;
	}
	char *field = (char *)o + d->offset;
	if (d->size == sizeof(int))
		*(int *)field = (int)x;
	else
		*(uint64_t *)field = x;
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
	const char *env = getenv("TRICOLOR_OPTIONS");
	int r = tri_options_parse(o, env, "TRICOLOR_OPTIONS");
	if (r)
		return r;
	for (size_t i = 0; i < NOPTIONS; i++) {
		char name[64] = "TRICOLOR_";
		size_t n = strlen(name);
		for (const char *k = options[i].key; *k && n < sizeof name - 1; k++)
			name[n++] = (char)toupper((unsigned char)*k);
		name[n] = 0;
		const char *v = getenv(name);
		if (v && (r = set_option(o, options[i].key, v, name)))
			return r;
	}
	return 0;
}
