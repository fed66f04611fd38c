/*
 * logrotate_compress.c — one rotated copy compressed through the shared
 * parallel compressor (plugins/lib/compress.h), crash-safe: the compressed
 * bytes go to a hidden temporary file beside it, which is synced and
 * renamed to its name (and the folder synced) before the uncompressed copy
 * is removed.  A kill anywhere leaves the copy whole, plus at most a
 * temporary file (removed by the next run) or a complete compressed twin
 * (the next run then removes the uncompressed copy).
 */
#define _GNU_SOURCE /* O_CLOEXEC, mkostemp */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "durable.h"
#include "logrotate.h"

/* The whole of `in` through the writer into `out`. */
static int
compress_stream(struct lr_run *run, int in, int out, const char *src, struct compress_stats *stats)
{
	struct compress_writer_params p = {
	    .kind = run->cfg.kind, .level = run->cfg.level, .n_threads = run->cfg.n_threads};
	struct compress_writer *w = NULL;
	ssize_t n = 1;
	int rc;

	rc = compress_writer_new(out, &p, &w, run->host.err, sizeof(run->host.err));
	/* No manifest keeps a digest of a log: the SHA-256 passes would cost
	 * the writing thread a pass over every byte, for nothing.  Each block
	 * still carries its own checksum (gzip's CRC-32, zstd's). */
	if (rc == 0)
		rc = compress_writer_leave_digests(w, run->host.err, sizeof(run->host.err));
	while (rc == 0 && n > 0) {
		void *buf;
		size_t len;

		rc = compress_writer_space(w, &buf, &len);
		if (rc != 0)
			break;
		n = read(in, buf, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			rc = plugin_host_fail(&run->host, CT_EIO, "cannot read %s: %s", src,
			                      strerror(errno));
		else if (n > 0)
			rc = compress_writer_commit(w, (size_t)n, run->host.err,
			                            sizeof(run->host.err));
	}
	if (rc == 0)
		rc = compress_writer_finish(w, stats, run->host.err, sizeof(run->host.err));
	compress_writer_free(w);
	return rc;
}

/* Owner, mode and modification time of the source (maxage and prune read
 * the time), then the data to disk. */
static int
compress_seal(struct lr_run *run, int out, const struct stat *st, const char *tmp)
{
	struct timespec times[2] = {st->st_atim, st->st_mtim};

	if (fchown(out, st->st_uid, st->st_gid) != 0 || fchmod(out, st->st_mode & 07777) != 0 ||
	    futimens(out, times) != 0)
		return plugin_host_fail(&run->host, CT_EPERM,
		                        "cannot set owner, mode and time of %s: %s", tmp,
		                        strerror(errno));
	return durable_fsync_fd(out, tmp, run->host.err, sizeof(run->host.err));
}

/* A copy still written to (the application has not reopened its log) is
 * left uncompressed: removing it would lose what comes next. */
static int
compress_check_quiet(struct lr_run *run, int in, const char *src, uint64_t read_bytes)
{
	struct stat st;

	if (fstat(in, &st) == 0 && (uint64_t)st.st_size == read_bytes)
		return 0;
	return plugin_host_fail(&run->host, CT_EINVAL,
	                        "%s grew while it was compressed: left uncompressed\n"
	                        "hint: delaycompress, or a postrotate that makes the application "
	                        "reopen its log",
	                        src);
}

static int
compress_finish(struct lr_run *run, const char *tmp, const char *src, const char *dst,
                const struct compress_stats *stats)
{
	char dir[PATH_MAX];
	int rc;

	lr_fault_point(run, "compressed");
	rc = durable_rename(tmp, dst, run->host.err, sizeof(run->host.err));
	if (rc != 0)
		return rc;
	lr_fault_point(run, "compress-renamed");
	durable_dirname(src, dir, sizeof(dir));
	rc = durable_unlink(src, run->host.err, sizeof(run->host.err));
	if (rc == 0)
		rc = durable_fsync_dir(dir, run->host.err, sizeof(run->host.err));
	if (rc != 0)
		return rc;
	run->totals.files_compressed++;
	run->totals.bytes_before += stats->raw_bytes;
	run->totals.bytes_after += stats->stored_bytes;
	lr_note(run, "compressed %s: %llu -> %llu bytes", dst, (unsigned long long)stats->raw_bytes,
	        (unsigned long long)stats->stored_bytes);
	return 0;
}

int
lr_compress_one(struct lr_run *run, const char *src, const char *dst)
{
	struct compress_stats stats = {0};
	char tmp[2 * PATH_MAX + 32], dir[PATH_MAX];
	struct stat st;
	int in = -1, out = -1, rc;

	in = open(src, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (in < 0 || fstat(in, &st) != 0) {
		rc = plugin_host_fail(&run->host, CT_EIO, "cannot open %s: %s", src,
		                      strerror(errno));
		goto out;
	}
	posix_fadvise(in, 0, 0, POSIX_FADV_SEQUENTIAL);
	durable_dirname(dst, dir, sizeof(dir));
	snprintf(tmp, sizeof(tmp), "%s/.%s" DURABLE_TMP_INFIX "XXXXXX", dir, lr_names_base(dst));
	out = mkostemp(tmp, O_CLOEXEC);
	if (out < 0) {
		rc = plugin_host_fail(&run->host, CT_EIO, "cannot create a file in %s: %s", dir,
		                      strerror(errno));
		goto out;
	}
	rc = compress_stream(run, in, out, src, &stats);
	if (rc == 0)
		rc = compress_check_quiet(run, in, src, stats.raw_bytes);
	if (rc == 0)
		rc = compress_seal(run, out, &st, tmp);
	if (rc == 0)
		rc = compress_finish(run, tmp, src, dst, &stats);
	if (rc != 0)
		unlink(tmp);
out:
	compress_stats_free(&stats);
	if (out >= 0)
		close(out);
	if (in >= 0)
		close(in);
	return rc;
}
