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
#include <unistd.h>

#include <caretaker/errors.h>

#include "backup.h"
#include "monotonic.h"

/* The tar stream on its way into the file: where it goes, and the first
 * failure of the way (the library returns only its code). */
struct tar_feed {
	struct plugin_host *h;
	struct backup_files *f; /* the writer, and the guess of the stream's size */
	uint64_t bytes;         /* of the tar stream so far */
	int rc;
	char err[512];
};

static int
tar_write_cb(void *ctx, const void *buf, size_t len)
{
	struct tar_feed *feed = ctx;

	if (plugin_host_should_stop(feed->h)) {
		feed->rc = CT_ECANCELED;
		snprintf(feed->err, sizeof(feed->err), "stopped while archiving");
		return feed->rc;
	}
	feed->bytes += len;
	backup_progress_bytes(feed->h, "archiving", feed->bytes, feed->f->expect_bytes);
	feed->rc = compress_writer_write(feed->f->w, buf, len, feed->err, sizeof(feed->err));
	return feed->rc;
}

static void
tar_warn_cb(void *ctx, const char *msg)
{
	struct plugin_host *h = ctx;

	h->ct->add_finding(h->t, CT_SEV_WARNING, NULL, "%s", msg);
}

static int
tree_into(const struct backup_opts *o, struct tar_feed *feed, struct tartree_stats *tree)
{
	const struct tartree_write_params p = {.paths = o->paths,
	                                       .n_paths = o->n_paths,
	                                       .excludes = o->excludes,
	                                       .n_excludes = o->n_excludes,
	                                       .write_cb = tar_write_cb,
	                                       .write_ctx = feed,
	                                       .warn_cb = tar_warn_cb,
	                                       .warn_ctx = feed->h};
	char err[512];
	int rc;

	rc = tartree_paths_write(&p, tree, err, sizeof(err));
	if (rc != 0 && feed->rc != 0)
		return plugin_host_fail(feed->h, rc, "%s", feed->err);
	if (rc != 0)
		return plugin_host_fail(feed->h, rc, "archiving: %s", err);
	return 0;
}

int
backup_archive_run(struct plugin_host *h, const struct backup_opts *o, struct backup_check *c,
                   struct backup_files *f, struct tartree_stats *tree, double *seconds)
{
	struct tar_feed feed = {.h = h, .f = f};
	double t0 = monotonic_seconds();
	int rc;

	rc = backup_files_open(h, o, c, f);
	if (rc == 0) {
		backup_progress_bytes(h, "archiving", 0, f->expect_bytes);
		rc = tree_into(o, &feed, tree);
	}
	if (rc == 0)
		rc = backup_files_finish_writing(h, c, f);
	if (rc == 0 && f->st.raw_bytes < o->min_size)
		rc = plugin_host_fail(h, CT_ECORRUPT,
		                      "the archive holds only %llu bytes, less than min_size",
		                      (unsigned long long)f->st.raw_bytes);
	backup_files_close(f);
	*seconds = monotonic_seconds() - t0;
	return rc;
}
