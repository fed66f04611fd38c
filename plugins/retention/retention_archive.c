/*
 * retention_archive.c — archive_to: every batch's rows in a compressed,
 * checksummed file, durable before the batch's delete commits.
 *
 * One batch, in one transaction:
 *   BEGIN; SELECT txid_current()
 *   COPY (DELETE ... RETURNING columns) TO STDOUT
 *       -> .NAME.partial through the compression writer (libctcompress:
 *          gzip blocks any gunzip reads, or zstd; SHA-256 of the rows and
 *          of the file), fsync
 *   the sidecar NAME.json in state "pending", with the transaction id
 *       (durable_replace: temporary file, fsync, rename, fsync of the folder)
 *   .NAME.partial -> NAME, fsync of the folder
 *   COMMIT
 *   the sidecar again, state "committed"
 * The delete is part of the transaction from the start, so the file holds
 * exactly the rows deleted; no other session sees them gone before the
 * COMMIT, and the COMMIT is sent only once the file, its name and its
 * sidecar are on disk.  Any failure before it rolls the delete back and
 * removes the files: a failure to archive deletes nothing.  A crash (kill
 * -9, power) before the COMMIT leaves the delete rolled back by the server
 * and at most a partial file and a "pending" sidecar, which the next run
 * settles with txid_status() (retention_sidecar.c).
 *
 * Why a sidecar of its own and not plugins/lib/manifest.h: a manifest
 * describes a dump (pg_dump's version, every table's row count, its
 * verification history, read by the backup listing and retention), none
 * of which an archive of deleted rows has, while the archive needs what a
 * manifest lacks (the column list for COPY FROM, the cutoff, the
 * transaction id and whether it committed).  The sidecar is small JSON
 * through jansson, written with the same durable_replace(); the
 * compression and its digests are libctcompress's, as for backups.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "monotonic.h"
#include "retention.h"

/* Archive files named as artifacts of a run; past this the summary counts
 * them (a first run over years of rows makes thousands). */
#define MAX_ARTIFACTS 1000
/* The rows of one batch are a few MiB: small blocks keep memory small. */
#define ARCHIVE_BLOCK_BYTES ((size_t)1 << 20)

/* mkdir -p, each missing folder 0700: archives of people's records are
 * nobody else's to read. */
static int
make_folders(const char *path)
{
	char buf[4096];
	size_t len = strlen(path);

	if (len >= sizeof(buf)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0700) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0700) != 0 && errno != EEXIST ? -1 : 0;
}

