/*
 * test_treewalk.c — plugins/lib/treewalk.c on real trees in a temporary
 * folder: links reported and never entered, a link swapped in for a folder
 * not followed, errors per entry, the depth bound, the root as a file or a
 * link, reopening a folder of the tree, and the glob split.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "treewalk.h"

struct seen {
	char rels[64][256];
	int errors[64];
	int depths[64];
	int other_fs[64];
	size_t n;
	const char *swap_dir;    /* a folder of the tree to replace by a link when first seen */
	const char *swap_target; /* NULL: replace it by a new folder instead */
};

static char tmp[256];

/* A new folder at `path` with a file "planted" in it. */
static void
plant_folder(const char *path)
{
	char file[600];
	int fd;

	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(file, sizeof(file), "%s/planted", path);
	fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static int
record_cb(const struct treewalk_entry *e, void *arg)
{
	struct seen *s = arg;

	if (s->n < 64) {
		snprintf(s->rels[s->n], sizeof(s->rels[0]), "%s", e->rel);
		s->errors[s->n] = e->error;
		s->depths[s->n] = e->depth;
		s->other_fs[s->n] = e->is_other_fs;
		s->n++;
	}
	if (s->swap_dir != NULL && strcmp(e->rel, s->swap_dir) == 0) {
		assert_int_equal(rename(e->path, "/tmp/treewalk-swapped-away") == 0 ? 0 : errno, 0);
		if (s->swap_target != NULL)
			assert_int_equal(symlink(s->swap_target, e->path), 0);
		else
			plant_folder(e->path);
		s->swap_dir = NULL;
	}
	return TREEWALK_CONTINUE;
}

static int
seen_index(const struct seen *s, const char *rel)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->rels[i], rel) == 0)
			return (int)i;
	return -1;
}

static void
make(const char *fmt, ...)
{
	char path[512], rel[256];
	va_list ap;
	int fd;

	va_start(ap, fmt);
	vsnprintf(rel, sizeof(rel), fmt, ap);
	va_end(ap);
	snprintf(path, sizeof(path), "%s/%s", tmp, rel);
	if (path[strlen(path) - 1] == '/') {
		assert_int_equal(mkdir(path, 0755), 0);
		return;
	}
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	close(fd);
}

static void
walk(struct seen *s, const char *root, int max_depth)
{
	struct treewalk_params p = {
	    .root = root, .max_depth = max_depth, .visit = record_cb, .arg = s};

	assert_int_equal(treewalk_run(&p), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/test_treewalk.XXXXXX");
	assert_non_null(mkdtemp(tmp));
	make("a/");
	make("a/b/");
	make("a/b/deep.txt");
	make("top.txt");
	make("outside/");
	make("outside/secret.txt");
	return 0;
}

static int
teardown(void **state)
{
	char cmd[1024];

	(void)state;
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx %s; rm -rf %s /tmp/treewalk-swapped-away", tmp,
	         tmp);
	return system(cmd) == 0 ? 0 : -1;
}

static void
test_walk_visits_the_root_then_every_entry_with_its_depth(void **state)
{
	struct seen s = {0};
	char root[300];

	(void)state;
	snprintf(root, sizeof(root), "%s/a", tmp);
	walk(&s, root, 10);
	assert_int_equal(s.n, 3);
	assert_int_equal(seen_index(&s, ""), 0);
	assert_int_equal(s.depths[seen_index(&s, "b/deep.txt")], 2);
	assert_int_equal(s.depths[seen_index(&s, "b")], 1);
}

