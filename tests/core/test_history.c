/*
 * test_history.c — core/history.c: appends, torn records, queries, rotation.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include <caretaker/errors.h>

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
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 2), "status")),
	                    "warn");
	json_decref(runs);
	q.job = "a";
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 2);
	json_decref(runs);
	q.max = 1;
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 1);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "start_us")),
	                 300);
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
	assert_string_equal(json_string_value(json_object_get(json_array_get(runs, 1), "job")),
	                    "c");
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
		json_int_t start =
		    json_integer_value(json_object_get(json_array_get(runs, i), "start_us"));

		assert_true(prev == 0 || start == prev + 100);
		prev = start;
	}
	assert_int_equal(prev, 1200);
	json_decref(runs);
	q.max = 6; /* the newest six span both files */
	runs = read_all(&q, &damaged);
	assert_int_equal(json_array_size(runs), 6);
	assert_int_equal(json_integer_value(json_object_get(json_array_get(runs, 0), "start_us")),
	                 700);
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

/* history_read's result for `q`, its error in err; the array is freed. */
static int
read_rc(char *err, size_t err_size)
{
	struct history_query q = {0};
	json_t *runs = NULL;
	size_t damaged;
	int rc = history_read(dir, &q, &runs, &damaged, err, err_size);

	json_decref(runs);
	return rc;
}

static void
assert_err_has(const char *err, const char *part)
{
	if (strstr(err, part) == NULL)
		fail_msg("expected '%s' in the error, got '%s'", part, err);
}

/* The buffer of a failed read was freed twice (abort in glibc). */
static void
test_history_read_fails_cleanly_when_the_file_is_a_folder(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_equal(mkdir(tu_path("history.jsonl"), 0755), 0);
	assert_int_not_equal(read_rc(err, sizeof(err)), 0);
	assert_err_has(err, "history.jsonl");
	assert_err_has(err, "a folder");
}

/* A FIFO where a history file belongs would block open(2) for ever: the
 * alarm turns a hang into a failure. */
static void
assert_read_refuses_a_fifo(const char *name)
{
	char err[512] = "";

	append("a", 100, "ok");
	if (strcmp(name, "history.jsonl") == 0)
		assert_int_equal(unlink(tu_path(name)), 0);
	assert_int_equal(mkfifo(tu_path(name), 0644), 0);
	alarm(10);
	assert_int_not_equal(read_rc(err, sizeof(err)), 0);
	alarm(0);
	assert_err_has(err, name);
	assert_err_has(err, "is a fifo");
}

static void
test_history_read_refuses_a_fifo_as_the_current_file(void **state)
{
	(void)state;
	assert_read_refuses_a_fifo("history.jsonl");
}

static void
test_history_read_refuses_a_fifo_as_the_previous_file(void **state)
{
	(void)state;
	assert_read_refuses_a_fifo("history.1.jsonl");
}

static void
test_history_append_refuses_a_fifo(void **state)
{
	json_t *rec =
	    json_pack("{s:s, s:I, s:s}", "job", "a", "start_us", (json_int_t)1, "status", "ok");
	char err[512] = "";

	(void)state;
	assert_int_equal(mkfifo(tu_path("history.jsonl"), 0644), 0);
	alarm(10);
	assert_int_not_equal(history_append(dir, 0, rec, err, sizeof(err)), 0);
	alarm(0);
	assert_err_has(err, "history.jsonl: is a fifo");
	json_decref(rec);
}

static mode_t
file_mode(const char *name)
{
	struct stat st;

	assert_int_equal(stat(tu_path(name), &st), 0);
	return st.st_mode & 07777;
}

static void
test_history_files_are_not_readable_by_others(void **state)
{
	(void)state;
	append("a", 100, "ok");
	assert_int_equal(file_mode("history.jsonl") & 0007, 0);
}

/* Files of an older version were 0644: the next append tightens both
 * generations, without opening anything an operator closed. */
static void
test_history_append_takes_the_other_bits_from_older_files(void **state)
{
	(void)state;
	append("a", 100, "ok");
	assert_int_equal(rename(tu_path("history.jsonl"), tu_path("history.1.jsonl")), 0);
	append("a", 200, "ok");
	assert_int_equal(chmod(tu_path("history.jsonl"), 0666), 0);
	assert_int_equal(chmod(tu_path("history.1.jsonl"), 0604), 0);
	append("a", 300, "ok");
	assert_int_equal(file_mode("history.jsonl"), 0640);
	assert_int_equal(file_mode("history.1.jsonl"), 0600);
}

/*
 * In a child under a file-size limit a few bytes past the current size:
 * the append can write part of its record, then gets EFBIG (SIGXFSZ is
 * ignored, as caretaker does).  Exits with -rc.
 */
static void
append_under_a_size_limit(off_t limit)
{
	json_t *rec =
	    json_pack("{s:s, s:I, s:s, s:s}", "job", "a", "start_us", (json_int_t)900, "status",
	              "ok", "summary", "a summary long enough to be cut in two");
	struct rlimit rl = {(rlim_t)limit, (rlim_t)limit};
	char err[512];

	signal(SIGXFSZ, SIG_IGN);
	if (setrlimit(RLIMIT_FSIZE, &rl) != 0)
		_exit(100);
	_exit(-history_append(dir, 0, rec, err, sizeof(err)));
}

static void
test_history_append_leaves_no_partial_record_when_the_file_cannot_grow(void **state)
{
	struct history_query q = {0};
	size_t damaged = 9;
	off_t before;
	json_t *runs;
	int status = 0;
	pid_t pid;

	(void)state;
	append("a", 100, "ok");
	before = file_size("history.jsonl");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		append_under_a_size_limit(before + 20);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(file_size("history.jsonl"), before);
	assert_int_equal(-WEXITSTATUS(status), CT_ENOSPC);
	runs = read_all(&q, &damaged);
	assert_int_equal(damaged, 0);
	assert_int_equal(json_array_size(runs), 1);
	json_decref(runs);
	append("a", 200, "ok");
	runs = read_all(&q, &damaged);
	assert_int_equal(damaged, 0);
	assert_int_equal(json_array_size(runs), 2);
	json_decref(runs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_history_missing_file_is_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_reads_back_in_order_and_filters, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_history_skips_a_torn_record_and_appends_after_it,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_rotates_past_max_size_and_reads_both_files,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_history_concurrent_appends_across_a_rotation_lose_nothing, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_history_append_fails_loudly_when_the_folder_is_missing, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_history_read_fails_cleanly_when_the_file_is_a_folder, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_read_refuses_a_fifo_as_the_current_file,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_read_refuses_a_fifo_as_the_previous_file,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_append_refuses_a_fifo, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_history_files_are_not_readable_by_others, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_history_append_takes_the_other_bits_from_older_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_history_append_leaves_no_partial_record_when_the_file_cannot_grow, setup,
	        teardown),
	};

	return cmocka_run_group_tests_name("history", tests, NULL, NULL);
}
