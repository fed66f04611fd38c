/*
 * test_config.c — core/config.c: reading caretaker.ini and conf.d, the
 * reader's own checks, settings, jobs and the requires graph.
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

#include "config.h"
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

static struct config *
load(int expect_rc)
{
	struct config *cfg = NULL;

	assert_int_equal(config_load(tu_path("caretaker.ini"), &cfg), expect_rc);
	assert_non_null(cfg);
	return cfg;
}

/* The first diagnostic whose message contains `text`, or fail. */
static const struct diag *
find_diag(const struct config *cfg, const char *text)
{
	for (size_t i = 0; i < cfg->diags.n; i++)
		if (strstr(cfg->diags.items[i].msg, text) != NULL)
			return &cfg->diags.items[i];
	diag_print(&cfg->diags, stdout);
	fail_msg("no diagnostic contains '%s'", text);
	return NULL;
}

static void
test_config_reads_settings_and_jobs_in_file_order(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini",
	         "[caretaker]\nstate_dir = st\ntimeout = 2h\n\n[a]\nplugin = hello\n");
	tu_write("conf.d/20-c.ini", "[c]\nplugin = exec\ncommand = true\n");
	tu_write("conf.d/10-b.ini",
	         "# comment\n; other comment\n[b]\nplugin = hello\ntimeout = 5s\n");
	tu_write("conf.d/ignored.txt", "[x]\nplugin = hello\n");
	cfg = load(0);
	assert_int_equal(cfg->diags.n, 0);
	assert_int_equal(cfg->n_jobs, 3);
	assert_string_equal(cfg->jobs[0]->name, "a");
	assert_string_equal(cfg->jobs[1]->name, "b");
	assert_string_equal(cfg->jobs[2]->name, "c");
	assert_string_equal(cfg->settings.state_dir, tu_path("st"));
	assert_int_equal(cfg->jobs[0]->timeout_ms, 7200000);
	assert_int_equal(cfg->jobs[1]->timeout_ms, 5000);
	assert_int_equal(cfg->jobs[1]->line, 3);
	assert_true(cfg->jobs[0]->is_enabled);
	assert_int_equal(cfg->jobs[0]->lock, JOB_LOCK_HOST);
	config_free(cfg);
}

static void
test_config_keeps_semicolons_inside_values(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "[a]\nplugin = exec\ncommand = psql -c 'VACUUM ; ANALYZE'\n");
	cfg = load(0);
	assert_string_equal(cfg->jobs[0]->inputs[1].value, "psql -c 'VACUUM ; ANALYZE'");
	config_free(cfg);
}

static void
test_config_missing_main_file_is_a_global_error(void **state)
{
	struct config *cfg = load(CT_ECONFIG);

	(void)state;
	assert_int_equal(find_diag(cfg, "cannot open")->line, 0);
	config_free(cfg);
}

static void
test_config_rejects_a_line_longer_than_the_buffer(void **state)
{
	size_t len = 70000;
	char *text = malloc(len + 64);
	struct config *cfg;
	const struct diag *d;

	(void)state;
	strcpy(text, "[a]\nplugin = hello\nwho = ");
	memset(text + strlen(text), 'x', len);
	text[len + 24] = '\0';
	strcat(text, "\n");
	tu_write("caretaker.ini", text);
	free(text);
	cfg = load(0);
	d = find_diag(cfg, "bytes long, the limit is");
	assert_int_equal(d->line, 3);
	assert_string_equal(d->job, "a");
	config_free(cfg);
}

static void
test_config_rejects_binary_files(void **state)
{
	static const char data[] = "[a]\nplugin = hello\n\0\0\0\n";
	struct config *cfg;

	(void)state;
	tu_write_bytes("caretaker.ini", data, sizeof(data) - 1);
	cfg = load(CT_ECONFIG);
	assert_int_equal(find_diag(cfg, "binary data")->line, 3);
	config_free(cfg);
}

static void
test_config_flags_a_missing_final_newline(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "[a]\nplugin = hel");
	cfg = load(0);
	assert_int_equal(find_diag(cfg, "may be truncated")->line, 2);
	config_free(cfg);
}

static void
test_config_reports_every_syntax_error(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "stray = 1\n[a]\nplugin = hello\nnot a pair\n= novalue\n[b\n");
	cfg = load(CT_ECONFIG);
	assert_int_equal(find_diag(cfg, "key outside of any section")->line, 1);
	assert_int_equal(find_diag(cfg, "expected 'key = value'")->line, 4);
	assert_int_equal(find_diag(cfg, "a key is missing")->line, 5);
	assert_int_equal(find_diag(cfg, "malformed section header")->line, 6);
	config_free(cfg);
}

