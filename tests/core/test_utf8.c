/*
 * test_utf8.c — core/utf8.c: any bytes become UTF-8 that jansson accepts,
 * so no plugin text and no captured output is refused and lost.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "utf8.h"

#define REPLACEMENT "\xef\xbf\xbd"

/* Printable ASCII as is, every other byte as \xNN: failures stay readable. */
static void
escape(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 5 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c >= 0x20 && c < 0x7f)
			out[o++] = (char)c;
		else
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
	}
	out[o] = '\0';
}

/* utf8_repair(in) must give `expected`, and jansson must take it. */
static void
assert_repaired(const char *in, size_t in_len, const char *expected)
{
	char got_text[256], expected_text[256];
	size_t len = 0;
	char *got = utf8_repair(in, in_len, &len);
	json_t *j = json_stringn(got, len);

	escape(got, len, got_text, sizeof(got_text));
	escape(expected, strlen(expected), expected_text, sizeof(expected_text));
	assert_string_equal(got_text, expected_text);
	assert_non_null(j);
	json_decref(j);
	free(got);
}

static void
test_utf8_repair_keeps_valid_text_of_every_length(void **state)
{
	static const char text[] = "a \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf";

	(void)state;
	assert_repaired(text, sizeof(text) - 1, text);
}

static void
test_utf8_repair_replaces_a_surrogate(void **state)
{
	(void)state;
	/* U+D800, which only UTF-16 may use. */
	assert_repaired("x\xed\xa0\x80y", 5, "x" REPLACEMENT REPLACEMENT REPLACEMENT "y");
}

static void
test_utf8_repair_replaces_overlong_forms(void **state)
{
	(void)state;
	/* '/' as two bytes and as three, and U+FFFF as four. */
	assert_repaired("\xc0\xaf", 2, REPLACEMENT REPLACEMENT);
	assert_repaired("\xe0\x80\xaf", 3, REPLACEMENT REPLACEMENT REPLACEMENT);
	assert_repaired("\xf0\x8f\xbf\xbf", 4, REPLACEMENT REPLACEMENT REPLACEMENT REPLACEMENT);
}

static void
test_utf8_repair_replaces_code_points_past_10ffff(void **state)
{
	(void)state;
	assert_repaired("\xf4\x90\x80\x80", 4, REPLACEMENT REPLACEMENT REPLACEMENT REPLACEMENT);
	assert_repaired("\xf5\x80\x80\x80", 4, REPLACEMENT REPLACEMENT REPLACEMENT REPLACEMENT);
}

static void
test_utf8_repair_replaces_a_sequence_cut_short_and_nul(void **state)
{
	(void)state;
	assert_repaired("\xe2\x82", 2, REPLACEMENT REPLACEMENT);
	assert_repaired("a\0b", 3, "a" REPLACEMENT "b");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_utf8_repair_keeps_valid_text_of_every_length),
		cmocka_unit_test(test_utf8_repair_replaces_a_surrogate),
		cmocka_unit_test(test_utf8_repair_replaces_overlong_forms),
		cmocka_unit_test(test_utf8_repair_replaces_code_points_past_10ffff),
		cmocka_unit_test(test_utf8_repair_replaces_a_sequence_cut_short_and_nul),
	};

	return cmocka_run_group_tests_name("utf8", tests, NULL, NULL);
}
