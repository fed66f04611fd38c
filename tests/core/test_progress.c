/*
 * test_progress.c — core/progress.c: the child's throttle (also through
 * the services table of task.c), the parent's sample, the words and the
 * estimate of the time left, the running file of a run, and how a stale
 * one (caretaker died, its pid perhaps reused) is told from a live one.
 */
#include "autoconf.h"

#include <fcntl.h>
#include <math.h>
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

#include "config.h"
#include "proc.h"
#include "progress.h"
#include "task.h"
#include "testutil.h"

static int
setup(void **state)
{
	(void)state;
	tu_tmpdir_new();
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_tmpdir_free();
	return 0;
}

/* ---- the fraction -------------------------------------------------------- */

static void
test_progress_fraction_clean_makes_nan_and_negatives_unknown_and_caps_at_one(void **state)
{
	(void)state;
	assert_true(progress_fraction_clean(NAN) == -1);
	assert_true(progress_fraction_clean(-0.5) == -1);
	assert_true(progress_fraction_clean(-INFINITY) == -1);
	assert_true(progress_fraction_clean(1.7) == 1);
	assert_true(progress_fraction_clean(INFINITY) == 1);
	assert_true(progress_fraction_clean(0.25) == 0.25);
}

/* ---- the throttle -------------------------------------------------------- */

static void
test_progress_throttle_passes_the_first_call(void **state)
{
	struct progress_throttle pt = {0};

	(void)state;
	assert_true(progress_throttle_pass(&pt, 5000, 0.01, "dumping"));
	assert_string_equal(pt.what, "dumping");
	assert_true(pt.fraction == 0.01);
}

static void
test_progress_throttle_lets_few_of_a_million_calls_in_a_second_through(void **state)
{
	struct progress_throttle pt = {0};
	int passed = 0;

	(void)state;
	for (int i = 0; i < 1000000; i++)
		passed += progress_throttle_pass(&pt, i / 1000, (double)i / 1e6, "dumping");
	/* The first, then one per 100 ms of the simulated second. */
	if (passed > 11)
		fail_msg("expected at most 11 messages in one second, came %d", passed);
	assert_true(passed >= 10);
}

static void
test_progress_throttle_passes_a_change_of_step_at_once(void **state)
{
	struct progress_throttle pt = {0};

	(void)state;
	assert_true(progress_throttle_pass(&pt, 1000, 0.5, "dumping"));
	assert_false(progress_throttle_pass(&pt, 1001, 0.6, "dumping"));
	assert_true(progress_throttle_pass(&pt, 1002, -1, "syncing"));
	assert_true(progress_throttle_pass(&pt, 1003, -1, "checking"));
	assert_string_equal(pt.what, "checking");
}

static void
test_progress_throttle_passes_the_first_one_point_zero(void **state)
{
	struct progress_throttle pt = {0};

	(void)state;
	assert_true(progress_throttle_pass(&pt, 1000, 0.5, "dumping"));
	assert_true(progress_throttle_pass(&pt, 1001, 1.0, "dumping"));
	assert_false(progress_throttle_pass(&pt, 1002, 1.0, "dumping"));
}

static void
test_progress_throttle_never_repeats_the_last_message(void **state)
{
	struct progress_throttle pt = {0};

	(void)state;
	assert_true(progress_throttle_pass(&pt, 1000, -1, "running pg_repack"));
	assert_false(progress_throttle_pass(&pt, 5000, -1, "running pg_repack"));
	assert_false(progress_throttle_pass(&pt, 9000, -7, "running pg_repack"));
}

static void
test_progress_throttle_holds_words_that_change_every_call_to_ten_a_second(void **state)
{
	struct progress_throttle pt = {0};
	char what[32];
	int passed = 0;

	(void)state;
	for (int i = 0; i < 100000; i++) {
		snprintf(what, sizeof(what), "table %d", i);
		passed += progress_throttle_pass(&pt, 10000 + i / 10, -1, what);
	}
	/* 10 s simulated: a burst of ten, then ten a second from the step
	 * bucket, and ten a second from the plain gap. */
	if (passed > 10 + 100 + 100 + 1)
		fail_msg("expected at most 211 messages in ten seconds, came %d", passed);
	assert_true(passed >= 100);
}

static void
test_progress_throttle_cuts_long_words_at_a_character_boundary(void **state)
{
	struct progress_throttle pt = {0};
	char what[201];

	(void)state;
	for (int i = 0; i < 100; i++)
		memcpy(what + 2 * i, "\xc3\xa9", 2); /* é: two bytes each */
	what[200] = '\0';
	assert_true(progress_throttle_pass(&pt, 1000, 0.1, what));
	assert_int_equal(strlen(pt.what), PROGRESS_WHAT_SIZE - 2);
	assert_int_equal((unsigned char)pt.what[strlen(pt.what) - 1], 0xa9);
}

