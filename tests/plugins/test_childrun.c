/*
 * test_childrun.c — plugins/lib/childrun.c with real child processes: exit
 * codes and signals, the two streams apart and merged, the capture's cap,
 * the drain when a daemon holds stdout, a stop request, a timeout, SIGKILL
 * after the grace, a program that cannot run, the environment and stdin.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "childrun.h"

/* What the output callback saw, stream by stream. */
struct seen {
	char out[4096];
	char err[4096];
	size_t n_out;
	size_t n_err;
	size_t n_bytes;     /* of both, also past the buffers */
	int is_stop_wanted; /* stop once anything was written */
};

static void
record_cb(void *arg, const char *stream, const char *buf, size_t n)
{
	struct seen *s = arg;
	int is_out = strcmp(stream, "stdout") == 0;
	char *to = is_out ? s->out : s->err;
	size_t *len = is_out ? &s->n_out : &s->n_err;
	size_t room = sizeof(s->out) - 1 - *len;
	size_t k = n < room ? n : room;

	memcpy(to + *len, buf, k);
	*len += k;
	to[*len] = '\0';
	s->n_bytes += n;
}

static int
stop_always_cb(void *arg)
{
	(void)arg;
	return 1;
}

static int
stop_after_output_cb(void *arg)
{
	const struct seen *s = arg;

	return s->n_bytes > 0;
}

/* Runs a shell snippet (the library never uses a shell; the test does, to
 * make the child behave) and expects childrun_run to succeed. */
static void
run_sh(const char *script, struct childrun_params *p, struct childrun_result *r)
{
	char *const argv[] = {"sh", "-c", (char *)script, NULL};
	char err[256] = "";
	int rc;

	p->argv = argv;
	rc = childrun_run(p, r, err, sizeof(err));
	if (rc != 0)
		fail_msg("expected childrun_run to return 0, got %d: %s", rc, err);
}

static void
test_childrun_reports_the_exit_code(void **state)
{
	struct childrun_params p = {0};
	struct childrun_result r;
	char how[64];

	(void)state;
	run_sh("exit 3", &p, &r);
	assert_int_equal(r.exit_code, 3);
	assert_int_equal(r.term_signal, 0);
	assert_int_equal(r.exec_errno, 0);
	childrun_describe(&r, how, sizeof(how));
	assert_string_equal(how, "exited 3");
	childrun_result_free(&r);
}

static void
test_childrun_reports_the_signal_that_ended_it(void **state)
{
	struct childrun_params p = {0};
	struct childrun_result r;
	char how[64];

	(void)state;
	run_sh("kill -9 $$", &p, &r);
	assert_int_equal(r.exit_code, -1);
	assert_int_equal(r.term_signal, SIGKILL);
	childrun_describe(&r, how, sizeof(how));
	assert_string_equal(how, "killed by signal 9");
	childrun_result_free(&r);
}

static void
test_childrun_passes_stdout_and_stderr_apart_and_captures_stdout(void **state)
{
	struct seen s = {0};
	struct childrun_params p = {.on_output = record_cb, .output_arg = &s, .capture_max = 100};
	struct childrun_result r;

	(void)state;
	run_sh("echo out; echo err >&2", &p, &r);
	assert_string_equal(s.out, "out\n");
	assert_string_equal(s.err, "err\n");
	assert_non_null(r.output);
	assert_string_equal(r.output, "out\n");
	childrun_result_free(&r);
}

static void
test_childrun_merges_stderr_into_stdout_when_asked(void **state)
{
	struct seen s = {0};
	struct childrun_params p = {
	    .on_output = record_cb, .output_arg = &s, .capture_max = 100, .is_merging_stderr = 1};
	struct childrun_result r;

	(void)state;
	run_sh("echo out; echo err >&2", &p, &r);
	assert_string_equal(s.out, "out\nerr\n");
	assert_int_equal(s.n_err, 0);
	assert_string_equal(r.output, "out\nerr\n");
	childrun_result_free(&r);
}

