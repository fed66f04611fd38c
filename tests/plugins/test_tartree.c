/*
 * test_tartree.c — tests of plugins/lib/tartree*.c (libcttartree): what a
 * tar stream of a tree holds as GNU tar sees it (types, modes, owners, link
 * targets, sparse files), the exclude rule, files that vanish, change or
 * cannot be read, and the check that reads a stream back.
 *
 * Each test builds its own tree under a fresh temp folder (removed at the
 * end) and writes the stream to an anonymous temp file.  `tar` runs as a
 * real child process.  Unreadable files need a user that permissions stop:
 * as root the check runs in a child that has become `nobody`.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* copy_file_range */
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "tartree.h"

#define SPARSE_BYTES ((off_t)8 << 20)
#define SPARSE_SECOND_DATA ((off_t)6 << 20)
#define TEST_UID 1234
#define TEST_GID 2345

struct bytes {
	unsigned char *data;
	size_t len, cap;
};

static void
bytes_append(struct bytes *b, const void *p, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		b->cap = (b->len + len) * 2 + 64;
		b->data = realloc(b->data, b->cap);
		assert_non_null(b->data);
	}
	memcpy(b->data + b->len, p, len);
	b->len += len;
	b->data[b->len] = '\0';
}

/* Under LeakSanitizer: libarchive 3.6.2 (Debian 12) loses a small buffer
 * inside archive_read_next_header2() after a file was removed while its
 * data was being read (reproduced with a ten-line program using libarchive
 * alone).  Only that test's stack is excused; leaks elsewhere still fail.
 * libarchive has no frame pointers, so the stack that names the test needs
 * the slow unwinder.  Both hooks are unused outside sanitizer builds. */
const char *__lsan_default_suppressions(void);
const char *__asan_default_options(void);

const char *
__lsan_default_suppressions(void)
{
	return "leak:test_a_file_removed_while_read_is_reported_not_lost\n";
}

const char *
__asan_default_options(void)
{
	return "fast_unwind_on_malloc=0";
}

/* One test's world: a temp folder with `src` in it, and the stream. */
struct fixture {
	char dir[64];
	char src[128];
	int tar_fd;
	off_t tar_len;
};

#define assert_err_contains(err, needle)                                                           \
	do {                                                                                       \
		if (strstr((err), (needle)) == NULL) {                                             \
			print_error("expected \"%s\" in \"%s\"\n", (needle), (err));               \
			fail();                                                                    \
		}                                                                                  \
	} while (0)

static void
path_in(const struct fixture *f, const char *rel, char *out, size_t size)
{
	snprintf(out, size, "%s/%s", f->src, rel);
}

static void
make_file(const struct fixture *f, const char *rel, const char *content, mode_t mode)
{
	char path[256];
	int fd;

	path_in(f, rel, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, content, strlen(content)), (ssize_t)strlen(content));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

static void
make_dir(const struct fixture *f, const char *rel, mode_t mode)
{
	char path[256];

	path_in(f, rel, path, sizeof(path));
	assert_int_equal(mkdir(path, mode), 0);
	assert_int_equal(chmod(path, mode), 0);
}

/* 8 MiB with data at 0 and at 6 MiB, a hole between and one at the end. */
static void
make_sparse(const struct fixture *f, const char *rel)
{
	char path[256], block[4096];
	int fd;

	path_in(f, rel, path, sizeof(path));
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	memset(block, 'A', sizeof(block));
	assert_int_equal(pwrite(fd, block, sizeof(block), 0), (ssize_t)sizeof(block));
	memset(block, 'B', sizeof(block));
	assert_int_equal(pwrite(fd, block, sizeof(block), SPARSE_SECOND_DATA),
	                 (ssize_t)sizeof(block));
	assert_int_equal(ftruncate(fd, SPARSE_BYTES), 0);
	close(fd);
}

