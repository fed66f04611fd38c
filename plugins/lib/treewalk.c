/*
 * treewalk.c — the walk of treewalk.h: folders opened relative to their
 * parent's descriptor, never through a link, entries reported with their
 * errors instead of ending the walk.  Also the small helpers the callers
 * need around it: reopening a folder of the tree safely later, and
 * splitting a glob into the folder it walks and the pattern below it.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memrchr */
#endif
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "treewalk.h"

#define DIR_OPEN_FLAGS (O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)

struct walk {
	const struct treewalk_params *p;
	dev_t root_dev;
	uint64_t root_mnt_id; /* the root's mount (statx), 0: unknown */
	int max_depth;        /* the caller's, at most TREEWALK_MAX_DEPTH */
	char path[4096];
	size_t root_len;      /* where rel starts in path (after the '/') */
	char shown[4 * 4096]; /* path escaped for the callback (treewalk_escape) */
};

/* Fill w->shown from w->path, for the callback. */
static void path_show(struct walk *w);

static const char *
rel_of(const struct walk *w)
{
	size_t len = strlen(w->path);

	return len <= w->root_len ? "" : w->path + w->root_len;
}

static int
visit_error(struct walk *w, int dir_fd, const char *name, const struct stat *st, int depth,
            int error, const char *what)
{
	struct treewalk_entry e = {.dir_fd = dir_fd,
	                           .name = name,
	                           .path = w->shown,
	                           .rel = rel_of(w),
	                           .st = st,
	                           .depth = depth,
	                           .error = error,
	                           .what = what};
	int rc;

	path_show(w);
	rc = w->p->visit(&e, w->p->arg);
	return rc < 0 ? rc : 0;
}

static int walk_dir(struct walk *w, int dir_fd, int depth);

/* The mount an entry is on, or 0 when the kernel does not say.  A bind
 * mount of a folder of the same file system has the root's st_dev, so
 * st_dev alone would let the walk (and prune's deletes) into a folder
 * mounted from outside the tree. */
