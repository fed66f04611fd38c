/*
 * test_history.c — core/history.c: appends, torn records, queries, rotation.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "history.h"
#include "testutil.h"

static const char *dir;
static uint64_t max_size; /* history_max_size of append(); 0: never rotate */

static int
setup(void **state)
{
	(void)state;
	dir = tu_tmpdir_new();
	max_size = 0;
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

	assert_int_equal(history_append(dir, max_size, rec, err, sizeof(err)), 0);
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

static off_t
file_size(const char *name)
{
	struct stat st;

	return stat(tu_path(name), &st) == 0 ? st.st_size : -1;
}

static void
test_history_rotates_past_max_size_and_reads_both_files(void **state)
{
	struct history_query q = {0};
	size_t damaged;
	json_t *runs;
	json_int_t prev = 0;

	(void)state;
	max_size = 200; /* each record is some 45 bytes */
	for (int i = 1; i <= 12; i++)
		append("a", i * 100, "ok");
	assert_true(file_size("history.1.jsonl") > 0);
	assert_true(file_size("history.1.jsonl") <= 200);
	assert_true(file_size("history.jsonl") <= 200);
	runs = read_all(&q, &damaged);
	assert_int_equal(damaged, 0);
	/* The two newest generations, oldest first, ending with the last run. */
	assert_in_range(json_array_size(runs), 5, 8);
	for (size_t i = 0; i < json_array_size(runs); i++) {
		json_int_t start = json_integer_value(json_object_get(json_array_get(runs, i), "start_us"));

		assert_true(prev == 0 || start == prev + 100);
		prev = start;
	}
	assert_int_equal(prev, 1200);
	json_decref(runs);
	q.max = 6; /* the newest six span both files */
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 6);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "start_us")), 700);
	json_decref(runs);
}

/* Appenders racing a rotation: an appender that opened the file before it
 * was renamed must write to the new one, so two generations hold them all. */
static void
test_history_concurrent_appends_across_a_rotation_lose_nothing(void **state)
{
	struct history_query q = {0};
	size_t damaged;
	json_t *runs;
	pid_t pids[4];

	(void)state;
	max_size = 6000; /* 200 records of ~45 bytes: exactly one rotation */
	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			for (int i = 0; i < 50; i++)
				append("a", (p + 1) * 1000 + i, "ok");
			_exit(0);
		}
	}
	for (int p = 0; p < 4; p++) {
		int status = 0;

		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	assert_true(file_size("history.1.jsonl") > 0);
	runs = read_all(&q, &damaged);
	assert_int_equal(damaged, 0);
	assert_int_equal(json_array_size(runs), 200);
	json_decref(runs);
}

static void
test_history_append_fails_loudly_when_the_folder_is_missing(void **state)
{
	json_t *rec = json_pack("{s:s}", "job", "a");
	char err[256];

	(void)state;
	assert_int_not_equal(history_append(tu_path("nope"), 0, rec, err, sizeof(err)), 0);
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
		cmocka_unit_test_setup_teardown(test_history_rotates_past_max_size_and_reads_both_files, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_concurrent_appends_across_a_rotation_lose_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_append_fails_loudly_when_the_folder_is_missing, setup, teardown),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