static int
setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->dir, sizeof(f->dir), "/tmp/ct-test-tartree-XXXXXX");
	if (mkdtemp(f->dir) == NULL || chmod(f->dir, 0755) != 0)
		return -1;
	snprintf(f->src, sizeof(f->src), "%s/src", f->dir);
	if (mkdir(f->src, 0755) != 0 || chmod(f->src, 0755) != 0)
		return -1;
	f->tar_fd = -1;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[256];
	int rc;

	/* Undo modes a test took away, so that rm can go everywhere. */
	snprintf(cmd, sizeof(cmd), "chmod -R u+rwx '%s' && rm -rf '%s'", f->dir, f->dir);
	rc = system(cmd);
	if (f->tar_fd >= 0)
		close(f->tar_fd);
	free(f);
	return rc == 0 ? 0 : -1;
}

static int
fd_write_cb(void *ctx, const void *buf, size_t len)
{
	int fd = *(int *)ctx;

	return write(fd, buf, len) == (ssize_t)len ? 0 : CT_EIO;
}

static int
fd_read_cb(void *ctx, void *buf, size_t len, size_t *got)
{
	ssize_t n = read(*(int *)ctx, buf, len);

	if (n < 0)
		return CT_EIO;
	*got = (size_t)n;
	return 0;
}

/* Archives f->src with `excludes` into f->tar_fd (kept, at offset 0). */
static int
write_tree(struct fixture *f, const char *const *excludes, size_t n_excludes,
           struct tartree_stats *st, char *err)
{
	const char *paths[] = {f->src};
	struct tartree_write_params p = {.paths = paths,
	                                 .n_paths = 1,
	                                 .excludes = excludes,
	                                 .n_excludes = n_excludes,
	                                 .write_cb = fd_write_cb,
	                                 .write_ctx = &f->tar_fd};
	char tar_path[192];
	int rc;

	snprintf(tar_path, sizeof(tar_path), "%s/stream.tar", f->dir);
	f->tar_fd = open(tar_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(f->tar_fd >= 0);
	rc = tartree_paths_write(&p, st, err, 256);
	f->tar_len = lseek(f->tar_fd, 0, SEEK_END);
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	return rc;
}

/* Runs a command line through sh and collects its stdout; returns the
 * exit status. */
static int
run_sh(const char *cmd, struct bytes *out)
{
	char buf[4096];
	size_t n;
	FILE *p = popen(cmd, "r");
	int status;

	assert_non_null(p);
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		bytes_append(out, buf, n);
	status = pclose(p);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* `tar -tvf` of the stream, names without the temp folder's prefix. */
static void
tar_listing(const struct fixture *f, struct bytes *out)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "tar --numeric-owner -tvf '%s/stream.tar' | sed 's|%s/||g'",
	         f->dir, f->dir + 1);
	assert_int_equal(run_sh(cmd, out), 0);
}

static void
assert_listing_has(const struct bytes *listing, const char *needle)
{
	if (listing->data == NULL || strstr((char *)listing->data, needle) == NULL) {
		print_error("tar -tv lacks \"%s\":\n%s\n", needle,
		            listing->data != NULL ? (char *)listing->data : "");
		fail();
	}
}

static void
assert_listing_lacks(const struct bytes *listing, const char *needle)
{
	if (listing->data != NULL && strstr((char *)listing->data, needle) != NULL) {
		print_error("tar -tv has \"%s\":\n%s\n", needle, (char *)listing->data);
		fail();
	}
}

