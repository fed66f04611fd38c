/*
 * logscan_file.c — what is new in one log since the last run, rotations
 * included, so that no line is counted twice or missed.
 *
 * The saved state (logscan_state.c) names the inode that was read, how far
 * (always the end of a complete line) and a fingerprint of its head.  This
 * run, the log is:
 *  - the same inode, at least as long, with the same head: read from the
 *    saved offset;
 *  - anything else (a new inode after rename+create, a shorter or
 *    rewritten head after copytruncate): rotated.  The rotated file is
 *    looked for beside the log, among the names that begin with the log's
 *    name (error.log.1, error.log.1.gz, error.log-20261206.zst): first by
 *    inode, then by the fingerprint of its (decompressed) head.  It is read
 *    from the saved offset to its end, its last line counted even without
 *    a newline since nothing more will be written to it; then the siblings
 *    modified after it (a log rotated more than once since the last run),
 *    whole and oldest first; then the log from its start.  When it is not found, the lines after
 * the offset are lost and a warning says so. The new state is saved only after the scan, and not at
 * all in a dry run.
 *
 * Plain files are mapped and scanned in place, in slices of 64 MB: a
 * pread() into a buffer cost a fifth of the time of a full scan in
 * copying.  A log truncated under the mapping (copytruncate while the scan
 * runs) would end the run with SIGBUS, so the size is checked before each
 * slice; a truncation within a slice's few milliseconds still ends the
 * run, which then saved nothing, and the next run finishes the copy.
 */
#define _GNU_SOURCE /* memrchr */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "compress.h"
#include "logscan.h"

struct file_ctx {
	struct plugin_host *h;
	const struct logscan_matcher *m;
	struct logscan_tally *tally;
	const char *path;
	const char *olddir;
};

/* A rotated file found beside the log. */
struct rotated {
	char path[4096];
	enum compress_kind kind;
	int is_found;
	int by_inode;
	struct timespec mtime;
};

/* Generations rotated after the one the state named, when the log was
 * rotated more than once since the last run: read whole, oldest first. */
#define MAX_NEWER 16
struct newer_list {
	struct rotated v[MAX_NEWER];
	size_t n;
	const struct rotated *found;
};

static int
open_log(const char *path, int *fd_out, struct stat *st, char *err, size_t err_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return errno == ENOENT ? CT_ENOENT : CT_ESYS;
	}
	if (fstat(fd, st) != 0 || !S_ISREG(st->st_mode)) {
		snprintf(err, err_size, "%s: not a regular file", path);
		close(fd);
		return CT_EIO;
	}
	*fd_out = fd;
	return 0;
}

static void
show_progress(struct file_ctx *c, uint64_t done, uint64_t total)
{
	char what[120];

	snprintf(what, sizeof(what), "scanning %s", c->path);
	c->h->ct->progress(c->h->t, total > 0 ? (double)done / (double)total : -1.0, what);
}

#define SLICE_BYTES (64u << 20)

/* The end of the slice of data[pos, len) to scan next: about SLICE_BYTES,
 * cut just after a '\n'; a line longer than a slice goes whole. */
static size_t
slice_end(const char *data, size_t pos, size_t len)
{
	const char *nl;

	if (len - pos <= SLICE_BYTES)
		return len;
	nl = memrchr(data + pos, '\n', SLICE_BYTES);
	if (nl == NULL)
		nl = memchr(data + pos + SLICE_BYTES, '\n', len - pos - SLICE_BYTES);
	return nl != NULL ? (size_t)(nl - data) + 1 : len;
}

/* Non-zero while the file is at least `size` bytes long: a file truncated
 * under the mapping (copytruncate) would end the run with SIGBUS. */
static int
still_long(int fd, uint64_t size)
{
	struct stat st;

	return fstat(fd, &st) == 0 && (uint64_t)st.st_size >= size;
}

/* Maps fd's bytes [from, size) and scans them in slices.  *end: just past
 * the last line scanned (its last complete line unless is_final). */
