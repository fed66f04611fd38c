/*
 * test_runner.c — core/runner.c: supervised children, verdicts, locks,
 * ordering, and what reaches history.
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
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/pidfd.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "config.h"
#include "history.h"
#include "proc.h"
#include "result.h"
#include "runner.h"
#include "testutil.h"

static const char settings[] = "[caretaker]\nplugin_path = plugins\nstate_dir = state\n"
                               "timeout = 20s\nkill_grace = 200ms\noutput_limit = 4K\n";

static int
setup(void **state)
{
	(void)state;
	tu_tmpdir_new();
	tu_copy(PLUGINS_DIR "/hello/.libs/hello.so", "plugins/hello.so");
	tu_copy(FAULTS_DIR "/segv.so", "plugins/segv.so");
	tu_copy(FAULTS_DIR "/hang.so", "plugins/hang.so");
	tu_copy(FAULTS_DIR "/exit3.so", "plugins/exit3.so");
	tu_copy(FAULTS_DIR "/flood.so", "plugins/flood.so");
	tu_copy(FAULTS_DIR "/slowok.so", "plugins/slowok.so");
	tu_copy(FAULTS_DIR "/escape.so", "plugins/escape.so");
	tu_copy(PLUGINS_DIR "/exec/.libs/exec.so", "plugins/exec.so");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_tmpdir_free();
	return 0;
}

/*
 * pidfd_open as the kernel has it, or refused with ENOSYS as before Linux
 * 5.3 (and under seccomp filters, valgrind) while is_pidfd_refused is set.
 * This definition takes the place of the C library's in this program.
 */
static int is_pidfd_refused;

int
pidfd_open(pid_t pid, unsigned int flags)
{
	if (is_pidfd_refused) {
		errno = ENOSYS;
		return -1;
	}
	return (int)syscall(SYS_pidfd_open, pid, flags);
}

/* Write the config with `jobs` and run names[0..n) (none: --all). */
static int
run_named(const char *jobs, const char *const *names, size_t n, int is_dry_run)
{
	char text[4096];
	struct config *cfg = NULL;
	struct runner_options opts = {.is_quiet = 1, .is_dry_run = is_dry_run, .is_all = n == 0};
	int rc;

	snprintf(text, sizeof(text), "%s\n%s", settings, jobs);
	tu_write("caretaker.ini", text);
	assert_int_equal(config_load(tu_path("caretaker.ini"), &cfg), 0);
	rc = runner_run(cfg, names, n, &opts);
	config_free(cfg);
	return rc;
}

/* Write the config with `jobs` and run `job` (NULL: --all). */
static int
run_jobs(const char *jobs, const char *job, int is_dry_run)
{
	const char *names[1] = {job};

	return run_named(jobs, names, job ? 1 : 0, is_dry_run);
}

/* The newest history record of `job` (caller decrefs). */
static json_t *
last_run(const char *job)
{
	struct history_query q = {.job = job, .max = 1};
	json_t *runs = NULL, *rec;
	size_t damaged;
	char err[256];

	assert_int_equal(history_read(tu_path("state"), &q, &runs, &damaged, err, sizeof(err)), 0);
	assert_int_equal(json_array_size(runs), 1);
	rec = json_incref(json_array_get(runs, 0));
	json_decref(runs);
	return rec;
}

static void
assert_run(const char *job, const char *status, const char *reason_part)
{
	json_t *rec = last_run(job);
	const char *reason = json_string_value(json_object_get(rec, "reason"));
	const char *summary = json_string_value(json_object_get(rec, "summary"));

	assert_string_equal(json_string_value(json_object_get(rec, "status")), status);
	if (reason_part != NULL) {
		const char *text = reason ? reason : summary;

		if (text == NULL || strstr(text, reason_part) == NULL)
			fail_msg("%s: expected '%s' in '%s'", job, reason_part,
			         text ? text : "(null)");
	}
	json_decref(rec);
}

static void
test_runner_records_a_good_run(void **state)
{
	json_t *rec, *metric;

	(void)state;
	assert_int_equal(run_jobs("[hi]\nplugin = hello\ntimes = 3\n", "hi", 0), EXIT_OK);
	assert_run("hi", "ok", "greeted world 3 time(s)");
	rec = last_run("hi");
	metric = json_array_get(json_object_get(rec, "metrics"), 0);
	assert_string_equal(json_string_value(json_object_get(metric, "name")), "greetings");
	assert_true(json_number_value(json_object_get(metric, "value")) == 3.0);
	assert_string_equal(json_string_value(json_object_get(rec, "plugin")), "hello");
	json_decref(rec);
}

