/*
 * test_state.c — core/state.c: the round trip of state.json, damage moved
 * aside and rebuilt from history, what is refused rather than moved, file
 * modes, and concurrent writers.
 */
#include "autoconf.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "history.h"
#include "state.h"
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

static json_t *
record_new(const char *job, long long start_us, const char *status, const char *summary)
{
	return json_pack("{s:s, s:I, s:s, s:s, s:{s:s}, s:[]}", "job", job, "start_us",
	                 (json_int_t)start_us, "status", status, "summary", summary, "output",
	                 "plugin-output", "captured text", "log");
}

static void
record_run(const char *job, long long start_us, const char *status, long long elapse_us)
{
	json_t *rec = record_new(job, start_us, status, "done");
	char err[512];

	if (state_record_run(dir, rec, elapse_us, NULL, err, sizeof(err)) != 0)
		fail_msg("state_record_run: %s", err);
	json_decref(rec);
}

static void
history_add(const char *job, long long start_us, const char *status)
{
	json_t *rec = record_new(job, start_us, status, "from history");
	char err[512];

	if (history_append(dir, 0, rec, err, sizeof(err)) != 0)
		fail_msg("history_append: %s", err);
	json_decref(rec);
}

static struct state *
load(void)
{
	struct state *st = NULL;
	char err[512];

	if (state_load(dir, &st, err, sizeof(err)) != 0)
		fail_msg("state_load: %s", err);
	return st;
}

/* state_load must fail; its error, which must name state.json. */
static const char *
load_fails(void)
{
	static char err[512];
	struct state *st = NULL;

	err[0] = '\0';
	alarm(10); /* a hang is a failure, not a stuck test */
	if (state_load(dir, &st, err, sizeof(err)) == 0)
		fail_msg("state_load succeeded; expected an error");
	alarm(0);
	assert_null(st);
	if (strstr(err, "state.json") == NULL)
		fail_msg("expected the error to name state.json, got '%s'", err);
	return err;
}

static void
assert_has(const char *text, const char *part)
{
	if (strstr(text, part) == NULL)
		fail_msg("expected '%s' in '%s'", part, text);
}

/* How many state.json.corrupt-* there are, -1 when the folder cannot be
 * read (no cmocka assert: it may run in a forked child). */
static int
count_moved_aside(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += strncmp(e->d_name, "state.json.corrupt-", 19) == 0;
	closedir(d);
	return n;
}

static const char *
last_status(const struct state *st, const char *job)
{
	return json_string_value(json_object_get(state_last_run(st, job), "status"));
}

static void
test_state_missing_file_loads_as_no_jobs(void **state)
{
	struct state *st = load();

	(void)state;
	assert_null(state_last_run(st, "a"));
	assert_int_equal(state_last_success_us(st, "a"), 0);
	assert_int_equal(state_last_elapse_us(st, "a"), 0);
	state_free(st);
}

static void
test_state_round_trip_keeps_the_newest_run_success_and_elapse(void **state)
{
	struct state *st;

	(void)state;
	record_run("a", 100, "ok", 90);
	record_run("a", 200, "failed", 0);
	record_run("b", 300, "warn", 0);
	st = load();
	assert_string_equal(last_status(st, "a"), "failed");
	assert_int_equal(state_last_success_us(st, "a"), 100);
	assert_int_equal(state_last_elapse_us(st, "a"), 90); /* 0: not a due run */
	assert_string_equal(last_status(st, "b"), "warn");
	assert_int_equal(state_last_success_us(st, "b"), 300);
	assert_null(state_history_error(st, "a"));
	state_free(st);
}

static void
test_state_leaves_out_captured_output_and_log(void **state)
{
	struct state *st;

	(void)state;
	record_run("a", 100, "ok", 0);
	st = load();
	assert_null(json_object_get(state_last_run(st, "a"), "output"));
	assert_null(json_object_get(state_last_run(st, "a"), "log"));
	assert_string_equal(json_string_value(json_object_get(state_last_run(st, "a"), "summary")),
	                    "done");
	state_free(st);
}