static int
scan_plain(struct file_ctx *c, int fd, uint64_t from, uint64_t size, int is_final, uint64_t *end)
{
	uint64_t base = from & ~(uint64_t)(sysconf(_SC_PAGESIZE) - 1);
	const char *map, *data, *nl;
	size_t len, upto, pos = 0;
	int rc = 0;

	*end = from;
	if (size <= from)
		return 0;
	map = mmap(NULL, (size_t)(size - base), PROT_READ, MAP_PRIVATE, fd, (off_t)base);
	if (map == MAP_FAILED)
		return plugin_host_fail(c->h, CT_ESYS, "%s: cannot map: %s", c->path,
		                        strerror(errno));
	/* Two calls: the advice values are not flags to be or-ed. */
	madvise((void *)map, (size_t)(size - base), MADV_SEQUENTIAL);
	madvise((void *)map, (size_t)(size - base), MADV_WILLNEED);
	data = map + (from - base);
	len = (size_t)(size - from);
	nl = memrchr(data, '\n', len);
	upto = is_final ? len : nl != NULL ? (size_t)(nl - data) + 1 : 0;
	while (rc == 0 && pos < upto) {
		size_t e = slice_end(data, pos, upto);

		if (!still_long(fd, size))
			break; /* truncated while read: the next run finds the copy */
		rc = logscan_scan_region(c->m, c->tally, data + pos, e - pos, from + pos);
		pos = e;
		show_progress(c, pos, upto);
		if (rc == 0 && plugin_host_should_stop(c->h))
			rc = CT_ECANCELED;
	}
	*end = from + pos;
	munmap((void *)map, (size_t)(size - base));
	return rc;
}

struct head_ctx {
	char buf[LOGSCAN_FP_BYTES];
	size_t len, want;
};

static int
head_cb(const void *data, size_t len, void *ctx)
{
	struct head_ctx *hc = ctx;
	size_t n = hc->want - hc->len < len ? hc->want - hc->len : len;

	memcpy(hc->buf + hc->len, data, n);
	hc->len += n;
	return hc->len >= hc->want ? 1 : 0; /* enough: stop decompressing */
}

static int
feed_cb(const void *data, size_t len, void *ctx)
{
	return logscan_feed_write(ctx, data, len);
}

/* Non-zero when the compressed file's first fp_len bytes have fingerprint
 * s->fp. */
static int
compressed_head_matches(const char *path, enum compress_kind kind, const struct logscan_fstate *s)
{
	struct head_ctx hc = {.want = s->fp_len};
	struct compress_verify_params p = {
	    .kind = kind, .n_threads = 1, .data_cb = head_cb, .data_ctx = &hc};
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0)
		return 0;
	rc = s->fp_len == 0 ? 0 : compress_file_verify(fd, &p, NULL, NULL, 0);
	close(fd);
	return (rc == 0 || rc == 1) && hc.len == s->fp_len &&
	       logscan_fp_of_bytes(hc.buf, hc.len) == s->fp;
}

static int
plain_head_matches(const char *path, const struct stat *st, const struct logscan_fstate *s)
{
	uint64_t fp;
	uint32_t got;
	int fd, yes = 0;

	if ((uint64_t)st->st_size < s->offset)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0)
		return 0;
	if (logscan_fp_of_fd(fd, s->fp_len, &fp, &got) == 0)
		yes = got == s->fp_len && fp == s->fp;
	close(fd);
	return yes;
}

static enum compress_kind
kind_of(const char *name)
{
	size_t n = strlen(name);

	if (n > 3 && strcmp(name + n - 3, ".gz") == 0)
		return COMPRESS_GZIP;
	if (n > 4 && strcmp(name + n - 4, ".zst") == 0)
		return COMPRESS_ZSTD;
	return COMPRESS_NONE;
}

static int
is_later(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* Considers dir/name as the rotated file of state s. */
static void
consider(struct rotated *r, const char *dir, const char *name, const struct logscan_fstate *s)
{
	char full[4096];
	struct stat st;
	enum compress_kind kind = kind_of(name);
	int is_match;

	if ((size_t)snprintf(full, sizeof(full), "%s/%s", dir, name) >= sizeof(full) ||
	    lstat(full, &st) != 0 || !S_ISREG(st.st_mode) || r->by_inode)
		return;
	if (kind == COMPRESS_NONE && st.st_ino == s->ino && st.st_dev == s->dev) {
		*r = (struct rotated){
		    .kind = kind, .is_found = 1, .by_inode = 1, .mtime = st.st_mtim};
		snprintf(r->path, sizeof(r->path), "%s", full);
		return;
	}
	if (r->is_found && !is_later(&st.st_mtim, &r->mtime))
		return;
	is_match = kind == COMPRESS_NONE ? plain_head_matches(full, &st, s)
	                                 : compressed_head_matches(full, kind, s);
	if (is_match) {
		*r = (struct rotated){.kind = kind, .is_found = 1, .mtime = st.st_mtim};
		snprintf(r->path, sizeof(r->path), "%s", full);
	}
}

/* Is `name` a rotated sibling of the log called `base`?  A temporary file
 * (a compression still being written) is not. */
static int
is_sibling(const char *name, const char *base)
{
	size_t n = strlen(base);

	return strncmp(name, base, n) == 0 && (name[n] == '.' || name[n] == '-') &&
	       name[n + 1] != '\0' && strstr(name, ".tmp") == NULL;
}

static void
find_in(const char *dir, const char *base, const struct logscan_fstate *s, struct rotated *r)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (is_sibling(e->d_name, base))
			consider(r, dir, e->d_name, s);
	closedir(d);
}

