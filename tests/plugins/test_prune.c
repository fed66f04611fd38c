/*
 * test_prune.c — plugins/prune/prune_select.c: which files go and which
 * stay (keep_min, max_total_size, older_than, per paths item), without a
 * file system.  The deletes themselves run on real files in
 * tests/integration/prune.sh.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "prune.h"

#define NOW 1000000000
#define DAY 86400

/* Files given oldest last, as a walk may find them in any order. */
static struct prune_file files[8];
static char names[8][8];

static struct prune_found
found_of(const int64_t *age_days, const int64_t *bytes, const size_t *sets, size_t n)
{
	struct prune_found f = {.files = files, .n_files = n, .cap_files = 8};

	for (size_t i = 0; i < n; i++) {
		memset(&files[i], 0, sizeof(files[i]));
		names[i][0] = (char)('a' + i);
		names[i][1] = '\0';
		files[i].rel = names[i];
		files[i].mtime_s = NOW - age_days[i] * DAY;
		files[i].bytes = bytes[i];
		files[i].set = sets != NULL ? sets[i] : 0;
	}
	return f;
}

/* The fate of the file first named `name`. */
static enum prune_fate
fate_of(const struct prune_found *f, char name)
{
	for (size_t i = 0; i < f->n_files; i++)
		if (f->files[i].rel[0] == name)
			return f->files[i].fate;
	fail_msg("no file %c", name);
	return PRUNE_KEEP_YOUNG;
}

static const struct prune_opts age_30d = {
    .older_than_ms = 30LL * DAY * 1000, .keep_min = 0, .max_total_bytes = -1};

static void
test_select_removes_files_older_than_the_cutoff_only(void **state)
{
	const int64_t ages[] = {40, 1, 31, 29};
	const int64_t bytes[] = {1, 1, 1, 1};
	struct prune_found f = found_of(ages, bytes, NULL, 4);

	(void)state;
	prune_select(&age_30d, &f, NOW);
	assert_int_equal(fate_of(&f, 'a'), PRUNE_REMOVE_OLD);
	assert_int_equal(fate_of(&f, 'b'), PRUNE_KEEP_YOUNG);
	assert_int_equal(fate_of(&f, 'c'), PRUNE_REMOVE_OLD);
	assert_int_equal(fate_of(&f, 'd'), PRUNE_KEEP_YOUNG);
}

static void
test_select_keeps_the_keep_min_newest_whatever_their_age(void **state)
{
	struct prune_opts o = age_30d;
	const int64_t ages[] = {90, 50, 70, 60};
	const int64_t bytes[] = {1, 1, 1, 1};
	struct prune_found f = found_of(ages, bytes, NULL, 4);

	(void)state;
	o.keep_min = 2;
	prune_select(&o, &f, NOW);
	assert_int_equal(fate_of(&f, 'b'), PRUNE_KEEP_NEWEST);
	assert_int_equal(fate_of(&f, 'd'), PRUNE_KEEP_NEWEST);
	assert_int_equal(fate_of(&f, 'c'), PRUNE_REMOVE_OLD);
	assert_int_equal(fate_of(&f, 'a'), PRUNE_REMOVE_OLD);
}

static void
test_select_removes_every_file_older_than_the_first_past_max_total_size(void **state)
{
	const struct prune_opts o = {.older_than_ms = -1, .max_total_bytes = 250};
	const int64_t ages[] = {1, 2, 3, 4};
	const int64_t bytes[] = {100, 100, 100, 1};
	struct prune_found f = found_of(ages, bytes, NULL, 4);

	(void)state;
	prune_select(&o, &f, NOW);
	assert_int_equal(fate_of(&f, 'a'), PRUNE_KEEP_YOUNG);
	assert_int_equal(fate_of(&f, 'b'), PRUNE_KEEP_YOUNG);
	assert_int_equal(fate_of(&f, 'c'), PRUNE_REMOVE_OVERSIZE);
	/* It would fit, but it is older than a file that did not. */
	assert_int_equal(fate_of(&f, 'd'), PRUNE_REMOVE_OVERSIZE);
}

