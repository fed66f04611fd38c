/*
 * test_dumpcount.c — per-table row counts read from a plain pg_dump stream
 * (plugins/lib/dumpcount.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "dumpcount.h"

#define HEADER(name, schema)                                                                       \
	"--\n-- Data for Name: " name "; Type: TABLE DATA; Schema: " schema "; Owner: app\n--\n\n"

/* Two tables, one with a quoted name holding a dot and a quote, a value
 * with an escaped newline, an escaped backslash before a dot, an empty
 * table, and pg_dump's trailer. */
static const char dump[] =
    "--\n-- PostgreSQL database dump\n--\n\nSET statement_timeout = 0;\n\n"
    "CREATE TABLE public.notes (id integer, body text);\n\n" HEADER(
        "notes",
        "public") "COPY public.notes (id, body) FROM stdin;\n"
                  "1\tfirst\n"
                  "2\ttwo\\nlines\n"
                  "3\t\\\\.\n"
                  "\\.\n\n\n" HEADER(
                      "Odd.\"Name\"",
                      "Big Schema") "COPY \"Big Schema\".\"Odd.\"\"Name\"\"\" (a) FROM stdin;\n"
                                    "x\n"
                                    "\\.\n\n\n" HEADER(
                                        "empty", "public") "COPY public.empty (a) FROM stdin;\n"
                                                           "\\.\n\n\n"
                                                           "--\n-- PostgreSQL database dump "
                                                           "complete\n--\n\n";

static struct dumpcount *
count_in_pieces(const char *s, size_t len, size_t piece)
{
	struct dumpcount *dc = dumpcount_new();

	assert_non_null(dc);
	for (size_t at = 0; at < len; at += piece)
		assert_int_equal(dumpcount_add(dc, s + at, len - at < piece ? len - at : piece), 0);
	return dc;
}

static void
assert_dump_counts(struct dumpcount *dc)
{
	assert_int_equal(dumpcount_n_tables(dc), 3);
	assert_int_equal(dumpcount_rows(dc, "public.notes"), 3);
	assert_int_equal(dumpcount_rows(dc, "Big Schema.Odd.\"Name\""), 1);
	assert_int_equal(dumpcount_rows(dc, "public.empty"), 0);
	assert_int_equal(dumpcount_rows(dc, "public.absent"), -1);
	assert_false(dumpcount_is_in_section(dc));
	assert_null(dumpcount_duplicate(dc));
}

static void
test_counts_rows_per_table(void **unused)
{
	struct dumpcount *dc;

	(void)unused;
	dc = count_in_pieces(dump, strlen(dump), strlen(dump));
	assert_dump_counts(dc);
	dumpcount_free(dc);
}

/* The pipe hands over any piece: every split gives the same counts. */
static void
test_counts_do_not_depend_on_the_pieces(void **unused)
{
	(void)unused;
	for (size_t piece = 1; piece <= 64; piece++) {
		struct dumpcount *dc = count_in_pieces(dump, strlen(dump), piece);

		assert_dump_counts(dc);
		dumpcount_free(dc);
	}
}

/* The same words in a function body, without pg_dump's TABLE DATA header
 * just before them, start no section. */
static void
test_copy_in_a_function_body_is_not_a_section(void **unused)
{
	static const char s[] =
	    "CREATE FUNCTION public.f() RETURNS void LANGUAGE sql AS $$\n"
	    "COPY public.notes (id) FROM stdin;\n"
	    "$$;\n\n" HEADER("notes", "public") "COPY public.notes (id) FROM stdin;\n1\n2\n\\.\n";
	struct dumpcount *dc;

	(void)unused;
	dc = count_in_pieces(s, strlen(s), strlen(s));
	assert_int_equal(dumpcount_n_tables(dc), 1);
	assert_int_equal(dumpcount_rows(dc, "public.notes"), 2);
	dumpcount_free(dc);
}

static void
test_a_stream_cut_inside_rows_is_told(void **unused)
{
	static const char s[] = HEADER("t", "public") "COPY public.t (a) FROM stdin;\n1\n2\n";
	struct dumpcount *dc;

	(void)unused;
	dc = count_in_pieces(s, strlen(s), 7);
	assert_true(dumpcount_is_in_section(dc));
	assert_int_equal(dumpcount_n_tables(dc), 0);
	dumpcount_free(dc);
}

