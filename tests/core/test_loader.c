/*
 * test_loader.c — core/loader.c: file checks, eager binding, descriptor
 * checks, probing in a child.
 */
#include "autoconf.h"

#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <cmocka.h>

#include "arena.h"
#include "config.h"
#include "loader.h"
#include "proc.h"
#include "testutil.h"

static struct loader_policy policy;
static const char *dirs[1];
static char plugins_dir[512]; /* tu_path's buffers are reused */

static int
setup(void **state)
{
	(void)state;
	tu_tmpdir_new();
	snprintf(plugins_dir, sizeof(plugins_dir), "%s", tu_path("plugins"));
	dirs[0] = plugins_dir;
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
	policy.cache_dir = NULL;
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
	assert_non_null(
	    strstr(err, "undefined symbol: caretaker_fault_function_that_does_not_exist"));
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
	assert_non_null(strstr(p->refusal, "caretaker is version 1.1, plugin is version 2.0"));
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

/* ---- the probe cache ---------------------------------------------------- */

#define HANG_TIMEOUT_MS 400

/* Find `name` with a cache in the temporary folder; *took_ms gets the time. */
static struct plugin_info *
find_timed(struct arena *a, const char *name, int64_t *took_ms)
{
	int64_t start = proc_now_ms();
	struct plugin_info *p;

	policy.cache_dir = tu_path("cache");
	policy.probe_timeout_ms = HANG_TIMEOUT_MS;
	p = loader_find(&policy, name, a);
	*took_ms = proc_now_ms() - start;
	return p;
}

static void
assert_hang_refused(const struct plugin_info *p)
{
	assert_non_null(p);
	if (p->refusal == NULL || strstr(p->refusal, "hung while loading") == NULL)
		fail_msg("expected a refusal for hanging, got: %s",
		         p->refusal ? p->refusal : "(usable)");
}

static void
test_loader_find_remembers_a_hang_until_the_file_changes(void **state)
{
	struct arena *a = arena_new();
	struct timeval times[2] = {{1000000000, 0}, {1000000000, 0}};
	int64_t took;

	(void)state;
	add_fault("ctorhang");
	assert_int_equal(mkdir(tu_path("cache"), 0755), 0);
	assert_hang_refused(find_timed(a, "ctorhang", &took));
	assert_true(took >= HANG_TIMEOUT_MS);
	assert_hang_refused(find_timed(a, "ctorhang", &took));
	if (took >= HANG_TIMEOUT_MS)
		fail_msg("expected the remembered refusal at once, took %lld ms", (long long)took);
	assert_int_equal(utimes(tu_path("plugins/ctorhang.so"), times), 0);
	assert_hang_refused(find_timed(a, "ctorhang", &took));
	if (took < HANG_TIMEOUT_MS)
		fail_msg("expected a new probe once the file changed, took %lld ms",
		         (long long)took);
	arena_free(a);
}

static void
test_loader_find_probes_a_hang_again_with_a_longer_timeout(void **state)
{
	struct arena *a = arena_new();
	int64_t took;

	(void)state;
	add_fault("ctorhang");
	assert_int_equal(mkdir(tu_path("cache"), 0755), 0);
	assert_hang_refused(find_timed(a, "ctorhang", &took));
	policy.cache_dir = tu_path("cache");
	policy.probe_timeout_ms = 2 * HANG_TIMEOUT_MS;
	took = proc_now_ms();
	assert_hang_refused(loader_find(&policy, "ctorhang", a));
	took = proc_now_ms() - took;
	if (took < 2 * HANG_TIMEOUT_MS)
		fail_msg("expected a probe of %d ms, took %lld ms", 2 * HANG_TIMEOUT_MS,
		         (long long)took);
	arena_free(a);
}

static void
test_loader_scan_remembers_a_hang(void **state)
{
	struct arena *a = arena_new();
	struct plugin_list list = {0};
	int64_t start;

	(void)state;
	add_fault("ctorhang");
	assert_int_equal(mkdir(tu_path("cache"), 0755), 0);
	policy.cache_dir = tu_path("cache");
	policy.probe_timeout_ms = HANG_TIMEOUT_MS;
	loader_scan(&policy, a, &list);
	plugin_list_clear(&list);
	start = proc_now_ms();
	loader_scan(&policy, a, &list);
	if (proc_now_ms() - start >= HANG_TIMEOUT_MS)
		fail_msg("expected the second scan to remember the hang, took %lld ms",
		         (long long)(proc_now_ms() - start));
	assert_int_equal(list.n, 2);
	assert_hang_refused(strcmp(list.items[0]->name, "ctorhang") == 0 ? list.items[0]
	                                                                 : list.items[1]);
	plugin_list_clear(&list);
	arena_free(a);
}

/* A refusal for the folders above the file is not the file's: once the
 * folder is fixed, the file loads, though the file itself did not change. */
static void
test_loader_find_does_not_remember_a_refusal_of_the_folders(void **state)
{
	struct arena *a = arena_new();
	struct plugin_info *p;

	(void)state;
	assert_int_equal(mkdir(tu_path("cache"), 0755), 0);
	assert_int_equal(rename(tu_path("plugins"), tu_path("real")), 0);
	assert_int_equal(symlink(tu_path("real"), tu_path("plugins")), 0);
	policy.cache_dir = tu_path("cache");
	p = loader_find(&policy, "hello", a);
	assert_non_null(p);
	assert_non_null(p->refusal);
	assert_non_null(strstr(p->refusal, "symbolic link"));
	assert_int_equal(unlink(tu_path("plugins")), 0);
	assert_int_equal(rename(tu_path("real"), tu_path("plugins")), 0);
	p = loader_find(&policy, "hello", a);
	assert_non_null(p);
	if (p->refusal != NULL)
		fail_msg("expected hello to load once its folder is fixed, got: %s", p->refusal);
	arena_free(a);
}

static void
alarm_cb(int sig)
{
	(void)sig;
	fail_msg("loader_find hung on a FIFO in the cache folder");
}

static void
test_loader_find_refuses_a_fifo_as_cache_file(void **state)
{
	struct arena *a = arena_new();
	struct plugin_info *p;
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(tu_path("cache"), 0755), 0);
	assert_int_equal(mkfifo(tu_path("cache/hello.json"), 0644), 0);
	policy.cache_dir = tu_path("cache");
	signal(SIGALRM, alarm_cb);
	alarm(5);
	p = loader_find(&policy, "hello", a);
	alarm(0);
	assert_non_null(p);
	assert_null(p->refusal);
	/* The planted FIFO was replaced by a real entry. */
	assert_int_equal(lstat(tu_path("cache/hello.json"), &st), 0);
	assert_true(S_ISREG(st.st_mode));
	arena_free(a);
}

