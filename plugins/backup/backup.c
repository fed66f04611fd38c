/*
 * backup — the seed's `pg_dump -f` then `gzip`, and its unverified
 * `dbbackup`, done properly: the server's matching pg_dump streamed through
 * parallel compression into dest, per-table row counts from the dump's own
 * snapshot, fail-closed checks, a manifest written last, an L2 verification
 * of every new backup, then grandfather-father-son retention.
 *
 * This file holds the options, the entry points and the order of the
 * steps; backup.h says which file does what.  docs/backup.md is the user's
 * guide.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "backup.h"
#include "monotonic.h"
#include "pgquery.h"

/* Measured on the harness's `bench` dump (689 MB of real pg_dump SQL, see
 * tests/bench/backup-bench.sh and docs/backup.md): gzip level 2, the
 * library's default for synthetic SQL, came out 5.3% larger than `gzip -6`
 * there; level 3 is 3.2% larger and still within the time target. */
#define DEFAULT_GZIP_LEVEL 3
#define DEFAULT_ZSTD_LEVEL 1

static const struct ct_option backup_options[] = {
	{.key = "conninfo", .type = CT_OPT_STRING,
	 .help = "libpq connection string of the database to dump (default: [caretaker] "
	         "conninfo); no password here: ~/.pgpass and service files work"},
	{.key = "dest", .type = CT_OPT_PATH, .flags = CT_OPTF_REQUIRED,
	 .help = "the backup folder (created 0700 if missing); backups are "
	         "NAME-YYYYmmddTHHMMSSZ.sql.gz with NAME-....manifest.json beside"},
	{.key = "name", .type = CT_OPT_STRING,
	 .help = "file name prefix, and whose backups retention looks at (default: the job's name)"},
	{.key = "format", .type = CT_OPT_ENUM, .default_value = "plain", .choices = "plain|custom",
	 .help = "plain: SQL, restored with psql; custom: pg_dump -Fc (.dump), restored with "
	         "pg_restore (selective or parallel restores)"},
	{.key = "row_counts", .type = CT_OPT_ENUM, .default_value = "auto",
	 .choices = "auto|dump|snapshot",
	 .help = "how the manifest's per-table row counts (compared by verify's restore test) "
	         "are taken: dump counts the rows of pg_dump's output as it passes (plain "
	         "format; no extra work for the server); snapshot runs count(*) on every table "
	         "in the dump's snapshot beside the dump (reads every table a second time); "
	         "auto: dump for plain, snapshot for custom"},
	{.key = "compress", .type = CT_OPT_ENUM, .default_value = "gzip",
	 .choices = "gzip|zstd|none",
	 .help = "gzip: parallel blocks any gunzip reads; zstd: faster and smaller, zstd -d "
	         "reads it; none"},
	{.key = "level", .type = CT_OPT_INT, .default_value = "0", .min_value = 0,
	 .max_value = 19,
	 .help = "compression level, gzip 1-12, zstd 1-19; 0: the measured default (gzip 3, zstd 1)"},
	{.key = "threads", .type = CT_OPT_INT, .default_value = "0", .min_value = 0,
	 .max_value = 64, .help = "compression threads; 0: one per CPU"},
	{.key = "lock_wait_timeout", .type = CT_OPT_DURATION, .default_value = "0",
	 .help = "how long pg_dump may wait for the share lock on each table (a migration or "
	         "another session holding an exclusive lock) before the backup fails, naming "
	         "the table; 0: wait, up to the job's timeout"},
	{.key = "min_size", .type = CT_OPT_SIZE, .default_value = "512",
	 .help = "fail when pg_dump writes less than this (an empty database dumps ~700 bytes)"},
	{.key = "min_free", .type = CT_OPT_SIZE,
	 .help = "refuse to start when dest has less free space than this"},
	{.key = "min_free_factor", .type = CT_OPT_STRING, .default_value = "1.5",
	 .help = "also refuse when dest's free space is below this many times the last "
	         "backup's size (0: off)"},
	{.key = "keep_daily", .type = CT_OPT_INT, .default_value = "0", .min_value = 0,
	 .max_value = 100000,
	 .help = "retention: keep the newest backup of each of the N newest days (UTC) that have one"},
	{.key = "keep_weekly", .type = CT_OPT_INT, .default_value = "0", .min_value = 0,
	 .max_value = 100000, .help = "retention: ... of each of the N newest ISO weeks"},
	{.key = "keep_monthly", .type = CT_OPT_INT, .default_value = "0", .min_value = 0,
	 .max_value = 100000, .help = "retention: ... of each of the N newest months"},
	{.key = "keep_days", .type = CT_OPT_INT, .default_value = "0", .min_value = 0,
	 .max_value = 100000, .help = "retention: keep every backup younger than N days"},
	{.key = "keep_min", .type = CT_OPT_INT, .default_value = "0", .min_value = 0,
	 .max_value = 100000,
	 .help = "retention: always keep the N newest; retention is off while every keep_* is 0, "
	         "counts only backups verified to L2 and never deletes the newest of those"},
	{.key = "pg_bindir", .type = CT_OPT_PATH,
	 .help = "folder of pg_dump and pg_restore (default: /usr/lib/postgresql/MAJOR/bin of "
	         "the server's major version, else PATH)"},
	{.key = "paths", .type = CT_OPT_PATH_LIST,
	 .help = "files and folders to archive as one tar (.tar.gz) instead of dumping a "
	         "database; an unreadable file fails the backup"},
	{.key = "exclude", .type = CT_OPT_LIST,
	 .help = "glob patterns left out of paths (*.pyc, cache/*, __pycache__/)"},
	{.key = "encrypt_to", .type = CT_OPT_PATH,
	 .help = "a public key file (caretaker keygen): the backup is encrypted to it (.enc) and "
	         "only the secret key reads it"},
	{.key = "decrypt_key", .type = CT_OPT_PATH,
	 .help = "the secret key of encrypt_to, if this host may hold it: the job then checks "
	         "the new backup at L2; without it, L1, and retention waits for a verify job "
	         "that has the key"},
	{.key = NULL},
};

