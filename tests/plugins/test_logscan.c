/*
 * test_logscan.c — the logscan plugin's parts that need no host: the
 * masking that groups messages (plugins/logscan/logscan_mask.c), the name
 * a bare pattern gets (logscan_options.c), and the search for matching
 * lines with each prefilter, JIT and interpreter, at the edges of a
 * buffer (logscan_compile.c, logscan_match.c).  tests/integration/
 * logscan.sh drives the whole plugin on real files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "logscan.h"

static void
assert_mask(const char *line, const char *want)
{
	char got[256];

	logscan_mask(line, strlen(line), got, sizeof(got));
	assert_string_equal(got, want);
}

static void
test_mask_replaces_digit_runs_with_one_hash(void **state)
{
	(void)state;
	assert_mask("2026-12-06 10:00:01,123 pid 4101", "#-#-# #:#:#,# pid #");
}

static void
test_mask_keeps_letters_around_digits(void **state)
{
	(void)state;
	assert_mask("patient MRN00008156 ok", "patient MRN# ok");
}

static void
test_mask_replaces_uuids_hex_and_addresses(void **state)
{
	(void)state;
	assert_mask("req 123e4567-e89b-12d3-a456-426614174000 at 0x7f3a2c10 from 10.20.1.15:5432",
	            "req <id> at <hex> from <ip>");
	assert_mask("commit deadbeef1234 done", "commit <hex> done");
}

static void
test_mask_replaces_absolute_paths_but_not_words_with_slashes(void **state)
{
	(void)state;
	assert_mask("File \"/srv/app/views.py\", line 12", "File \"<path>\", line #");
	assert_mask("and/or 3/4", "and/or #/#");
}

static void
test_mask_cuts_at_the_buffer_and_terminates(void **state)
{
	(void)state;
	char got[8];

	logscan_mask("abcdefghijkl", 12, got, sizeof(got));
	assert_string_equal(got, "abcdefg");
}

static void
test_pattern_name_of_a_bare_regex(void **state)
{
	(void)state;
	char name[LOGSCAN_NAME_SIZE];

	logscan_pattern_name("Failed to", name, sizeof(name));
	assert_string_equal(name, "failed_to");
	logscan_pattern_name("\\bERROR\\b", name, sizeof(name));
	assert_string_equal(name, "berror_b");
	logscan_pattern_name("...", name, sizeof(name));
	assert_string_equal(name, "pattern");
}

/* A matcher for the runbook's four patterns with the given engine/JIT. */
static void
matcher_of(struct logscan_options *o, struct logscan_matcher *m, enum logscan_engine engine,
           int want_jit)
{
	static const char *const seed[] = {"ERROR", "CRITICAL", "Exception", "Failed to"};
	char err[512];

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < 4; i++) {
		o->pats[i].regex = (char *)seed[i];
		logscan_pattern_name(seed[i], o->pats[i].name, sizeof(o->pats[i].name));
	}
	o->n_pats = 4;
	o->engine = engine;
	o->want_jit = want_jit;
	o->threads = 2;
	assert_int_equal(logscan_matcher_new(o, o->pats, m, err, sizeof(err)), 0);
}

/* 8 MB of filler with matches in the first and last bytes, across the
 * two threads' split and on a line of its own without a newline. */
static char *
edge_buffer(size_t *len)
{
	size_t n = 8u << 20;
	char *b = malloc(n);

	assert_non_null(b);
	memset(b, 'x', n);
	for (size_t i = 99; i < n; i += 100)
		b[i] = '\n';
	memcpy(b, "ERROR", 5);
	memcpy(b + n / 2 - 3, "Failed to", 9); /* crosses the middle's line */
	memcpy(b + n - 9, "CRITICAL", 8);
	b[n - 1] = '\n';
	*len = n;
	return b;
}

/* Where the buffer's last line begins. */
static size_t
last_line_start(const char *b, size_t len)
{
	size_t i = len - 1;

	while (i > 0 && b[i - 1] != '\n')
		i--;
	return i;
}

static void
scan_edges(enum logscan_engine engine, int want_jit)
{
	struct logscan_options o;
	struct logscan_matcher m;
	struct logscan_hits hits = {0};
	size_t len;
	char *b = edge_buffer(&len);

	matcher_of(&o, &m, engine, want_jit);
#ifdef HAVE_HYPERSCAN
	if (engine == LOGSCAN_ENGINE_AUTO)
		assert_non_null(m.hs_db);
#endif
	assert_int_equal(m.is_jit, engine == LOGSCAN_ENGINE_AUTO || want_jit);
	assert_int_equal(logscan_matcher_scan(&m, b, len, &hits), 0);
	assert_int_equal(hits.n, 3);
	assert_int_equal(hits.v[0].off, 0);
	assert_int_equal(hits.v[0].mask, 1u);
	assert_int_equal(hits.v[1].mask, 8u);
	assert_int_equal(hits.v[2].off, last_line_start(b, len));
	assert_int_equal(hits.v[2].mask, 2u);
	logscan_hits_free(&hits);
	free(b);
	logscan_matcher_free(&m);
}

static void
test_scan_finds_matches_at_the_edges_with_hyperscan(void **state)
{
	(void)state;
	scan_edges(LOGSCAN_ENGINE_AUTO, 1);
}

static void
test_scan_finds_matches_at_the_edges_with_pcre2_jit(void **state)
{
	(void)state;
	scan_edges(LOGSCAN_ENGINE_PCRE2, 1);
}

static void
test_scan_finds_matches_at_the_edges_with_the_interpreter(void **state)
{
	(void)state;
	scan_edges(LOGSCAN_ENGINE_PCRE2, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mask_replaces_digit_runs_with_one_hash),
	    cmocka_unit_test(test_mask_keeps_letters_around_digits),
	    cmocka_unit_test(test_mask_replaces_uuids_hex_and_addresses),
	    cmocka_unit_test(test_mask_replaces_absolute_paths_but_not_words_with_slashes),
	    cmocka_unit_test(test_mask_cuts_at_the_buffer_and_terminates),
	    cmocka_unit_test(test_pattern_name_of_a_bare_regex),
	    cmocka_unit_test(test_scan_finds_matches_at_the_edges_with_hyperscan),
	    cmocka_unit_test(test_scan_finds_matches_at_the_edges_with_pcre2_jit),
	    cmocka_unit_test(test_scan_finds_matches_at_the_edges_with_the_interpreter),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
