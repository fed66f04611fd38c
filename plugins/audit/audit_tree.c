/*
 * audit_tree.c — the state of the configured paths (`baseline_paths`):
 * every file, folder and symbolic link below each, with its type, owner,
 * mode, and for a file the SHA-256 of its content (digest.h), for a link
 * its target.
 *
 * Symbolic links are never followed, the configured paths themselves
 * included: a link is recorded as a link, and its target's text is what
 * changes when someone points it elsewhere.  A link inside the tree that
 * points inside it needs no following either: the walk meets its target
 * where it is.  Each folder is opened with O_NOFOLLOW and read through its
 * descriptor (openat, fstatat), so a folder swapped for a link while the
 * walk runs is not entered.  The walk stays on the file system of each
 * configured path, as find -xdev: a mount below it is recorded, not read.
 * Files are opened O_NONBLOCK, so a FIFO put in place of a file between
 * fstatat and open cannot hang it.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "audit.h"
#include "digest.h"
#include "pathmatch.h"

#define HASH_BLOCK_BYTES (256 * 1024)
#define MAX_DEPTH 256

/* One configured path being walked. */
struct walk {
	struct plugin_host *h;
	const struct audit_opts *o;
	struct audit_tree *tree;
	struct audit_findings *f;
	dev_t dev;       /* the configured path's file system */
	size_t root_len; /* where the path relative to it starts in `path` */
	char path[4096];
	size_t len;
	unsigned char *buf; /* HASH_BLOCK_BYTES */
};

int
audit_tree_add(struct audit_tree *tree, const struct audit_entry *e)
{
	if (tree->n == tree->cap) {
		size_t cap = tree->cap ? tree->cap * 2 : 256;
		struct audit_entry *items = realloc(tree->items, cap * sizeof(*items));

		if (items == NULL)
			return CT_ENOMEM;
		tree->items = items;
		tree->cap = cap;
	}
	tree->items[tree->n++] = *e;
	return 0;
}

static void
entry_free(struct audit_entry *e)
{
	free(e->path);
	free(e->content);
	free(e->error);
}

void
audit_tree_free(struct audit_tree *tree)
{
	for (size_t i = 0; i < tree->n; i++)
		entry_free(&tree->items[i]);
	free(tree->items);
	memset(tree, 0, sizeof(*tree));
}

int
audit_entry_differs(const struct audit_entry *a, const struct audit_entry *b)
{
	return a->type != b->type || a->mode != b->mode || a->uid != b->uid || a->gid != b->gid ||
	       strcmp(a->content, b->content) != 0 || (a->error == NULL) != (b->error == NULL);
}

/* ---- one entry ---- */

static int
hash_fd(struct walk *w, int fd, char hex[DIGEST_SHA256_HEX_SIZE])
{
	struct digest_sha256 *d = NULL;
	ssize_t n = 0;
	int rc;

	rc = digest_sha256_new(&d);
	while (rc == 0) {
		n = read(fd, w->buf, HASH_BLOCK_BYTES);
		if (n == 0 || (n < 0 && errno != EINTR))
			break;
		if (n > 0)
			rc = digest_sha256_update(d, w->buf, (size_t)n);
		w->tree->bytes_hashed += n > 0 ? (uint64_t)n : 0;
	}
	if (rc == 0 && n < 0)
		rc = CT_EIO;
	if (rc == 0)
		rc = digest_sha256_final_hex(d, hex);
	digest_sha256_free(d);
	return rc;
}

/* The content of a file: its hash, or why there is none. */
static void
read_file(struct walk *w, int dirfd, const char *name, const struct stat *st, struct audit_entry *e)
{
	char hex[DIGEST_SHA256_HEX_SIZE];
	struct stat now;
	int fd = openat(dirfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);

	if (fd < 0) {
		e->error = strdup(strerror(errno));
		return;
	}
	if (fstat(fd, &now) != 0 || now.st_ino != st->st_ino || !S_ISREG(now.st_mode))
		e->error = strdup("replaced while it was read");
	else if (hash_fd(w, fd, hex) != 0)
		e->error = strdup(strerror(errno ? errno : EIO));
	else
		e->content = strdup(hex);
	close(fd);
}