static void
test_a_table_twice_is_told(void **unused)
{
	static const char s[] =
	    HEADER("t", "public") "COPY public.t (a) FROM stdin;\n1\n\\.\n" HEADER(
	        "u",
	        "public") "COPY public.u (a) FROM stdin;\n\\.\n" HEADER("t",
	                                                                "public") "COPY public.t "
	                                                                          "(a) FROM "
	                                                                          "stdin;\n1\n\\."
	                                                                          "\n";
	struct dumpcount *dc;

	(void)unused;
	dc = count_in_pieces(s, strlen(s), strlen(s));
	assert_int_equal(dumpcount_n_tables(dc), 3);
	assert_non_null(dumpcount_duplicate(dc));
	assert_string_equal(dumpcount_duplicate(dc), "public.t");
	dumpcount_free(dc);
}

/* A COPY line longer than what is kept of a line (many columns) still
 * starts its section. */
static void
test_a_long_column_list_is_read(void **unused)
{
	char *s = malloc(20000);
	size_t n = 0;
	struct dumpcount *dc;

	(void)unused;
	assert_non_null(s);
	n += (size_t)sprintf(s + n, "%s", HEADER("wide", "public") "COPY public.wide (c0");
	for (int i = 1; i < 1500; i++)
		n += (size_t)sprintf(s + n, ", c%d", i);
	n += (size_t)sprintf(s + n, ") FROM stdin;\nrow\nrow\nrow\n\\.\n");
	dc = count_in_pieces(s, n, 100);
	assert_int_equal(dumpcount_rows(dc, "public.wide"), 3);
	dumpcount_free(dc);
	free(s);
}

static void
test_an_unreadable_name_fails_with_the_line(void **unused)
{
	static const char s[] = HEADER("t", "public") "COPY public.t.u (a) FROM stdin;\n";
	struct dumpcount *dc = dumpcount_new();

	(void)unused;
	assert_non_null(dc);
	assert_int_equal(dumpcount_add(dc, s, strlen(s)), CT_ECORRUPT);
	assert_non_null(strstr(dumpcount_error(dc), "COPY public.t.u"));
	dumpcount_free(dc);
}

/* pg_dump's header sanitizes a newline in a name to a space, while its
 * COPY line quotes the name with the newline in it, over two lines. */
static const char newline_dump[] = HEADER(
    "two lines \"q\"",
    "new line") "COPY \"new\nline\".\"two\nlines \"\"q\"\"\" (\"co\nl\", \"x y\") FROM stdin;\n"
                "1\ta\\nb\n"
                "2\t\\N\n"
                "\\.\n\n\n" HEADER("after", "public") "COPY public.after (a) FROM stdin;\n"
                                                      "1\n"
                                                      "\\.\n";

static void
test_a_name_holding_a_newline_is_read(void **unused)
{
	(void)unused;
	for (size_t piece = 1; piece <= 64; piece++) {
		struct dumpcount *dc = count_in_pieces(newline_dump, strlen(newline_dump), piece);

		assert_int_equal(dumpcount_n_tables(dc), 2);
		assert_int_equal(dumpcount_rows(dc, "new\nline.two\nlines \"q\""), 2);
		assert_int_equal(dumpcount_rows(dc, "public.after"), 1);
		assert_false(dumpcount_is_in_section(dc));
		dumpcount_free(dc);
	}
}

/* Lines shaped like pg_dump's TABLE DATA header and COPY line, inside
 * anyone's words (a comment, a function body, a default, a name), start
 * no section: each is inside a string, a quoted name or a comment. */
static const char *const fake_sections[] = {
    "COMMENT ON TABLE public.t IS '\n" HEADER("x",
                                              "public") "COPY public.fake (a) FROM stdin;\n';\n",
    "COMMENT ON TABLE public.t IS 'it''s\n" HEADER(
        "x", "public") "COPY public.fake (a) FROM stdin;\n';\n",
    "COMMENT ON TABLE public.t IS E'\\'\n" HEADER(
        "x", "public") "COPY public.fake (a) FROM stdin;\n';\n",
    "COMMENT ON TABLE public.t IS e'it''s \\\\'' \\'\n" HEADER(
        "x", "public") "COPY public.fake (a) FROM stdin;\n';\n",
    "CREATE FUNCTION public.f() RETURNS void LANGUAGE sql AS $_$\n" HEADER(
        "x", "public") "COPY public.fake (a) FROM stdin;\n$$ $_ $_x$\n$_$;\n",
    "CREATE FUNCTION public.g() RETURNS void LANGUAGE plpgsql AS $body$\n" HEADER(
        "x", "public") "COPY public.fake (a) FROM stdin;\n$body$;\n",
    "CREATE TABLE public.\"x\n" HEADER("x",
                                       "public") "COPY public.fake (a) FROM stdin;\n\" (a int);\n",
    "CREATE TABLE public.\"a\"\"\n" HEADER(
        "x", "public") "COPY public.fake (a) FROM stdin;\n\" (a int);\n",
    "/* a block comment /* nested */\n" HEADER("x",
                                               "public") "COPY public.fake (a) FROM stdin;\n*/\n",
};

