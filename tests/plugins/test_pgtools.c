/*
 * test_pgtools.c — client program versions, the connection handed over in
 * the environment, and what pg_dump prints (plugins/lib/pgtools_*.c).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "pgtools.h"

static void
test_version_parse_reads_debian_version_lines(void **unused)
{
	int v = 0;

	(void)unused;
	assert_int_equal(
	    pgtools_version_parse("pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)", &v), 0);
	assert_int_equal(v, 150018);
	assert_int_equal(pgtools_version_parse("psql (PostgreSQL) 9.6.24", &v), 0);
	assert_int_equal(v, 90624);
	assert_int_equal(pgtools_version_parse("pg_restore (PostgreSQL) 17beta1", &v), 0);
	assert_int_equal(v, 170000);
	assert_int_equal(pgtools_version_parse("16.4", &v), 0);
	assert_int_equal(v, 160004);
}

static void
test_version_parse_refuses_text_without_a_version(void **unused)
{
	int v = 0;

	(void)unused;
	assert_int_equal(pgtools_version_parse("pg_dump: command not found", &v), CT_EINVAL);
	assert_int_equal(pgtools_version_parse("", &v), CT_EINVAL);
}

static void
test_version_check_accepts_same_and_newer_major(void **unused)
{
	char err[256] = "";

	(void)unused;
	assert_int_equal(pgtools_version_check("pg_dump", 150018, 150018, err, sizeof(err)), 0);
	assert_int_equal(pgtools_version_check("pg_dump", 150002, 150018, err, sizeof(err)), 0);
	assert_int_equal(pgtools_version_check("pg_dump", 170000, 150018, err, sizeof(err)), 0);
	assert_int_equal(pgtools_version_check("pg_dump", 150000, 90624, err, sizeof(err)), 0);
}

static void
test_version_check_refuses_older_major_naming_the_package(void **unused)
{
	char err[256] = "";

	(void)unused;
	assert_int_equal(pgtools_version_check("pg_dump", 140011, 150018, err, sizeof(err)),
	                 CT_EUNSUPPORTED);
	assert_non_null(strstr(err, "pg_dump 14 is older than the server (PostgreSQL 15)"));
	assert_non_null(strstr(err, "\nhint: install postgresql-client-15"));
	assert_int_equal(pgtools_version_check("pg_dump", 90624, 100003, err, sizeof(err)),
	                 CT_EUNSUPPORTED);
	assert_non_null(strstr(err, "postgresql-client-10"));
	assert_int_equal(pgtools_version_check("pg_dump", 90522, 90624, err, sizeof(err)),
	                 CT_EUNSUPPORTED);
	assert_non_null(strstr(err, "postgresql-client-9.6"));
}

static const char *
envp_get(char *const *envp, const char *name)
{
	size_t n = strlen(name);

	for (; *envp != NULL; envp++)
		if (strncmp(*envp, name, n) == 0 && (*envp)[n] == '=')
			return *envp + n + 1;
	return NULL;
}

static void
test_env_carries_the_password_and_argv_never_does(void **unused)
{
	PQconninfoOption *opts = PQconninfoParse(
	    "host=db.example port=6543 dbname=app user=ops password=s3cret sslmode=require "
	    "keepalives_idle=30",
	    NULL);
	struct pgtools_env *e = NULL;
	char err[256];

	(void)unused;
	assert_non_null(opts);
	assert_int_equal(pgtools_env_new(opts, NULL, "caretaker/test", &e, err, sizeof(err)), 0);
	assert_string_equal(envp_get(pgtools_env_envp(e), "PGPASSWORD"), "s3cret");
	assert_string_equal(envp_get(pgtools_env_envp(e), "PGHOST"), "db.example");
	assert_string_equal(envp_get(pgtools_env_envp(e), "PGPORT"), "6543");
	assert_string_equal(envp_get(pgtools_env_envp(e), "PGDATABASE"), "app");
	assert_string_equal(envp_get(pgtools_env_envp(e), "PGUSER"), "ops");
	assert_string_equal(envp_get(pgtools_env_envp(e), "PGSSLMODE"), "require");
	assert_string_equal(envp_get(pgtools_env_envp(e), "PGAPPNAME"), "caretaker/test");
	/* keepalives_idle has no variable: it goes to --dbname, the password never */
	assert_string_equal(pgtools_env_extra_arg(e), "keepalives_idle='30'");
	assert_null(strstr(pgtools_env_dbname_arg(e), "s3cret"));
	assert_string_equal(pgtools_env_dbname_arg(e), "dbname='app' keepalives_idle='30'");
	pgtools_env_free(e);
	PQconninfoFree(opts);
}

static void
test_env_keeps_services_and_replaces_the_database(void **unused)
{
	PQconninfoOption *opts = PQconninfoParse("service=app", NULL);
	struct pgtools_env *e = NULL;
	char err[256];

	(void)unused;
	setenv("PGDATABASE", "inherited", 1);
	assert_int_equal(pgtools_env_new(opts, "scratch", NULL, &e, err, sizeof(err)), 0);
	assert_string_equal(envp_get(pgtools_env_envp(e), "PGSERVICE"), "app");
	assert_string_equal(envp_get(pgtools_env_envp(e), "PGDATABASE"), "scratch");
	assert_null(pgtools_env_extra_arg(e));
	assert_string_equal(pgtools_env_dbname_arg(e), "dbname='scratch'");
	pgtools_env_free(e);
	PQconninfoFree(opts);
	unsetenv("PGDATABASE");
}

