/*
 * test_exec_argv.c — plugins/lib/argv.c: shell-style splitting without a
 * shell.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "argv.h"

static char **
split_ok(const char *line, size_t expect_n)
{
	char err[256] = "";
	char **argv = NULL;
	size_t n = 0;

	assert_int_equal(argv_split(line, &argv, &n, err, sizeof(err)), 0);
	assert_int_equal(n, expect_n);
	assert_null(argv[n]);
	return argv;
}

static void
split_fails(const char *line, const char *reason)
{
	char err[256] = "";
	char **argv = NULL;
	size_t n = 0;

	assert_int_equal(argv_split(line, &argv, &n, err, sizeof(err)), CT_EINVAL);
	assert_non_null(strstr(err, reason));
	assert_null(argv);
}

static void
test_argv_splits_on_blanks(void **state)
{
	char **v = split_ok("  python3   manage.py\tcheck --deploy ", 4);

	(void)state;
	assert_string_equal(v[0], "python3");
	assert_string_equal(v[3], "--deploy");
	argv_free(v);
}

static void
test_argv_single_quotes_are_literal(void **state)
{
	char **v = split_ok("echo 'a \"b\" $HOME \\n'", 2);

	(void)state;
	assert_string_equal(v[1], "a \"b\" $HOME \\n");
	argv_free(v);
}

static void
test_argv_double_quotes_allow_backslash_escapes(void **state)
{
	char **v = split_ok("echo \"say \\\"hi\\\" \\$5 \\n\"", 2);

	(void)state;
	assert_string_equal(v[1], "say \"hi\" $5 \\n");
	argv_free(v);
}

static void
test_argv_joins_adjacent_quoted_parts_and_keeps_empty_words(void **state)
{
	char **v = split_ok("a\"b\"'c' \"\" back\\ slash", 3);

	(void)state;
	assert_string_equal(v[0], "abc");
	assert_string_equal(v[1], "");
	assert_string_equal(v[2], "back slash");
	argv_free(v);
}

static void
test_argv_rejects_unterminated_quotes(void **state)
{
	(void)state;
	split_fails("echo 'oops", "unterminated single quote");
	split_fails("echo \"oops", "unterminated double quote");
	split_fails("echo oops\\", "a backslash ends the command");
}

static void
test_argv_rejects_unquoted_shell_syntax(void **state)
{
	char **v;

	(void)state;
	split_fails("echo hi | grep h", "'|' is shell syntax");
	split_fails("make > log", "'>' is shell syntax");
	split_fails("a && b", "'&&' is shell syntax");
	v = split_ok("grep '|' file", 3);
	assert_string_equal(v[1], "|");
	argv_free(v);
}

static void
test_argv_rejects_an_empty_command(void **state)
{
	(void)state;
	split_fails("   ", "the command is empty");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_argv_splits_on_blanks),
	    cmocka_unit_test(test_argv_single_quotes_are_literal),
	    cmocka_unit_test(test_argv_double_quotes_allow_backslash_escapes),
	    cmocka_unit_test(test_argv_joins_adjacent_quoted_parts_and_keeps_empty_words),
	    cmocka_unit_test(test_argv_rejects_unterminated_quotes),
	    cmocka_unit_test(test_argv_rejects_unquoted_shell_syntax),
	    cmocka_unit_test(test_argv_rejects_an_empty_command),
	};

	return cmocka_run_group_tests_name("exec_argv", tests, NULL, NULL);
}