static void
read_link(int dirfd, const char *name, struct audit_entry *e)
{
	char target[4097];
	ssize_t n = readlinkat(dirfd, name, target, sizeof(target) - 1);

	if (n < 0) {
		e->error = strdup(strerror(errno));
		return;
	}
	target[n] = '\0';
	e->content = strdup(target);
}

static int
entry_type(mode_t mode)
{
	if (S_ISREG(mode))
		return AUDIT_ENTRY_FILE;
	if (S_ISDIR(mode))
		return AUDIT_ENTRY_DIR;
	return S_ISLNK(mode) ? AUDIT_ENTRY_LINK : AUDIT_ENTRY_OTHER;
}

/* Records w->path, found as `name` in the folder open on dirfd. */
static int
record(struct walk *w, int dirfd, const char *name, const struct stat *st)
{
	struct audit_entry e = {.type = entry_type(st->st_mode),
	                        .mode = st->st_mode & 07777,
	                        .uid = st->st_uid,
	                        .gid = st->st_gid,
	                        .size = (uint64_t)st->st_size};
	int rc;

	e.path = strdup(w->path);
	if (e.type == AUDIT_ENTRY_FILE)
		read_file(w, dirfd, name, st, &e);
	else if (e.type == AUDIT_ENTRY_LINK)
		read_link(dirfd, name, &e);
	if (e.content == NULL)
		e.content = strdup("");
	rc = e.path && e.content ? audit_tree_add(w->tree, &e) : CT_ENOMEM;
	if (rc != 0)
		entry_free(&e);
	return rc;
}

/* ---- folders ---- */

static int walk_dir(struct walk *w, int fd, int depth);

/* Appends "/name" to w->path; 0, or CT_EINVAL when it would not fit. */
static int
path_push(struct walk *w, const char *name)
{
	size_t n = strlen(name);

	if (w->len + 1 + n >= sizeof(w->path))
		return CT_EINVAL;
	w->path[w->len] = '/';
	memcpy(w->path + w->len + 1, name, n + 1);
	w->len += 1 + n;
	return 0;
}

static int
walk_child(struct walk *w, int dirfd, const char *name, int depth)
{
	const char *rel = w->path + w->root_len + 1;
	struct stat st;
	int fd, rc;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) != 0)
		return errno == ENOENT
		           ? 0
		           : plugin_host_fail(w->h, CT_EIO, "%s: %s", w->path, strerror(errno));
	if (pathmatch_is_excluded(w->o->baseline_exclude.items, w->o->baseline_exclude.n, rel,
	                          S_ISDIR(st.st_mode)))
		return 0;
	rc = record(w, dirfd, name, &st);
	if (rc != 0 || !S_ISDIR(st.st_mode) || st.st_dev != w->dev)
		return rc;
	if (depth >= MAX_DEPTH)
		return plugin_host_fail(w->h, CT_EINVAL, "%s: more than %d folders deep", w->path,
		                        MAX_DEPTH);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return 0; /* recorded; its entries are not readable (the entry says so if it
		             matters) */
	return walk_dir(w, fd, depth + 1);
}

/* Reads the folder open on fd (and closes it). */
static int
walk_dir(struct walk *w, int fd, int depth)
{
	DIR *d = fdopendir(fd);
	struct dirent *de;
	size_t len = w->len;
	int rc = 0;

	if (d == NULL) {
		close(fd);
		return plugin_host_fail(w->h, CT_EIO, "%s: %s", w->path, strerror(errno));
	}
	while (rc == 0) {
		de = readdir(d);
		if (de == NULL)
			break;
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = path_push(w, de->d_name);
		if (rc != 0)
			rc =
			    plugin_host_fail(w->h, rc, "%s/%s: path too long", w->path, de->d_name);
		if (rc == 0)
			rc = walk_child(w, dirfd(d), de->d_name, depth);
		w->len = len;
		w->path[len] = '\0';
		if (rc == 0 && plugin_host_should_stop(w->h))
			rc = CT_ECANCELED;
	}
	closedir(d);
	return rc;
}