static void
test_select_counts_the_keep_min_files_toward_max_total_size(void **state)
{
	const struct prune_opts o = {.older_than_ms = -1, .keep_min = 1, .max_total_bytes = 100};
	const int64_t ages[] = {1, 2};
	const int64_t bytes[] = {500, 1};
	struct prune_found f = found_of(ages, bytes, NULL, 2);

	(void)state;
	prune_select(&o, &f, NOW);
	assert_int_equal(fate_of(&f, 'a'), PRUNE_KEEP_NEWEST);
	assert_int_equal(fate_of(&f, 'b'), PRUNE_REMOVE_OVERSIZE);
}

static void
test_select_counts_each_paths_item_on_its_own(void **state)
{
	struct prune_opts o = age_30d;
	const int64_t ages[] = {50, 60, 70, 80};
	const int64_t bytes[] = {1, 1, 1, 1};
	const size_t sets[] = {0, 1, 0, 1};
	struct prune_found f = found_of(ages, bytes, sets, 4);

	(void)state;
	o.keep_min = 1;
	prune_select(&o, &f, NOW);
	assert_int_equal(fate_of(&f, 'a'), PRUNE_KEEP_NEWEST);
	assert_int_equal(fate_of(&f, 'b'), PRUNE_KEEP_NEWEST);
	assert_int_equal(fate_of(&f, 'c'), PRUNE_REMOVE_OLD);
	assert_int_equal(fate_of(&f, 'd'), PRUNE_REMOVE_OLD);
}

static void
test_select_orders_equal_modification_times_by_path_whatever_the_walk_order(void **state)
{
	struct prune_opts o = age_30d;
	const int64_t ages[] = {50, 50, 50, 50};
	const int64_t bytes[] = {1, 1, 1, 1};
	struct prune_found f = found_of(ages, bytes, NULL, 4);

	(void)state;
	o.keep_min = 2;
	/* The walk may list them in any order: reverse the names. */
	f.files[0].rel = names[3];
	f.files[3].rel = names[0];
	prune_select(&o, &f, NOW);
	assert_int_equal(fate_of(&f, 'a'), PRUNE_KEEP_NEWEST);
	assert_int_equal(fate_of(&f, 'b'), PRUNE_KEEP_NEWEST);
	assert_int_equal(fate_of(&f, 'c'), PRUNE_REMOVE_OLD);
	assert_int_equal(fate_of(&f, 'd'), PRUNE_REMOVE_OLD);
}

static void
test_select_counts_a_file_from_the_future_as_the_newest(void **state)
{
	struct prune_opts o = age_30d;
	const int64_t ages[] = {-400, 1, 40};
	const int64_t bytes[] = {1, 1, 1};
	struct prune_found f = found_of(ages, bytes, NULL, 3);

	(void)state;
	o.keep_min = 1;
	prune_select(&o, &f, NOW);
	assert_int_equal(fate_of(&f, 'a'), PRUNE_KEEP_NEWEST);
	assert_int_equal(fate_of(&f, 'b'), PRUNE_KEEP_YOUNG);
	assert_int_equal(fate_of(&f, 'c'), PRUNE_REMOVE_OLD);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_select_removes_files_older_than_the_cutoff_only),
	    cmocka_unit_test(test_select_keeps_the_keep_min_newest_whatever_their_age),
	    cmocka_unit_test(
	        test_select_removes_every_file_older_than_the_first_past_max_total_size),
	    cmocka_unit_test(test_select_counts_the_keep_min_files_toward_max_total_size),
	    cmocka_unit_test(test_select_counts_each_paths_item_on_its_own),
	    cmocka_unit_test(
	        test_select_orders_equal_modification_times_by_path_whatever_the_walk_order),
	    cmocka_unit_test(test_select_counts_a_file_from_the_future_as_the_newest),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
