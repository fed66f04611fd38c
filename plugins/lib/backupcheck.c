/*
 * backupcheck.c — L1 and L2 verification of one backup file (see
 * backupcheck.h).
 *
 * The read: the file through compress_file_verify() (through the
 * decryption stage first when the backup is encrypted and a secret key is
 * at hand), its uncompressed stream to the "complete?" check of its format:
 *   plain  the last bytes, for pg_dump's completion trailer;
 *   custom pg_restore -f /dev/null, fed on its stdin, which must read the
 *          archive to its end and exit 0;
 *   tar    the tar stream checker (tartree.h), which must find every entry
 *          and the end-of-archive blocks.
 * An encrypted backup without the key gets L1 only: crypt_check_framing()
 * reads the file's chunk structure and SHA-256.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "tartree.h"
#include "backupcheck.h"
#include "backupcheck_read.h"
#include "crypt.h"
#include "monotonic.h"

struct check_ctx {
	const struct backupcheck_opts *o;
	struct pgtools_tail tail;
	struct pgtools_child restore; /* custom: pg_restore -f /dev/null */
	int is_restore_gone;          /* it stopped reading: its status says why */
	struct tartree_checker *tar;  /* tar: the entry-by-entry check */
	int is_tar_gone;              /* it stopped: finish says why */
	struct crypt_secret_key *sk;  /* encrypted, with the key */
	struct crypt_reader *cr;
};

/* Formats into r->detail; the arguments may be r->detail itself.  (One
 * vsnprintf, so that a long message is cut, never refused.) */