static void
test_runner_reports_a_crash_by_signal_name(void **state)
{
	(void)state;
	assert_int_equal(run_jobs("[s]\nplugin = segv\n", "s", 0), EXIT_JOB_FAILED);
	assert_run("s", "failed", "crashed (SIGSEGV)");
}

static void
test_runner_reports_exit_in_a_plugin(void **state)
{
	(void)state;
	assert_int_equal(run_jobs("[e]\nplugin = exit3\n", "e", 0), EXIT_JOB_FAILED);
	assert_run("e", "failed", "exited with status 3");
}

static void
test_runner_kills_a_hang_after_timeout_and_grace(void **state)
{
	(void)state;
	assert_int_equal(run_jobs("[h]\nplugin = hang\ntimeout = 300ms\n", "h", 0),
	                 EXIT_JOB_FAILED);
	assert_run("h", "failed", "timed out after 300ms");
}

static void
test_runner_caps_captured_output(void **state)
{
	json_t *rec;
	const char *out;

	(void)state;
	assert_int_equal(run_jobs("[f]\nplugin = flood\n", "f", 0), EXIT_OK);
	rec = last_run("f");
	out = json_string_value(json_object_get(json_object_get(rec, "output"), "stdout"));
	assert_non_null(out);
	assert_true(strlen(out) < 4096 + 100);
	assert_non_null(strstr(out, "FLOOD-HEAD"));
	assert_non_null(strstr(out, "FLOOD-TAIL"));
	assert_non_null(strstr(out, "bytes dropped"));
	json_decref(rec);
}

static void
test_runner_goes_on_after_a_failing_job(void **state)
{
	(void)state;
	assert_int_equal(run_jobs("[s]\nplugin = segv\n[h]\nplugin = hello\n", NULL, 0),
	                 EXIT_JOB_FAILED);
	assert_run("s", "failed", "SIGSEGV");
	assert_run("h", "ok", NULL);
}

static void
test_runner_exits_75_when_the_job_is_locked(void **state)
{
	int fd;

	(void)state;
	assert_int_equal(proc_mkdir_p(tu_path("state/locks"), 0755), 0);
	fd = open(tu_path("state/locks/hi.lock"), O_RDWR | O_CREAT, 0644);
	assert_true(fd >= 0);
	assert_int_equal(flock(fd, LOCK_EX), 0);
	assert_int_equal(write(fd, "4242\n", 5), 5);
	assert_int_equal(run_jobs("[hi]\nplugin = hello\n", "hi", 0), EXIT_LOCKED);
	close(fd);
	assert_int_equal(run_jobs("[hi]\nplugin = hello\n", "hi", 0), EXIT_OK);
}

static void
test_runner_skips_a_job_whose_requirement_failed(void **state)
{
	(void)state;
	assert_int_equal(
	    run_jobs("[s]\nplugin = segv\n[after]\nplugin = hello\nrequires = s\n", "after", 0),
	    EXIT_JOB_FAILED);
	assert_run("after", "skipped", "requires s, which did not succeed");
}

static void
test_runner_skips_a_job_whose_requirement_is_disabled(void **state)
{
	(void)state;
	assert_int_equal(run_jobs("[backup]\nplugin = hello\nenabled = no\n"
	                          "[upgrade]\nplugin = hello\nrequires = backup\n",
	                          "upgrade", 0),
	                 EXIT_OK);
	assert_run("backup", "skipped", "disabled");
	assert_run("upgrade", "skipped", "requires backup, which did not succeed");
}

static void
test_runner_fails_a_job_with_a_config_error_without_running_it(void **state)
{
	(void)state;
	assert_int_equal(run_jobs("[bad]\nplugin = hello\ntimes = 0\n", "bad", 0), EXIT_CONFIG);
	assert_run("bad", "failed", "configuration error");
	assert_run("bad", "failed", "caretaker.ini:");
}

static void
test_runner_dry_run_skips_plugins_without_support(void **state)
{
	(void)state;
	assert_int_equal(run_jobs("[s]\nplugin = slowok\n[h]\nplugin = hello\n", NULL, 1), EXIT_OK);
	assert_run("s", "skipped", "does not support --dry-run");
	assert_run("h", "ok", NULL);
}

