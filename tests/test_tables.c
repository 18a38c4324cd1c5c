/* SPDX-License-Identifier: MIT */
/*
 * test_tables.c - the option and metric tables (TRI_OPTION_TABLE and
 * TRI_DEBUG_FLAG_TABLE in src/runtime/options.h, TRI_METRIC_TABLE in
 * src/runtime/metrics.c) are the one place an option or a metric is named.
 * These tests hold the rest of the project to them:
 *  - every option round-trips: a valid value other than the default, given
 *    in the options string (any case) and as TRICOLOR_<KEY>, lands in its
 *    field; each "off" word sets the off value; one past each end of the
 *    range is rejected with EINVAL;
 *  - every debug flag sets its field;
 *  - every option is named in tri_init's comment (include/tricolor.h), in
 *    README.md's Options section and in docs/misuse.md, whose "known:"
 *    lists are the ones the parser prints; every debug flag likewise;
 *  - every metric has a unique name, a description and a reader;
 *  - docs/options.md and docs/metrics.md are what the tables generate
 *    (`make docs-tables` rewrites them: ./tests/test_tables --write-docs).
 * Linked statically: it reads the runtime's internal (hidden) tables.
 */
#include "test_support.h"
#include "runtime/runtime.h"
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *srcdir(void)
{
	const char *d = getenv("srcdir");
	return d && *d ? d : ".";
}

static char *slurp(const char *rel)
{
	char path[1024];
	snprintf(path, sizeof path, "%s/%s", srcdir(), rel);
	FILE *f = fopen(path, "r");
	if (!f)
		return NULL;
	size_t cap = 1 << 16, n = 0;
	char *buf = malloc(cap);
	size_t got;
	while (buf && (got = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += got;
		if (n + 1 == cap)
			buf = realloc(buf, cap *= 2);
	}
	fclose(f);
	if (buf)
		buf[n] = 0;
	return buf;
}

/* The part of text from the first `from` to the next `to` (cut in place). */
static char *section(char *text, const char *from, const char *to)
{
	char *a = text ? strstr(text, from) : NULL;
	if (!a)
		return NULL;
	char *b = strstr(a + strlen(from), to);
	if (b)
		*b = 0;
	return a;
}

/* word occurs in text with no identifier character on either side. */
static bool has_word(const char *text, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = text; (p = strstr(p, word)); p++) {
		bool left = p == text || !(p[-1] == '_' || (p[-1] >= 'a' && p[-1] <= 'z'));
		char r = p[n];
		if (left && !(r == '_' || (r >= 'a' && r <= 'z')))
			return true;
	}
	return false;
}

static uint64_t field_of(const struct tri_options *o, const struct tri_option_desc *d)
{
	const char *f = (const char *)o + d->offset;
	if (d->size == sizeof(int))
		return (uint64_t)(int64_t)*(const int *)f;
	return *(const uint64_t *)f;
}

static uint64_t type_max(const struct tri_option_desc *d)
{
	return d->size == sizeof(int) ? INT32_MAX : UINT64_MAX;
}

/* A valid value for d other than its default. */
static uint64_t other_value(const struct tri_option_desc *d, uint64_t dflt)
{
	switch (d->kind) {
	case OPT_BOOL:
		return !dflt;
	case OPT_SIGNAL:
		return dflt == SIGUSR1 ? SIGUSR2 : SIGUSR1;
	default:
		return d->lo != dflt ? d->lo : d->hi;
	}
}

static int parse_one(struct tri_options *o, const char *key, const char *v)
{
	char s[512];
	snprintf(s, sizeof s, "%s=%s", key, v);
	return tri_options_parse(o, s, "the test");
}