static uint64_t
mount_id_of(int dir_fd, const char *name)
{
	struct statx stx;

	if (statx(dir_fd, name, AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0 ||
	    (stx.stx_mask & STATX_MNT_ID) == 0)
		return 0;
	return stx.stx_mnt_id;
}

/* A folder on another file system than the root's, or mounted apart from
 * it (a bind mount): not entered with is_one_file_system. */
static int
is_other_fs(const struct walk *w, int dir_fd, const char *name, const struct stat *st)
{
	uint64_t mnt;

	if (!S_ISDIR(st->st_mode) || !w->p->is_one_file_system)
		return 0;
	if (st->st_dev != w->root_dev)
		return 1;
	mnt = w->root_mnt_id != 0 ? mount_id_of(dir_fd, name) : 0;
	return mnt != 0 && mnt != w->root_mnt_id;
}

/* Open the folder `name` of dir_fd that fstatat described as `st`, and
 * check that what was opened is that folder: one swapped for another in
 * between (a rename, a mount) is not entered. */
static int
open_checked(int dir_fd, const char *name, const struct stat *st, int *fd_out, int *error)
{
	struct stat now;
	int fd = openat(dir_fd, name, DIR_OPEN_FLAGS);

	if (fd < 0) {
		*error = errno;
		return -1;
	}
	if (fstat(fd, &now) != 0 || now.st_dev != st->st_dev || now.st_ino != st->st_ino) {
		close(fd);
		*error = ESTALE;
		return -1;
	}
	*fd_out = fd;
	return 0;
}

static int
descend(struct walk *w, int dir_fd, const char *name, const struct stat *st, int depth)
{
	int fd = -1, error = 0;

	if (open_checked(dir_fd, name, st, &fd, &error) != 0 && error == ENOENT && depth > 0)
		return 0;
	if (fd < 0)
		return visit_error(w, dir_fd, name, st, depth, error,
		                   error == ESTALE ? "open (replaced during the walk)" : "open");
	return walk_dir(w, fd, depth + 1);
}

/* One entry of a folder: look, visit, and enter it when it is a folder
 * the walk may enter. */
static int
walk_entry(struct walk *w, int dir_fd, const char *name, int depth)
{
	struct stat st;
	struct treewalk_entry e = {
	    .dir_fd = dir_fd, .name = name, .path = w->shown, .depth = depth};
	int rc;

	e.rel = rel_of(w);
	/* An entry the folder's read listed but that is gone by now (a log
	 * rotated, a cache file expired) is no finding: it is not visited. */
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT ? 0
		                       : visit_error(w, dir_fd, name, NULL, depth, errno, "stat");
	e.st = &st;
	path_show(w);
	e.is_other_fs = is_other_fs(w, dir_fd, name, &st);
	e.is_too_deep = S_ISDIR(st.st_mode) && !e.is_other_fs && depth >= w->max_depth;
	rc = w->p->visit(&e, w->p->arg);
	if (rc < 0)
		return rc;
	if (rc == TREEWALK_SKIP || !S_ISDIR(st.st_mode) || e.is_other_fs || e.is_too_deep)
		return 0;
	return descend(w, dir_fd, name, &st, depth);
}

/* Append "/name" to w->path; 0, or -1 when it would not fit. */
static int
path_push(struct walk *w, const char *name, size_t *saved)
{
	size_t len = strlen(w->path);
	int n = snprintf(w->path + len, sizeof(w->path) - len, "%s%s",
	                 len > 0 && w->path[len - 1] == '/' ? "" : "/", name);

	*saved = len;
	if (n < 0 || (size_t)n >= sizeof(w->path) - len) {
		w->path[len] = '\0';
		return -1;
	}
	return 0;
}

/* Read the open folder `fd` (closed here) and walk each of its entries. */
static int
walk_dir(struct walk *w, int fd, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int rc = 0;

	if (d == NULL) {
		close(fd);
		return visit_error(w, -1, "", NULL, depth - 1, errno, "read");
	}
	for (;;) {
		size_t saved;

		errno = 0;
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (path_push(w, de->d_name, &saved) != 0)
			rc =
			    visit_error(w, dirfd(d), de->d_name, NULL, depth, ENAMETOOLONG, "stat");
		else
			rc = walk_entry(w, dirfd(d), de->d_name, depth);
		w->path[saved] = '\0';
		if (rc < 0)
			break;
	}
	if (rc == 0 && de == NULL && errno != 0)
		rc = visit_error(w, -1, "", NULL, depth - 1, errno, "read");
	closedir(d);
	return rc;
}

/* The root's folder and name: "/a/b/" gives "/a" and "b", "/b" gives "/"
 * and "b", "/" gives "/" and ".", "x" gives "." and "x". */
static int
root_split(const char *root, char *parent, char *name, size_t size)
{
	size_t len = strlen(root);
	const char *slash;

	while (len > 1 && root[len - 1] == '/')
		len--;
	if (len == 0 || len >= size)
		return -1;
	if (len == 1 && root[0] == '/') {
		snprintf(parent, size, "/");
		snprintf(name, size, ".");
		return 0;
	}
	slash = memrchr(root, '/', len);
	if (slash == NULL) {
		snprintf(parent, size, ".");
		snprintf(name, size, "%.*s", (int)len, root);
		return 0;
	}
	snprintf(parent, size, "%.*s", slash == root ? 1 : (int)(slash - root), root);
	snprintf(name, size, "%.*s", (int)(len - (size_t)(slash + 1 - root)), slash + 1);
	return 0;
}

static int
walk_root(struct walk *w, int parent_fd, const char *name)
{
	struct stat st;
	struct treewalk_entry e = {.dir_fd = parent_fd, .name = name, .path = w->shown, .rel = ""};
	int rc;

	if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return visit_error(w, parent_fd, name, NULL, 0, errno, "stat");
	w->root_dev = st.st_dev;
	w->root_mnt_id = w->p->is_one_file_system ? mount_id_of(parent_fd, name) : 0;
	e.st = &st;
	path_show(w);
	rc = w->p->visit(&e, w->p->arg);
	if (rc < 0)
		return rc;
	if (rc == TREEWALK_SKIP || !S_ISDIR(st.st_mode) || w->max_depth <= 0)
		return 0;
	return descend(w, parent_fd, name, &st, 0);
}

int
treewalk_run(const struct treewalk_params *p)
{
	struct walk w = {.p = p, .max_depth = p->max_depth};
	char parent[4096], name[4096];
	int parent_fd, rc;

	if (w.max_depth > TREEWALK_MAX_DEPTH)
		w.max_depth = TREEWALK_MAX_DEPTH;
	snprintf(w.path, sizeof(w.path), "%s", p->root);
	while (strlen(w.path) > 1 && w.path[strlen(w.path) - 1] == '/')
		w.path[strlen(w.path) - 1] = '\0';
	w.root_len = strlen(w.path) + (strcmp(w.path, "/") == 0 ? 0 : 1);
	if (root_split(p->root, parent, name, sizeof(parent)) != 0)
		return visit_error(&w, -1, "", NULL, 0, ENAMETOOLONG, "stat");
	parent_fd = open(parent, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (parent_fd < 0)
		return visit_error(&w, -1, name, NULL, 0, errno, "stat");
	rc = walk_root(&w, parent_fd, name);
	close(parent_fd);
	return rc;
}

/* Step from the open folder *fd into its folder `name`, closing *fd. */
static int
open_step(int *fd, const char *name, char *err, size_t err_size)
{
	int next = openat(*fd, name, DIR_OPEN_FLAGS);

	if (next < 0) {
		snprintf(err, err_size, "%s: %s", name, strerror(errno));
		return errno == ENOENT ? CT_ENOENT : CT_EIO;
	}
	close(*fd);
	*fd = next;
	return 0;
}

int
treewalk_open_dir(const char *root, const char *rel_dir, int *fd_out, char *err, size_t err_size)
{
	char buf[4096];
	char *save = NULL, *part;
	int fd = open(root, DIR_OPEN_FLAGS), rc = 0;

	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", root, strerror(errno));
		return errno == ENOENT ? CT_ENOENT : CT_EIO;
	}
	if (snprintf(buf, sizeof(buf), "%s", rel_dir) >= (int)sizeof(buf)) {
		snprintf(err, err_size, "%s/%s: path too long", root, rel_dir);
		close(fd);
		return CT_EIO;
	}
	for (part = strtok_r(buf, "/", &save); part != NULL && rc == 0;
	     part = strtok_r(NULL, "/", &save))
		rc = open_step(&fd, part, err, err_size);
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

int
treewalk_glob_split(const char *glob, char *root, size_t root_size, const char **pattern)
{
	const char *first = strpbrk(glob, "*?[");
	size_t cut;

	if (glob[0] != '/')
		return CT_EINVAL;
	if (first == NULL) {
		if (strlen(glob) >= root_size)
			return CT_EINVAL;
		snprintf(root, root_size, "%s", glob);
		*pattern = "";
		return 0;
	}
	while (first > glob && first[-1] != '/')
		first--;
	cut = (size_t)(first - glob);
	if (cut >= root_size)
		return CT_EINVAL;
	memcpy(root, glob, cut);
	root[cut > 1 ? cut - 1 : cut] = '\0';
	*pattern = first;
	return 0;
}

const char *
treewalk_root_refusal(const char *path, int is_root_allowed)
{
	const char *c = path;
	int has_folder = 0, is_glob = 0;

	if (path[0] != '/')
		return "is not absolute";
	for (size_t len; *(c += strspn(c, "/")) != '\0'; c += len) {
		len = strcspn(c, "/");
		if ((len == 1 && c[0] == '.') || (len == 2 && c[0] == '.' && c[1] == '.'))
			return "has a '.' or '..' component\nhint: write the folder's own path";
		is_glob |= strcspn(c, "*?[") < len;
		has_folder |= !is_glob;
	}
	if (has_folder || is_root_allowed)
		return NULL;
	return "would walk the root folder\nhint: name a folder below /";
}

int
treewalk_pattern_depth(const char *pattern)
{
	int n = pattern[0] != '\0';

	for (const char *c = pattern; *c != '\0'; c++)
		n += *c == '/' && c[1] != '\0';
	return n;
}

/* The length of the valid UTF-8 sequence at s (1 to 4), or 0. */
static size_t
utf8_seq_len(const unsigned char *s)
{
	static const struct {
		unsigned char lead_min, lead_max, next_min, next_max;
		size_t len;
	} seqs[] = {
	    {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3}, {0xe1, 0xec, 0x80, 0xbf, 3},
	    {0xed, 0xed, 0x80, 0x9f, 3}, {0xee, 0xef, 0x80, 0xbf, 3}, {0xf0, 0xf0, 0x90, 0xbf, 4},
	    {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
	};

	if (s[0] < 0x80)
		return 1;
	for (size_t i = 0; i < sizeof(seqs) / sizeof(seqs[0]); i++) {
		if (s[0] < seqs[i].lead_min || s[0] > seqs[i].lead_max)
			continue;
		if (s[1] < seqs[i].next_min || s[1] > seqs[i].next_max)
			return 0;
		for (size_t k = 2; k < seqs[i].len; k++)
			if ((s[k] & 0xc0) != 0x80)
				return 0;
		return seqs[i].len;
	}
	return 0;
}

/* The code point of a valid sequence of `len` bytes. */
static unsigned
utf8_code(const unsigned char *s, size_t len)
{
	static const unsigned lead_mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
	unsigned cp = s[0] & lead_mask[len];

	for (size_t k = 1; k < len; k++)
		cp = (cp << 6) | (s[k] & 0x3fu);
	return cp;
}

static int
is_line_mover(unsigned cp)
{
	return (cp >= 0x80 && cp <= 0x9f) || cp == 0x2028 || cp == 0x2029 ||
	       (cp >= 0x202a && cp <= 0x202e) || (cp >= 0x2066 && cp <= 0x2069);
}

/* The escape of one character or byte at s into buf; returns how many
 * bytes of s it stands for. */
static size_t
escape_one(const unsigned char *s, char buf[16])
{
	static const char *const named[0x20] = {['\n'] = "\\n", ['\t'] = "\\t", ['\r'] = "\\r"};
	size_t len = utf8_seq_len(s);

	if (len == 0) {
		snprintf(buf, 16, "\\x%02x", s[0]);
		return 1;
	}
	if (len == 1 && (s[0] < 0x20 || s[0] == 0x7f)) {
		if (s[0] < 0x20 && named[s[0]] != NULL)
			snprintf(buf, 16, "%s", named[s[0]]);
		else
			snprintf(buf, 16, "\\x%02x", s[0]);
		return 1;
	}
	if (is_line_mover(utf8_code(s, len)))
		snprintf(buf, 16, "\\u%04x", utf8_code(s, len));
	else
		snprintf(buf, 16, "%.*s", (int)len, (const char *)s);
	return len;
}

void
treewalk_escape(const char *name, char *out, size_t size)
{
	const unsigned char *s = (const unsigned char *)name;
	size_t used = 0;

	out[0] = '\0';
	while (*s != '\0') {
		char buf[16];
		size_t step = escape_one(s, buf), n = strlen(buf);

		if (used + n >= size)
			break;
		memcpy(out + used, buf, n + 1);
		used += n;
		s += step;
	}
}

static void
path_show(struct walk *w)
{
	treewalk_escape(w->path, w->shown, sizeof(w->shown));
}