static void
test_state_record_elapse_changes_only_the_elapse(void **state)
{
	char err[512];
	struct state *st;

	(void)state;
	record_run("a", 100, "ok", 90);
	assert_int_equal(state_record_elapse(dir, "a", 500, err, sizeof(err)), 0);
	st = load();
	assert_int_equal(state_last_elapse_us(st, "a"), 500);
	assert_string_equal(last_status(st, "a"), "ok");
	state_free(st);
}

static void
test_state_keeps_why_the_newest_run_is_missing_from_history(void **state)
{
	json_t *rec = record_new("a", 200, "ok", "done");
	char err[512];
	struct state *st;

	(void)state;
	record_run("a", 100, "ok", 0);
	assert_int_equal(state_record_run(dir, rec, 0,
	                                  "history.jsonl: write failed: No space left on device\n"
	                                  "  hint: a second line",
	                                  err, sizeof(err)),
	                 0);
	st = load();
	assert_string_equal(state_history_error(st, "a"),
	                    "history.jsonl: write failed: No space left on device");
	assert_int_equal(json_integer_value(json_object_get(state_last_run(st, "a"), "start_us")),
	                 200);
	state_free(st);
	record_run("a", 300, "ok", 0); /* the next recorded run clears it */
	st = load();
	assert_null(state_history_error(st, "a"));
	state_free(st);
	json_decref(rec);
}

static void
test_state_damaged_file_is_moved_aside_and_rebuilt_from_history(void **state)
{
	struct state *st;

	(void)state;
	history_add("a", 100, "ok");
	history_add("a", 200, "failed");
	tu_write("state.json", "{\"format\": 1, \"jobs\": {\"a\": ");
	st = load();
	assert_int_equal(count_moved_aside(), 1);
	assert_string_equal(last_status(st, "a"), "failed");
	assert_int_equal(state_last_success_us(st, "a"), 100);
	assert_int_equal(state_last_elapse_us(st, "a"), 200);
	state_free(st);
}

/* state.json is written without fsync (history is the synced record): what
 * a power failure can leave on some file systems, an empty file, loses no
 * run. */
static void
test_state_empty_file_left_by_a_crash_is_rebuilt_from_history(void **state)
{
	struct state *st;

	(void)state;
	history_add("a", 100, "ok");
	tu_write("state.json", "");
	st = load();
	assert_int_equal(count_moved_aside(), 1);
	assert_string_equal(last_status(st, "a"), "ok");
	assert_int_equal(state_last_success_us(st, "a"), 100);
	state_free(st);
}

static void
test_state_file_without_jobs_is_moved_aside(void **state)
{
	struct state *st;

	(void)state;
	tu_write("state.json", "{\"format\": 1}");
	st = load();
	assert_int_equal(count_moved_aside(), 1);
	assert_null(state_last_run(st, "a"));
	state_free(st);
}

/*
 * Whoever cannot read state.json gets an error naming it, with the errno
 * text and a hint, and the file stays.  Plain checks, no cmocka asserts:
 * this may run in a forked child.  0 when all hold.
 */
static int
unreadable_file_is_an_error_and_stays(void)
{
	char err[512] = "";
	struct state *st = NULL;
	int rc = state_load(dir, &st, err, sizeof(err));

	if (rc == 0) {
		fprintf(stderr, "expected state_load to fail; it loaded\n");
		return 1;
	}
	if (strstr(err, "state.json: Permission denied") == NULL || strstr(err, "hint:") == NULL) {
		fprintf(stderr, "expected 'state.json: Permission denied' and a hint, got '%s'\n",
		        err);
		return 1;
	}
	if (access(tu_path("state.json"), F_OK) != 0 || count_moved_aside() != 0) {
		fprintf(stderr, "expected state.json to stay where it was\n");
		return 1;
	}
	return 0;
}

/* Root reads any file: then the check runs as nobody, in a child. */
static void
test_state_unreadable_file_is_an_error_and_is_not_moved(void **state)
{
	struct passwd *pw = getpwnam("nobody");
	int status = 0;
	pid_t pid;

	(void)state;
	record_run("a", 100, "ok", 0);
	assert_int_equal(chmod(tu_path("state.json"), 0), 0);
	if (geteuid() != 0) {
		assert_int_equal(unreadable_file_is_an_error_and_stays(), 0);
		return;
	}
	assert_non_null(pw);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (setgid(pw->pw_gid) != 0 || setuid(pw->pw_uid) != 0)
			_exit(99);
		_exit(unreadable_file_is_an_error_and_stays());
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("the check as nobody failed (wait status %d)", status);
}

