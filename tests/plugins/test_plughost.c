/*
 * test_plughost.c — plugins/lib/plughost.c's lists of lines: what reaches
 * the host's add_output, in how many messages, and the closing count.  The
 * plugins' lists on real files run in tests/integration/prune.sh and
 * perms.sh.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <caretaker/errors.h>
#include <caretaker/plugin.h>

#include "plughost.h"

/* What the host was handed on one stream. */
struct seen {
	size_t messages;
	size_t len;
	char *data;
};

static struct seen seen;

static int
fake_add_output(struct ct_task *t, const char *stream, const void *data, size_t len)
{
	(void)t;
	assert_string_equal(stream, "changes");
	seen.data = realloc(seen.data, seen.len + len + 1);
	assert_non_null(seen.data);
	memcpy(seen.data + seen.len, data, len);
	seen.len += len;
	seen.data[seen.len] = '\0';
	seen.messages++;
	return 0;
}

static const struct ct_services services = {.add_output = fake_add_output};

static int
reset(void **unused)
{
	(void)unused;
	free(seen.data);
	memset(&seen, 0, sizeof(seen));
	return 0;
}

static struct plugin_host host = {.ct = &services};

static void
add_lines(struct plugin_host_list *l, int n)
{
	char line[64];

	for (int i = 0; i < n; i++) {
		int len = snprintf(line, sizeof(line), "changed /srv/app/file-%06d: mode\n", i);

		plugin_host_list_add(l, line, (size_t)len);
	}
}

static const char *
last_line(void)
{
	const char *p = seen.data + seen.len - 1;

	while (p > seen.data && p[-1] != '\n')
		p--;
	return p;
}

static void
test_list_of_a_few_lines_is_one_message_ending_with_its_count(void **unused)
{
	struct plugin_host_list *l = NULL;

	(void)unused;
	assert_int_equal(plugin_host_list_begin(&host, "changes", "change(s)", &l), 0);
	add_lines(l, 3);
	plugin_host_list_end(&l);
	assert_null(l);
	assert_int_equal(seen.messages, 1);
	assert_string_equal(last_line(), "(3 change(s) in this list)\n");
}

static void
test_list_past_64_kib_goes_in_few_messages_and_counts_every_line(void **unused)
{
	struct plugin_host_list *l = NULL;

	(void)unused;
	assert_int_equal(plugin_host_list_begin(&host, "changes", "change(s)", &l), 0);
	add_lines(l, 100000);
	plugin_host_list_end(&l);
	assert_in_range(seen.messages, 2, 100);
	assert_non_null(strstr(seen.data, "file-099999: mode\n("));
	assert_string_equal(last_line(), "(100000 change(s) in this list)\n");
}

static void
test_empty_list_hands_nothing_to_the_host(void **unused)
{
	struct plugin_host_list *l = NULL;

	(void)unused;
	assert_int_equal(plugin_host_list_begin(&host, "changes", "change(s)", &l), 0);
	plugin_host_list_end(&l);
	assert_int_equal(seen.messages, 0);
}

static void
test_line_longer_than_the_buffer_reaches_the_host_whole(void **unused)
{
	struct plugin_host_list *l = NULL;
	size_t len = 100 * 1024;
	char *line = malloc(len);

	(void)unused;
	assert_non_null(line);
	memset(line, 'x', len - 1);
	line[len - 1] = '\n';
	assert_int_equal(plugin_host_list_begin(&host, "changes", "change(s)", &l), 0);
	add_lines(l, 1);
	plugin_host_list_add(l, line, len);
	plugin_host_list_end(&l);
	assert_int_equal(seen.len, strlen("changed /srv/app/file-000000: mode\n") + len +
	                               strlen("(2 change(s) in this list)\n"));
	assert_memory_equal(seen.data + seen.len - len - strlen("(2 change(s) in this list)\n"),
	                    line, len);
	assert_string_equal(last_line(), "(2 change(s) in this list)\n");
	free(line);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_list_of_a_few_lines_is_one_message_ending_with_its_count, reset, reset),
	    cmocka_unit_test_setup_teardown(
	        test_list_past_64_kib_goes_in_few_messages_and_counts_every_line, reset, reset),
	    cmocka_unit_test_setup_teardown(test_empty_list_hands_nothing_to_the_host, reset,
	                                    reset),
	    cmocka_unit_test_setup_teardown(test_line_longer_than_the_buffer_reaches_the_host_whole,
	                                    reset, reset),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