START_TEST(every_option_round_trips_through_the_string_and_its_environment_variable)
{
	size_t n;
	const struct tri_option_desc *t = tri_options_table(&n);
	ck_assert_uint_ge(n, 13);
	struct tri_options dflt;
	tri_options_defaults(&dflt);
	unsetenv("TRICOLOR_OPTIONS");
	for (size_t i = 0; i < n; i++) {
		const struct tri_option_desc *d = &t[i];
		if (d->kind == OPT_DEBUG)
			continue;
		uint64_t v = other_value(d, field_of(&dflt, d));
		ck_assert_msg(v != field_of(&dflt, d), "%s: no value other than the default", d->key);
		char val[32], upper[64], env[80];
		snprintf(val, sizeof val, "%" PRIu64, v);
		size_t k = 0;
		for (; d->key[k]; k++)
			upper[k] = (char)(d->key[k] >= 'a' && d->key[k] <= 'z' ? d->key[k] - 32 : d->key[k]);
		upper[k] = 0;
		if (d->kind == OPT_BOOL)
			snprintf(val, sizeof val, "%s", v ? "on" : "off");

		struct tri_options o = dflt;
		ck_assert_int_eq(parse_one(&o, d->key, val), 0);
		ck_assert_msg(field_of(&o, d) == v, "%s=%s gave %" PRIu64, d->key, val, field_of(&o, d));
		o = dflt;
		ck_assert_int_eq(parse_one(&o, upper, val), 0); /* keys are case-insensitive */
		ck_assert_uint_eq(field_of(&o, d), v);

		snprintf(env, sizeof env, "TRICOLOR_%s", upper);
		setenv(env, val, 1);
		o = dflt;
		int r = tri_options_from_env(&o);
		unsetenv(env);
		ck_assert_msg(r == 0 && field_of(&o, d) == v, "%s=%s: %d, %" PRIu64, env, val, r, field_of(&o, d));

		/* each off word sets the off value */
		for (const char *w = d->off; *w;) {
			size_t len = strcspn(w, "|");
			char word[16];
			snprintf(word, sizeof word, "%.*s", (int)len, w);
			o = dflt;
			ck_assert_int_eq(parse_one(&o, d->key, word), 0);
			ck_assert_uint_eq(field_of(&o, d), (uint64_t)d->offval);
			w += len + (w[len] == '|');
		}
		if (d->kind != OPT_INT && d->kind != OPT_SIZE)
			continue;
		/* one past each end of the range is rejected */
		if (d->lo > 0) {
			snprintf(val, sizeof val, "%" PRIu64, d->lo - 1);
			o = dflt;
			ck_assert_msg(parse_one(&o, d->key, val) == EINVAL, "%s=%s accepted", d->key, val);
		}
		if (d->hi < type_max(d)) {
			snprintf(val, sizeof val, "%" PRIu64, d->hi + 1);
			o = dflt;
			ck_assert_msg(parse_one(&o, d->key, val) == EINVAL, "%s=%s accepted", d->key, val);
		}
	}
	struct tri_options o = dflt;
	ck_assert_int_eq(parse_one(&o, "preempt_signal", "9"), EINVAL); /* SIGKILL */
	ck_assert_int_eq(parse_one(&o, "data_roots", "maybe"), EINVAL);
	ck_assert_int_eq(parse_one(&o, "no_such_option", "1"), EINVAL);
}
END_TEST

START_TEST(every_debug_flag_sets_its_field)
{
	size_t n;
	const struct tri_debug_desc *t = tri_debug_flags_table(&n);
	ck_assert_uint_ge(n, 7);
	struct tri_options dflt;
	tri_options_defaults(&dflt);
	for (size_t i = 0; i < n; i++) {
		const struct tri_debug_desc *d = &t[i];
		struct tri_options o = dflt;
		char v[300];
		const char *f = (const char *)&o + d->offset;
		if (d->kind == DBG_PATH) {
			snprintf(v, sizeof v, "gctrace+%s=/tmp/x-%s", d->name, d->name);
			ck_assert_int_eq(parse_one(&o, "debug", v), 0);
			ck_assert_str_eq(f, strchr(v, '=') + 1);
			ck_assert_int_eq(o.gctrace, 1);
			o = dflt;
			snprintf(v, sizeof v, "%s=", d->name); /* an empty path is no path */
			ck_assert_int_eq(parse_one(&o, "debug", v), EINVAL);
		} else {
			ck_assert_int_eq(*(const int *)f, 0);
			ck_assert_int_eq(parse_one(&o, "debug", d->name), 0);
			ck_assert_msg(*(const int *)f == 1, "debug=%s", d->name);
			o = dflt;
			snprintf(v, sizeof v, "poison|%s=1", d->name);
			ck_assert_int_eq(parse_one(&o, "debug", v), 0);
			ck_assert_int_eq(*(const int *)f, 1);
			ck_assert_int_eq(o.poison, 1);
			snprintf(v, sizeof v, "%sx", d->name);
			ck_assert_int_eq(parse_one(&o, "debug", v), EINVAL);
		}
	}
}
END_TEST

/* what (named name) is in tri_init's comment, README's Options section and,
 * unless misuse is NULL, docs/misuse.md (the last two as `name...`). */
static void assert_documented(const char *what, const char *name, const char *init_doc,
			      const char *options_doc, const char *misuse)
{
	char quoted[64];
	snprintf(quoted, sizeof quoted, "`%s", name);
	ck_assert_msg(has_word(init_doc, name), "%s %s is not in tri_init's comment", what, name);
	ck_assert_msg(strstr(options_doc, quoted), "%s %s is not in README.md's Options", what, name);
	ck_assert_msg(!misuse || strstr(misuse, quoted), "%s %s is not in docs/misuse.md", what, name);
}