int
backup_should_stop(void *ctx)
{
	struct backup_state *b = ctx;

	return b->ct->should_stop(b->t);
}

/* The host thins the calls out, so this may run for every read. */
void
backup_progress(struct backup_state *b, const char *step, uint64_t done)
{
	double f = -1;

	if (done != BACKUP_STEP_ONLY && b->expect_bytes > 0)
		f = (double)done / (double)b->expect_bytes;
	b->ct->progress(b->t, f > 0.99 ? 0.99 : f, step);
}

int
backup_fail(struct backup_state *b, int rc, const char *fmt, ...)
{
	va_list ap;

	if (b->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(b->err, sizeof(b->err), fmt, ap);
		va_end(ap);
	}
	return rc;
}

/* ---- init ---- */

/* Every INT option has a default, so the getter always answers. */
static void
opt_int(struct backup_state *b, const char *key, int64_t *v)
{
	*v = 0;
	(void)b->ct->opt_int(b->t, key, v);
}

static int
read_level(struct backup_state *b, int64_t level)
{
	static const int defaults[COMPRESS__LAST] = {0, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL};
	static const int max[COMPRESS__LAST] = {0, 12, 19};

	if (level == 0) {
		b->o.level = defaults[b->o.kind];
		return 0;
	}
	if (level > max[b->o.kind] && b->o.kind == COMPRESS_NONE) {
		b->ct->set_status(b->t, CT_STATUS_FAIL, "level: compress = none takes no level");
		return CT_EINVAL;
	}
	if (level > max[b->o.kind]) {
		b->ct->set_status(b->t, CT_STATUS_FAIL, "level: %s takes 1-%d, not %lld",
		                  compress_kind_name(b->o.kind), max[b->o.kind], (long long)level);
		return CT_EINVAL;
	}
	b->o.level = (int)level;
	return 0;
}

static int
read_factor(struct backup_state *b)
{
	const char *s = "1.5";
	char *end;

	b->ct->opt_string(b->t, "min_free_factor", &s);
	b->o.min_free_factor = strtod(s, &end);
	if (end == s || *end != '\0' || !(b->o.min_free_factor >= 0 && b->o.min_free_factor < 1e12)) {
		b->ct->set_status(b->t, CT_STATUS_FAIL,
		                  "min_free_factor: '%s' is not a number, 0 or more", s);
		return CT_EINVAL;
	}
	return 0;
}