/* ---- the parent's sample ------------------------------------------------- */

static void
test_progress_sample_replaces_control_characters(void **state)
{
	struct progress_sample s = {0};

	(void)state;
	progress_sample_set(&s, 0.5,
	                    "a\033[2Jb\nc\x7f"
	                    "d\xc2\x9b"
	                    "e\xc3\xa9",
	                    42);
	assert_string_equal(s.what, "a?[2Jb?c?d??e\xc3\xa9");
	assert_int_equal(s.n, 1);
	assert_int_equal(s.at_ms, 42);
}

static void
test_progress_sample_without_words_or_fraction_is_unknown_and_empty(void **state)
{
	struct progress_sample s = {0};

	(void)state;
	progress_sample_set(&s, NAN, NULL, 1);
	assert_string_equal(s.what, "");
	assert_true(s.fraction == -1);
}

/* ---- the estimate and the words ------------------------------------------ */

static void
test_progress_eta_extrapolates_the_pace_of_the_step(void **state)
{
	(void)state;
	/* 10% -> 40% in 3 s: 60% left takes 6 s. */
	assert_int_equal(progress_eta_ms(0.1, 1000, 0.4, 4000), 6000);
}

static void
test_progress_eta_grows_while_a_step_stalls(void **state)
{
	(void)state;
	assert_true(progress_eta_ms(0.1, 0, 0.4, 6000) > progress_eta_ms(0.1, 0, 0.4, 3000));
}

static void
test_progress_eta_is_unknown_without_fraction_advance_or_time(void **state)
{
	(void)state;
	assert_int_equal(progress_eta_ms(-1, 0, 0.5, 10000), -1);
	assert_int_equal(progress_eta_ms(0.1, 0, -1, 10000), -1);
	assert_int_equal(progress_eta_ms(0.5, 0, 0.5, 10000), -1);
	assert_int_equal(progress_eta_ms(0.5, 0, 0.4, 10000), -1);
	assert_int_equal(progress_eta_ms(0.1, 0, 0.5, 2999), -1);
}

static void
test_progress_format_span_keeps_two_units(void **state)
{
	char buf[32];

	(void)state;
	progress_format_span(42700, buf, sizeof(buf));
	assert_string_equal(buf, "42s");
	progress_format_span(192500, buf, sizeof(buf));
	assert_string_equal(buf, "3min12s");
	progress_format_span(7530000, buf, sizeof(buf));
	assert_string_equal(buf, "2h5min");
	progress_format_span(-5, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
}

static void
test_progress_format_state_shows_step_percentage_and_time_left(void **state)
{
	char buf[128];

	(void)state;
	progress_format_state(buf, sizeof(buf), "dumping", 0.426, 192000);
	assert_string_equal(buf, "dumping 42%, about 3min12s left");
	progress_format_state(buf, sizeof(buf), "dumping", 0.999, 300);
	assert_string_equal(buf, "dumping 99%, almost done");
	progress_format_state(buf, sizeof(buf), "dumping", 0.05, -1);
	assert_string_equal(buf, "dumping 5%");
	progress_format_state(buf, sizeof(buf), "dumping", 1.0, 0);
	assert_string_equal(buf, "dumping 100%");
}

static void
test_progress_format_state_of_an_unknown_fraction_shows_only_words(void **state)
{
	char buf[128];

	(void)state;
	progress_format_state(buf, sizeof(buf), "running pg_repack", -1, 5000);
	assert_string_equal(buf, "running pg_repack");
	progress_format_state(buf, sizeof(buf), "", -1, -1);
	assert_string_equal(buf, "running");
}

/* ---- processes ----------------------------------------------------------- */

static pid_t
dead_pid(void)
{
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
	return pid;
}

static void
test_progress_pid_start_of_this_process_is_known(void **state)
{
	unsigned long long start = 0;

	(void)state;
	assert_int_equal(progress_pid_start(getpid(), &start), 0);
	assert_true(start > 0);
}

static void
test_progress_pid_start_of_a_dead_process_is_enoent(void **state)
{
	unsigned long long start = 0;

	(void)state;
	assert_int_equal(progress_pid_start(dead_pid(), &start), CT_ENOENT);
}

static void
test_progress_pid_start_of_a_zombie_is_enoent(void **state)
{
	unsigned long long start = 0;
	pid_t pid = fork();
	siginfo_t info;
	int rc;

	(void)state;
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(0);
	/* Exited, and left unreaped: a zombie. */
	assert_int_equal(waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT), 0);
	rc = progress_pid_start(pid, &start);
	waitpid(pid, NULL, 0);
	assert_int_equal(rc, CT_ENOENT);
}

