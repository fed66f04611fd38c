/*
 * test_loader.c — core/loader.c: file checks, eager binding, descriptor
 * checks, probing in a child.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena.h"
#include "loader.h"
#include "testutil.h"

static struct loader_policy policy;
static const char *dirs[1];

static int
setup(void **state)
{
	(void)state;
	tu_tmpdir_new();
	dirs[0] = tu_path("plugins");
	policy.dirs = dirs;
	policy.n_dirs = 1;
	policy.probe_timeout_ms = 10000;
	tu_copy(PLUGINS_DIR "/hello/.libs/hello.so", "plugins/hello.so");
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	tu_tmpdir_free();
	return 0;
}

static void
add_fault(const char *name)
{
	char from[512], to[128];

	snprintf(from, sizeof(from), "%s/%s.so", FAULTS_DIR, name);
	snprintf(to, sizeof(to), "plugins/%s.so", name);
	tu_copy(from, to);
}

static struct plugin_info *
probe(struct arena *a, const char *name)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s.so", dirs[0], name);
	return loader_probe(path, name, &policy, a);
}

static void
test_loader_probe_copies_the_descriptor(void **state)
{
	struct arena *a = arena_new();
	struct plugin_info *p = probe(a, "hello");

	(void)state;
	assert_null(p->refusal);
	assert_string_equal(p->version, "1.0");
	assert_int_equal(p->abi_version, CT_ABI_VERSION);
	assert_true(p->flags & CT_PLUGIN_DRY_RUN);
	assert_string_equal(p->options[0].key, "who");
	assert_string_equal(p->options[0].default_value, "world");
	assert_int_equal(p->options[1].type, CT_OPT_INT);
	assert_int_equal(p->options[1].max_value, 100);
	assert_null(p->options[2].key);
	arena_free(a);
}

static void
test_loader_open_binds_eagerly_and_names_the_symbol(void **state)
{
	struct loaded_plugin lp = {0};
	char err[512];
	char path[512];

	(void)state;
	add_fault("unresolved");
	snprintf(path, sizeof(path), "%s/unresolved.so", dirs[0]);
	assert_int_equal(loader_open(path, "unresolved", &policy, &lp, err, sizeof(err)),
			 CT_EPLUGIN);
	assert_non_null(strstr(err, "undefined symbol: caretaker_fault_function_that_does_not_exist"));
	assert_null(lp.handle);
}

/* The descriptor is loaded through /proc/self/fd/N, which dlerror() names;
 * a refusal must name the plugin file instead. */
static void
test_loader_refusal_names_the_file_not_proc_self_fd(void **state)
{
	struct loaded_plugin lp = {0};
	char err[512];
	char path[512];

	(void)state;
	add_fault("unresolved");
	snprintf(path, sizeof(path), "%s/unresolved.so", dirs[0]);
	assert_int_equal(loader_open(path, "unresolved", &policy, &lp, err, sizeof(err)),
			 CT_EPLUGIN);
	if (strstr(err, "/proc/self/fd") != NULL || strstr(err, path) == NULL)
		fail_msg("expected the refusal to name %s, got: %s", path, err);
}

static void
test_loader_probe_refusal_names_the_file_not_proc_self_fd(void **state)
{
	struct arena *a = arena_new();
	struct plugin_info *p;

	(void)state;
	tu_write("plugins/text.so", "not elf\n");
	p = probe(a, "text");
	assert_non_null(p->refusal);
	if (strstr(p->refusal, "/proc/self/fd") != NULL || strstr(p->refusal, p->path) == NULL)
		fail_msg("expected the refusal to name %s, got: %s", p->path, p->refusal);
	arena_free(a);
}

static void
test_loader_refuses_a_major_mismatch_saying_both_versions(void **state)
{
	struct arena *a = arena_new();
	struct plugin_info *p;

	(void)state;
	add_fault("wrongabi");
	p = probe(a, "wrongabi");
	assert_non_null(p->refusal);
	assert_non_null(strstr(p->refusal, "caretaker is version 1.0, plugin is version 2.0"));
	arena_free(a);
}

static void
test_loader_refuses_a_descriptor_too_small(void **state)
{
	struct arena *a = arena_new();
	struct plugin_info *p;

	(void)state;
	add_fault("tiny");
	p = probe(a, "tiny");
	assert_non_null(strstr(p->refusal, "descriptor too small: 16 bytes"));
	arena_free(a);
}

