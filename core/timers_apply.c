/*
 * timers_apply.c — `caretaker timers`, step three: the output folder compared, written atomically,
 * stale units listed or pruned (see timers_int.h).
 */
#include "autoconf.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "durable.h"
#include "proc.h"
#include "timers.h"
#include "timers_int.h"
#include "xmalloc.h"

/* ---- apply: reading what is there ---------------------------------------- */

static char *
unit_path(const struct timers *t, const char *name)
{
	return xasprintf("%s/%s", t->dir, name);
}

static int
text_has_marker(const char *text, size_t len)
{
	size_t n = strlen(TIMERS_MARKER);

	return len >= n && memcmp(text, TIMERS_MARKER, n) == 0;
}

static int
fd_read_capped(int fd, char *buf, size_t cap, size_t *len)
{
	size_t used = 0;

	while (used < cap) {
		ssize_t n = read(fd, buf + used, cap - used);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return CT_EIO;
		if (n == 0)
			break;
		used += (size_t)n;
	}
	*len = used;
	return 0;
}

/* Read a regular file (NUL-terminated; caller frees *text), at most one
 * byte more than TIMERS_MAX_UNIT_BYTES: enough to tell that it is not
 * ours.  CT_ENOENT; CT_EPERM when it is not a regular file (a symbolic link
 * is not followed, a FIFO not waited on); CT_EIO with errno set. */
static int
unit_read(const char *path, char **text, size_t *len)
{
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
	struct stat st;
	char *buf = NULL;
	int rc = 0, saved_errno;

	if (fd < 0)
		return errno == ENOENT ? CT_ENOENT : errno == ELOOP ? CT_EPERM : CT_EIO;
	if (fstat(fd, &st) != 0) {
		rc = CT_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = CT_EPERM;
		goto out;
	}
	buf = xmalloc(TIMERS_MAX_UNIT_BYTES + 2);
	rc = fd_read_capped(fd, buf, TIMERS_MAX_UNIT_BYTES + 1, len);
	if (rc != 0)
		goto out;
	buf[*len] = '\0';
	*text = buf;
	buf = NULL;
out:
	saved_errno = errno;
	free(buf);
	close(fd);
	errno = saved_errno;
	return rc;
}

static int
link_is_mask(const char *path)
{
	char target[16];
	ssize_t n = readlink(path, target, sizeof(target) - 1);

	if (n < 0)
		return 0;
	target[n] = '\0';
	return strcmp(target, "/dev/null") == 0;
}

static enum on_disk
unit_on_disk(const struct timers *t, const struct unit_file *u)
{
	char *path = unit_path(t, u->name);
	char *text = NULL;
	size_t len = 0;
	int rc = unit_read(path, &text, &len);
	enum on_disk v = DISK_DIFFERENT;

	if (rc == CT_ENOENT)
		v = DISK_MISSING;
	else if (rc == CT_EPERM)
		v = link_is_mask(path) ? DISK_MASKED : DISK_NOT_FILE;
	else if (rc != 0)
		v = DISK_UNREADABLE;
	else if (!text_has_marker(text, len))
		v = DISK_FOREIGN;
	else if (len == u->len && memcmp(text, u->text, len) == 0)
		v = DISK_SAME;
	if (v == DISK_UNREADABLE)
		fprintf(stderr, "caretaker: error: cannot read %s: %s\n", path, strerror(errno));
	free(text);
	free(path);
	return v;
}

/* ---- apply: --check --------------------------------------------------------- */

static void
say(const struct timers *t, const char *what, const char *name)
{
	if (!t->opts->is_quiet)
		printf("%-9s %s/%s\n", what, t->dir, name);
}

void
timers_check_one(struct timers *t, const struct unit_file *u)
{
	enum on_disk v = unit_on_disk(t, u);

	if (v == DISK_SAME) {
		t->n_same++;
	} else if (v == DISK_MASKED) {
		printf("%-9s %s/%s (left alone)\n", "masked", t->dir, u->name);
	} else if (v == DISK_MISSING) {
		t->n_missing++;
		printf("%-9s %s/%s\n", "missing", t->dir, u->name);
	} else if (v == DISK_UNREADABLE) {
		t->is_any_failed = 1;
	} else {
		t->n_differ++;
		printf("%-9s %s/%s%s\n", "differs", t->dir, u->name,
		       v == DISK_DIFFERENT ? "" : " (not written by caretaker)");
	}
}

/* ---- apply: writing -------------------------------------------------------- */

/* The unit replaced atomically (durable_replace); the folder is
 * fsynced once, at the end. */