static void
test_runner_runs_named_jobs_in_the_order_given(void **state)
{
	static const char jobs[] = "[a]\nplugin = hello\n[b]\nplugin = hello\n"
	                           "[c]\nplugin = hello\nrequires = a\n";
	const char *names[] = {"c", "b"};
	struct history_query q = {0};
	json_t *runs = NULL;
	char order[16] = "", err[256];
	size_t damaged, i;
	json_t *rec;

	(void)state;
	assert_int_equal(run_named(jobs, names, 2, 0), EXIT_OK);
	assert_int_equal(history_read(tu_path("state"), &q, &runs, &damaged, err, sizeof(err)), 0);
	json_array_foreach(runs, i, rec)
	    strncat(order, result_json_str(rec, "job"), sizeof(order) - strlen(order) - 1);
	json_decref(runs);
	if (strcmp(order, "acb") != 0)
		fail_msg("expected the runs a (required by c), c, b; came %s", order);
}

/* A run must end even when the kernel refuses a pidfd: alarm() turns a
 * hang into a failure of this program. */
static int
run_without_pidfd(const char *jobs, const char *job)
{
	int rc;

	is_pidfd_refused = 1;
	alarm(20);
	rc = run_jobs(jobs, job, 0);
	alarm(0);
	is_pidfd_refused = 0;
	return rc;
}

static void
test_runner_learns_of_the_end_of_a_run_without_a_pidfd(void **state)
{
	(void)state;
	assert_int_equal(run_without_pidfd("[hi]\nplugin = hello\n", "hi"), EXIT_OK);
	assert_run("hi", "ok", "greeted world");
}

static void
test_runner_times_out_a_hang_without_a_pidfd(void **state)
{
	(void)state;
	assert_int_equal(run_without_pidfd("[h]\nplugin = hang\ntimeout = 300ms\n", "h"),
	                 EXIT_JOB_FAILED);
	assert_run("h", "failed", "timed out after 300ms");
}

/* The pid a job wrote to FILE in its state folder. */
static pid_t
job_pid_file(const char *file)
{
	FILE *f = fopen(tu_path(file), "r");
	long pid = 0;

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%ld", &pid), 1);
	fclose(f);
	return (pid_t)pid;
}

static void
assert_gone(pid_t pid)
{
	if (kill(pid, 0) == 0 || errno != ESRCH)
		fail_msg("process %ld outlived the run", (long)pid);
}

static void
assert_record_log(const char *job, const char *part)
{
	json_t *rec = last_run(job), *entry;
	size_t i;

	json_array_foreach(json_object_get(rec, "log"), i,
	                   entry) if (strstr(result_json_str(entry, "message"), part) != NULL)
	{
		json_decref(rec);
		return;
	}
	fail_msg("%s: no log line with '%s' in %s", job, part, json_dumps(rec, 0));
}

static void
test_runner_ends_a_process_that_left_the_group_when_the_job_ends(void **state)
{
	static const char jobs[] =
	    "[d]\nplugin = exec\ncommand = sh -c \""
	    "setsid sh -c 'echo $$ >daemon.pid; exec sleep 300' </dev/null >/dev/null 2>&1 & "
	    "while [ ! -s daemon.pid ]; do sleep 0.01; done\"\n"
	    "cwd = state/jobs/d\n";

	(void)state;
	assert_int_equal(run_jobs(jobs, "d", 0), EXIT_OK);
	assert_gone(job_pid_file("state/jobs/d/daemon.pid"));
	assert_record_log("d", "ended 1 process that had left the job's process group");
}

static void
test_runner_ends_what_a_killed_job_child_left_outside_its_group(void **state)
{
	(void)state;
	assert_int_equal(run_jobs("[e]\nplugin = escape\ntimeout = 300ms\n", "e", 0),
	                 EXIT_JOB_FAILED);
	assert_run("e", "failed", "timed out after 300ms");
	assert_gone(job_pid_file("state/jobs/e/escaped.pid"));
	assert_record_log("e", "ended 1 process that had left the job's process group");
}

