/*
 * test_logrotate.c — the logrotate plugin's pure parts: the names of
 * rotated copies and temporary files (plugins/logrotate/logrotate_names.c)
 * and the logrotate(8) importer (plugins/logrotate/import.c).
 */
#define _GNU_SOURCE /* fmemopen, open_memstream */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "import.h"
#include "logrotate.h"

static void
test_names_index_reads_the_number_and_the_compression(void **state)
{
	int is_compressed = -1;

	(void)state;
	assert_int_equal(lr_names_index("app.log.12.gz", "app.log", &is_compressed), 12);
	assert_int_equal(is_compressed, 1);
	assert_int_equal(lr_names_index("app.log.3", "app.log", &is_compressed), 3);
	assert_int_equal(is_compressed, 0);
	assert_int_equal(lr_names_index("app.log.1.zst", "app.log", &is_compressed), 1);
}

static void
test_names_index_refuses_other_files(void **state)
{
	int is_compressed;

	(void)state;
	assert_int_equal(lr_names_index("app.log", "app.log", &is_compressed), 0);
	assert_int_equal(lr_names_index("app.log.old", "app.log", &is_compressed), 0);
	assert_int_equal(lr_names_index("app.logs.1", "app.log", &is_compressed), 0);
	assert_int_equal(lr_names_index("app.log.1x.gz", "app.log", &is_compressed), 0);
}

static void
test_names_is_dated_follows_the_format_shape(void **state)
{
	int is_compressed = -1;

	(void)state;
	assert_true(lr_names_is_dated("app.log-20260131", "app.log", "-%Y%m%d", &is_compressed));
	assert_int_equal(is_compressed, 0);
	assert_true(lr_names_is_dated("app.log-20260131.gz", "app.log", "-%Y%m%d", &is_compressed));
	assert_int_equal(is_compressed, 1);
	assert_false(lr_names_is_dated("app.log-2026013", "app.log", "-%Y%m%d", &is_compressed));
	assert_false(lr_names_is_dated("app.log.20260131", "app.log", "-%Y%m%d", &is_compressed));
	assert_false(lr_names_is_dated("app.log-2026013x", "app.log", "-%Y%m%d", &is_compressed));
}

static void
test_names_is_temporary_knows_its_own_leftovers_only(void **state)
{
	(void)state;
	assert_true(lr_names_is_temporary(".app.log.2.gz.tmp-Ab12Cd", "app.log"));
	assert_true(lr_names_is_temporary(".app.log-20260131.gz.tmp-Ab12Cd", "app.log"));
	assert_false(lr_names_is_temporary(".app.log2.1.gz.tmp-Ab12Cd", "app.log"));
	assert_false(lr_names_is_temporary(".app.log.1", "app.log"));
	assert_false(lr_names_is_temporary("app.log.2.gz.tmp-Ab12Cd", "app.log"));
}

/* Imports `text`; the jobs and the warnings come back (caller frees). */
static int
import_text(const char *text, char **jobs, char **warnings, size_t *n_warnings)
{
	FILE *in = fmemopen((void *)text, strlen(text), "r");
	size_t jobs_len = 0, warn_len = 0;
	FILE *out = open_memstream(jobs, &jobs_len);
	FILE *warn = open_memstream(warnings, &warn_len);
	char err[256] = "";
	int rc =
	    import_logrotate(in, "/etc/logrotate.d/app", out, warn, n_warnings, err, sizeof(err));

	fclose(in);
	fclose(out);
	fclose(warn);
	if (rc != 0)
		printf("# import: %s\n", err);
	return rc;
}

static void
test_import_maps_the_runbooks_file_without_a_warning(void **state)
{
	const char *text = "    /var/log/patient_input/*.log {\n        daily\n        missingok\n"
	                   "        rotate 14\n        compress\n        delaycompress\n"
	                   "        notifempty\n        create 0640 www-data www-data\n"
	                   "        sharedscripts\n        postrotate\n"
	                   "            systemctl reload gunicorn\n        endscript\n    }\n";
	char *jobs = NULL, *warnings = NULL;
	size_t n = 99;

	(void)state;
	assert_int_equal(import_text(text, &jobs, &warnings, &n), 0);
	assert_int_equal(n, 0);
	assert_non_null(strstr(jobs, "[logrotate-app]\nplugin = logrotate\n"
	                             "files = /var/log/patient_input/*.log\nschedule = daily\n"
	                             "rotate = 14\ncompress = gzip\ndelaycompress = yes\n"
	                             "notifempty = yes\nmissingok = yes\n"
	                             "create = 0640 www-data www-data\n"
	                             "postrotate = systemctl reload gunicorn\n"));
	free(jobs);
	free(warnings);
}

static void
test_import_warns_about_a_directive_it_cannot_map_with_its_line(void **state)
{
	const char *text = "/var/log/a.log {\n  daily\n  create\n  su root adm\n}\n";
	char *jobs = NULL, *warnings = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(import_text(text, &jobs, &warnings, &n), 0);
	assert_int_equal(n, 1);
	assert_non_null(
	    strstr(warnings, "/etc/logrotate.d/app:4: warning: 'su' has no equivalent"));
	assert_null(strstr(jobs, "su"));
	assert_non_null(strstr(jobs, "create = same\n"));
	free(jobs);
	free(warnings);
}

static void
test_import_writes_a_shell_script_as_sh_c_with_its_quotes(void **state)
{
	const char *text =
	    "/var/log/a.log {\n  nocreate\n  prerotate\n    echo 'it is' > /dev/null\n"
	    "  endscript\n}\n";
	char *jobs = NULL, *warnings = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(import_text(text, &jobs, &warnings, &n), 0);
	assert_non_null(strstr(jobs, "prerotate = sh -c 'echo '\\''it is'\\'' > /dev/null'\n"));
	assert_non_null(strstr(warnings, "prerotate is a shell script"));
	free(jobs);
	free(warnings);
}

static void
test_import_refuses_a_block_left_open(void **state)
{
	char *jobs = NULL, *warnings = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(import_text("/var/log/a.log {\n  daily\n", &jobs, &warnings, &n),
	                 CT_EINVAL);
	free(jobs);
	free(warnings);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names_index_reads_the_number_and_the_compression),
	    cmocka_unit_test(test_names_index_refuses_other_files),
	    cmocka_unit_test(test_names_is_dated_follows_the_format_shape),
	    cmocka_unit_test(test_names_is_temporary_knows_its_own_leftovers_only),
	    cmocka_unit_test(test_import_maps_the_runbooks_file_without_a_warning),
	    cmocka_unit_test(test_import_warns_about_a_directive_it_cannot_map_with_its_line),
	    cmocka_unit_test(test_import_writes_a_shell_script_as_sh_c_with_its_quotes),
	    cmocka_unit_test(test_import_refuses_a_block_left_open),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