/* ---- running files ------------------------------------------------------- */

static void
write_running(const char *name, long pid, unsigned long long pid_start, const char *step)
{
	char text[512], path[300];

	snprintf(text, sizeof(text),
	         "{\"format\":1,\"job\":\"nightly\",\"pid\":%ld,\"pid_start\":%llu,"
	         "\"child_pid\":1,\"start_us\":1000000,\"step\":\"%s\",\"fraction\":0.25,"
	         "\"base_fraction\":null,\"base_us\":null,\"updated_us\":2000000,"
	         "\"written_us\":2000000}",
	         pid, pid_start, step);
	snprintf(path, sizeof(path), "state/running/%s", name);
	tu_write(path, text);
}

static size_t
count_running(int is_cleaning, struct progress_running *first)
{
	struct progress_running *runs = NULL;
	size_t n = 0;

	assert_int_equal(progress_running_list(tu_path("state"), is_cleaning, &runs, &n), 0);
	if (n > 0 && first != NULL)
		*first = runs[0];
	free(runs);
	return n;
}

static void
test_progress_running_file_of_a_live_run_is_listed(void **state)
{
	struct progress_running r;
	unsigned long long start = 0;

	(void)state;
	assert_int_equal(progress_pid_start(getpid(), &start), 0);
	write_running("nightly.1.json", (long)getpid(), start, "dumping");
	assert_int_equal(count_running(1, &r), 1);
	assert_string_equal(r.job, "nightly");
	assert_string_equal(r.step, "dumping");
	assert_true(r.fraction == 0.25);
	assert_int_equal(r.pid, getpid());
}

static void
test_progress_running_file_of_a_dead_pid_is_stale_and_removed(void **state)
{
	(void)state;
	write_running("nightly.2.json", (long)dead_pid(), 1, "dumping");
	assert_int_equal(count_running(0, NULL), 0);
	assert_int_equal(access(tu_path("state/running/nightly.2.json"), F_OK), 0);
	assert_int_equal(count_running(1, NULL), 0);
	assert_int_not_equal(access(tu_path("state/running/nightly.2.json"), F_OK), 0);
}

static void
test_progress_running_file_of_a_reused_pid_is_stale(void **state)
{
	unsigned long long start = 0;

	(void)state;
	assert_int_equal(progress_pid_start(getpid(), &start), 0);
	write_running("nightly.3.json", (long)getpid(), start + 1, "dumping");
	assert_int_equal(count_running(1, NULL), 0);
}

static void
test_progress_running_list_skips_what_is_not_a_running_file(void **state)
{
	unsigned long long start = 0;

	(void)state;
	assert_int_equal(progress_pid_start(getpid(), &start), 0);
	write_running(".nightly.4.json.XXXXXX", (long)getpid(), start, "hidden");
	tu_write("state/running/broken.json", "{\"job\":");
	tu_write("state/running/notes.txt", "hello");
	assert_int_equal(mkfifo(tu_path("state/running/fifo.json"), 0600), 0);
	assert_int_equal(count_running(1, NULL), 0);
}

static void
test_progress_running_list_of_no_folder_is_empty(void **state)
{
	(void)state;
	assert_int_equal(count_running(1, NULL), 0);
}

/* ---- one run ------------------------------------------------------------- */

static void
test_progress_run_writes_its_running_file_0640_after_a_second_and_removes_it_at_the_end(
    void **state)
{
	struct progress_sample s = {0};
	struct progress_run_params p = {.state_dir = tu_path("state"),
	                                .job = "nightly",
	                                .child_pid = 4242,
	                                .sample = &s,
	                                .is_quiet = 1};
	struct progress_run pr;
	struct progress_running r;
	struct stat st;

	(void)state;
	progress_sample_set(&s, 0.5, "dumping", proc_now_ms());
	progress_run_begin(&pr, &p);
	progress_run_tick_cb(&pr);
	assert_null(pr.running_path); /* not in its first second */
	assert_int_equal(count_running(1, NULL), 0);
	pr.start_ms -= PROGRESS_RUNNING_AFTER_MS;
	progress_run_tick_cb(&pr);
	assert_non_null(pr.running_path);
	assert_int_equal(stat(pr.running_path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);
	assert_int_equal(count_running(1, &r), 1);
	assert_string_equal(r.step, "dumping");
	assert_int_equal(r.child_pid, 4242);
	assert_int_equal(r.pid, getpid());
	progress_run_end(&pr);
	assert_int_equal(count_running(1, NULL), 0);
}

/* ---- the throttle in the child, through the services table --------------- */

static int
flood_init_cb(struct ct_task *t, const struct ct_services *ct, void **st)
{
	(void)t;
	(void)ct;
	*st = NULL;
	return CT_OK;
}

static int
flood_run_cb(struct ct_task *t, const struct ct_services *ct, void *st)
{
	(void)st;
	for (int i = 0; i < 1000000; i++)
		ct->progress(t, (double)i / 1e6, "dumping");
	ct->progress(t, 1.0, "dumping");
	return CT_OK;
}

static int
flood_report_cb(struct ct_task *t, const struct ct_services *ct, void *st)
{
	(void)t;
	(void)ct;
	(void)st;
	return CT_OK;
}

/* The progress messages in the file, the last one's fraction in *last. */
static int
count_progress_lines(const char *path, double *last)
{
	FILE *f = fopen(path, "r");
	char line[1024];
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		json_t *j = json_loads(line, 0, NULL);

		if (strcmp(json_string_value(json_object_get(j, "t")), "progress") == 0) {
			*last = json_number_value(json_object_get(j, "fraction"));
			n++;
		}
		json_decref(j);
	}
	fclose(f);
	return n;
}