static void
test_state_dir_that_is_a_file_is_an_error(void **state)
{
	char err[512];
	struct state *st = NULL;

	(void)state;
	tu_write("plain", "not a folder");
	assert_int_not_equal(state_load(tu_path("plain"), &st, err, sizeof(err)), 0);
	assert_null(st);
	assert_has(err, "plain/state.json");
	assert_has(err, "Not a directory");
}

static void
test_state_load_refuses_a_fifo_and_leaves_it(void **state)
{
	const char *err;

	(void)state;
	assert_int_equal(mkfifo(tu_path("state.json"), 0644), 0);
	err = load_fails();
	assert_has(err, "is a fifo");
	assert_int_equal(count_moved_aside(), 0);
}

static void
test_state_update_refuses_a_fifo_as_its_lock(void **state)
{
	json_t *rec = record_new("a", 100, "ok", "done");
	char err[512] = "";

	(void)state;
	assert_int_equal(mkfifo(tu_path("state.lock"), 0644), 0);
	alarm(10);
	assert_int_not_equal(state_record_run(dir, rec, 0, NULL, err, sizeof(err)), 0);
	alarm(0);
	assert_has(err, "state.lock: is a fifo");
	json_decref(rec);
}

static mode_t
file_mode(const char *name)
{
	struct stat st;

	assert_int_equal(stat(tu_path(name), &st), 0);
	return st.st_mode & 07777;
}

/* state.json holds the jobs' last summaries: an older 0644 file loses its
 * "other" bits at the next write. */
static void
test_state_file_is_not_readable_by_others(void **state)
{
	(void)state;
	record_run("a", 100, "ok", 0);
	assert_int_equal(file_mode("state.json") & 0007, 0);
	assert_int_equal(chmod(tu_path("state.json"), 0644), 0);
	record_run("a", 200, "ok", 0);
	assert_int_equal(file_mode("state.json"), 0640);
}

static void
test_state_accessors_answer_for_no_state(void **state)
{
	(void)state;
	assert_null(state_last_run(NULL, "a"));
	assert_null(state_history_error(NULL, "a"));
	assert_int_equal(state_last_success_us(NULL, "a"), 0);
	assert_int_equal(state_last_elapse_us(NULL, "a"), 0);
}

/* Four writers, each its own job, interleaved: the lock and the re-read
 * keep every job's newest run. */
static void
test_state_concurrent_writers_keep_every_job(void **state)
{
	char job[16];
	struct state *st;
	pid_t pids[4];

	(void)state;
	for (int p = 0; p < 4; p++) {
		pids[p] = fork();
		assert_true(pids[p] >= 0);
		if (pids[p] == 0) {
			snprintf(job, sizeof(job), "j%d", p);
			for (int i = 1; i <= 25; i++)
				record_run(job, i, "ok", i);
			_exit(0);
		}
	}
	for (int p = 0; p < 4; p++) {
		int status = 0;

		assert_int_equal(waitpid(pids[p], &status, 0), pids[p]);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	}
	st = load();
	for (int p = 0; p < 4; p++) {
		snprintf(job, sizeof(job), "j%d", p);
		assert_int_equal(state_last_elapse_us(st, job), 25);
		assert_int_equal(state_last_success_us(st, job), 25);
	}
	state_free(st);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_state_missing_file_loads_as_no_jobs, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_state_round_trip_keeps_the_newest_run_success_and_elapse, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_leaves_out_captured_output_and_log, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_state_record_elapse_changes_only_the_elapse, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_state_keeps_why_the_newest_run_is_missing_from_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_state_damaged_file_is_moved_aside_and_rebuilt_from_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_state_empty_file_left_by_a_crash_is_rebuilt_from_history, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_file_without_jobs_is_moved_aside, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_state_unreadable_file_is_an_error_and_is_not_moved,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_dir_that_is_a_file_is_an_error, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_state_load_refuses_a_fifo_and_leaves_it, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_state_update_refuses_a_fifo_as_its_lock, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_state_file_is_not_readable_by_others, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_state_accessors_answer_for_no_state, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_state_concurrent_writers_keep_every_job, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests_name("state", tests, NULL, NULL);
}