static void
test_config_duplicate_job_names_both_places(void **state)
{
	struct config *cfg;
	const struct diag *d;

	(void)state;
	tu_write("caretaker.ini", "[a]\nplugin = hello\n");
	tu_write("conf.d/a.ini", "[a]\nplugin = exec\ncommand = true\n");
	cfg = load(0);
	d = find_diag(cfg, "duplicate section [a]");
	assert_string_equal(d->file, tu_path("conf.d/a.ini"));
	assert_non_null(strstr(d->msg, "caretaker.ini:1"));
	assert_true(config_job_has_error(cfg, cfg->jobs[0]));
	config_free(cfg);
}

static void
test_config_duplicate_key_is_an_error(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "[a]\nplugin = hello\nwho = x\nwho = y\n");
	cfg = load(0);
	assert_int_equal(find_diag(cfg, "duplicate key 'who' (first set at")->line, 4);
	config_free(cfg);
}

static void
test_config_rejects_bad_job_names(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "[has space]\nplugin = hello\n");
	cfg = load(0);
	find_diag(cfg, "may only contain letters");
	assert_int_equal(cfg->n_jobs, 0);
	config_free(cfg);
}

static void
test_config_core_key_errors_belong_to_the_job(void **state)
{
	struct config *cfg;
	const struct diag *d;

	(void)state;
	tu_write("caretaker.ini", "[a]\nplugin = hello\nnice = 40\nlock = sometimes\n");
	cfg = load(0);
	d = find_diag(cfg, "40 is out of range -20-19");
	assert_string_equal(d->job, "a");
	assert_int_equal(find_diag(cfg, "'sometimes' is not one of host|database|none")->line, 4);
	config_free(cfg);
}

static void
test_config_graph_finds_unknown_names_and_cycles(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "[a]\nplugin = hello\nrequires = b\n[b]\nplugin = hello\n"
	                          "requires = a\n[c]\nplugin = hello\nrequires = nope\n"
	                          "on_failure = gone\n[d]\nplugin = hello\nrequires = c\n");
	cfg = load(0);
	config_check_graph(cfg);
	assert_int_equal(find_diag(cfg, "requires names no job: 'nope'")->line, 9);
	assert_int_equal(find_diag(cfg, "on_failure names no job: 'gone'")->line, 10);
	find_diag(cfg, "requires forms a cycle: a -> b -> a");
	assert_true(config_job_has_error(cfg, cfg->jobs[0]));
	assert_true(config_job_has_error(cfg, cfg->jobs[1]));
	assert_false(config_job_has_error(cfg, cfg->jobs[3]));
	config_free(cfg);
}

static void
test_config_warns_of_passwords_in_readable_files(void **state)
{
	struct config *cfg;
	const struct diag *d;

	(void)state;
	tu_write("caretaker.ini", "[caretaker]\nconninfo = host=db password = hunter2\n");
	cfg = load(0);
	d = find_diag(cfg, "holds a password in a file others can read");
	assert_int_equal(d->severity, DIAG_WARNING);
	assert_int_equal(d->line, 2);
	config_free(cfg);
	tu_write("caretaker.ini", "[caretaker]\nconninfo = postgresql://u:pw@db/app\n");
	cfg = load(0);
	find_diag(cfg, "holds a password");
	config_free(cfg);
}

static void
test_config_probe_timeout_defaults_to_ten_seconds(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "[caretaker]\nstate_dir = st\n");
	cfg = load(0);
	assert_int_equal(cfg->settings.probe_timeout_ms, 10000);
	config_free(cfg);
	tu_write("caretaker.ini", "[caretaker]\nprobe_timeout = 1.5s\n");
	cfg = load(0);
	assert_int_equal(cfg->settings.probe_timeout_ms, 1500);
	config_free(cfg);
}

