/*
 * test_utf8.c — core/utf8.c: repairing text for JSON, shortening it with a
 * marker, escaping it for a terminal.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "utf8.h"

static char *
repair(const char *s, size_t len)
{
	size_t out_len;
	char *out = utf8_repair(s, len, &out_len);

	assert_int_equal(out_len, strlen(out));
	return out;
}

static void
test_utf8_repair_keeps_valid_text(void **state)
{
	const char *text = "caf\xc3\xa9 \xe2\x82\xac \xf0\x9d\x84\x9e plain";
	char *out = repair(text, strlen(text));

	(void)state;
	assert_string_equal(out, text);
	free(out);
}

static void
test_utf8_repair_replaces_nul_and_stray_bytes(void **state)
{
	char *out = repair("a\0b\x80"
	                   "c\xff",
	                   6);

	(void)state;
	assert_string_equal(out, "a\xef\xbf\xbd"
	                         "b\xef\xbf\xbd"
	                         "c\xef\xbf\xbd");
	free(out);
}

static void
test_utf8_repair_replaces_overlong_forms_and_surrogates_so_jansson_accepts_them(void **state)
{
	/* An overlong NUL, an overlong ESC, a surrogate, a code point past
	 * U+10FFFF and a sequence cut short at the end. */
	const char *text = "<\xc0\x80|\xe0\x80\x9b|\xed\xa0\x80|\xf4\x90\x80\x80|\xe2\x82";
	char *out = repair(text, strlen(text));
	json_t *j = json_string(out);

	(void)state;
	assert_non_null(j);
	assert_null(strstr(out, "\xc0"));
	assert_null(strstr(out, "\xed\xa0"));
	assert_string_equal(out, "<\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|"
	                         "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd"
	                         "\xef\xbf\xbd\xef\xbf\xbd|\xef\xbf\xbd\xef\xbf\xbd");
	json_decref(j);
	free(out);
}

/* The edges of the ranges: U+10FFFF is valid, one past it and any lead
 * byte past F4 are not. */
static void
test_utf8_repair_keeps_u10ffff_and_replaces_what_lies_past_it(void **state)
{
	char *kept = repair("\xf4\x8f\xbf\xbf", 4);
	char *past = repair("\xf5\x80\x80\x80", 4);

	(void)state;
	assert_string_equal(kept, "\xf4\x8f\xbf\xbf");
	assert_string_equal(past, "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd");
	free(kept);
	free(past);
}

static void
test_utf8_shorten_leaves_text_within_the_limit_alone(void **state)
{
	size_t len;
	char *out = utf8_shorten("twelve bytes", 12, 12, &len);

	(void)state;
	assert_string_equal(out, "twelve bytes");
	assert_int_equal(len, 12);
	free(out);
}

static void
test_utf8_shorten_cuts_with_a_marker_that_counts_the_bytes_cut(void **state)
{
	char text[1000];
	size_t len;
	char *out;

	(void)state;
	memset(text, 'a', sizeof(text));
	out = utf8_shorten(text, sizeof(text), 100, &len);
	assert_int_equal(len, strlen(out));
	assert_true(len <= 100);
	/* Room is made for the longest marker, "... [1000 bytes cut]" (20
	 * bytes): 80 are kept, and the marker says 920. */
	assert_string_equal(out + 80, "... [920 bytes cut]");
	assert_int_equal(strspn(out, "a"), 80);
	free(out);
}

static void
test_utf8_shorten_never_cuts_inside_a_character(void **state)
{
	/* 400 euro signs of 3 bytes each. */
	char text[1200];
	size_t len, kept;
	char *out;
	json_t *j;

	(void)state;
	for (size_t i = 0; i < sizeof(text); i += 3)
		memcpy(text + i, "\xe2\x82\xac", 3);
	for (size_t max = 60; max < 66; max++) {
		out = utf8_shorten(text, sizeof(text), max, &len);
		kept = (size_t)(strstr(out, "...") - out);
		assert_true(len <= max);
		assert_int_equal(kept % 3, 0);
		j = json_stringn(out, len);
		assert_non_null(j);
		json_decref(j);
		free(out);
	}
}