/* The rotated file of state s: beside the log, or in olddir. */
static void
find_rotated(const char *path, const char *olddir, const struct logscan_fstate *s,
             struct rotated *r)
{
	char dbuf[4096], bbuf[4096];
	const char *base;

	memset(r, 0, sizeof(*r));
	snprintf(dbuf, sizeof(dbuf), "%s", path);
	snprintf(bbuf, sizeof(bbuf), "%s", path);
	base = basename(bbuf);
	find_in(dirname(dbuf), base, s, r);
	if (olddir != NULL && olddir[0] != '\0')
		find_in(olddir, base, s, r);
}

static int
scan_compressed(struct file_ctx *c, const struct rotated *r, uint64_t from)
{
	struct logscan_feed f;
	struct compress_verify_params p = {.kind = r->kind, .data_cb = feed_cb, .data_ctx = &f};
	int fd, rc;

	fd = open(r->path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return plugin_host_fail(c->h, CT_ESYS, "%s: %s", r->path, strerror(errno));
	rc = logscan_feed_init(&f, c->m, c->tally, from, 1);
	if (rc == 0)
		rc = compress_file_verify(fd, &p, NULL, c->h->err, sizeof(c->h->err));
	if (rc == 0)
		rc = logscan_feed_finish(&f, 1);
	logscan_feed_free(&f);
	close(fd);
	return rc;
}

/* Adds dir/name to the list when it was written after the found file. */
static void
consider_newer(struct newer_list *l, const char *dir, const char *name)
{
	struct rotated *r = &l->v[l->n];
	struct stat st;

	if (l->n == MAX_NEWER ||
	    (size_t)snprintf(r->path, sizeof(r->path), "%s/%s", dir, name) >= sizeof(r->path) ||
	    strcmp(r->path, l->found->path) == 0 || lstat(r->path, &st) != 0 ||
	    !S_ISREG(st.st_mode) || !is_later(&st.st_mtim, &l->found->mtime))
		return;
	r->kind = kind_of(name);
	r->mtime = st.st_mtim;
	l->n++;
}

static void
collect_newer(const char *dir, const char *base, struct newer_list *l)
{
	struct dirent *e;
	DIR *d = opendir(dir);

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (is_sibling(e->d_name, base))
			consider_newer(l, dir, e->d_name);
	closedir(d);
}

static int
newer_cmp(const void *a, const void *b)
{
	const struct rotated *x = a, *y = b;

	return is_later(&x->mtime, &y->mtime) - is_later(&y->mtime, &x->mtime);
}

/* Reads a rotated file from its start to its end. */
static int
scan_whole(struct file_ctx *c, const struct rotated *r, struct logscan_file_result *res)
{
	struct stat st;
	uint64_t end = 0;
	int fd, rc;

	c->h->ct->log(c->h->t, CT_LOG_INFO,
	              "%s: rotated more than once since the last run: "
	              "reading %s too",
	              c->path, r->path);
	if (r->kind != COMPRESS_NONE)
		return scan_compressed(c, r, 0);
	rc = open_log(r->path, &fd, &st, c->h->err, sizeof(c->h->err));
	if (rc != 0)
		return rc;
	rc = scan_plain(c, fd, 0, (uint64_t)st.st_size, 1, &end);
	res->bytes_new += end;
	close(fd);
	return rc;
}

/* The generations rotated after `found`, oldest first. */
static int
finish_newer(struct file_ctx *c, const struct rotated *found, struct logscan_file_result *res)
{
	char dbuf[4096], bbuf[4096];
	struct newer_list *l = calloc(1, sizeof(*l));
	int rc = 0;

	if (l == NULL)
		return CT_ENOMEM;
	l->found = found;
	snprintf(dbuf, sizeof(dbuf), "%s", c->path);
	snprintf(bbuf, sizeof(bbuf), "%s", c->path);
	collect_newer(dirname(dbuf), basename(bbuf), l);
	if (c->olddir != NULL && c->olddir[0] != '\0')
		collect_newer(c->olddir, basename(bbuf), l);
	qsort(l->v, l->n, sizeof(l->v[0]), newer_cmp);
	for (size_t i = 0; i < l->n && rc == 0; i++)
		rc = scan_whole(c, &l->v[i], res);
	free(l);
	return rc;
}

/* Reads the rotated file of state s from the saved offset to its end. */
static int
finish_rotated(struct file_ctx *c, const struct logscan_fstate *s, struct logscan_file_result *res)
{
	struct rotated r;
	struct stat st;
	uint64_t end;
	int fd, rc;

	find_rotated(c->path, c->olddir, s, &r);
	if (!r.is_found) {
		res->lost_warning = 1;
		return 0;
	}
	snprintf(res->rotated_from, sizeof(res->rotated_from), "%s", r.path);
	if (r.kind != COMPRESS_NONE) {
		rc = scan_compressed(c, &r, s->offset);
	} else {
		rc = open_log(r.path, &fd, &st, c->h->err, sizeof(c->h->err));
		if (rc != 0)
			return rc;
		rc = scan_plain(c, fd, s->offset, (uint64_t)st.st_size, 1, &end);
		res->bytes_new += end - s->offset;
		close(fd);
	}
	return rc == 0 ? finish_newer(c, &r, res) : rc;
}

/* Where to start in the log open on fd, given its saved state. */
static int
is_same_file(int fd, const struct stat *st, const struct logscan_fstate *s)
{
	uint64_t fp;
	uint32_t got;

	if (!s->is_valid || (uint64_t)st->st_ino != s->ino || (uint64_t)st->st_dev != s->dev ||
	    (uint64_t)st->st_size < s->offset)
		return 0;
	return logscan_fp_of_fd(fd, s->fp_len, &fp, &got) == 0 && got == s->fp_len && fp == s->fp;
}

static void
state_of(int fd, const struct stat *st, uint64_t offset, struct logscan_fstate *s)
{
	memset(s, 0, sizeof(*s));
	s->is_valid = 1;
	s->dev = (uint64_t)st->st_dev;
	s->ino = (uint64_t)st->st_ino;
	s->size = (uint64_t)st->st_size;
	s->offset = offset;
	if (logscan_fp_of_fd(fd, LOGSCAN_FP_BYTES, &s->fp, &s->fp_len) != 0)
		s->fp_len = 0;
}

static void
load_state(struct file_ctx *c, struct logscan_fstate *s)
{
	char why[1024] = "";

	if (logscan_state_load(c->h->ct->state_dir(c->h->t), c->path, s, why, sizeof(why)) == 0)
		return;
	c->h->ct->add_finding(c->h->t, CT_SEV_WARNING, c->path,
	                      "%s; reading the file from its start", why);
	c->h->n_warnings++;
	memset(s, 0, sizeof(*s));
}

static int
save_state(struct file_ctx *c, const struct logscan_fstate *s)
{
	return logscan_state_save(c->h->ct->state_dir(c->h->t), c->path, s, c->h->err,
	                          sizeof(c->h->err));
}

/* The log is gone: finish its rotated file, and start the next one from 0. */
static int
scan_missing(struct file_ctx *c, const struct logscan_fstate *s, int is_dry_run,
             struct logscan_file_result *res)
{
	struct logscan_fstate fresh = {.is_valid = 1};
	int rc = 0;

	if (!s->is_valid || s->offset == 0)
		return CT_ENOENT;
	rc = finish_rotated(c, s, res);
	if (rc == 0 && !is_dry_run)
		rc = save_state(c, &fresh);
	return rc;
}

int
logscan_file_scan(struct plugin_host *h, const struct logscan_file_params *p, const char *path,
                  struct logscan_file_result *res)
{
	struct file_ctx c = {
	    .h = h, .m = p->m, .tally = p->tally, .path = path, .olddir = p->olddir};
	int is_dry_run = p->is_dry_run;
	struct logscan_fstate s, now;
	struct stat st;
	uint64_t from = 0, end = 0;
	char why[1024];
	int fd = -1, rc;

	memset(res, 0, sizeof(*res));
	c.tally->file = path;
	load_state(&c, &s);
	rc = open_log(path, &fd, &st, why, sizeof(why));
	if (rc == CT_ENOENT)
		return scan_missing(&c, &s, is_dry_run, res);
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", why);
	if (is_same_file(fd, &st, &s))
		from = s.offset;
	else if (s.is_valid && s.offset > 0)
		rc = finish_rotated(&c, &s, res);
	if (rc == 0)
		rc = scan_plain(&c, fd, from, (uint64_t)st.st_size, 0, &end);
	res->bytes_new += end - from;
	if (rc == 0 && !is_dry_run) {
		state_of(fd, &st, end, &now);
		rc = save_state(&c, &now);
	}
	close(fd);
	return rc;
}
