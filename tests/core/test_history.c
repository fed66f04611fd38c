/*
 * test_history.c — core/history.c: appends, torn records, queries.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "history.h"
#include "testutil.h"

static const char *dir;

static int
setup(void **state)
{
	(void)state;
	dir = tu_tmpdir_new();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_tmpdir_free();
	return 0;
}

static void
append(const char *job, long long start_us, const char *status)
{
	json_t *rec = json_pack("{s:s, s:I, s:s}", "job", job, "start_us", (json_int_t)start_us,
				"status", status);
	char err[256];

	assert_int_equal(history_append(dir, rec, err, sizeof(err)), 0);
	json_decref(rec);
}

static json_t *
read_all(const struct history_query *q, size_t *damaged)
{
	json_t *runs = NULL;
	char err[256];

	assert_int_equal(history_read(dir, q, &runs, damaged, err, sizeof(err)), 0);
	return runs;
}

static void
test_history_missing_file_is_empty(void **state)
{
	struct history_query q = {0};
	size_t damaged = 9;
	json_t *runs = read_all(&q, &damaged);

	(void)state;
	assert_int_equal(json_array_size(runs), 0);
	assert_int_equal(damaged, 0);
	json_decref(runs);
}

static void
test_history_reads_back_in_order_and_filters(void **state)
{
	struct history_query q = {0};
	size_t damaged;
	json_t *runs;

	(void)state;
	append("a", 100, "ok");
	append("b", 200, "failed");
	append("a", 300, "warn");
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 3);
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 2), "status")), "warn");
	json_decref(runs);
	q.job = "a";
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 2);
	json_decref(runs);
	q.max = 1;
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "start_us")), 300);
	json_decref(runs);
	q.job = NULL;
	q.max = 0;
	q.since_us = 200;
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 2);
	json_decref(runs);
}

static void
test_history_skips_a_torn_record_and_appends_after_it(void **state)
{
	struct history_query q = {0};
	size_t damaged = 0;
	json_t *runs;
	int fd;

	(void)state;
	append("a", 100, "ok");
	/* A crash mid-write leaves half a record without its newline. */
	fd = open(tu_path("history.jsonl"), O_WRONLY | O_APPEND);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "{\"job\":\"b\",\"sta", 15), 15);
	close(fd);
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 1);
	assert_int_equal(damaged, 1);
	json_decref(runs);
	append("c", 300, "ok");
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 2);
	assert_int_equal(damaged, 1);
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 1), "job")), "c");
	json_decref(runs);
}

static void
test_history_append_fails_loudly_when_the_folder_is_missing(void **state)
{
	json_t *rec = json_pack("{s:s}", "job", "a");
	char err[256];

	(void)state;
	assert_int_not_equal(history_append(tu_path("nope"), rec, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "No such file"));
	json_decref(rec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_history_missing_file_is_empty, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_reads_back_in_order_and_filters, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_skips_a_torn_record_and_appends_after_it, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_append_fails_loudly_when_the_folder_is_missing, setup, teardown),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