static void
test_loader_cache_entry_is_private_for_a_private_plugin(void **state)
{
	struct arena *a = arena_new();
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(tu_path("cache"), 0755), 0);
	assert_int_equal(chmod(tu_path("plugins/hello.so"), 0600), 0);
	policy.cache_dir = tu_path("cache");
	assert_null(loader_find(&policy, "hello", a)->refusal);
	assert_int_equal(stat(tu_path("cache/hello.json"), &st), 0);
	if ((st.st_mode & 0777) != 0600)
		fail_msg("expected the cache entry of a 0600 plugin to be 0600, got %o",
		         (unsigned)(st.st_mode & 0777));
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
	assert_int_equal(loader_check_path(tu_path("plugins/hello.so"), 1, &fd, err, sizeof(err)),
	                 0);
	close(fd);
	assert_int_equal(chmod(tu_path("plugins/hello.so"), 0666), 0);
	assert_int_equal(loader_check_path(tu_path("plugins/hello.so"), 1, &fd, err, sizeof(err)),
	                 CT_EPERM);
	assert_non_null(strstr(err, "is writable by everyone"));
	/* Without root the same file is acceptable. */
	assert_int_equal(loader_check_path(tu_path("plugins/hello.so"), 0, &fd, err, sizeof(err)),
	                 0);
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
test_loader_policy_comes_from_the_configuration(void **state)
{
	struct arena *a = arena_new();
	struct loader_policy pol;
	struct config *cfg = NULL;

	(void)state;
	tu_write("caretaker.ini", "[caretaker]\nplugin_path = p1, p2\nstate_dir = st\n"
	                          "probe_timeout = 2s\n");
	assert_int_equal(config_load(tu_path("caretaker.ini"), &cfg), 0);
	loader_policy_from_config(cfg, a, &pol);
	assert_int_equal(pol.n_dirs, 2);
	assert_string_equal(pol.dirs[1], tu_path("p2"));
	assert_int_equal(pol.probe_timeout_ms, 2000);
	assert_false(pol.is_trusting_dirs);
	assert_string_equal(pol.cache_dir, tu_path("st/cache"));
	config_free(cfg);
	arena_free(a);
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
	    cmocka_unit_test_setup_teardown(test_loader_probe_copies_the_descriptor, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_loader_open_binds_eagerly_and_names_the_symbol,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loader_refusal_names_the_file_not_proc_self_fd,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_loader_probe_refusal_names_the_file_not_proc_self_fd, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_loader_refuses_a_major_mismatch_saying_both_versions, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loader_refuses_a_descriptor_too_small, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_loader_refuses_a_name_that_does_not_match_the_file,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loader_survives_a_crashing_constructor, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_loader_refuses_files_that_are_not_shared_objects,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_loader_find_remembers_a_hang_until_the_file_changes, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_loader_find_probes_a_hang_again_with_a_longer_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loader_scan_remembers_a_hang, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_loader_find_does_not_remember_a_refusal_of_the_folders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loader_find_refuses_a_fifo_as_cache_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_loader_cache_entry_is_private_for_a_private_plugin,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loader_scan_lets_the_first_folder_win, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_loader_check_path_refuses_unsafe_modes_as_root,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_loader_check_path_does_not_follow_links, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_loader_policy_comes_from_the_configuration, setup,
	                                    teardown),
	    cmocka_unit_test(test_loader_names_are_restricted),
	};

	return cmocka_run_group_tests_name("loader", tests, NULL, NULL);
}
