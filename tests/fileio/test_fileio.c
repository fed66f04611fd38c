/*
 * test_fileio.c — fileio/fdio.c and fileio/durable.c: whole writes that
 * survive a reader gone, regular files only where caretaker keeps files,
 * and replacement that leaves the old file or the new one and nothing else.
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "durable.h"
#include "fdio.h"

static char dir[] = "/tmp/caretaker-fileio.XXXXXX";

static int
setup(void **state)
{
	(void)state;
	memcpy(dir + strlen(dir) - 6, "XXXXXX", 6);
	return mkdtemp(dir) == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *
path_of(const char *name)
{
	static char buf[256];

	snprintf(buf, sizeof(buf), "%s/%s", dir, name);
	return buf;
}

/* How many entries the test folder holds ("." and ".." aside). */
static int
entries(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

static void
test_durable_replace_writes_the_bytes_with_the_mode_and_leaves_nothing_else(void **state)
{
	char err[256] = "", buf[16] = "";
	struct stat st;
	int fd;

	(void)state;
	assert_int_equal(
	    durable_replace(path_of("f"), "old", 3, 0644, DURABLE_SYNC_ALL, err, sizeof(err)), 0);
	assert_int_equal(durable_replace(path_of("f"), "new!", 4, 0600, 0, err, sizeof(err)), 0);
	assert_int_equal(stat(path_of("f"), &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	fd = open(path_of("f"), O_RDONLY);
	assert_int_equal(read(fd, buf, sizeof(buf)), 4);
	close(fd);
	assert_string_equal(buf, "new!");
	assert_int_equal(entries(), 1);
}

/* A rename that fails (the target is a folder) leaves the folder as it
 * was: no temporary file, and words that name both paths. */
static void
test_durable_replace_that_fails_leaves_no_temporary_file(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_equal(mkdir(path_of("taken"), 0755), 0);
	assert_int_equal(
	    durable_replace(path_of("taken"), "x", 1, 0644, DURABLE_SYNC_ALL, err, sizeof(err)),
	    CT_EIO);
	if (strstr(err, "cannot rename") == NULL || strstr(err, path_of("taken")) == NULL)
		fail_msg("expected the rename named in the error, got: %s", err);
	assert_int_equal(entries(), 1);
}

/* The temporary name is hidden and carries DURABLE_TMP_INFIX, so a
 * listing can tell what a crash left from the real file (a folder that
 * does not exist makes the error show it, root or not). */
static void
test_durable_replace_names_its_temporary_file_hidden_beside_the_file(void **state)
{
	char err[512] = "";

	(void)state;
	assert_int_not_equal(durable_replace(path_of("gone/f"), "x", 1, 0644, 0, err, sizeof(err)),
	                     0);
	if (strstr(err, "gone/.f" DURABLE_TMP_INFIX) == NULL)
		fail_msg("expected the hidden temporary name in the error, got: %s", err);
}

static void
test_fdio_open_regular_refuses_a_fifo_without_blocking(void **state)
{
	char err[512] = "";
	int fd = -1;

	(void)state;
	assert_int_equal(mkfifo(path_of("fifo"), 0600), 0);
	alarm(10); /* a blocking open would hang here */
	assert_int_equal(fdio_open_regular(path_of("fifo"), O_RDONLY, 0, &fd, err, sizeof(err)),
	                 CT_EIO);
	alarm(0);
	assert_int_equal(fd, -1);
	if (strstr(err, "is a fifo, not a regular file") == NULL)
		fail_msg("expected the kind named, got: %s", err);
}

static void
test_fdio_open_regular_says_enoent_and_reads_a_file_whole(void **state)
{
	char err[512] = "", *data = NULL;
	size_t len = 0;
	int fd = -1;

	(void)state;
	assert_int_equal(fdio_open_regular(path_of("none"), O_RDONLY, 0, &fd, err, sizeof(err)),
	                 CT_ENOENT);
	assert_int_equal(durable_replace(path_of("f"), "line\n", 5, 0644, 0, err, sizeof(err)), 0);
	assert_int_equal(fdio_open_regular(path_of("f"), O_RDONLY, 0, &fd, err, sizeof(err)), 0);
	assert_int_equal(fdio_read_regular(fd, path_of("f"), &data, &len, err, sizeof(err)), 0);
	close(fd);
	assert_int_equal(len, 5);
	assert_string_equal(data, "line\n");
	free(data);
}

/* A reader that has gone is EPIPE for this write, never a SIGPIPE that
 * kills the process: the signal's default action is in force here. */
static void
test_fdio_write_all_to_a_pipe_without_reader_fails_without_killing(void **state)
{
	char err[256] = "";
	int p[2];

	(void)state;
	signal(SIGPIPE, SIG_DFL);
	assert_int_equal(pipe(p), 0);
	close(p[0]);
	assert_int_equal(fdio_write_all(p[1], "x", 1, FDIO_NO_OFFSET, err, sizeof(err)), CT_EIO);
	close(p[1]);
	if (strstr(err, "Broken pipe") == NULL)
		fail_msg("expected EPIPE's words, got: %s", err);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(
	        test_durable_replace_writes_the_bytes_with_the_mode_and_leaves_nothing_else, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(
	        test_durable_replace_that_fails_leaves_no_temporary_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_durable_replace_names_its_temporary_file_hidden_beside_the_file, setup,
	        teardown),
	    cmocka_unit_test_setup_teardown(test_fdio_open_regular_refuses_a_fifo_without_blocking,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_fdio_open_regular_says_enoent_and_reads_a_file_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_fdio_write_all_to_a_pipe_without_reader_fails_without_killing, setup,
	        teardown),
	};

	return cmocka_run_group_tests_name("fileio", tests, NULL, NULL);
}