START_TEST(every_option_and_debug_flag_is_documented_in_the_header_readme_and_misuse_list)
{
	char *header = slurp("include/tricolor.h"), *readme = slurp("README.md"),
	     *misuse = slurp("docs/misuse.md");
	ck_assert_msg(header && readme && misuse, "cannot read the docs under srcdir=%s", srcdir());
	char *init_doc = section(header, "tri_init: start the runtime", "TRI_API int tri_init");
	char *options_doc = section(readme, "## Options", "\n## ");
	ck_assert_ptr_nonnull(init_doc);
	ck_assert_ptr_nonnull(options_doc);
	size_t n;
	const struct tri_option_desc *t = tri_options_table(&n);
	for (size_t i = 0; i < n; i++)
		assert_documented("option", t[i].key, init_doc, options_doc, misuse);
	const struct tri_debug_desc *f = tri_debug_flags_table(&n);
	for (size_t i = 0; i < n; i++)
		assert_documented("debug flag", f[i].name, init_doc, options_doc, NULL);
	char known[1024];
	snprintf(known, sizeof known, "(known: %s)", tri_options_known());
	ck_assert_msg(strstr(misuse, known), "docs/misuse.md lacks the unknown-option message's %s", known);
	snprintf(known, sizeof known, "(known: %s)", tri_debug_flags_known());
	ck_assert_msg(strstr(misuse, known), "docs/misuse.md lacks the unknown-flag message's %s", known);
	free(header);
	free(readme);
	free(misuse);
}
END_TEST

START_TEST(every_metric_has_a_unique_name_a_description_and_a_reader)
{
	size_t n;
	const tri_metric_desc *m = tri_metrics_list(&n);
	ck_assert_uint_ge(n, 38 + 3 * 8);
	ck_assert_int_eq(tri_init("gc_percent=37,memory_limit=64m"), 0);
	uint64_t v;
	for (size_t i = 0; i < n; i++) {
		ck_assert_msg(m[i].name[0] == '/' && strchr(m[i].name, ':'), "bad name %s", m[i].name);
		size_t len = strlen(m[i].description);
		ck_assert_msg(len > 5 && m[i].description[len - 1] == '.', "%s: description \"%s\"", m[i].name,
			      m[i].description);
		for (size_t j = 0; j < i; j++)
			ck_assert_msg(strcmp(m[i].name, m[j].name), "%s listed twice", m[i].name);
		ck_assert_int_eq(tri_read_metric(m[i].name, &v), 0);
	}
	ck_assert_int_eq(tri_read_metric("/gc/no/such:metric", &v), ENOENT);
	/* each name reads its own value: the option-backed ones, and a counter */
	ck_assert_uint_eq(tsup_metric("/gc/gogc:percent"), 37);
	ck_assert_uint_eq(tsup_metric("/gc/gomemlimit:bytes"), 64ull << 20);
	uint64_t c0 = tsup_metric("/gc/cycles/total:gc-cycles"), f0 = tsup_metric("/gc/cycles/forced:gc-cycles");
	tri_collect();
	tri_collect();
	ck_assert_uint_ge(tsup_metric("/gc/cycles/total:gc-cycles"), c0 + 2);
	ck_assert_uint_eq(tsup_metric("/gc/cycles/forced:gc-cycles"), f0 + 2);
}
END_TEST

/* A size as the parser reads it: the largest suffix that divides it. */
static const char *fmt_size(uint64_t v, char *b, size_t cap)
{
	static const char suffix[] = "kmgt";
	int s = -1;
	while (s < 3 && v && !(v & 1023)) {
		v >>= 10;
		s++;
	}
	snprintf(b, cap, "%" PRIu64 "%.*s", v, s >= 0, s >= 0 ? &suffix[s] : "");
	return b;
}