static int
read_name(struct backup_state *b)
{
	const char *n = b->ct->job_name(b->t);

	b->ct->opt_string(b->t, "name", &n);
	if (n[0] == '\0' || n[0] == '.' || strspn(n, "abcdefghijklmnopqrstuvwxyz"
	                                             "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") !=
	                                          strlen(n)) {
		b->ct->set_status(b->t, CT_STATUS_FAIL,
		                  "name: '%s' must be letters, digits, '.', '_' and '-'", n);
		return CT_EINVAL;
	}
	b->o.name = n;
	return 0;
}

static void
read_policy(struct backup_state *b)
{
	struct backupset_policy *p = &b->o.policy;

	opt_int(b, "keep_daily", &p->daily);
	opt_int(b, "keep_weekly", &p->weekly);
	opt_int(b, "keep_monthly", &p->monthly);
	opt_int(b, "keep_days", &p->days);
	opt_int(b, "keep_min", &p->min);
}

/* encrypt_to: the public key now, so that a bad file fails before any
 * dump; paths: file trees, which need no database. */
static int
read_targets(struct backup_state *b)
{
	char err[400];

	if (b->o.encrypt_to != NULL &&
	    crypt_public_key_load(b->o.encrypt_to, &b->o.pk, err, sizeof(err)) != 0) {
		b->ct->set_status(b->t, CT_STATUS_FAIL, "encrypt_to: %s", err);
		return CT_ECONFIG;
	}
	if (b->o.n_paths > 0 && b->o.conninfo != NULL) {
		b->ct->set_status(b->t, CT_STATUS_FAIL,
		                  "paths and conninfo: a job backs up file trees or a database, "
		                  "not both\nhint: make two jobs");
		return CT_ECONFIG;
	}
	if (b->o.n_excludes > 0 && b->o.n_paths == 0) {
		b->ct->set_status(b->t, CT_STATUS_FAIL, "exclude applies to paths, which is not set");
		return CT_ECONFIG;
	}
	return 0;
}

/* Counting in the dump's output needs the plain format's COPY sections. */
static int
read_counts(struct backup_state *b, const char *counts)
{
	int is_custom = strcmp(b->o.format, "custom") == 0;

	if (strcmp(counts, "dump") == 0 && is_custom) {
		b->ct->set_status(b->t, CT_STATUS_FAIL,
		                  "row_counts = dump reads the rows of a plain dump; this job has "
		                  "format = custom\nhint: row_counts = snapshot, or leave it unset");
		return CT_ECONFIG;
	}
	b->o.counts_in_dump = strcmp(counts, "dump") == 0 || (strcmp(counts, "auto") == 0 && !is_custom);
	return 0;
}

static int
read_options(struct backup_state *b)
{
	const struct ct_services *ct = b->ct;
	const char *kind = "gzip", *counts = "auto";
	int64_t level = 0, threads = 0;
	int rc;

	ct->opt_string(b->t, "conninfo", &b->o.conninfo);
	ct->opt_string(b->t, "dest", &b->o.dest);
	ct->opt_string(b->t, "format", &b->o.format);
	ct->opt_string(b->t, "row_counts", &counts);
	ct->opt_string(b->t, "compress", &kind);
	ct->opt_string(b->t, "pg_bindir", &b->o.pg_bindir);
	ct->opt_string(b->t, "encrypt_to", &b->o.encrypt_to);
	ct->opt_string(b->t, "decrypt_key", &b->o.decrypt_key);
	ct->opt_list(b->t, "paths", &b->o.paths, &b->o.n_paths);
	ct->opt_list(b->t, "exclude", &b->o.excludes, &b->o.n_excludes);
	ct->opt_duration_ms(b->t, "lock_wait_timeout", &b->o.lock_wait_ms);
	ct->opt_size_bytes(b->t, "min_size", &b->o.min_size);
	ct->opt_size_bytes(b->t, "min_free", &b->o.min_free);
	opt_int(b, "level", &level);
	opt_int(b, "threads", &threads);
	b->o.n_threads = (int)threads;
	read_policy(b);
	rc = compress_kind_parse(kind, &b->o.kind, NULL, 0);
	if (rc == 0)
		rc = read_counts(b, counts);
	if (rc == 0)
		rc = read_level(b, level);
	if (rc == 0)
		rc = read_factor(b);
	if (rc == 0)
		rc = read_name(b);
	if (rc == 0)
		rc = read_targets(b);
	return rc;
}