static void
test_lines_inside_strings_names_and_comments_start_no_section(void **unused)
{
	static const char real[] =
	    HEADER("t", "public") "COPY public.t (a) FROM stdin;\n1\n2\n\\.\n";
	char s[1024];

	(void)unused;
	for (size_t i = 0; i < sizeof(fake_sections) / sizeof(fake_sections[0]); i++) {
		int n = snprintf(s, sizeof(s), "%s%s", fake_sections[i], real);

		assert_true(n > 0 && (size_t)n < sizeof(s));
		for (size_t piece = 1; piece <= 16; piece++) {
			struct dumpcount *dc = count_in_pieces(s, (size_t)n, piece);

			if (dumpcount_rows(dc, "public.t") != 2 || dumpcount_n_tables(dc) != 1)
				fail_msg("case %zu in pieces of %zu: expected public.t with 2 rows "
				         "alone, "
				         "got %lld rows in %zu tables",
				         i, piece, (long long)dumpcount_rows(dc, "public.t"),
				         dumpcount_n_tables(dc));
			dumpcount_free(dc);
		}
	}
}

/* What does not open a string: a dollar sign inside a word or before a
 * parameter number, an E ending a longer word, psql's backslash commands
 * (pg_dump 17.6 and later write \restrict), and "--" comments. */
static void
test_code_that_opens_no_string_leaves_sections_counted(void **unused)
{
	static const char s[] = "\\restrict aBc'\"$$\n"
	                        "-- it's a comment with a \" and a $$\n"
	                        "CREATE FUNCTION public.a$b(x int) RETURNS int LANGUAGE sql\n"
	                        "    BEGIN ATOMIC\n SELECT ($1 + 1);\nEND;\n"
	                        "SELECT 1 AS one'x';\n"
	                        "SET standard_conforming_strings = on;\n" HEADER(
	                            "t", "public") "COPY public.t (a) FROM stdin;\n1\n\\.\n\n"
	                                           "\\unrestrict aBc\n";
	struct dumpcount *dc;

	(void)unused;
	dc = count_in_pieces(s, strlen(s), 3);
	assert_int_equal(dumpcount_rows(dc, "public.t"), 1);
	dumpcount_free(dc);
}

static void
test_parse_copy_unquotes_names(void **unused)
{
	char out[300];
	const char *ok = "COPY s.t (a) FROM stdin;";
	const char *quoted = "COPY \"S\"\"x\".\"a b\" (a) FROM stdin;";
	const char *no_cols = "COPY public.t  FROM stdin;";

	(void)unused;
	assert_int_equal(dumpcount_parse_copy(ok, strlen(ok), out, sizeof(out)), 0);
	assert_string_equal(out, "s.t");
	assert_int_equal(dumpcount_parse_copy(quoted, strlen(quoted), out, sizeof(out)), 0);
	assert_string_equal(out, "S\"x.a b");
	assert_int_equal(dumpcount_parse_copy(no_cols, strlen(no_cols), out, sizeof(out)), 0);
	assert_string_equal(out, "public.t");
	assert_int_equal(dumpcount_parse_copy("COPY t (a) FROM stdin;", 22, out, sizeof(out)), -1);
	assert_int_equal(dumpcount_parse_copy("COPY \"\".t (a)", 13, out, sizeof(out)), -1);
	assert_int_equal(dumpcount_parse_copy("COPY s.t", 8, out, sizeof(out)), -1);
	assert_int_equal(dumpcount_parse_copy(no_cols, strlen(no_cols), out, 8), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_counts_rows_per_table),
	    cmocka_unit_test(test_counts_do_not_depend_on_the_pieces),
	    cmocka_unit_test(test_copy_in_a_function_body_is_not_a_section),
	    cmocka_unit_test(test_a_stream_cut_inside_rows_is_told),
	    cmocka_unit_test(test_a_table_twice_is_told),
	    cmocka_unit_test(test_a_long_column_list_is_read),
	    cmocka_unit_test(test_an_unreadable_name_fails_with_the_line),
	    cmocka_unit_test(test_parse_copy_unquotes_names),
	    cmocka_unit_test(test_a_name_holding_a_newline_is_read),
	    cmocka_unit_test(test_lines_inside_strings_names_and_comments_start_no_section),
	    cmocka_unit_test(test_code_that_opens_no_string_leaves_sections_counted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
