/*
 * backup_archive.c — `paths`: file trees (Django media, uploads,
 * configuration) as one pax tar stream through the same writer, checks and
 * files as a database dump; the seed's `backup_files`.
 *
 * What goes into the stream, what `exclude` leaves out, and how files that
 * change while being read are handled is tartree.h's business.  Here: a
 * file that could not be read fails the backup (tartree.h stops with an
 * error naming it); a file that vanished or changed is a warning finding.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "backup.h"
#include "monotonic.h"

struct tar_feed {
	struct backup_state *b;
	struct compress_writer *w;
	uint64_t bytes; /* of the tar stream so far */
	int rc;
	char err[512];
};

static int
tar_write_cb(void *ctx, const void *buf, size_t len)
{
	struct tar_feed *f = ctx;

	if (backup_should_stop(f->b)) {
		f->rc = CT_ECANCELED;
		snprintf(f->err, sizeof(f->err), "stopped while archiving");
		return f->rc;
	}
	f->bytes += len;
	backup_progress(f->b, "archiving", f->bytes);
	f->rc = compress_writer_write(f->w, buf, len, f->err, sizeof(f->err));
	return f->rc;
}

static void
tar_warn_cb(void *ctx, const char *msg)
{
	struct backup_state *b = ctx;

	b->ct->add_finding(b->t, CT_SEV_WARNING, NULL, "%s", msg);
}

static int
tree_into(struct backup_state *b, struct tar_feed *f)
{
	const struct tartree_write_params p = {.paths = b->o.paths,
	                                       .n_paths = b->o.n_paths,
	                                       .excludes = b->o.excludes,
	                                       .n_excludes = b->o.n_excludes,
	                                       .write_cb = tar_write_cb,
	                                       .write_ctx = f,
	                                       .warn_cb = tar_warn_cb,
	                                       .warn_ctx = b};
	char err[512];
	int rc;

	rc = tartree_paths_write(&p, &b->as, err, sizeof(err));
	if (rc != 0 && f->rc != 0)
		return backup_fail(b, rc, "%s", f->err);
	if (rc != 0)
		return backup_fail(b, rc, "archiving: %s", err);
	return 0;
}

int
backup_archive_run(struct backup_state *b)
{
	struct tar_feed f = {.b = b};
	double t0 = monotonic_seconds();
	int fd = -1, rc;

	rc = backup_files_open_partial(b, &fd);
	if (rc == 0)
		rc = backup_files_writer_new(b, fd, &f.w);
	if (rc == 0) {
		backup_progress(b, "archiving", 0);
		rc = tree_into(b, &f);
	}
	if (rc == 0)
		rc = backup_files_writer_finish(b, fd, f.w);
	if (rc == 0 && b->st.raw_bytes < b->o.min_size)
		rc = backup_fail(b, CT_ECORRUPT, "the archive holds only %llu bytes, less than min_size",
		                 (unsigned long long)b->st.raw_bytes);
	compress_writer_free(f.w);
	if (fd >= 0)
		close(fd);
	b->dump_seconds = monotonic_seconds() - t0;
	return rc;
}