/* The whole of a small file the test wrote, or "" when it is missing. */
static char *
read_text(const char *name)
{
	static char buf[8192];
	FILE *f = fopen(tu_path(name), "r");
	size_t n = 0;

	buf[0] = '\0';
	if (f == NULL)
		return buf;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void
assert_has(const char *text, const char *part, int is_expected)
{
	if ((strstr(text, part) != NULL) != is_expected)
		fail_msg("expected %s\"%s\" in:\n%s", is_expected ? "" : "no ", part, text);
}

/* bk leaves an artifact and `up` (requiring bk) fails; `other` leaves
 * one too but is no part of up's chain.  rb writes what it was handed. */
static void
chain_config(char *buf, size_t size)
{
	snprintf(buf, size,
	         "[other]\nplugin = exec\ncommand = touch other.out\ncwd = .\n"
	         "artifacts = backup=%s\n"
	         "[bk]\nplugin = exec\ncommand = touch bk.out\ncwd = .\n"
	         "artifacts = backup=%s, pkg-list=%s\n"
	         "[up]\nplugin = exec\ncommand = sh -c 'echo broken; exit 3'\n"
	         "requires = bk\non_failure = rb\n"
	         "[after]\nplugin = exec\ncommand = touch after.out\ncwd = .\nrequires = up\n"
	         "[rb]\nplugin = exec\ncwd = .\n"
	         "command = sh -c 'env | grep ^CARETAKER_ | sort > rb.env'\n",
	         tu_path("other.out"), tu_path("bk.out"), tu_path("bk.out"));
}

static void
test_runner_hands_the_on_failure_job_the_failure_and_its_chain_artifacts(void **state)
{
	const char *names[] = {"other", "after"};
	char jobs[2048], want[1024], *env;

	(void)state;
	chain_config(jobs, sizeof(jobs));
	assert_int_equal(run_named(jobs, names, 2, 0), EXIT_JOB_FAILED);
	env = read_text("rb.env");
	assert_has(env, "CARETAKER_FAILED_JOB=up\n", 1);
	assert_has(env, "CARETAKER_FAILED_STATUS=failed\n", 1);
	assert_has(env, "CARETAKER_FAILED_SUMMARY=sh exited 3: broken\n", 1);
	assert_has(env, "CARETAKER_CHAIN_ARTIFACTS=2\n", 1);
	assert_has(env, "CARETAKER_CHAIN_2_KIND=pkg-list\n", 1);
	snprintf(want, sizeof(want), "CARETAKER_ARTIFACT_BK_PKG_LIST=%s\n", tu_path("bk.out"));
	assert_has(env, want, 1);
	snprintf(want, sizeof(want), "CARETAKER_CHAIN_1_PATH=%s\n", tu_path("bk.out"));
	assert_has(env, want, 1);
	assert_has(env, "other.out", 0);
	assert_run("rb", "ok", NULL);
	assert_run("after", "skipped", "requires up, which did not succeed");
}

static void
test_runner_hands_nothing_to_a_handler_run_by_name(void **state)
{
	char jobs[2048];

	(void)state;
	chain_config(jobs, sizeof(jobs));
	assert_int_equal(run_jobs(jobs, "rb", 0), EXIT_OK);
	assert_has(read_text("rb.env"), "CARETAKER_FAILED", 0);
	assert_has(read_text("rb.env"), "CARETAKER_CHAIN", 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_runner_records_a_good_run, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runner_reports_a_crash_by_signal_name, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_runner_reports_exit_in_a_plugin, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runner_kills_a_hang_after_timeout_and_grace, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_runner_caps_captured_output, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runner_goes_on_after_a_failing_job, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_runner_exits_75_when_the_job_is_locked, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_runner_skips_a_job_whose_requirement_failed, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_runner_skips_a_job_whose_requirement_is_disabled,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_runner_fails_a_job_with_a_config_error_without_running_it, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runner_dry_run_skips_plugins_without_support,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runner_runs_named_jobs_in_the_order_given, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_runner_learns_of_the_end_of_a_run_without_a_pidfd,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_runner_times_out_a_hang_without_a_pidfd, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_runner_ends_a_process_that_left_the_group_when_the_job_ends, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_runner_ends_what_a_killed_job_child_left_outside_its_group, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_runner_hands_the_on_failure_job_the_failure_and_its_chain_artifacts, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_runner_hands_nothing_to_a_handler_run_by_name,
	                                    setup, teardown),
	};

	return cmocka_run_group_tests_name("runner", tests, NULL, NULL);
}