int
retention_archive_prepare(struct plugin_host *h, const struct retention_opts *o)
{
	struct stat sb;

	if (make_folders(o->archive_to) != 0)
		return plugin_host_fail(h, CT_ESYS, "archive_to: cannot create %s: %s",
		                        o->archive_to, strerror(errno));
	if (stat(o->archive_to, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return plugin_host_fail(h, CT_EINVAL, "archive_to: %s is not a folder",
		                        o->archive_to);
	if (access(o->archive_to, W_OK | X_OK) != 0)
		return plugin_host_fail(
		    h, CT_EPERM, "archive_to: %s is not writable by the job's user", o->archive_to);
	return 0;
}

/* ---- the statements around the file ---- */

static int
exec_simple(PGconn *conn, const char *sql, char *err, size_t err_size)
{
	return pgquery_exec(conn, sql, NULL, NULL, NULL, err, err_size);
}

static int
read_xid(PGconn *conn, long long *xid, char *err, size_t err_size)
{
	PGresult *res = NULL;
	int rc;

	rc = pgquery_exec(conn, "SELECT txid_current()", NULL, NULL, &res, err, err_size);
	if (rc == 0)
		*xid = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
	PQclear(res);
	return rc;
}

/* ---- the file ---- */

static int
name_files(struct plugin_host *h, const struct retention_archive_batch *b, int64_t seq,
           struct retention_archive_file *f, char *err, size_t err_size)
{
	const char *dir = b->o->archive_to, *job = h->ct->job_name(h->t);
	int n;

	n = snprintf(f->name, sizeof(f->name), "%s-%s-%06" PRId64 ".copy%s", job, b->c->stamp, seq,
	             compress_kind_suffix(b->o->archive_kind));
	if (n > 0 && (size_t)n < sizeof(f->name))
		n = snprintf(f->path, sizeof(f->path), "%s/%s", dir, f->name);
	if (n > 0 && (size_t)n < sizeof(f->path))
		n = snprintf(f->partial_path, sizeof(f->partial_path), "%s/.%s.partial", dir,
		             f->name);
	if (n > 0 && (size_t)n < sizeof(f->partial_path))
		n = snprintf(f->sidecar_path, sizeof(f->sidecar_path),
		             "%s/%s-%s-%06" PRId64 ".json", dir, job, b->c->stamp, seq);
	if (n > 0 && (size_t)n < sizeof(f->sidecar_path))
		return 0;
	snprintf(err, err_size, "archive_to: the path is too long: %s", dir);
	return CT_EINVAL;
}

static int
open_partial(const struct retention_archive_batch *b, struct retention_archive_file *f, char *err,
             size_t err_size)
{
	struct compress_writer_params p = {
	    .kind = b->o->archive_kind, .n_threads = 1, .block_bytes = ARCHIVE_BLOCK_BYTES};

	f->fd = open(f->partial_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f->fd < 0) {
		snprintf(err, err_size, "cannot create %s: %s", f->partial_path, strerror(errno));
		return CT_ESYS;
	}
	f->is_partial = 1;
	return compress_writer_new(f->fd, &p, &f->w, err, err_size);
}

static int
sink_row(void *ctx, const char *buf, size_t len)
{
	struct retention_archive_file *f = ctx;

	return compress_writer_write(f->w, buf, len, f->err, sizeof(f->err));
}

/* The writer's last blocks and digests, then the file's data on disk. */
static int
finish_partial(struct retention_archive_file *f, char *err, size_t err_size)
{
	int rc;

	rc = compress_writer_finish(f->w, &f->st, f->err, sizeof(f->err));
	if (rc != 0)
		snprintf(err, err_size, "writing %s: %s", f->partial_path, f->err);
	if (rc == 0)
		rc = durable_fsync_fd(f->fd, f->partial_path, err, err_size);
	if (close(f->fd) != 0 && rc == 0) {
		snprintf(err, err_size, "cannot close %s: %s", f->partial_path, strerror(errno));
		rc = CT_EIO;
	}
	f->fd = -1;
	return rc;
}

static void
close_file(struct retention_archive_file *f)
{
	compress_writer_free(f->w);
	f->w = NULL;
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
}

/* What a batch that did not commit leaves: nothing. */
static void
discard_files(const char *dir, struct retention_archive_file *f)
{
	char err[256];

	close_file(f);
	if (f->is_partial)
		(void)unlink(f->partial_path);
	if (f->is_renamed)
		(void)unlink(f->path);
	if (f->is_sidecar)
		(void)unlink(f->sidecar_path);
	if (f->is_partial || f->is_renamed || f->is_sidecar)
		(void)durable_fsync_dir(dir, err, sizeof(err));
	f->is_partial = f->is_renamed = f->is_sidecar = 0;
}

/* ---- one batch ---- */

/* COPY of the delete's RETURNING rows into the partial file. */
static int
copy_rows(struct plugin_host *h, PGconn *conn, const struct retention_archive_batch *b,
          struct retention_archive_file *f, char *err, size_t err_size)
{
	struct retention_copy cp = {
	    .sink = sink_row, .sink_ctx = f, .should_stop = plugin_host_should_stop, .stop_ctx = h};
	char *sql = NULL;
	int rc;

	if (retention_sprintf(&sql, "COPY (%s) TO STDOUT", b->sql) != 0) {
		snprintf(err, err_size, "out of memory building a statement");
		return CT_ENOMEM;
	}
	cp.sql = sql;
	rc = retention_copy_out(conn, &cp, &f->rows, err, err_size);
	if (rc != 0 && f->err[0] != '\0')
		snprintf(err, err_size, "writing %s: %s", f->partial_path, f->err);
	free(sql);
	return rc;
}

/* Everything up to the COMMIT: the rows deleted into a durable file. */
static int
write_batch(struct plugin_host *h, PGconn *conn, const struct retention_archive_batch *b,
            struct retention_archive_file *f, char *err, size_t err_size)
{
	int rc;

	rc = read_xid(conn, &f->xid, err, err_size);
	if (rc == 0)
		rc = open_partial(b, f, err, err_size);
	if (rc == 0)
		rc = copy_rows(h, conn, b, f, err, err_size);
	if (rc == 0 && f->rows == 0)
		return 0;
	if (rc == 0)
		rc = finish_partial(f, err, err_size);

	if (rc == 0) {
		rc = retention_sidecar_write(h, b, f, 0, err, err_size);
		f->is_sidecar = rc == 0;
	}
	if (rc == 0)
		rc = durable_rename(f->partial_path, f->path, err, err_size);
	if (rc == 0) {
		f->is_partial = 0;
		f->is_renamed = 1;
	}
	return rc;
}

/* A COMMIT that failed on a live connection was rolled back; on a broken
 * one nobody knows: the pending sidecar stays for the next run. */
static int
commit(PGconn *conn, struct retention_archive_file *f, char *err, size_t err_size)
{
	int rc = exec_simple(conn, "COMMIT", err, err_size);

	if (rc != 0 && PQstatus(conn) == CONNECTION_BAD)
		f->is_partial = f->is_renamed = f->is_sidecar = 0;
	return rc;
}

static void
count_file(struct plugin_host *h, const struct retention_archive_file *f,
           struct retention_archive *ar)
{
	ar->n_files++;
	ar->n_rows += f->rows;
	ar->raw_bytes += f->st.raw_bytes;
	ar->stored_bytes += f->st.stored_bytes;
	if (ar->n_files <= MAX_ARTIFACTS)
		h->ct->add_artifact(h->t, "archive", f->path);
}

/* After the COMMIT: the sidecar says so.  Failing here loses nothing (the
 * next run settles a pending sidecar), so it is a warning. */
static void
mark_committed(struct plugin_host *h, const struct retention_archive_batch *b,
               struct retention_archive_file *f)
{
	char err[1024];

	if (retention_sidecar_write(h, b, f, 1, err, sizeof(err)) != 0)
		h->ct->add_finding(h->t, CT_SEV_WARNING, f->sidecar_path,
		                   "the batch is archived and deleted, but its sidecar still says "
		                   "pending: %s; the next run settles it",
		                   err);
}

/* Ends a batch that does not commit: the transaction rolled back (its
 * delete with it), its files removed. */
static void
abandon(PGconn *conn, const char *dir, struct retention_archive_file *f)
{
	char scratch[256];

	if (PQtransactionStatus(conn) != PQTRANS_IDLE)
		(void)exec_simple(conn, "ROLLBACK", scratch, sizeof(scratch));
	discard_files(dir, f);
}

int
retention_archive_batch(struct plugin_host *h, PGconn *conn,
                        const struct retention_archive_batch *b, struct retention_archive *ar,
                        int64_t *rows, char *err, size_t err_size)
{
	struct retention_archive_file f = {.fd = -1};
	double t0 = monotonic_seconds();
	int rc;

	rc = name_files(h, b, ar->seq + 1, &f, err, err_size);
	if (rc == 0)
		rc = exec_simple(conn, "BEGIN", err, err_size);
	if (rc == 0)
		rc = write_batch(h, conn, b, &f, err, err_size);
	if (rc == 0 && f.rows > 0)
		rc = commit(conn, &f, err, err_size);
	if (rc != 0 || f.rows == 0)
		abandon(conn, b->o->archive_to, &f);
	*b->transaction_s = monotonic_seconds() - t0;
	*rows = rc == 0 ? f.rows : 0;
	if (rc == 0 && f.rows > 0) {
		ar->seq++;
		close_file(&f);
		mark_committed(h, b, &f);
		count_file(h, &f, ar);
	}
	compress_stats_free(&f.st);
	return rc;
}