static int
walk_root(struct walk *w, const char *root)
{
	struct stat st;
	int fd, rc;

	w->len = strlen(root);
	while (w->len > 1 && root[w->len - 1] == '/')
		w->len--;
	if (w->len >= sizeof(w->path))
		return plugin_host_fail(w->h, CT_EINVAL, "baseline_paths: %s: path too long", root);
	memcpy(w->path, root, w->len);
	w->path[w->len] = '\0';
	w->root_len = w->len;
	if (lstat(w->path, &st) != 0) {
		if (errno != ENOENT)
			return plugin_host_fail(w->h, CT_EIO, "baseline_paths: %s: %s", w->path,
			                        strerror(errno));
		audit_findings_add(w->f, CT_SEV_INFO, w->path,
		                   "does not exist: nothing to watch here until it does");
		return 0;
	}
	w->dev = st.st_dev;
	rc = record(w, AT_FDCWD, w->path, &st);
	if (rc != 0 || !S_ISDIR(st.st_mode))
		return rc;
	fd = open(w->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return plugin_host_fail(w->h, CT_EIO, "baseline_paths: %s: %s", w->path,
		                        strerror(errno));
	return walk_dir(w, fd, 0);
}

int
audit_tree_walk(struct plugin_host *h, const struct audit_opts *o, struct audit_tree *tree,
                struct audit_findings *f)
{
	struct walk *w = calloc(1, sizeof(*w));
	int rc = 0;

	if (w != NULL)
		w->buf = malloc(HASH_BLOCK_BYTES);
	if (w == NULL || w->buf == NULL) {
		free(w);
		return plugin_host_fail(h, CT_ENOMEM, "out of memory");
	}
	w->h = h;
	w->o = o;
	w->tree = tree;
	w->f = f;
	h->ct->progress(h->t, -1, "hashing the baseline paths");
	for (size_t i = 0; i < o->baseline_paths.n && rc == 0; i++)
		rc = walk_root(w, o->baseline_paths.items[i]);
	free(w->buf);
	free(w);
	return rc == 0 ? audit_tree_finish(tree) : rc;
}

/* ---- order and fingerprint ---- */

static int
cmp_entries(const void *pa, const void *pb)
{
	return strcmp(((const struct audit_entry *)pa)->path,
	              ((const struct audit_entry *)pb)->path);
}

/* Nested configured paths meet the same entries twice: one is kept. */
static void
drop_duplicates(struct audit_tree *tree)
{
	size_t out = 0;

	for (size_t i = 0; i < tree->n; i++) {
		if (out > 0 && strcmp(tree->items[out - 1].path, tree->items[i].path) == 0) {
			entry_free(&tree->items[i]);
			continue;
		}
		tree->items[out++] = tree->items[i];
	}
	tree->n = out;
}

/* Every field the comparison looks at, lengths before strings, so that no
 * two states share a fingerprint by a trick of separators. */
static int
digest_entry(struct digest_sha256 *d, const struct audit_entry *e)
{
	char head[128];
	int n;

	n = snprintf(head, sizeof(head), "%zu:", strlen(e->path));
	if (digest_sha256_update(d, head, (size_t)n) != 0 ||
	    digest_sha256_update(d, e->path, strlen(e->path)) != 0)
		return CT_EIO;
	n = snprintf(head, sizeof(head), " %d %o %lu %lu %d %zu:", e->type, (unsigned)e->mode,
	             (unsigned long)e->uid, (unsigned long)e->gid, e->error != NULL,
	             strlen(e->content));
	if (digest_sha256_update(d, head, (size_t)n) != 0 ||
	    digest_sha256_update(d, e->content, strlen(e->content)) != 0)
		return CT_EIO;
	return digest_sha256_update(d, "\n", 1);
}

int
audit_tree_finish(struct audit_tree *tree)
{
	struct digest_sha256 *d = NULL;
	int rc;

	if (tree->n > 1)
		qsort(tree->items, tree->n, sizeof(*tree->items), cmp_entries);
	drop_duplicates(tree);
	rc = digest_sha256_new(&d);
	for (size_t i = 0; i < tree->n && rc == 0; i++)
		rc = digest_entry(d, &tree->items[i]);
	if (rc == 0)
		rc = digest_sha256_final_hex(d, tree->fingerprint);
	digest_sha256_free(d);
	return rc;
}