static int
unit_write_atomic(const struct timers *t, const struct unit_file *u)
{
	char *path = unit_path(t, u->name);
	int rc = durable_replace(path, u->text, u->len, 0644, DURABLE_SYNC_FILE, NULL, 0);

	if (rc != 0) {
		int saved_errno = errno;

		fprintf(stderr, "caretaker: error: cannot write %s: %s\n", path,
		        strerror(saved_errno));
		if (saved_errno == EACCES || saved_errno == EPERM || saved_errno == EROFS)
			fputs("  hint: run it as root, or write elsewhere with --output DIR\n",
			      stderr);
	}
	free(path);
	return rc;
}

static const char *const not_ours_why[] = {
    [DISK_FOREIGN] = "was not written by caretaker (it lacks the \"" TIMERS_MARKER "\" line)",
    [DISK_NOT_FILE] = "is a symbolic link or not a regular file",
};

void
timers_install_one(struct timers *t, const struct unit_file *u)
{
	enum on_disk v = unit_on_disk(t, u);

	if (v == DISK_SAME) {
		t->n_same++;
		say(t, "unchanged", u->name);
	} else if (v == DISK_MASKED) {
		printf("%-9s %s/%s (left alone)\n", "masked", t->dir, u->name);
	} else if (v == DISK_FOREIGN || v == DISK_NOT_FILE) {
		t->is_any_failed = 1;
		fprintf(stderr,
		        "caretaker: error: %s/%s %s: not replacing it\n  hint: move it "
		        "away, or rename the job\n",
		        t->dir, u->name, not_ours_why[v]);
	} else if (v == DISK_UNREADABLE) {
		t->is_any_failed = 1;
	} else if (unit_write_atomic(t, u) != 0) {
		t->is_any_failed = t->is_write_failed = 1;
	} else {
		t->n_written++;
		say(t, "wrote", u->name);
	}
}

/* ---- apply: stale units ------------------------------------------------------ */

int
timers_has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n > m && strcmp(s + n - m, suffix) == 0;
}

static int
stale_name_filter(const struct dirent *e)
{
	return strncmp(e->d_name, TIMERS_PREFIX, strlen(TIMERS_PREFIX)) == 0 &&
	       (timers_has_suffix(e->d_name, ".service") || timers_has_suffix(e->d_name, ".timer"));
}

static int
unit_is_wanted(const struct timers *t, const char *name)
{
	for (size_t i = 0; i < t->n_units; i++)
		if (strcmp(t->units[i].name, name) == 0)
			return 1;
	return 0;
}

static int
unit_is_ours(const struct timers *t, const char *name)
{
	char *path = unit_path(t, name);
	char *text = NULL;
	size_t len = 0;
	int is_ours = unit_read(path, &text, &len) == 0 && text_has_marker(text, len);

	free(text);
	free(path);
	return is_ours;
}

/* systemctl enable linked the timer into timers.target.wants/; once the
 * timer is gone that link dangles (systemd finds units by the link's name,
 * so a link of that name is ours whatever it points to). */
static void
prune_wants_link(const struct timers *t, const char *name)
{
	char *rel = xasprintf("timers.target.wants/%s", name);
	char *link = unit_path(t, rel);
	struct stat st;

	if (lstat(link, &st) == 0 && S_ISLNK(st.st_mode) && unlink(link) == 0)
		say(t, "removed", rel);
	free(link);
	free(rel);
}

static void
stale_one(struct timers *t, const char *name)
{
	char *path = unit_path(t, name);

	t->n_stale++;
	if (!t->opts->is_pruning || t->opts->is_check) {
		printf("%-9s %s\n", "stale", path);
	} else if (unlink(path) != 0) {
		t->is_any_failed = 1;
		fprintf(stderr, "caretaker: error: cannot remove %s: %s\n", path, strerror(errno));
	} else {
		t->n_removed++;
		say(t, "removed", name);
		if (timers_has_suffix(name, ".timer"))
			prune_wants_link(t, name);
	}
	free(path);
}

void
timers_stale_sweep(struct timers *t)
{
	struct dirent **names = NULL;
	int n = scandir(t->dir, &names, stale_name_filter, alphasort);

	if (n < 0 && errno != ENOENT) {
		t->is_any_failed = 1;
		fprintf(stderr, "caretaker: error: cannot read %s: %s\n", t->dir, strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		if (!unit_is_wanted(t, names[i]->d_name) && unit_is_ours(t, names[i]->d_name))
			stale_one(t, names[i]->d_name);
		free(names[i]);
	}
	free(names);
}
