/*
 * test_options.c — core/options.c: typed values and validation of inputs
 * against an option table.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "arena.h"
#include "diag.h"
#include "options.h"

static const struct ct_option table[] = {
    {"name", CT_OPT_STRING, CT_OPTF_REQUIRED, NULL, NULL, 0, 0, "a name"},
    {"count", CT_OPT_INT, 0, "3", NULL, 1, 10, "a count"},
    {"every", CT_OPT_DURATION, 0, "1h", NULL, 0, 0, "a duration"},
    {"limit", CT_OPT_SIZE, 0, NULL, NULL, 0, 0, "a size"},
    {"flag", CT_OPT_BOOL, 0, "no", NULL, 0, 0, "a bool"},
    {"items", CT_OPT_LIST, 0, NULL, NULL, 0, 0, "a list"},
    {"mode", CT_OPT_ENUM, 0, "fast", "fast|slow", 0, 0, "an enum"},
    {"dest", CT_OPT_PATH, 0, NULL, NULL, 0, 0, "a path"},
    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
};

static void
test_duration_accepts_units_and_sums_components(void **state)
{
	char err[128];
	int64_t ms = 0;

	(void)state;
	assert_int_equal(value_parse_duration_ms("2h30m", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 9000000);
	assert_int_equal(value_parse_duration_ms("90d", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 90LL * 86400000);
	assert_int_equal(value_parse_duration_ms("1h 30min 5s", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 5405000);
	assert_int_equal(value_parse_duration_ms("45", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 45000);
	assert_int_equal(value_parse_duration_ms("250ms", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 250);
	assert_int_equal(value_parse_duration_ms("1.5h", &ms, err, sizeof(err)), 0);
	assert_int_equal(ms, 5400000);
}

static void
test_duration_rejects_unknown_unit_and_garbage(void **state)
{
	char err[128];
	int64_t ms = 0;

	(void)state;
	assert_int_equal(value_parse_duration_ms("90x", &ms, err, sizeof(err)), CT_EINVAL);
	assert_non_null(strstr(err, "unknown time unit 'x'"));
	assert_int_equal(value_parse_duration_ms("", &ms, err, sizeof(err)), CT_EINVAL);
	assert_int_equal(value_parse_duration_ms("soon", &ms, err, sizeof(err)), CT_EINVAL);
	assert_int_equal(value_parse_duration_ms("-5s", &ms, err, sizeof(err)), CT_EINVAL);
}

static void
test_size_uses_powers_of_1024(void **state)
{
	char err[128];
	uint64_t v = 0;

	(void)state;
	assert_int_equal(value_parse_size("500M", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 500ULL << 20);
	assert_int_equal(value_parse_size("2GiB", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 2ULL << 30);
	assert_int_equal(value_parse_size("64k", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 65536);
	assert_int_equal(value_parse_size("4096", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(value_parse_size("1.5G", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 3ULL << 29);
	assert_int_equal(value_parse_size("12X", &v, err, sizeof(err)), CT_EINVAL);
	assert_int_equal(value_parse_size("M", &v, err, sizeof(err)), CT_EINVAL);
}

static void
test_bool_accepts_the_usual_words(void **state)
{
	char err[128];
	int v = -1;

	(void)state;
	assert_int_equal(value_parse_bool("Yes", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 1);
	assert_int_equal(value_parse_bool("off", &v, err, sizeof(err)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(value_parse_bool("maybe", &v, err, sizeof(err)), CT_EINVAL);
	assert_non_null(strstr(err, "use yes or no"));
}

static void
test_int_rejects_trailing_text_and_overflow(void **state)
{
	char err[128];
	int64_t v = 0;

	(void)state;
	assert_int_equal(value_parse_int("-12", &v, err, sizeof(err)), 0);
	assert_int_equal(v, -12);
	assert_int_equal(value_parse_int("12abc", &v, err, sizeof(err)), CT_EINVAL);
	assert_int_equal(value_parse_int("99999999999999999999", &v, err, sizeof(err)), CT_EINVAL);
	assert_non_null(strstr(err, "out of range"));
}

static void
test_list_splits_on_commas_and_trims(void **state)
{
	struct arena *a = arena_new();
	size_t n = 0;
	const char **items = value_split_list(a, " a , b,,c d ,\n e", &n);

	(void)state;
	assert_int_equal(n, 4);
	assert_string_equal(items[0], "a");
	assert_string_equal(items[1], "b");
	assert_string_equal(items[2], "c d");
	assert_string_equal(items[3], "e");
	assert_null(items[4]);
	arena_free(a);
}

static void
test_duration_formats_back_readably(void **state)
{
	char buf[64];

	(void)state;
	value_format_duration(9000000, buf, sizeof(buf));
	assert_string_equal(buf, "2h30min");
	value_format_duration(1000, buf, sizeof(buf));
	assert_string_equal(buf, "1s");
	value_format_duration(0, buf, sizeof(buf));
	assert_string_equal(buf, "0s");
}

static int
bind(const struct option_input *in, size_t n, struct arena *a, struct opt_set *set,
     struct diag_list *d)
{
	const struct options_bind_params p = {.table = table,
	                                      .inputs = in,
	                                      .n_inputs = n,
	                                      .base_dir = "/base",
	                                      .job = "job1",
	                                      .owner = "plugin 't'",
	                                      .section_file = "f.ini",
	                                      .section_line = 1};

	return options_bind(&p, a, set, d);
}

static void
test_bind_fills_defaults_and_parses_values(void **state)
{
	struct option_input in[] = {
	    {"name", "x", "f.ini", 2},
	    {"every", "15min", "f.ini", 3},
	    {"dest", "backups", "f.ini", 4},
	    {"items", "a,b", "f.ini", 5},
	};
	struct arena *a = arena_new();
	struct diag_list d = {0};
	struct opt_set set;

	(void)state;
	assert_int_equal(bind(in, 4, a, &set, &d), 0);
	assert_int_equal(d.n, 0);
	assert_int_equal(opt_set_get(&set, "count")->i, 3);
	assert_int_equal(opt_set_get(&set, "every")->i, 900000);
	assert_string_equal(opt_set_get(&set, "dest")->str, "/base/backups");
	assert_string_equal(opt_set_get(&set, "mode")->str, "fast");
	assert_int_equal(opt_set_get(&set, "items")->n_items, 2);
	assert_false(opt_set_get(&set, "limit")->is_set);
	diag_list_clear(&d);
	arena_free(a);
}

static void
test_bind_reports_every_problem_with_its_line(void **state)
{
	struct option_input in[] = {
	    {"nmae", "x", "f.ini", 2},
	    {"count", "11", "f.ini", 3},
	    {"mode", "medium", "f.ini", 4},
	    {"flag", "perhaps", "f.ini", 5},
	};
	struct arena *a = arena_new();
	struct diag_list d = {0};
	struct opt_set set;

	(void)state;
	assert_int_equal(bind(in, 4, a, &set, &d), CT_ECONFIG);
	assert_int_equal(d.n_errors, 5);
	assert_int_equal(d.items[0].line, 2);
	assert_non_null(strstr(d.items[0].msg, "unknown key 'nmae'"));
	assert_string_equal(d.items[0].hint, "did you mean 'name'?");
	assert_non_null(strstr(d.items[1].msg, "11 is out of range 1-10"));
	assert_non_null(strstr(d.items[2].msg, "'medium' is not one of fast|slow"));
	assert_non_null(strstr(d.items[3].msg, "not a boolean"));
	assert_int_equal(d.items[4].line, 1);
	assert_non_null(strstr(d.items[4].msg, "required key 'name'"));
	assert_string_equal(d.items[4].job, "job1");
	diag_list_clear(&d);
	arena_free(a);
}

static void
test_bind_ignores_keys_of_the_skip_table(void **state)
{
	static const struct ct_option core[] = {
	    {"timeout", CT_OPT_DURATION, 0, NULL, NULL, 0, 0, NULL},
	    {NULL, 0, 0, NULL, NULL, 0, 0, NULL},
	};
	struct option_input in[] = {{"name", "x", "f", 2}, {"timeout", "5s", "f", 3}};
	struct arena *a = arena_new();
	struct diag_list d = {0};
	struct opt_set set;
	const struct options_bind_params p = {.table = table,
	                                      .skip = core,
	                                      .inputs = in,
	                                      .n_inputs = 2,
	                                      .job = "j",
	                                      .owner = "p",
	                                      .section_file = "f",
	                                      .section_line = 1};

	(void)state;
	assert_int_equal(options_bind(&p, a, &set, &d), 0);
	assert_int_equal(d.n, 0);
	diag_list_clear(&d);
	arena_free(a);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_duration_accepts_units_and_sums_components),
	    cmocka_unit_test(test_duration_rejects_unknown_unit_and_garbage),
	    cmocka_unit_test(test_size_uses_powers_of_1024),
	    cmocka_unit_test(test_bool_accepts_the_usual_words),
	    cmocka_unit_test(test_int_rejects_trailing_text_and_overflow),
	    cmocka_unit_test(test_list_splits_on_commas_and_trims),
	    cmocka_unit_test(test_duration_formats_back_readably),
	    cmocka_unit_test(test_bind_fills_defaults_and_parses_values),
	    cmocka_unit_test(test_bind_reports_every_problem_with_its_line),
	    cmocka_unit_test(test_bind_ignores_keys_of_the_skip_table),
	};

	return cmocka_run_group_tests_name("options", tests, NULL, NULL);
}