/* docs/options.md and docs/metrics.md as the tables generate them. */
static size_t gen_options_md(char *b, size_t cap)
{
	size_t n, k = 0;
	const struct tri_option_desc *t = tri_options_table(&n);
	k += (size_t)snprintf(b + k, cap - k,
			      "# Options\n\n"
			      "Generated from `TRI_OPTION_TABLE` and `TRI_DEBUG_FLAG_TABLE` in\n"
			      "`src/runtime/options.h` by `make docs-tables`; do not edit (tests/test_tables\n"
			      "checks it). Give them as `tri_init(\"key=value,...\")`, in `TRICOLOR_OPTIONS`\n"
			      "or as `TRICOLOR_<KEY>` (later ones win; include/tricolor.h, tri_init).\n\n"
			      "| key | default | values | meaning |\n|---|---|---|---|\n");
	for (size_t i = 0; i < n && k < cap; i++) {
		const struct tri_option_desc *d = &t[i];
		char values[128], lo[32], hi[32];
		switch (d->kind) {
		case OPT_INT:
			snprintf(values, sizeof values, "%" PRIu64 "..%" PRIu64, d->lo, d->hi);
			break;
		case OPT_SIZE:
			if (d->hi < UINT64_MAX)
				snprintf(values, sizeof values, "a size, %s..%s", fmt_size(d->lo, lo, sizeof lo),
					 fmt_size(d->hi, hi, sizeof hi));
			else if (d->lo)
				snprintf(values, sizeof values, "a size >= %s", fmt_size(d->lo, lo, sizeof lo));
			else
				snprintf(values, sizeof values, "a size");
			break;
		case OPT_BOOL:
			snprintf(values, sizeof values, "on, off");
			break;
		case OPT_SIGNAL:
			snprintf(values, sizeof values, "a signal number");
			break;
		case OPT_DEBUG:
			snprintf(values, sizeof values, "flags");
			break;
		}
		for (const char *w = d->off; *w;) { /* "off|none": ", off, none" */
			size_t l = strlen(values), len = strcspn(w, "|");
			snprintf(values + l, sizeof values - l, ", %.*s", (int)len, w);
			w += len + (w[len] == '|');
		}
		k += (size_t)snprintf(b + k, cap - k, "| `%s` | %s | %s | %s |\n", d->key,
				      *d->dflt_doc ? d->dflt_doc : "-", values, d->doc);
	}
	const struct tri_debug_desc *f = tri_debug_flags_table(&n);
	k += (size_t)snprintf(b + k, cap - k, "\nFlags of `debug=` (`+`-separated):\n\n| flag | meaning |\n|---|---|\n");
	for (size_t i = 0; i < n && k < cap; i++)
		k += (size_t)snprintf(b + k, cap - k, "| `%s%s` | %s |\n", f[i].name,
				      f[i].kind == DBG_PATH ? "=PATH" : "", f[i].doc);
	return k;
}

static size_t gen_metrics_md(char *b, size_t cap)
{
	size_t n, k = 0;
	const tri_metric_desc *m = tri_metrics_list(&n);
	k += (size_t)snprintf(b + k, cap - k,
			      "# Metrics\n\n"
			      "Generated from `TRI_METRIC_TABLE` in `src/runtime/metrics.c` by\n"
			      "`make docs-tables`; do not edit (tests/test_tables checks it). Read one with\n"
			      "`tri_read_metric(name, &value)`; `tri_metrics_list` returns this list.\n\n"
			      "| name | meaning |\n|---|---|\n");
	for (size_t i = 0; i < n && k < cap; i++)
		k += (size_t)snprintf(b + k, cap - k, "| `%s` | %s |\n", m[i].name, m[i].description);
	return k;
}

static const struct {
	const char *path;
	size_t (*gen)(char *, size_t);
} generated[] = {{"docs/options.md", gen_options_md}, {"docs/metrics.md", gen_metrics_md}};

START_TEST(docs_options_and_metrics_lists_are_what_the_tables_generate)
{
	static char want[1 << 16];
	size_t n = generated[_i].gen(want, sizeof want);
	ck_assert_uint_lt(n, sizeof want);
	char *have = slurp(generated[_i].path);
	ck_assert_msg(have, "%s/%s is missing (make docs-tables)", srcdir(), generated[_i].path);
	ck_assert_msg(!strcmp(have, want), "%s is out of date: run make docs-tables", generated[_i].path);
	free(have);
}
END_TEST

static int write_docs(void)
{
	static char buf[1 << 16];
	for (size_t i = 0; i < sizeof generated / sizeof generated[0]; i++) {
		char path[1024];
		snprintf(path, sizeof path, "%s/%s", srcdir(), generated[i].path);
		size_t n = generated[i].gen(buf, sizeof buf);
		FILE *f = fopen(path, "w");
		if (!f || fwrite(buf, 1, n, f) != n || fclose(f)) {
			perror(path);
			return EXIT_FAILURE;
		}
		printf("wrote %s\n", path);
	}
	return EXIT_SUCCESS;
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "--write-docs"))
		return write_docs();
	Suite *s = suite_create("tables");
	TCase *tc = tcase_create("tables");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, every_option_round_trips_through_the_string_and_its_environment_variable);
	tcase_add_test(tc, every_debug_flag_sets_its_field);
	tcase_add_test(tc, every_option_and_debug_flag_is_documented_in_the_header_readme_and_misuse_list);
	tcase_add_test(tc, every_metric_has_a_unique_name_a_description_and_a_reader);
	tcase_add_loop_test(tc, docs_options_and_metrics_lists_are_what_the_tables_generate, 0,
			    sizeof generated / sizeof generated[0]);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