static int
backup_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct backup_state *b = calloc(1, sizeof(*b));

	if (b == NULL)
		return CT_ENOMEM;
	*state = b;
	b->t = t;
	b->ct = ct;
	b->o.format = "plain";
	if (gethostname(b->host, sizeof(b->host) - 1) != 0)
		snprintf(b->host, sizeof(b->host), "unknown");
	return read_options(b);
}

/* ---- run ---- */

static int
find_programs(struct backup_state *b)
{
	char err[512];
	int rc;

	rc = pgtools_find("pg_dump", b->o.pg_bindir, b->s.server_version_num, &b->pg_dump, err,
	                  sizeof(err));
	if (rc == 0 && strcmp(b->o.format, "custom") == 0)
		rc = pgtools_find("pg_restore", b->o.pg_bindir, b->s.server_version_num,
		                  &b->pg_restore, err, sizeof(err));
	if (rc != 0)
		return backup_fail(b, rc, "%s", err);
	return 0;
}

/* --dry-run: check what can be checked, show what retention would do,
 * dump nothing. */
static int
backup_plan(struct backup_state *b)
{
	int rc = 0;

	if (b->o.n_paths == 0)
		rc = backup_session_open(b);
	if (rc == 0 && b->o.n_paths == 0)
		rc = find_programs(b);
	if (rc == 0)
		rc = backup_files_check_space(b);
	if (rc == 0)
		(void)backup_retain_apply(b);
	return rc;
}

/* pg_dump in its snapshot, with the maintenance lock held. */
static int
dump_database(struct backup_state *b)
{
	int rc;

	rc = backup_session_open(b);
	if (rc == 0)
		rc = find_programs(b);
	if (rc == 0)
		rc = backup_session_begin(b);
	if (rc == 0)
		rc = backup_dump_run(b);
	b->finished_at = time(NULL);
	backup_session_end(b);
	return rc;
}

/* Everything up to a verified file under its final name with its manifest. */
static int
make_backup(struct backup_state *b)
{
	int rc;

	rc = backup_files_prepare(b);
	if (rc == 0)
		rc = backup_files_check_space(b);
	if (rc == 0 && b->o.n_paths > 0) {
		rc = backup_archive_run(b);
		b->finished_at = time(NULL);
	} else if (rc == 0) {
		rc = dump_database(b);
	}
	if (rc == 0)
		rc = backup_files_verify(b);
	if (rc == 0)
		rc = backup_files_finish(b);
	if (rc != 0)
		backup_files_discard(b);
	return rc;
}

/* Retention only counts backups verified to L2, and runs only after the
 * new one got there. */
static void
retain(struct backup_state *b)
{
	if (b->check.passed >= MANIFEST_L2) {
		(void)backup_retain_apply(b);
		return;
	}
	if (backupset_policy_is_active(&b->o.policy))
		b->ct->add_finding(b->t, CT_SEV_WARNING, b->file_path,
		                   "retention skipped: the new backup is encrypted and checked at L1 "
		                   "only (set decrypt_key, or verify it with the key)");
}

static int
backup_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct backup_state *b = state;
	double t0 = monotonic_seconds();
	int rc;

	(void)t;
	(void)ct;
	if (b->ct->is_dry_run(b->t))
		return backup_plan(b);
	rc = make_backup(b);
	if (rc == 0)
		retain(b);
	b->run_seconds = monotonic_seconds() - t0;
	return rc;
}

/* ---- report ---- */

static void
report_metrics(struct backup_state *b)
{
	const struct ct_services *ct = b->ct;
	double raw = (double)b->st.raw_bytes, stored = (double)b->st.stored_bytes;

	ct->add_metric(b->t, "bytes", stored, "bytes");
	ct->add_metric(b->t, "raw_bytes", raw, "bytes");
	ct->add_metric(b->t, "ratio", stored > 0 ? raw / stored : 0, "ratio");
	ct->add_metric(b->t, "duration_seconds", b->run_seconds, "seconds");
	ct->add_metric(b->t, "dump_seconds", b->dump_seconds, "seconds");
	ct->add_metric(b->t, "throughput_bytes_per_second",
	               b->dump_seconds > 0 ? raw / b->dump_seconds : 0, "bytes/s");
	ct->add_metric(b->t, "verify_seconds", b->check.seconds, "seconds");
	ct->add_metric(b->t, "tables", (double)b->s.n_tables, "");
	ct->add_metric(b->t, "retention_deleted", (double)b->n_deleted, "");
	ct->add_metric(b->t, "retention_kept", (double)b->n_kept, "");
}