static void
test_childrun_cuts_the_capture_at_its_cap_but_passes_everything_on(void **state)
{
	struct seen s = {0};
	struct childrun_params p = {.on_output = record_cb, .output_arg = &s, .capture_max = 1000};
	struct childrun_result r;

	(void)state;
	run_sh("head -c 200000 /dev/zero", &p, &r);
	assert_int_equal(r.exit_code, 0);
	assert_int_equal(r.output_len, 1000);
	assert_true(r.is_truncated);
	assert_int_equal(s.n_bytes, 200000);
	childrun_result_free(&r);
}

static void
test_childrun_stops_reading_soon_after_exit_when_a_daemon_holds_stdout(void **state)
{
	struct childrun_params p = {.capture_max = 100, .drain_ms = 300};
	struct childrun_result r;
	long daemon;

	(void)state;
	run_sh("sleep 30 & echo $!", &p, &r);
	assert_int_equal(r.exit_code, 0);
	assert_true(r.is_output_held);
	assert_non_null(r.output);
	daemon = strtol(r.output, NULL, 10);
	assert_true(daemon > 0);
	kill((pid_t)daemon, SIGKILL);
	if (r.seconds > 5)
		fail_msg("expected the run to end about 0.3 s after the command, it took %.1f s",
		         r.seconds);
	childrun_result_free(&r);
}

static void
test_childrun_reads_everything_when_the_command_closes_its_output(void **state)
{
	struct childrun_params p = {.capture_max = 100};
	struct childrun_result r;

	(void)state;
	run_sh("echo one; sleep 0.2; echo two", &p, &r);
	assert_false(r.is_output_held);
	assert_string_equal(r.output, "one\ntwo\n");
	childrun_result_free(&r);
}

static void
test_childrun_ends_the_command_with_sigterm_on_a_stop_request(void **state)
{
	char *const argv[] = {"sleep", "30", NULL};
	struct childrun_params p = {.argv = argv, .should_stop = stop_always_cb};
	struct childrun_result r;
	char err[256];

	(void)state;
	assert_int_equal(childrun_run(&p, &r, err, sizeof(err)), 0);
	assert_true(r.is_stopped);
	assert_int_equal(r.term_signal, SIGTERM);
	if (r.seconds > 5)
		fail_msg("expected sleep to end at once, it took %.1f s", r.seconds);
	childrun_result_free(&r);
}

static void
test_childrun_kills_the_group_that_ignores_sigterm_after_the_grace(void **state)
{
	struct seen s = {0};
	struct childrun_params p = {.on_output = record_cb,
	                            .output_arg = &s,
	                            .should_stop = stop_after_output_cb,
	                            .stop_arg = &s,
	                            .is_own_group = 1,
	                            .grace_ms = 300};
	struct childrun_result r;

	(void)state;
	alarm(20); /* without the SIGKILL the run would never end: fail instead */
	run_sh("trap '' TERM; echo ready; while :; do sleep 0.1; done", &p, &r);
	alarm(0);
	assert_true(r.is_stopped);
	assert_int_equal(r.term_signal, SIGKILL);
	assert_false(r.is_output_held);
	if (r.seconds > 5)
		fail_msg("expected SIGKILL 0.3 s after SIGTERM, the run took %.1f s", r.seconds);
	childrun_result_free(&r);
}

static void
test_childrun_ends_the_command_at_its_timeout(void **state)
{
	char *const argv[] = {"sleep", "30", NULL};
	struct childrun_params p = {.argv = argv, .timeout_ms = 300};
	struct childrun_result r;
	char err[256];

	(void)state;
	assert_int_equal(childrun_run(&p, &r, err, sizeof(err)), 0);
	assert_true(r.is_timed_out);
	assert_false(r.is_stopped);
	assert_int_equal(r.term_signal, SIGTERM);
	assert_true(r.seconds >= 0.3 && r.seconds < 5);
	childrun_result_free(&r);
}