static void
test_walk_reports_a_link_to_outside_and_never_enters_it(void **state)
{
	struct seen s = {0};
	char root[300], link[320], target[300];
	struct stat st;

	(void)state;
	snprintf(root, sizeof(root), "%s/a", tmp);
	snprintf(link, sizeof(link), "%s/a/out", tmp);
	snprintf(target, sizeof(target), "%s/outside", tmp);
	assert_int_equal(symlink(target, link), 0);
	walk(&s, root, 10);
	assert_true(seen_index(&s, "out") >= 0);
	assert_int_equal(seen_index(&s, "out/secret.txt"), -1);
	assert_int_equal(lstat(link, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
}

static void
test_walk_does_not_follow_a_folder_swapped_for_a_link_during_the_walk(void **state)
{
	char root[300], target[300];
	struct seen s = {0};

	(void)state;
	snprintf(root, sizeof(root), "%s/a", tmp);
	snprintf(target, sizeof(target), "%s/outside", tmp);
	s.swap_dir = "b";
	s.swap_target = target;
	walk(&s, root, 10);
	assert_int_equal(seen_index(&s, "b/secret.txt"), -1);
	assert_int_equal(seen_index(&s, "b/deep.txt"), -1);
	assert_int_not_equal(s.errors[seen_index(&s, "b") + 1], 0);
}

static void
test_walk_does_not_enter_a_folder_replaced_by_another_during_the_walk(void **state)
{
	char root[300];
	struct seen s = {0};
	int i;

	(void)state;
	snprintf(root, sizeof(root), "%s/a", tmp);
	s.swap_dir = "b";
	walk(&s, root, 10);
	/* The folder opened is not the one fstatat saw: an error, not a walk of it. */
	i = seen_index(&s, "b");
	assert_int_equal(s.errors[i + 1], ESTALE);
	assert_int_equal(seen_index(&s, "b/deep.txt"), -1);
	assert_int_equal(seen_index(&s, "b/planted"), -1);
}

/* The walk of the unreadable-folder test, as a user the folder's mode
 * shuts out (root reads every folder): 0 when it went as expected. */
static int
walk_as_nobody(void)
{
	struct seen s = {0};
	struct treewalk_params p = {.root = tmp, .max_depth = 10, .visit = record_cb, .arg = &s};
	int i;

	if (geteuid() == 0 && (setgid(65534) != 0 || setuid(65534) != 0))
		return 10;
	if (treewalk_run(&p) != 0)
		return 11;
	i = seen_index(&s, "a/b");
	if (i < 0 || s.errors[i + 1] != EACCES)
		return 12;
	return seen_index(&s, "top.txt") >= 0 ? 0 : 13;
}

static void
test_walk_reports_an_unreadable_folder_and_goes_on(void **state)
{
	char locked[300];
	int status = 0;
	pid_t pid;

	(void)state;
	snprintf(locked, sizeof(locked), "%s/a/b", tmp);
	assert_int_equal(chmod(tmp, 0755), 0);
	assert_int_equal(chmod(locked, 0), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(walk_as_nobody());
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_walk_stops_at_the_depth_bound(void **state)
{
	struct seen s = {0};

	(void)state;
	walk(&s, tmp, 1);
	assert_true(seen_index(&s, "a") >= 0);
	assert_int_equal(seen_index(&s, "a/b"), -1);
}

static void
test_walk_of_a_root_link_reports_the_link_only(void **state)
{
	struct seen s = {0};
	char link[300], target[300];

	(void)state;
	snprintf(link, sizeof(link), "%s/rootlink", tmp);
	snprintf(target, sizeof(target), "%s/outside", tmp);
	assert_int_equal(symlink(target, link), 0);
	walk(&s, link, 10);
	assert_int_equal(s.n, 1);
}

static void
test_walk_of_a_missing_root_reports_enoent(void **state)
{
	struct seen s = {0};
	char root[300];

	(void)state;
	snprintf(root, sizeof(root), "%s/nothing", tmp);
	walk(&s, root, 10);
	assert_int_equal(s.n, 1);
	assert_int_equal(s.errors[0], ENOENT);
}

static void
test_open_dir_refuses_a_link_on_the_way(void **state)
{
	char link[300], target[300], err[256] = "";
	int fd = -1;

	(void)state;
	snprintf(link, sizeof(link), "%s/a/hop", tmp);
	snprintf(target, sizeof(target), "%s/outside", tmp);
	assert_int_equal(symlink(target, link), 0);
	snprintf(target, sizeof(target), "%s/a", tmp);
	assert_int_equal(treewalk_open_dir(target, "hop", &fd, err, sizeof(err)), CT_EIO);
	assert_int_equal(treewalk_open_dir(target, "b", &fd, err, sizeof(err)), 0);
	assert_true(fd >= 0);
	assert_int_equal(faccessat(fd, "deep.txt", F_OK, 0), 0);
	close(fd);
}

static void
test_glob_split_cuts_at_the_first_component_with_a_glob(void **state)
{
	char root[256];
	const char *pattern = NULL;

	(void)state;
	assert_int_equal(treewalk_glob_split("/var/log/app/*.log.*", root, sizeof(root), &pattern),
	                 0);
	assert_string_equal(root, "/var/log/app");
	assert_string_equal(pattern, "*.log.*");
	assert_int_equal(treewalk_glob_split("/srv/cache", root, sizeof(root), &pattern), 0);
	assert_string_equal(root, "/srv/cache");
	assert_string_equal(pattern, "");
	assert_int_equal(treewalk_glob_split("/*/x", root, sizeof(root), &pattern), 0);
	assert_string_equal(root, "/");
	assert_int_equal(treewalk_pattern_depth("a*/*.log"), 2);
	assert_int_equal(treewalk_glob_split("rel/*.log", root, sizeof(root), &pattern), CT_EINVAL);
}

/* The first entry of "gone/" visited deletes every other one: those the
 * folder's read had already listed are gone before they are looked at. */
static int
delete_siblings_cb(const struct treewalk_entry *e, void *arg)
{
	struct seen *s = arg;
	char path[512];

	if (strncmp(e->rel, "gone/", 5) != 0)
		return TREEWALK_CONTINUE;
	if (s->n == 0)
		for (int i = 0; i < 40; i++) {
			snprintf(path, sizeof(path), "%s/gone/f%02d", tmp, i);
			(void)unlink(path);
		}
	if (s->n < 64) {
		s->errors[s->n] = e->error;
		snprintf(s->rels[s->n], sizeof(s->rels[0]), "%s", e->rel);
		s->n++;
	}
	return TREEWALK_CONTINUE;
}

static void
test_walk_passes_over_entries_gone_before_they_are_looked_at(void **state)
{
	struct seen s = {0};
	char root[300];
	struct treewalk_params p = {
	    .root = root, .max_depth = 4, .visit = delete_siblings_cb, .arg = &s};

	(void)state;
	snprintf(root, sizeof(root), "%s", tmp);
	make("gone/");
	for (int i = 0; i < 40; i++)
		make("gone/f%02d", i);
	assert_int_equal(treewalk_run(&p), 0);
	for (size_t i = 0; i < s.n; i++)
		if (s.errors[i] != 0)
			fail_msg("expected no entry with an error, came '%s' with %s", s.rels[i],
			         strerror(s.errors[i]));
	assert_int_equal(s.n, 1);
}

/* One case of treewalk_root_refusal: a path, whether the root folder is
 * allowed, and the start of the refusal (NULL: accepted). */
struct refusal_case {
	const char *path;
	int is_root_allowed;
	const char *refusal;
};

static void
test_root_refusal_judges_the_folder_by_its_components_not_its_spelling(void **state)
{
	static const struct refusal_case cases[] = {
	    {"/var/log/app", 0, NULL},
	    {"/var/log/*/x.log", 0, NULL},
	    {"/", 0, "would walk the root folder"},
	    {"//", 0, "would walk the root folder"},
	    {"/*/x.log", 0, "would walk the root folder"},
	    {"/", 1, NULL},
	    {"/tmp/..", 1, "has a '.' or '..'"},
	    {"/var/./log", 0, "has a '.' or '..'"},
	    {"/var/log/..hidden", 0, NULL},
	    {"var/log", 0, "is not absolute"},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *why = treewalk_root_refusal(cases[i].path, cases[i].is_root_allowed);

		if (cases[i].refusal == NULL
		        ? why != NULL
		        : why == NULL ||
		              strncmp(why, cases[i].refusal, strlen(cases[i].refusal)) != 0)
			fail_msg("'%s': expected %s, came %s", cases[i].path,
			         cases[i].refusal ? cases[i].refusal : "(accepted)",
			         why ? why : "(accepted)");
	}
}

/* One case of treewalk_escape: a name and how it must be shown. */
struct escape_case {
	const char *name;
	const char *shown;
};

static void
test_escape_keeps_a_name_with_a_newline_on_one_line_and_bytes_findable(void **state)
{
	static const struct escape_case cases[] = {
	    {"plain.log", "plain.log"},
	    {"a\nremoved b", "a\\nremoved b"},
	    {"tab\there\r", "tab\\there\\r"},
	    {"esc\x1b[31m", "esc\\x1b[31m"},
	    {"del\x7f", "del\\x7f"},
	    {"bad\xff\xfe", "bad\\xff\\xfe"},
	    {"cut\xc3", "cut\\xc3"},
	    {"overlong\xc0\xaf", "overlong\\xc0\\xaf"},
	    {"caf\xc3\xa9", "caf\xc3\xa9"},
	    {"bidi\xe2\x80\xae"
	     "evil",
	     "bidi\\u202eevil"},
	    {"c1\xc2\x85", "c1\\u0085"},
	    {"back\\slash", "back\\slash"},
	};
	char out[128];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		treewalk_escape(cases[i].name, out, sizeof(out));
		if (strcmp(out, cases[i].shown) != 0)
			fail_msg("case %zu: expected '%s', came '%s'", i, cases[i].shown, out);
	}
}

static void
test_escape_cuts_between_escapes_to_fit(void **state)
{
	char out[5];

	(void)state;
	treewalk_escape("ab\ncd", out, sizeof(out));
	assert_string_equal(out, "ab\\n");
	treewalk_escape("abc\ncd", out, sizeof(out));
	assert_string_equal(out, "abc");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_walk_visits_the_root_then_every_entry_with_its_depth, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_walk_reports_a_link_to_outside_and_never_enters_it,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_walk_does_not_follow_a_folder_swapped_for_a_link_during_the_walk, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_walk_does_not_enter_a_folder_replaced_by_another_during_the_walk, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_walk_reports_an_unreadable_folder_and_goes_on,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_walk_stops_at_the_depth_bound, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_walk_of_a_root_link_reports_the_link_only, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_walk_of_a_missing_root_reports_enoent, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_open_dir_refuses_a_link_on_the_way, setup,
	                                    teardown),
	    cmocka_unit_test(test_glob_split_cuts_at_the_first_component_with_a_glob),
	    cmocka_unit_test(
	        test_escape_keeps_a_name_with_a_newline_on_one_line_and_bytes_findable),
	    cmocka_unit_test(test_escape_cuts_between_escapes_to_fit),
	    cmocka_unit_test(
	        test_root_refusal_judges_the_folder_by_its_components_not_its_spelling),
	    cmocka_unit_test_setup_teardown(
	        test_walk_passes_over_entries_gone_before_they_are_looked_at, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