static void
test_env_refuses_a_secret_without_a_variable(void **unused)
{
	PQconninfoOption *opts = PQconninfoParse("host=x sslpassword=hidden", NULL);
	struct pgtools_env *e = NULL;
	char err[256] = "";

	(void)unused;
	assert_int_equal(pgtools_env_new(opts, NULL, NULL, &e, err, sizeof(err)), CT_EUNSUPPORTED);
	assert_null(e);
	assert_non_null(strstr(err, "sslpassword"));
	assert_null(strstr(err, "hidden"));
	PQconninfoFree(opts);
}

static void
test_conninfo_string_quotes_values(void **unused)
{
	PQconninfoOption *opts = PQconninfoParse("host=h password='it\\'s \\\\ here'", NULL);
	char *s = NULL;

	(void)unused;
	assert_non_null(opts);
	assert_int_equal(pgtools_conninfo_string(opts, "db", &s), 0);
	assert_string_equal(s, "password='it\\'s \\\\ here' host='h' dbname='db'");
	free(s);
	PQconninfoFree(opts);
}

static void
add(struct pgtools_tail *t, const char *s)
{
	pgtools_tail_add(t, s, strlen(s));
}

static void
test_tail_finds_the_completion_trailer(void **unused)
{
	struct pgtools_tail t = {.len = 0};

	(void)unused;
	add(&t, "COPY public.t (id) FROM stdin;\n1\n\\.\n\n\n--\n");
	add(&t, "-- PostgreSQL database dump complete\n--\n\n");
	assert_true(pgtools_tail_is_complete(&t));
	/* 15.14 and later end with \unrestrict after the trailer. */
	add(&t, "\\unrestrict AbC123xyz\n\n");
	assert_true(pgtools_tail_is_complete(&t));
}

static void
test_tail_without_the_trailer_is_incomplete(void **unused)
{
	struct pgtools_tail t = {.len = 0};

	(void)unused;
	add(&t, "COPY public.t (id) FROM stdin;\n1\n2\n");
	assert_false(pgtools_tail_is_complete(&t));
	add(&t, "\n--\n-- PostgreSQL database dump complete\n--\n\nCOPY more\n");
	assert_false(pgtools_tail_is_complete(&t));
}

static void
test_tail_keeps_only_the_last_bytes(void **unused)
{
	struct pgtools_tail t = {.len = 0};
	char big[5000];

	(void)unused;
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	add(&t, "\n--\n-- PostgreSQL database dump complete\n--\n\n");
	add(&t, big);
	assert_int_equal(t.len, PGTOOLS_TAIL_BYTES);
	assert_false(pgtools_tail_is_complete(&t));
	add(&t, "\n--\n-- PostgreSQL database dump com");
	add(&t, "\n--\n-- PostgreSQL database dump complete\n--\n\n");
	assert_true(pgtools_tail_is_complete(&t));
}

static int
is_error(const char *line)
{
	return pgtools_line_is_error(line, strlen(line));
}

static void
test_error_lines_are_told_from_warnings(void **unused)
{
	(void)unused;
	assert_true(
	    is_error("pg_dump: error: query failed: ERROR:  permission denied for table t"));
	assert_true(is_error("pg_dump: fatal: could not open output file"));
	assert_true(is_error("psql:<stdin>:42: ERROR:  relation \"t\" already exists"));
	assert_true(is_error("FATAL:  terminating connection due to administrator command"));
	assert_false(is_error("pg_dump: warning: there are circular foreign-key constraints"));
	assert_false(is_error("pg_dump: detail: Query was: LOCK TABLE public.t"));
	assert_false(is_error("NOTICE:  table \"x\" does not exist, skipping"));
	assert_false(is_error(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_version_parse_reads_debian_version_lines),
	    cmocka_unit_test(test_version_parse_refuses_text_without_a_version),
	    cmocka_unit_test(test_version_check_accepts_same_and_newer_major),
	    cmocka_unit_test(test_version_check_refuses_older_major_naming_the_package),
	    cmocka_unit_test(test_env_carries_the_password_and_argv_never_does),
	    cmocka_unit_test(test_env_keeps_services_and_replaces_the_database),
	    cmocka_unit_test(test_env_refuses_a_secret_without_a_variable),
	    cmocka_unit_test(test_conninfo_string_quotes_values),
	    cmocka_unit_test(test_tail_finds_the_completion_trailer),
	    cmocka_unit_test(test_tail_without_the_trailer_is_incomplete),
	    cmocka_unit_test(test_tail_keeps_only_the_last_bytes),
	    cmocka_unit_test(test_error_lines_are_told_from_warnings),
	};

	return cmocka_run_group_tests_name("pgtools", tests, NULL, NULL);
}