static void
report_plan(struct backup_state *b)
{
	if (b->err[0] != '\0') {
		b->ct->set_status(b->t, CT_STATUS_FAIL, "dry run: %s", b->err);
		return;
	}
	if (b->o.n_paths > 0)
		b->ct->set_status(b->t, CT_STATUS_OK,
		                  "dry run: would archive %zu path(s) into %s; retention would delete "
		                  "%zu and keep %zu backup(s)",
		                  b->o.n_paths, b->o.dest, b->n_deleted, b->n_kept);
	else
		b->ct->set_status(b->t, CT_STATUS_OK,
		                  "dry run: would dump %s (PostgreSQL %s) with %s into %s; retention "
		                  "would delete %zu and keep %zu backup(s)",
		                  b->s.database, b->s.server_version, b->pg_dump.path, b->o.dest,
		                  b->n_deleted, b->n_kept);
}

static int
backup_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct backup_state *b = state;
	double raw = (double)b->st.raw_bytes, stored = (double)b->st.stored_bytes;

	(void)t;
	if (ct->is_dry_run(b->t)) {
		report_plan(b);
		return CT_OK;
	}
	if (!b->is_done) {
		ct->set_status(b->t, CT_STATUS_FAIL, "%s", b->err[0] ? b->err : "backup failed");
		return CT_OK;
	}
	report_metrics(b);
	ct->add_artifact(b->t, "backup", b->file_path);
	ct->add_artifact(b->t, "manifest", b->manifest_path);
	ct->set_status(b->t, b->retain_err[0] ? CT_STATUS_WARN : CT_STATUS_OK,
	               "%s: %.1f MiB %s to %.1f MiB (%.2fx, %s %d%s) in %.1f s, verified L%d; "
	               "retention kept %zu, deleted %zu%s%s",
	               b->file_name, raw / 1048576.0, b->o.n_paths > 0 ? "archived" : "dumped",
	               stored / 1048576.0, stored > 0 ? raw / stored : 0,
	               compress_kind_name(b->o.kind), b->o.level, b->o.encrypt_to ? ", encrypted" : "",
	               b->run_seconds, b->check.passed, b->n_kept, b->n_deleted,
	               b->retain_err[0] ? "; " : "", b->retain_err);
	return CT_OK;
}

static void
backup_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct backup_state *b = state;

	(void)t;
	(void)ct;
	if (b == NULL)
		return;
	backupcheck_follow_free(b->follow);
	compress_stats_free(&b->st);
	crypt_writer_free(b->cw);
	pgquery_tables_free(b->s.tables, b->s.n_tables);
	free(b);
}

CT_PLUGIN_DEFINE(.name = "backup", .version = BACKUP_PLUGIN_VERSION,
                 .summary = "pg_dump through parallel compression, verified, with a manifest "
                            "and retention",
                 .help = "Runs the server's own major version of pg_dump (no shell; the "
                         "connection, password included, goes to it in libpq's environment "
                         "variables, never in its arguments), counts every table's rows in "
                         "the dump's own snapshot, and streams the dump through parallel "
                         "gzip or zstd into dest under a temporary name. The backup fails, "
                         "and leaves nothing, on any pg_dump error, a missing completion "
                         "line, output below min_size, a failed write or fsync, or a stop "
                         "request. A new backup is verified (L2: every block and digest, "
                         "the completion line) before it gets its name; its manifest is "
                         "written last. Retention then runs over the backups verified to L2. "
                         "While pg_dump runs the job holds the shared maintenance advisory "
                         "lock, so strong-lock maintenance skips instead of queueing behind "
                         "the dump. See docs/backup.md.",
                 .flags = CT_PLUGIN_DRY_RUN | CT_PLUGIN_USES_PG, .options = backup_options,
                 .init = backup_init, .run = backup_run, .report = backup_report,
                 .fini = backup_fini);