static void
test_config_probe_timeout_out_of_range_is_an_error(void **state)
{
	struct config *cfg;
	const struct diag *d;

	(void)state;
	tu_write("caretaker.ini", "[caretaker]\nstate_dir = st\nprobe_timeout = 0\n");
	cfg = load(CT_ECONFIG);
	d = find_diag(cfg, "probe_timeout: 0s is out of range 100ms-10min");
	assert_int_equal(d->severity, DIAG_ERROR);
	assert_int_equal(d->line, 3);
	assert_int_equal(cfg->settings.probe_timeout_ms, 100);
	config_free(cfg);
	tu_write("caretaker.ini", "[caretaker]\nprobe_timeout = 1h\n");
	cfg = load(CT_ECONFIG);
	find_diag(cfg, "probe_timeout: 1h is out of range 100ms-10min");
	config_free(cfg);
	tu_write("caretaker.ini", "[caretaker]\nprobe_timeout = soon\n");
	cfg = load(CT_ECONFIG);
	find_diag(cfg, "probe_timeout: 'soon' is not a duration");
	assert_int_equal(cfg->settings.probe_timeout_ms, 10000);
	config_free(cfg);
}

/* Whether any warning says a key holds a password. */
static int
has_password_warning(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->diags.n; i++)
		if (strstr(cfg->diags.items[i].msg, "holds a password") != NULL)
			return 1;
	return 0;
}

static void
test_config_warns_of_a_password_in_an_env_list(void **state)
{
	struct config *cfg;
	const struct diag *d;

	(void)state;
	tu_write("caretaker.ini", "[caretaker]\nstate_dir = st\n\n[dump]\nplugin = exec\n"
	                          "command = pg_dump app\nenv = PGHOST=db, PGPASSWORD=hunter2\n");
	cfg = load(0);
	d = find_diag(cfg, "'env' holds a password in a file others can read");
	assert_int_equal(d->severity, DIAG_WARNING);
	assert_int_equal(d->line, 7);
	config_free(cfg);
}

static void
test_config_matches_passwords_in_any_case(void **state)
{
	static const char *const values[] = {
	    "conninfo = host=db Password=hunter2",
	    "conninfo = host=db PASSWORD = hunter2",
	    "env = MYSQL_ROOT_PASSWORD=hunter2",
	    "db_password = hunter2",
	    "Password = hunter2",
	};
	char text[256];
	struct config *cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(text, sizeof(text), "[j]\nplugin = hello\n%s\n", values[i]);
		tu_write("caretaker.ini", text);
		cfg = load(0);
		if (!has_password_warning(cfg))
			fail_msg("expected a password warning for '%s'", values[i]);
		config_free(cfg);
	}
}

static void
test_config_does_not_take_password_files_for_passwords(void **state)
{
	static const char *const values[] = {
	    "password_file = /etc/caretaker/secret",
	    "env = PGPASSFILE=/etc/pgpass, PASSWORD_FILE=/run/secrets/db",
	    "conninfo = host=db passfile=/etc/pgpass",
	    "description = rotates the password table",
	    "env = PGPASSWORD=",
	};
	char text[256];
	struct config *cfg;

	(void)state;
	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(text, sizeof(text), "[j]\nplugin = hello\n%s\n", values[i]);
		tu_write("caretaker.ini", text);
		cfg = load(0);
		if (has_password_warning(cfg)) {
			diag_print(&cfg->diags, stdout);
			fail_msg("expected no password warning for '%s'", values[i]);
		}
		config_free(cfg);
	}
}

/* The diagnostic at `line` of caretaker.ini, or fail. */
static const struct diag *
diag_at_line(const struct config *cfg, int line)
{
	for (size_t i = 0; i < cfg->diags.n; i++)
		if (cfg->diags.items[i].line == line)
			return &cfg->diags.items[i];
	diag_print(&cfg->diags, stdout);
	fail_msg("no diagnostic at line %d", line);
	return NULL;
}

static void
test_config_a_schedule_that_never_elapses_again_is_an_error(void **state)
{
	static const char *const schedules[] = {"*-02-30", "2100-02-29", "0 0 30 2 *"};
	char text[256];
	struct config *cfg;
	const struct diag *d;

	(void)state;
	for (size_t i = 0; i < sizeof(schedules) / sizeof(schedules[0]); i++) {
		snprintf(text, sizeof(text), "[j]\nplugin = hello\nschedule = %s\n", schedules[i]);
		tu_write("caretaker.ini", text);
		cfg = load(0);
		config_check_schedule_ends(cfg, NULL, 0);
		d = diag_at_line(cfg, 3);
		if (d->severity != DIAG_ERROR || strstr(d->msg, "never elapses again") == NULL)
			fail_msg("schedule = %s: expected an error that it never elapses again, "
			         "got: %s",
			         schedules[i], d->msg);
		assert_string_equal(d->job, "j");
		assert_true(config_job_has_error(cfg, cfg->jobs[0]));
		config_free(cfg);
	}
}