static void
test_childrun_says_why_a_missing_program_cannot_run(void **state)
{
	char *const argv[] = {"/nonexistent/program", NULL};
	struct childrun_params p = {.argv = argv};
	struct childrun_result r;
	char err[256], how[600];

	(void)state;
	assert_int_equal(childrun_run(&p, &r, err, sizeof(err)), 0);
	assert_int_equal(r.exit_code, 127);
	assert_int_equal(r.exec_errno, ENOENT);
	assert_string_equal(r.error, "cannot run /nonexistent/program: No such file or directory");
	childrun_describe(&r, how, sizeof(how));
	assert_string_equal(how, r.error);
	childrun_result_free(&r);
}

static void
test_childrun_says_why_it_cannot_enter_the_folder(void **state)
{
	char *const argv[] = {"true", NULL};
	struct childrun_params p = {.argv = argv, .cwd = "/nonexistent/folder"};
	struct childrun_result r;
	char err[256];

	(void)state;
	assert_int_equal(childrun_run(&p, &r, err, sizeof(err)), 0);
	assert_int_equal(r.exit_code, 126);
	assert_string_equal(r.error, "cannot enter /nonexistent/folder: No such file or directory");
	childrun_result_free(&r);
}

static void
test_childrun_adds_to_the_environment_and_runs_in_cwd(void **state)
{
	static const char *const env[] = {"CHILDRUN_TEST=added"};
	struct childrun_params p = {.env = env, .n_env = 1, .cwd = "/", .capture_max = 100};
	struct childrun_result r;

	(void)state;
	run_sh("echo \"$CHILDRUN_TEST $(pwd)\"", &p, &r);
	assert_string_equal(r.output, "added /\n");
	childrun_result_free(&r);
}

static void
test_childrun_clears_the_environment_but_keeps_path(void **state)
{
	struct childrun_params p = {.is_clearing_env = 1, .capture_max = 100};
	struct childrun_result r;

	(void)state;
	setenv("CHILDRUN_TEST_GONE", "still here", 1);
	run_sh("echo \"[$CHILDRUN_TEST_GONE]\"; test -n \"$PATH\" && echo path", &p, &r);
	unsetenv("CHILDRUN_TEST_GONE");
	assert_string_equal(r.output, "[]\npath\n");
	childrun_result_free(&r);
}

static void
test_childrun_gives_the_command_dev_null_as_stdin(void **state)
{
	struct childrun_params p = {.capture_max = 100};
	struct childrun_result r;
	int saved = dup(STDIN_FILENO), fds[2];

	(void)state;
	/* The test's own stdin a pipe, so that an inherited one shows. */
	assert_int_equal(pipe(fds), 0);
	dup2(fds[0], STDIN_FILENO);
	run_sh("readlink /proc/self/fd/0", &p, &r);
	dup2(saved, STDIN_FILENO);
	close(saved);
	close(fds[0]);
	close(fds[1]);
	assert_string_equal(r.output, "/dev/null\n");
	childrun_result_free(&r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_childrun_reports_the_exit_code),
	    cmocka_unit_test(test_childrun_reports_the_signal_that_ended_it),
	    cmocka_unit_test(test_childrun_passes_stdout_and_stderr_apart_and_captures_stdout),
	    cmocka_unit_test(test_childrun_merges_stderr_into_stdout_when_asked),
	    cmocka_unit_test(test_childrun_cuts_the_capture_at_its_cap_but_passes_everything_on),
	    cmocka_unit_test(
	        test_childrun_stops_reading_soon_after_exit_when_a_daemon_holds_stdout),
	    cmocka_unit_test(test_childrun_reads_everything_when_the_command_closes_its_output),
	    cmocka_unit_test(test_childrun_ends_the_command_with_sigterm_on_a_stop_request),
	    cmocka_unit_test(test_childrun_kills_the_group_that_ignores_sigterm_after_the_grace),
	    cmocka_unit_test(test_childrun_ends_the_command_at_its_timeout),
	    cmocka_unit_test(test_childrun_says_why_a_missing_program_cannot_run),
	    cmocka_unit_test(test_childrun_says_why_it_cannot_enter_the_folder),
	    cmocka_unit_test(test_childrun_adds_to_the_environment_and_runs_in_cwd),
	    cmocka_unit_test(test_childrun_clears_the_environment_but_keeps_path),
	    cmocka_unit_test(test_childrun_gives_the_command_dev_null_as_stdin),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