void
backupcheck_detailf(struct backupcheck_result *r, const char *fmt, ...)
{
	char buf[sizeof(r->detail)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	memcpy(r->detail, buf, sizeof(buf));
}

int
backupcheck_is_l1_only(const struct backupcheck_opts *o)
{
	return o->m->encryption_key_id != NULL && o->secret_key_path == NULL;
}

static int
is_format(const struct backupcheck_opts *o, const char *format)
{
	return strcmp(o->m->format, format) == 0;
}

static int
check_data_cb(const void *buf, size_t len, void *ctx)
{
	struct check_ctx *c = ctx;
	const struct backupcheck_opts *o = c->o;

	if (o->should_stop != NULL && o->should_stop(o->stop_ctx))
		return CT_ECANCELED;
	pgtools_tail_add(&c->tail, buf, len);
	if (c->restore.pid > 0 && !c->is_restore_gone && pgtools_feed(&c->restore, buf, len) != 0)
		c->is_restore_gone = 1;
	if (c->tar != NULL && !c->is_tar_gone && tartree_checker_push(buf, len, c->tar) != 0)
		c->is_tar_gone = 1;
	return o->also_cb != NULL ? o->also_cb(buf, len, o->also_ctx) : 0;
}

/* ---- L1 ---- */

static int
check_size(const struct backupcheck_opts *o, int fd, struct backupcheck_result *r)
{
	struct stat sb;

	if (fstat(fd, &sb) != 0) {
		backupcheck_detailf(r, "cannot stat %s: %s", o->path, strerror(errno));
		return CT_EIO;
	}
	if ((uint64_t)sb.st_size == o->m->stored_bytes)
		return 0;
	backupcheck_detailf(r, "L1 failed: the file is %llu bytes, the manifest says %llu (%s)",
	                    (unsigned long long)sb.st_size, (unsigned long long)o->m->stored_bytes,
	                    (uint64_t)sb.st_size < o->m->stored_bytes ? "truncated" : "grown");
	return CT_ECORRUPT;
}

static int
check_open(const struct backupcheck_opts *o, int *fd, struct backupcheck_result *r)
{
	*fd = open(o->path, O_RDONLY | O_CLOEXEC);
	if (*fd >= 0)
		return check_size(o, *fd, r);
	backupcheck_detailf(r, "L1 failed: %s: %s", o->path, strerror(errno));
	return errno == ENOENT ? CT_ENOENT : CT_EIO;
}

/* Encrypted, no key: the chunk framing and the SHA-256 of the file.  With
 * no digest to compare yet (a check that follows the writer) the digest
 * goes to *got for the caller to compare. */
static int
check_encrypted_l1(const struct backupcheck_opts *o, int fd, struct backupcheck_result *r,
                   struct compress_stats *got)
{
	struct crypt_stats cs;
	char err[320];
	int rc;

	rc = crypt_check_framing(fd, &cs, err, sizeof(err));
	if (rc != 0) {
		backupcheck_detailf(r, "%s%s", rc == CT_ECORRUPT ? "L1 failed: " : "", err);
		return rc;
	}
	if (got != NULL) {
		got->stored_bytes = cs.file_bytes;
		memcpy(got->stored_sha256, cs.file_sha256, sizeof(got->stored_sha256));
	}
	if (o->m->stored_sha256[0] != '\0' &&
	    strcasecmp(cs.file_sha256, o->m->stored_sha256) != 0) {
		backupcheck_detailf(r,
		                    "L1 failed: SHA-256 of the file is %s, the manifest says %.64s",
		                    cs.file_sha256, o->m->stored_sha256);
		return CT_ECORRUPT;
	}
	r->passed = MANIFEST_L1;
	backupcheck_detailf(r,
	                    "L1 ok: size, SHA-256 and the framing of %llu encrypted chunks "
	                    "match; L2 needs the secret key (decrypt_key)",
	                    (unsigned long long)cs.n_chunks);
	return 0;
}

/* After a failed L2: is the file itself damaged (L1), or only its content? */
void
backupcheck_classify(const struct backupcheck_opts *o, int fd, struct backupcheck_result *r)
{
	struct compress_expect e = {.stored_sha256 = o->m->stored_sha256};
	struct compress_verify_params p = {.kind = COMPRESS_NONE, .n_threads = 1, .expect = &e};
	char l1[320];

	r->passed = MANIFEST_L1;
	if (lseek(fd, 0, SEEK_SET) != 0 ||
	    compress_file_verify(fd, &p, NULL, l1, sizeof(l1)) != CT_ECORRUPT) {
		if (strncmp(r->detail, "L2 failed: ", 11) != 0)
			backupcheck_detailf(r, "L2 failed: %s", r->detail);
		return;
	}
	r->passed = 0;
	if (strstr(r->detail, "SHA-256 of the file") != NULL)
		backupcheck_detailf(r, "L1 failed: %s", r->detail); /* the reader said it already */
	else
		backupcheck_detailf(r, "L1 failed: %s; %s", l1, r->detail);
}

/* ---- the stream ---- */

static int
start_decryption(struct check_ctx *c, struct compress_in_stage *stage, struct backupcheck_result *r)
{
	char err[320];
	int rc;

	rc = crypt_secret_key_load(c->o->secret_key_path, &c->sk, err, sizeof(err));
	if (rc == 0)
		rc = crypt_reader_new(c->sk, &c->cr, err, sizeof(err));
	if (rc != 0) {
		backupcheck_detailf(r, "decrypt_key: %s", err);
		return rc;
	}
	crypt_reader_in_stage(c->cr, stage);
	return 0;
}

static int
check_stream(struct check_ctx *c, int fd, struct backupcheck_result *r, struct compress_stats *got)
{
	const struct backupcheck_opts *o = c->o;
	struct compress_in_stage stage;
	struct compress_expect e;
	struct compress_verify_params p = {.kind = o->m->compress,
	                                   .n_threads = o->n_threads,
	                                   .expect = &e,
	                                   .data_cb = check_data_cb,
	                                   .data_ctx = c};
	struct compress_stats st = {0};
	int rc = 0;

	manifest_expect(o->m, &e);
	if (o->m->encryption_key_id != NULL) {
		rc = start_decryption(c, &stage, r);
		p.stage = &stage;
	}
	if (rc == 0)
		rc = compress_file_verify(fd, &p, &st, r->detail, sizeof(r->detail));
	r->raw_bytes = st.raw_bytes;
	if (rc == 0)
		backupcheck_detailf(r, "%llu bytes in %zu blocks, every checksum matches",
		                    (unsigned long long)st.raw_bytes, st.n_blocks);
	if (rc == 0) {
		memcpy(r->raw_sha256, st.raw_sha256, sizeof(r->raw_sha256));
		memcpy(r->stored_sha256, st.stored_sha256, sizeof(r->stored_sha256));
	}
	if (rc == 0 && got != NULL)
		*got = st;
	else
		compress_stats_free(&st);
	return rc; /* CT_EPERM: the key is not the backup's, a fault of the setup */
}

/* ---- is the dump complete? ---- */

static int
start_completion(struct check_ctx *c, struct backupcheck_result *r)
{
	extern char **environ;
	const struct pgtools_prog *p = c->o->pg_restore;
	char err[320];
	int rc = 0;

	if (is_format(c->o, "tar"))
		rc = tartree_checker_new(&c->tar, err, sizeof(err));
	else if (is_format(c->o, "custom") && p == NULL)
		snprintf(err, sizeof(err), "a custom archive needs pg_restore to be verified");
	if (is_format(c->o, "custom") && p == NULL)
		rc = CT_EINVAL;
	else if (is_format(c->o, "custom")) {
		char *const argv[] = {(char *)p->path, "--file=/dev/null", NULL};

		rc = pgtools_spawn(p->path, argv, environ, PGTOOLS_STDIN | PGTOOLS_STDERR_BUFFER,
		                   &c->restore, err, sizeof(err));
	}
	if (rc != 0)
		backupcheck_detailf(r, "%s", err);
	return rc;
}

/* The first line of what pg_restore said. */
static void
first_line(const struct pgtools_child *child, char *out, size_t size)
{
	char buf[1024];
	size_t len = pgtools_read_stderr(child, buf, sizeof(buf));

	buf[len] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	if (buf[0] == '\0')
		snprintf(buf, sizeof(buf), "no message");
	len = strlen(buf) < size ? strlen(buf) : size - 1;
	memcpy(out, buf, len);
	out[len] = '\0';
}

static int
finish_pg_restore(struct check_ctx *c, struct backupcheck_result *r)
{
	char status_text[64], said[400];
	int status = 0;

	if (pgtools_wait(&c->restore, &status) != 0) {
		backupcheck_detailf(r, "cannot wait for pg_restore");
		return CT_ECHILD;
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && !c->is_restore_gone)
		return 0;
	pgtools_status_text(status, status_text, sizeof(status_text));
	first_line(&c->restore, said, sizeof(said));
	backupcheck_detailf(r,
	                    "L2 failed: pg_restore could not read the archive to its end (%s): %s",
	                    status_text, said);
	return CT_ECORRUPT;
}

static int
finish_tar(struct check_ctx *c, struct backupcheck_result *r)
{
	struct tartree_stats st;
	char err[320];
	int rc = tartree_checker_finish(c->tar, &st, err, sizeof(err));

	if (rc == CT_ECORRUPT)
		backupcheck_detailf(r, "L2 failed: the tar stream: %s", err);
	else if (rc != 0)
		backupcheck_detailf(r, "%s", err);
	else
		backupcheck_detailf(r, "%s; %llu files and %llu folders read", r->detail,
		                    (unsigned long long)st.n_files, (unsigned long long)st.n_dirs);
	return rc;
}

/* A failure here is L2's: every digest of the file matched. */
static int
check_complete(struct check_ctx *c, struct backupcheck_result *r)
{
	int rc = 0;

	if (c->tar != NULL)
		rc = finish_tar(c, r);
	else if (c->restore.pid > 0)
		rc = finish_pg_restore(c, r);
	else if (!pgtools_tail_is_complete(&c->tail)) {
		backupcheck_detailf(r,
		                    "L2 failed: the SQL does not end with pg_dump's completion "
		                    "line (the dump was cut short); %s",
		                    r->detail);
		rc = CT_ECORRUPT;
	}
	if (rc == CT_ECORRUPT)
		r->passed = MANIFEST_L1;
	return rc;
}

void
backupcheck_describe_pass(const struct backupcheck_opts *o, struct backupcheck_result *r)
{
	const char *how = is_format(o, "custom") ? ", pg_restore read the whole archive"
	                  : is_format(o, "tar")  ? ""
	                                         : ", the SQL ends with pg_dump's completion line";

	backupcheck_detailf(r, "L2 ok: %s%s", r->detail, how);
	r->passed = MANIFEST_L2;
}

static void
check_free(struct check_ctx *c)
{
	pgtools_stop(&c->restore);
	tartree_checker_free(c->tar);
	crypt_reader_free(c->cr);
	crypt_secret_key_free(c->sk);
}

int
backupcheck_read(const struct backupcheck_opts *o, int fd, struct backupcheck_result *r,
                 struct compress_stats *got)
{
	struct check_ctx c = {.o = o, .restore = {0, -1, -1, -1, 0}};
	int rc;

	if (backupcheck_is_l1_only(o))
		return check_encrypted_l1(o, fd, r, got);
	rc = start_completion(&c, r);
	if (rc == 0)
		rc = check_stream(&c, fd, r, got);
	pgtools_close_stdin(&c.restore);
	if (rc == 0)
		rc = check_complete(&c, r);
	check_free(&c);
	return rc;
}

int
backupcheck_run(const struct backupcheck_opts *o, struct backupcheck_result *r)
{
	double t0 = monotonic_seconds();
	int fd = -1, rc;

	*r = (struct backupcheck_result){0};
	rc = check_open(o, &fd, r);
	if (rc == 0)
		rc = backupcheck_read(o, fd, r, NULL);
	if (rc == CT_ECORRUPT && r->passed == 0 && !backupcheck_is_l1_only(o))
		backupcheck_classify(o, fd, r);
	if (rc == 0 && !backupcheck_is_l1_only(o))
		backupcheck_describe_pass(o, r);
	if (fd >= 0)
		close(fd);
	r->seconds = monotonic_seconds() - t0;
	return rc;
}