static void
test_config_a_schedule_that_stops_is_a_warning_naming_its_last_elapse(void **state)
{
	struct config *cfg;
	const struct diag *d;

	(void)state;
	tu_write("caretaker.ini", "[j]\nplugin = hello\nschedule = 2025..2090-*-01 06:00 UTC\n");
	cfg = load(0);
	config_check_schedule_ends(cfg, NULL, 0);
	d = diag_at_line(cfg, 3);
	assert_int_equal(d->severity, DIAG_WARNING);
	if (strstr(d->msg, "elapses for the last time at 2090-12-01 06:00:00 UTC") == NULL)
		fail_msg("expected the last elapse in the warning, got: %s", d->msg);
	assert_false(config_job_has_error(cfg, cfg->jobs[0]));
	config_free(cfg);
}

/* `run JOB` follows only JOB's schedule: the others cost start-up time. */
static void
test_config_schedule_ends_are_followed_only_for_the_jobs_named(void **state)
{
	static const char *const only_b[] = {"b"};
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "[a]\nplugin = hello\nschedule = *-02-30\n\n"
	                          "[b]\nplugin = hello\nschedule = *-02-30\n");
	cfg = load(0);
	assert_int_equal(cfg->diags.n_errors, 0);
	config_check_schedule_ends(cfg, only_b, 1);
	assert_false(config_job_has_error(cfg, cfg->jobs[0]));
	assert_true(config_job_has_error(cfg, cfg->jobs[1]));
	config_free(cfg);
}

/* Whether this one still elapses depends on today's date (see
 * test_schedule.c for fixed dates); either way it must be said. */
static void
test_config_a_schedule_whose_chain_breaks_in_a_dst_zone_is_named(void **state)
{
	struct config *cfg;
	const struct diag *d;

	(void)state;
	tu_write("caretaker.ini", "[j]\nplugin = hello\nschedule = *-03/8-25 Europe/Berlin\n");
	cfg = load(0);
	config_check_schedule_ends(cfg, NULL, 0);
	d = diag_at_line(cfg, 3);
	if (strstr(d->msg, "never elapses again") == NULL &&
	    strstr(d->msg, "elapses for the last time") == NULL)
		fail_msg("expected the schedule's end to be named, got: %s", d->msg);
	config_free(cfg);
}

static void
test_config_a_schedule_that_goes_on_says_nothing(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "[j]\nplugin = hello\nschedule = *-02-29 03:00 UTC\n\n"
	                          "[k]\nplugin = hello\nschedule = 0 3 * * 0\n");
	cfg = load(0);
	assert_int_equal(cfg->diags.n, 0);
	config_free(cfg);
}

static void
test_config_settings_section_only_in_main_file(void **state)
{
	struct config *cfg;

	(void)state;
	tu_write("caretaker.ini", "[a]\nplugin = hello\n");
	tu_write("conf.d/x.ini", "[caretaker]\nstate_dir = elsewhere\n");
	cfg = load(CT_ECONFIG);
	find_diag(cfg, "belongs in the main file");
	config_free(cfg);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_config_reads_settings_and_jobs_in_file_order,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_keeps_semicolons_inside_values, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_missing_main_file_is_a_global_error, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_rejects_a_line_longer_than_the_buffer,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_rejects_binary_files, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_flags_a_missing_final_newline, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_reports_every_syntax_error, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_duplicate_job_names_both_places, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_duplicate_key_is_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_rejects_bad_job_names, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_core_key_errors_belong_to_the_job, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_graph_finds_unknown_names_and_cycles, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_warns_of_passwords_in_readable_files, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_probe_timeout_defaults_to_ten_seconds,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_probe_timeout_out_of_range_is_an_error,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_warns_of_a_password_in_an_env_list, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_matches_passwords_in_any_case, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_does_not_take_password_files_for_passwords,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_config_a_schedule_that_never_elapses_again_is_an_error, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_config_a_schedule_that_stops_is_a_warning_naming_its_last_elapse, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_config_schedule_ends_are_followed_only_for_the_jobs_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_config_a_schedule_whose_chain_breaks_in_a_dst_zone_is_named, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_a_schedule_that_goes_on_says_nothing, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_config_settings_section_only_in_main_file, setup,
	                                    teardown),
	};

	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