/* The tree of the round-trip tests. */
static void
make_standard_tree(const struct fixture *f)
{
	char path[256];

	make_file(f, "file.txt", "hello\n", 0640);
	make_dir(f, "empty", 0750);
	path_in(f, "link", path, sizeof(path));
	assert_int_equal(symlink("file.txt", path), 0);
	path_in(f, "file.txt", path, sizeof(path));
	{
		char hard[256];

		path_in(f, "hard", hard, sizeof(hard));
		assert_int_equal(link(path, hard), 0);
	}
	if (geteuid() == 0)
		assert_int_equal(chown(path, TEST_UID, TEST_GID), 0);
	make_sparse(f, "sparse.bin");
	path_in(f, "fifo", path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
}

static void
test_listing_shows_modes_owners_and_link_targets(void **state)
{
	struct fixture *f = *state;
	struct tartree_stats st;
	struct bytes listing = {0};
	char err[256] = "";

	make_standard_tree(f);
	assert_int_equal(write_tree(f, NULL, 0, &st, err), 0);
	tar_listing(f, &listing);
	if (geteuid() == 0)
		assert_listing_has(&listing, "-rw-r----- 1234/2345 ");
	assert_listing_has(&listing, "drwxr-x--- ");
	assert_listing_has(&listing, "src/empty/");
	assert_listing_has(&listing, "src/link -> file.txt");
	assert_listing_has(&listing, "src/hard link to ");
	assert_listing_has(&listing, "prw------- ");
	free(listing.data);
}

static void
test_extraction_restores_file_links_and_owners(void **state)
{
	struct fixture *f = *state;
	struct tartree_stats st;
	struct bytes out = {0};
	char err[256] = "", cmd[512], got[64], base[256], path[320];
	struct stat file, hard, dir;
	ssize_t n;

	make_standard_tree(f);
	assert_int_equal(write_tree(f, NULL, 0, &st, err), 0);
	snprintf(cmd, sizeof(cmd), "mkdir '%s/out' && tar -xf '%s/stream.tar' -C '%s/out'", f->dir,
	         f->dir, f->dir);
	assert_int_equal(run_sh(cmd, &out), 0);
	snprintf(base, sizeof(base), "%s/out%s", f->dir, f->src);
	snprintf(path, sizeof(path), "%s/link", base);
	n = readlink(path, got, sizeof(got) - 1);
	assert_true(n > 0);
	got[n] = '\0';
	assert_string_equal(got, "file.txt");
	snprintf(path, sizeof(path), "%s/file.txt", base);
	assert_int_equal(stat(path, &file), 0);
	snprintf(path, sizeof(path), "%s/hard", base);
	assert_int_equal(stat(path, &hard), 0);
	assert_int_equal(file.st_ino, hard.st_ino);
	assert_int_equal(file.st_mode & 07777, 0640);
	if (geteuid() == 0) {
		assert_int_equal(file.st_uid, TEST_UID);
		assert_int_equal(file.st_gid, TEST_GID);
	}
	snprintf(path, sizeof(path), "%s/empty", base);
	assert_int_equal(stat(path, &dir), 0);
	assert_true(S_ISDIR(dir.st_mode));
	assert_int_equal(dir.st_mode & 07777, 0750);
	free(out.data);
}

static void
test_sparse_file_keeps_its_holes_and_content(void **state)
{
	struct fixture *f = *state;
	struct tartree_stats st;
	struct bytes out = {0};
	char err[256] = "", cmd[768];
	struct stat sp;

	make_sparse(f, "sparse.bin");
	assert_int_equal(write_tree(f, NULL, 0, &st, err), 0);
	/* The holes are not in the stream: 8 MiB of file, a few KiB of tar. */
	assert_true(f->tar_len < 256 * 1024);
	snprintf(cmd, sizeof(cmd),
	         "mkdir '%s/out' && tar -xf '%s/stream.tar' -C '%s/out' && "
	         "cmp '%s/sparse.bin' '%s/out%s/sparse.bin'",
	         f->dir, f->dir, f->dir, f->src, f->dir, f->src);
	assert_int_equal(run_sh(cmd, &out), 0);
	snprintf(cmd, sizeof(cmd), "%s/out%s/sparse.bin", f->dir, f->src);
	assert_int_equal(stat(cmd, &sp), 0);
	assert_int_equal(sp.st_size, SPARSE_BYTES);
	assert_true((off_t)sp.st_blocks * 512 < SPARSE_BYTES / 4);
	free(out.data);
}

static void
test_stats_count_each_kind(void **state)
{
	struct fixture *f = *state;
	struct tartree_stats st;
	char err[256] = "";

	make_standard_tree(f);
	assert_int_equal(write_tree(f, NULL, 0, &st, err), 0);
	assert_int_equal(st.n_files, 2);     /* file.txt, sparse.bin */
	assert_int_equal(st.n_hardlinks, 1); /* hard */
	assert_int_equal(st.n_symlinks, 1);
	assert_int_equal(st.n_dirs, 2); /* src, empty */
	assert_int_equal(st.n_other, 1);
	assert_int_equal(st.bytes, 6 + SPARSE_BYTES);
	assert_int_equal(st.n_vanished + st.n_changed + st.n_excluded + st.n_skipped, 0);
	assert_string_equal(st.warning, "");
}

static void
test_stream_check_counts_what_the_writer_wrote(void **state)
{
	struct fixture *f = *state;
	struct tartree_stats wrote, read;
	char err[256] = "";

	make_standard_tree(f);
	assert_int_equal(write_tree(f, NULL, 0, &wrote, err), 0);
	assert_int_equal(tartree_stream_check(fd_read_cb, &f->tar_fd, &read, err, sizeof(err)), 0);
	assert_int_equal(read.n_files, wrote.n_files);
	assert_int_equal(read.n_dirs, wrote.n_dirs);
	assert_int_equal(read.n_symlinks, wrote.n_symlinks);
	assert_int_equal(read.n_hardlinks, wrote.n_hardlinks);
	assert_int_equal(read.n_other, wrote.n_other);
	assert_int_equal(read.bytes, wrote.bytes);
}

static void
test_excludes_match_base_names_and_relative_paths(void **state)
{
	static const char *const excludes[] = {"*.pyc", "cache/", "top/only.txt"};
	struct fixture *f = *state;
	struct tartree_stats st;
	struct bytes listing = {0};
	char err[256] = "";

	make_dir(f, "sub", 0755);
	make_file(f, "sub/x.pyc", "", 0644);
	make_file(f, "sub/keep.txt", "k", 0644);
	make_file(f, "sub/cache", "a file, not a folder", 0644);
	make_dir(f, "cache", 0755);
	make_file(f, "cache/big.bin", "zzz", 0644);
	make_dir(f, "top", 0755);
	make_file(f, "top/only.txt", "", 0644);
	make_dir(f, "deep", 0755);
	make_dir(f, "deep/top", 0755);
	make_file(f, "deep/top/only.txt", "", 0644);
	assert_int_equal(write_tree(f, excludes, 3, &st, err), 0);
	tar_listing(f, &listing);
	assert_listing_lacks(&listing, "x.pyc");
	assert_listing_lacks(&listing, "src/cache/");
	assert_listing_lacks(&listing, "big.bin");
	assert_listing_lacks(&listing, "src/top/only.txt");
	assert_listing_has(&listing, "src/sub/keep.txt");
	assert_listing_has(&listing, "src/sub/cache\n");
	assert_listing_has(&listing, "src/deep/top/only.txt");
	assert_int_equal(st.n_excluded, 3); /* x.pyc, cache/ (once), top/only.txt */
	free(listing.data);
}

static void
test_a_root_is_never_excluded(void **state)
{
	static const char *const excludes[] = {"src", "*"};
	struct fixture *f = *state;
	struct tartree_stats st;
	char err[256] = "";

	make_file(f, "inner.txt", "x", 0644);
	assert_int_equal(write_tree(f, excludes, 2, &st, err), 0);
	assert_int_equal(st.n_dirs, 1);
	assert_int_equal(st.n_files, 0);
	assert_int_equal(st.n_excluded, 1);
}

static void
test_names_carry_no_leading_slash(void **state)
{
	struct fixture *f = *state;
	struct tartree_stats st;
	struct bytes out = {0};
	char err[256] = "", cmd[256];

	make_file(f, "a.txt", "a", 0644);
	assert_int_equal(write_tree(f, NULL, 0, &st, err), 0);
	snprintf(cmd, sizeof(cmd), "tar -tf '%s/stream.tar'", f->dir);
	assert_int_equal(run_sh(cmd, &out), 0);
	assert_int_equal(out.data[0], f->dir[1]); /* "tmp/...", not "/tmp/..." */
	free(out.data);
}

static void
test_missing_root_is_an_error_naming_it(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = {f->src, "/nonexistent/caretaker-media"};
	int fd = -1;
	struct tartree_write_params p = {
	    .paths = paths, .n_paths = 2, .write_cb = fd_write_cb, .write_ctx = &fd};
	char err[256] = "";

	assert_int_equal(tartree_paths_write(&p, NULL, err, sizeof(err)), CT_ENOENT);
	assert_err_contains(err, "/nonexistent/caretaker-media");
}

static void
test_sockets_are_skipped_and_counted(void **state)
{
	struct fixture *f = *state;
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	struct tartree_stats st;
	char err[256] = "";
	int s = socket(AF_UNIX, SOCK_STREAM, 0);

	assert_true(s >= 0);
	assert_true(strlen(f->src) + sizeof("/app.sock") <= sizeof(addr.sun_path));
	memcpy(addr.sun_path, f->src, strlen(f->src));
	memcpy(addr.sun_path + strlen(f->src), "/app.sock", sizeof("/app.sock"));
	assert_int_equal(bind(s, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(write_tree(f, NULL, 0, &st, err), 0);
	close(s);
	assert_int_equal(st.n_skipped, 1);
}

/* Runs tartree_paths_write on f->src in a child that permissions stop
 * (root's child becomes nobody), expecting CT_EPERM naming `victim`. */
static void
expect_unreadable_error(const struct fixture *f, const char *victim)
{
	const char *paths[] = {f->src};
	char err[256] = "";
	int status, fd = open("/dev/null", O_WRONLY);
	struct tartree_write_params p = {
	    .paths = paths, .n_paths = 1, .write_cb = fd_write_cb, .write_ctx = &fd};
	pid_t pid;

	assert_true(fd >= 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (geteuid() == 0 &&
		    (setgroups(0, NULL) != 0 || setgid(65534) != 0 || setuid(65534) != 0))
			_exit(3);
		if (tartree_paths_write(&p, NULL, err, sizeof(err)) != CT_EPERM ||
		    strstr(err, victim) == NULL) {
			fprintf(stderr, "child got: %s\n", err);
			_exit(1);
		}
		_exit(0);
	}
	close(fd);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void
test_unreadable_file_is_an_error_naming_it(void **state)
{
	struct fixture *f = *state;
	char victim[256];

	make_file(f, "readable.txt", "r", 0644);
	make_file(f, "secret.txt", "s", 0000);
	path_in(f, "secret.txt", victim, sizeof(victim));
	expect_unreadable_error(f, victim);
}

static void
test_unreadable_directory_is_an_error_naming_it(void **state)
{
	struct fixture *f = *state;
	char victim[256];

	make_dir(f, "locked", 0755);
	make_file(f, "locked/inside.txt", "i", 0644);
	path_in(f, "locked", victim, sizeof(victim));
	assert_int_equal(chmod(victim, 0000), 0);
	expect_unreadable_error(f, victim);
}

/* A write callback that meddles with the tree on its first call, while
 * the first file's data is being read. */
struct meddler {
	int fd;
	const struct fixture *f;
	int has_meddled;
	int is_appending; /* append to the files rather than remove them */
	int n_warnings;
};

static void
meddle(struct meddler *m)
{
	char path[256];
	int fd;

	for (int i = 0; i < 10; i++) {
		snprintf(path, sizeof(path), "%s/f%d.bin", m->f->src, i);
		if (!m->is_appending) {
			unlink(path);
			continue;
		}
		fd = open(path, O_WRONLY | O_APPEND);
		assert_true(fd >= 0);
		assert_int_equal(write(fd, "more", 4), 4);
		close(fd);
	}
}

static int
meddling_write_cb(void *ctx, const void *buf, size_t len)
{
	struct meddler *m = ctx;

	if (!m->has_meddled)
		meddle(m);
	m->has_meddled = 1;
	return fd_write_cb(&m->fd, buf, len);
}

static void
count_warning_cb(void *ctx, const char *msg)
{
	struct meddler *m = ctx;

	assert_non_null(strstr(msg, "/f"));
	m->n_warnings++;
}

/* Ten 1 MiB files: libarchive calls the writer inside the first one. */
static void
make_ten_files(const struct fixture *f)
{
	char rel[32], *mib = malloc((1 << 20) + 1);

	assert_non_null(mib);
	memset(mib, 'x', 1 << 20);
	mib[1 << 20] = '\0';
	for (int i = 0; i < 10; i++) {
		snprintf(rel, sizeof(rel), "f%d.bin", i);
		make_file(f, rel, mib, 0644);
	}
	free(mib);
}

static int
meddled_write(struct fixture *f, struct meddler *m, struct tartree_stats *st, char *err)
{
	const char *paths[] = {f->src};
	struct tartree_write_params p = {.paths = paths,
	                                 .n_paths = 1,
	                                 .write_cb = meddling_write_cb,
	                                 .write_ctx = m,
	                                 .warn_cb = count_warning_cb,
	                                 .warn_ctx = m};
	char tar_path[192];

	snprintf(tar_path, sizeof(tar_path), "%s/stream.tar", f->dir);
	m->fd = f->tar_fd = open(tar_path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(m->fd >= 0);
	return tartree_paths_write(&p, st, err, 256);
}

/* The file being read when the tree is emptied is stored whole (it is
 * open) and reported; the ones the walk had not listed yet are simply not
 * there, as if removed before the run (readdir no longer returns them). */
static void
test_a_file_removed_while_read_is_reported_not_lost(void **state)
{
	struct fixture *f = *state;
	struct meddler m = {.f = f};
	struct tartree_stats st, read;
	char err[256] = "";

	make_ten_files(f);
	assert_int_equal(meddled_write(f, &m, &st, err), 0);
	assert_int_equal(st.n_files, 1);
	assert_int_equal(st.bytes, 1 << 20);
	assert_int_equal(st.n_vanished, 1);
	assert_int_equal(m.n_warnings, 1);
	assert_non_null(strstr(st.warning, "removed while being read"));
	assert_int_equal(lseek(f->tar_fd, 0, SEEK_SET), 0);
	assert_int_equal(tartree_stream_check(fd_read_cb, &f->tar_fd, &read, err, sizeof(err)), 0);
	assert_int_equal(read.n_files, 1);
	assert_int_equal(read.bytes, 1 << 20);
}

static void
test_a_file_changed_while_read_is_reported(void **state)
{
	struct fixture *f = *state;
	struct meddler m = {.f = f, .is_appending = 1};
	struct tartree_stats st;
	char err[256] = "";

	make_ten_files(f);
	assert_int_equal(meddled_write(f, &m, &st, err), 0);
	/* Only the file being read when they changed; the rest were read
	 * after the change, whole. */
	assert_int_equal(st.n_changed, 1);
	assert_int_equal(st.n_files, 10);
	assert_int_equal(m.n_warnings, 1);
	assert_non_null(strstr(st.warning, "changed while being read"));
}

static int
failing_cb(void *ctx, const void *buf, size_t len)
{
	(void)ctx;
	(void)buf;
	(void)len;
	return -99;
}

static void
test_write_callback_error_is_returned(void **state)
{
	struct fixture *f = *state;
	const char *paths[] = {f->src};
	struct tartree_write_params p = {.paths = paths, .n_paths = 1, .write_cb = failing_cb};
	char err[256] = "";

	make_ten_files(f);
	assert_int_equal(tartree_paths_write(&p, NULL, err, sizeof(err)), -99);
	assert_err_contains(err, "stopped");
}

/* ---- reading streams back ---- */

static int
check_prefix(const struct fixture *f, off_t len, char *err)
{
	char path[192];
	int fd, rc;

	snprintf(path, sizeof(path), "%s/cut.tar", f->dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0644);
	assert_true(fd >= 0);
	assert_int_equal(copy_file_range(f->tar_fd, &(off_t){0}, fd, NULL, (size_t)len, 0), len);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	rc = tartree_stream_check(fd_read_cb, &fd, NULL, err, 256);
	close(fd);
	return rc;
}

static void
test_stream_cut_inside_a_file_is_truncated(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";

	make_ten_files(f);
	assert_int_equal(write_tree(f, NULL, 0, NULL, err), 0);
	assert_int_equal(check_prefix(f, f->tar_len / 2, err), CT_ECORRUPT);
	assert_err_contains(err, "entry");
}

static void
test_stream_cut_at_an_entry_boundary_is_truncated(void **state)
{
	struct fixture *f = *state;
	unsigned char tail[1024], zeros[1024] = {0};
	char err[256] = "";

	make_file(f, "a.txt", "a", 0644);
	assert_int_equal(write_tree(f, NULL, 0, NULL, err), 0);
	/* The stream ends with the two zero blocks and nothing else. */
	assert_int_equal(pread(f->tar_fd, tail, sizeof(tail), f->tar_len - 1024), 1024);
	assert_memory_equal(tail, zeros, sizeof(tail));
	assert_int_equal(check_prefix(f, f->tar_len, err), 0);
	assert_int_equal(check_prefix(f, f->tar_len - 1024, err), CT_ECORRUPT);
	assert_err_contains(err, "end-of-archive");
}

static void
test_stream_check_rejects_what_is_not_tar(void **state)
{
	struct fixture *f = *state;
	char err[256] = "";

	char path[256];

	make_file(f, "a.txt", "this is not a tar stream at all, not even close", 0644);
	path_in(f, "a.txt", path, sizeof(path));
	f->tar_fd = open(path, O_RDONLY);
	assert_int_equal(tartree_stream_check(fd_read_cb, &f->tar_fd, NULL, err, sizeof(err)),
	                 CT_ECORRUPT);
}

/* Feeds f->tar_fd's first `len` bytes to a checker in odd pieces. */
static int
push_prefix(const struct fixture *f, off_t len, struct tartree_stats *st, char *err)
{
	struct tartree_checker *c = NULL;
	unsigned char buf[7001];
	off_t done = 0;
	ssize_t n;
	int rc;

	assert_int_equal(tartree_checker_new(&c, err, 256), 0);
	while (done < len) {
		n = pread(f->tar_fd, buf, (size_t)(len - done < 7001 ? len - done : 7001), done);
		assert_true(n > 0);
		if (tartree_checker_push(buf, (size_t)n, c) != 0)
			break;
		done += n;
	}
	rc = tartree_checker_finish(c, st, err, 256);
	tartree_checker_free(c);
	return rc;
}

static void
test_checker_fed_by_pushing_agrees_with_the_writer(void **state)
{
	struct fixture *f = *state;
	struct tartree_stats wrote, read;
	char err[256] = "";

	make_standard_tree(f);
	assert_int_equal(write_tree(f, NULL, 0, &wrote, err), 0);
	assert_int_equal(push_prefix(f, f->tar_len, &read, err), 0);
	assert_int_equal(read.n_files, wrote.n_files);
	assert_int_equal(read.n_hardlinks, wrote.n_hardlinks);
	assert_int_equal(read.bytes, wrote.bytes);
	assert_int_equal(push_prefix(f, f->tar_len - 600, &read, err), CT_ECORRUPT);
}

static void
test_checker_freed_without_finish_does_not_hang(void **state)
{
	struct tartree_checker *c = NULL;
	char err[256] = "";

	(void)state;
	assert_int_equal(tartree_checker_new(&c, err, sizeof(err)), 0);
	assert_int_equal(tartree_checker_push("garbage", 7, c), 0);
	tartree_checker_free(c);
	tartree_checker_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_listing_shows_modes_owners_and_link_targets, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_extraction_restores_file_links_and_owners, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sparse_file_keeps_its_holes_and_content, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_stats_count_each_kind, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_check_counts_what_the_writer_wrote, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_excludes_match_base_names_and_relative_paths,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_root_is_never_excluded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_names_carry_no_leading_slash, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_root_is_an_error_naming_it, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_sockets_are_skipped_and_counted, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_file_is_an_error_naming_it, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_unreadable_directory_is_an_error_naming_it, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_a_file_removed_while_read_is_reported_not_lost,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_file_changed_while_read_is_reported, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_write_callback_error_is_returned, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_cut_inside_a_file_is_truncated, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_stream_cut_at_an_entry_boundary_is_truncated,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stream_check_rejects_what_is_not_tar, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_checker_fed_by_pushing_agrees_with_the_writer,
	                                    setup, teardown),
	    cmocka_unit_test(test_checker_freed_without_finish_does_not_hang),
	};

	return cmocka_run_group_tests_name("tartree", tests, NULL, NULL);
}