static void
test_utf8_shorten_twice_to_the_same_limit_changes_nothing(void **state)
{
	char text[5000];
	size_t len1, len2;
	char *once, *twice;

	(void)state;
	memset(text, 'b', sizeof(text));
	once = utf8_shorten(text, sizeof(text), 4096, &len1);
	twice = utf8_shorten(once, len1, 4096, &len2);
	assert_string_equal(once, twice);
	free(once);
	free(twice);
}

static void
expect_escape(const char *in, unsigned flags, const char *expected)
{
	char *out = utf8_escape(in, flags);

	assert_string_equal(out, expected);
	free(out);
}

static void
test_utf8_escape_makes_c0_controls_and_del_visible(void **state)
{
	(void)state;
	expect_escape("a\nb\tc\rd\033[2Je\001f\177g", 0, "a\\nb\\tc\\rd\\x1b[2Je\\x01f\\x7fg");
}

static void
test_utf8_escape_makes_c1_controls_visible(void **state)
{
	(void)state;
	/* U+009B is CSI, U+0085 NEL. */
	expect_escape("a\xc2\x9b"
	              "2Jb\xc2\x85"
	              "c",
	              0, "a\\u009b2Jb\\u0085c");
}

static void
test_utf8_escape_makes_line_separators_and_bidi_overrides_visible(void **state)
{
	(void)state;
	expect_escape("a\xe2\x80\xa8"
	              "b\xe2\x80\xae"
	              "c\xe2\x81\xa6"
	              "d",
	              0, "a\\u2028b\\u202ec\\u2066d");
}

static void
test_utf8_escape_shows_bytes_that_are_not_utf8_as_hex(void **state)
{
	(void)state;
	/* A lone 0x9b (CSI in 8-bit terminals) and an overlong ESC. */
	expect_escape("a\x9b"
	              "b\xc0\x9b"
	              "c",
	              0, "a\\x9bb\\xc0\\x9bc");
}

static void
test_utf8_escape_keeps_printable_text_and_backslashes(void **state)
{
	(void)state;
	expect_escape("caf\xc3\xa9 C:\\dir \xe2\x82\xac", 0, "caf\xc3\xa9 C:\\dir \xe2\x82\xac");
}

static void
test_utf8_escape_keeping_lines_keeps_newlines_and_tabs_only(void **state)
{
	(void)state;
	expect_escape("a\tb\nc\r\n\033[1m", UTF8_ESCAPE_KEEP_LINES, "a\tb\nc\\r\n\\x1b[1m");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8_repair_keeps_valid_text),
	    cmocka_unit_test(test_utf8_repair_replaces_nul_and_stray_bytes),
	    cmocka_unit_test(
	        test_utf8_repair_replaces_overlong_forms_and_surrogates_so_jansson_accepts_them),
	    cmocka_unit_test(test_utf8_repair_keeps_u10ffff_and_replaces_what_lies_past_it),
	    cmocka_unit_test(test_utf8_shorten_leaves_text_within_the_limit_alone),
	    cmocka_unit_test(test_utf8_shorten_cuts_with_a_marker_that_counts_the_bytes_cut),
	    cmocka_unit_test(test_utf8_shorten_never_cuts_inside_a_character),
	    cmocka_unit_test(test_utf8_shorten_twice_to_the_same_limit_changes_nothing),
	    cmocka_unit_test(test_utf8_escape_makes_c0_controls_and_del_visible),
	    cmocka_unit_test(test_utf8_escape_makes_c1_controls_visible),
	    cmocka_unit_test(test_utf8_escape_makes_line_separators_and_bidi_overrides_visible),
	    cmocka_unit_test(test_utf8_escape_shows_bytes_that_are_not_utf8_as_hex),
	    cmocka_unit_test(test_utf8_escape_keeps_printable_text_and_backslashes),
	    cmocka_unit_test(test_utf8_escape_keeping_lines_keeps_newlines_and_tabs_only),
	};

	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