static void
test_progress_a_million_calls_of_a_plugin_send_few_messages(void **state)
{
	static const struct ct_plugin desc = {.abi_version = CT_ABI_VERSION,
	                                      .size = sizeof(struct ct_plugin),
	                                      .name = "flood",
	                                      .init = flood_init_cb,
	                                      .run = flood_run_cb,
	                                      .report = flood_report_cb};
	struct config cfg = {0};
	struct job job = {.name = "flood"};
	int fd = open(tu_path("messages"), O_WRONLY | O_CREAT | O_TRUNC, 0600);
	int64_t t0 = proc_now_ms(), took;
	double last = 0;
	int n;

	(void)state;
	assert_true(fd >= 0);
	task_execute(&desc, &cfg, &job, tu_path(""), 0, fd, NULL);
	took = proc_now_ms() - t0;
	close(fd);
	n = count_progress_lines(tu_path("messages"), &last);
	/* One per 100 ms, the first, the 1.0 and a little slack for the clock. */
	if (n > 3 + took / 100 + 1)
		fail_msg("expected at most %d messages in %lld ms, came %d", (int)(4 + took / 100),
		         (long long)took, n);
	assert_true(last == 1.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(
	        test_progress_fraction_clean_makes_nan_and_negatives_unknown_and_caps_at_one),
	    cmocka_unit_test(test_progress_throttle_passes_the_first_call),
	    cmocka_unit_test(
	        test_progress_throttle_lets_few_of_a_million_calls_in_a_second_through),
	    cmocka_unit_test(test_progress_throttle_passes_a_change_of_step_at_once),
	    cmocka_unit_test(test_progress_throttle_passes_the_first_one_point_zero),
	    cmocka_unit_test(test_progress_throttle_never_repeats_the_last_message),
	    cmocka_unit_test(
	        test_progress_throttle_holds_words_that_change_every_call_to_ten_a_second),
	    cmocka_unit_test(test_progress_throttle_cuts_long_words_at_a_character_boundary),
	    cmocka_unit_test(test_progress_sample_replaces_control_characters),
	    cmocka_unit_test(test_progress_sample_without_words_or_fraction_is_unknown_and_empty),
	    cmocka_unit_test(test_progress_eta_extrapolates_the_pace_of_the_step),
	    cmocka_unit_test(test_progress_eta_grows_while_a_step_stalls),
	    cmocka_unit_test(test_progress_eta_is_unknown_without_fraction_advance_or_time),
	    cmocka_unit_test(test_progress_format_span_keeps_two_units),
	    cmocka_unit_test(test_progress_format_state_shows_step_percentage_and_time_left),
	    cmocka_unit_test(test_progress_format_state_of_an_unknown_fraction_shows_only_words),
	    cmocka_unit_test(test_progress_pid_start_of_this_process_is_known),
	    cmocka_unit_test(test_progress_pid_start_of_a_dead_process_is_enoent),
	    cmocka_unit_test(test_progress_pid_start_of_a_zombie_is_enoent),
	    cmocka_unit_test_setup_teardown(test_progress_running_file_of_a_live_run_is_listed,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_progress_running_file_of_a_dead_pid_is_stale_and_removed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_progress_running_file_of_a_reused_pid_is_stale,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_progress_running_list_skips_what_is_not_a_running_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_progress_running_list_of_no_folder_is_empty, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(
	        test_progress_run_writes_its_running_file_0640_after_a_second_and_removes_it_at_the_end,
	        setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_progress_a_million_calls_of_a_plugin_send_few_messages, setup, teardown),
	};

	return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
