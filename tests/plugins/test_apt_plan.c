/*
 * test_apt_plan.c — plugins/apt/apt_plan.c: what `apt-get -s upgrade` says
 * would be upgraded, and which of it is a security update.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "apt.h"

/* As apt 2.6 prints it, trimmed. */
static const char simulated[] =
    "Reading package lists...\n"
    "The following packages have been kept back:\n"
    "  linux-image-amd64 postgresql-15\n"
    "The following packages will be upgraded:\n"
    "  apt libgnutls30\n"
    "Inst apt [2.6.1] (2.6.2 Debian-Security:12/oldstable-security [amd64])\n"
    "Inst libgnutls30 [3.7.9-2+deb12u6] (3.7.9-2+deb12u7 Debian:12.15/oldstable, "
    "Debian-Security:12/oldstable-security [amd64])\n"
    "Inst bash [5.2.15-2+b8] (5.2.15-2+b13 Debian:12.15/oldstable [amd64])\n"
    "Inst linux-image-6.1.0-40-amd64 (6.1.153-1 Debian-Security:12/oldstable-security "
    "[amd64])\n"
    "Conf apt (2.6.2 Debian-Security:12/oldstable-security [amd64])\n";

static const char *const security_words[] = {"-security"};

static void
plan_from(struct apt_plan *plan, enum apt_upgrade mode)
{
	struct apt_opts o = {
	    .upgrade = mode, .security_words = security_words, .n_security_words = 1};

	memset(plan, 0, sizeof(*plan));
	assert_int_equal(apt_plan_parse(simulated, plan), 0);
	apt_plan_choose(&o, plan);
}

static void
test_apt_plan_reads_name_old_new_and_origins(void **state)
{
	struct apt_plan plan;

	(void)state;
	plan_from(&plan, APT_UPGRADE_ALL);
	assert_int_equal(plan.n_pkgs, 4);
	assert_string_equal(plan.pkgs[1].name, "libgnutls30");
	assert_string_equal(plan.pkgs[1].old_version, "3.7.9-2+deb12u6");
	assert_string_equal(plan.pkgs[1].new_version, "3.7.9-2+deb12u7");
	assert_string_equal(plan.pkgs[1].origins,
	                    "Debian:12.15/oldstable, Debian-Security:12/oldstable-security");
	apt_plan_free(&plan);
}

static void
test_apt_plan_reads_a_new_package_without_an_old_version(void **state)
{
	struct apt_plan plan;

	(void)state;
	plan_from(&plan, APT_UPGRADE_ALL);
	assert_string_equal(plan.pkgs[3].name, "linux-image-6.1.0-40-amd64");
	assert_null(plan.pkgs[3].old_version);
	assert_string_equal(plan.pkgs[3].new_version, "6.1.153-1");
	apt_plan_free(&plan);
}

static void
test_apt_plan_security_mode_chooses_only_security_origins(void **state)
{
	struct apt_plan plan;

	(void)state;
	plan_from(&plan, APT_UPGRADE_SECURITY);
	assert_int_equal(plan.n_chosen, 3);
	assert_true(plan.pkgs[0].is_chosen);
	assert_true(plan.pkgs[1].is_chosen);
	assert_false(plan.pkgs[2].is_chosen); /* bash: oldstable only */
	apt_plan_free(&plan);
}

static void
test_apt_plan_none_mode_chooses_nothing(void **state)
{
	struct apt_plan plan;

	(void)state;
	plan_from(&plan, APT_UPGRADE_NONE);
	assert_int_equal(plan.n_chosen, 0);
	assert_true(plan.pkgs[0].is_security);
	apt_plan_free(&plan);
}

static void
test_apt_plan_reads_the_kept_back_packages(void **state)
{
	struct apt_plan plan;

	(void)state;
	plan_from(&plan, APT_UPGRADE_ALL);
	assert_int_equal(plan.n_kept_back, 2);
	assert_string_equal(plan.kept_back[0], "linux-image-amd64");
	assert_string_equal(plan.kept_back[1], "postgresql-15");
	apt_plan_free(&plan);
}

static void
test_apt_plan_ignores_an_inst_line_of_another_shape(void **state)
{
	struct apt_plan plan = {0};

	(void)state;
	assert_int_equal(apt_plan_parse("Inst broken-line-without-candidate\n", &plan), 0);
	assert_int_equal(plan.n_pkgs, 0);
	apt_plan_free(&plan);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_apt_plan_reads_name_old_new_and_origins),
	    cmocka_unit_test(test_apt_plan_reads_a_new_package_without_an_old_version),
	    cmocka_unit_test(test_apt_plan_security_mode_chooses_only_security_origins),
	    cmocka_unit_test(test_apt_plan_none_mode_chooses_nothing),
	    cmocka_unit_test(test_apt_plan_reads_the_kept_back_packages),
	    cmocka_unit_test(test_apt_plan_ignores_an_inst_line_of_another_shape),
	};

	return cmocka_run_group_tests_name("apt_plan", tests, NULL, NULL);
}