static void
test_loader_refuses_a_name_that_does_not_match_the_file(void **state)
{
	struct arena *a = arena_new();
	struct plugin_info *p;

	(void)state;
	add_fault("misnamed");
	p = probe(a, "misnamed");
	assert_non_null(strstr(p->refusal, "names the plugin 'somethingelse'"));
	arena_free(a);
}

static void
test_loader_survives_a_crashing_constructor(void **state)
{
	struct arena *a = arena_new();
	struct plugin_info *p;

	(void)state;
	add_fault("ctorcrash");
	p = probe(a, "ctorcrash");
	assert_string_equal(p->refusal, "crashed while loading (SIGSEGV)");
	arena_free(a);
}

static void
test_loader_refuses_files_that_are_not_shared_objects(void **state)
{
	struct arena *a = arena_new();
	struct plugin_info *p;

	(void)state;
	tu_write("plugins/text.so", "not elf\n");
	p = probe(a, "text");
	assert_non_null(strstr(p->refusal, "cannot load:"));
	arena_free(a);
}

static void
test_loader_scan_lets_the_first_folder_win(void **state)
{
	struct arena *a = arena_new();
	struct plugin_list list = {0};
	const char *two[2];

	(void)state;
	tu_copy(PLUGINS_DIR "/hello/.libs/hello.so", "second/hello.so");
	two[0] = dirs[0];
	two[1] = tu_path("second");
	policy.dirs = two;
	policy.n_dirs = 2;
	loader_scan(&policy, a, &list);
	policy.dirs = dirs;
	policy.n_dirs = 1;
	assert_int_equal(list.n, 2);
	assert_null(list.items[0]->shadowed_by);
	assert_string_equal(list.items[1]->shadowed_by, list.items[0]->path);
	assert_non_null(strstr(list.items[1]->refusal, "wins"));
	plugin_list_clear(&list);
	arena_free(a);
}

static void
test_loader_check_path_refuses_unsafe_modes_as_root(void **state)
{
	char err[512];
	int fd = -1;

	(void)state;
	if (geteuid() != 0)
		skip(); /* the files are not root's */
	assert_int_equal(loader_check_path(tu_path("plugins/hello.so"), 1, &fd, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(chmod(tu_path("plugins/hello.so"), 0666), 0);
	assert_int_equal(loader_check_path(tu_path("plugins/hello.so"), 1, &fd, err, sizeof(err)),
			 CT_EPERM);
	assert_non_null(strstr(err, "is writable by everyone"));
	/* Without root the same file is acceptable. */
	assert_int_equal(loader_check_path(tu_path("plugins/hello.so"), 0, &fd, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(chmod(tu_path("plugins"), 0775), 0);
	assert_int_equal(chmod(tu_path("plugins/hello.so"), 0644), 0);
	assert_int_equal(loader_check_path(tu_path("plugins/hello.so"), 1, &fd, err, sizeof(err)),
			 CT_EPERM);
	assert_non_null(strstr(err, "is writable by its group"));
	assert_int_equal(chmod(tu_path("plugins"), 0755), 0);
}

static void
test_loader_check_path_does_not_follow_links(void **state)
{
	char err[512];
	int fd = -1;

	(void)state;
	assert_int_equal(symlink(tu_path("plugins/hello.so"), tu_path("plugins/link.so")), 0);
	assert_int_equal(loader_check_path(tu_path("plugins/link.so"), 0, &fd, err, sizeof(err)),
			 CT_EPLUGIN);
	assert_non_null(strstr(err, "symbolic link"));
}

static void
test_loader_names_are_restricted(void **state)
{
	(void)state;
	assert_true(loader_name_is_valid("exec"));
	assert_true(loader_name_is_valid("my_plugin-2"));
	assert_false(loader_name_is_valid("../evil"));
	assert_false(loader_name_is_valid("Upper"));
	assert_false(loader_name_is_valid(""));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_loader_probe_copies_the_descriptor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_open_binds_eagerly_and_names_the_symbol, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_refusal_names_the_file_not_proc_self_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_probe_refusal_names_the_file_not_proc_self_fd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_refuses_a_major_mismatch_saying_both_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_refuses_a_descriptor_too_small, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_refuses_a_name_that_does_not_match_the_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_survives_a_crashing_constructor, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_refuses_files_that_are_not_shared_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_scan_lets_the_first_folder_win, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_check_path_refuses_unsafe_modes_as_root, setup, teardown),
		cmocka_unit_test_setup_teardown(test_loader_check_path_does_not_follow_links, setup, teardown),
		cmocka_unit_test(test_loader_names_are_restricted),
	};

	return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
