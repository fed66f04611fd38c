/*
 * backup — the seed's `pg_dump -f` then `gzip`, and its unverified
 * `dbbackup`, done properly: the server's matching pg_dump streamed through
 * parallel compression into dest, per-table row counts from the dump's own
 * snapshot, fail-closed checks, a manifest written last, an L2 verification
 * of every new backup, then grandfather-father-son retention.
 *
 * This file holds the entry points, the order of the steps and the report.
 * struct backup_run owns each step's struct; the functions here hand every
 * step its part, so what a step reads and writes shows at its call.
 * backup.h says which file does what; docs/backup.md is the user's guide.
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
#include "pgtables.h"

/* One run of the job, from init to fini. */
struct backup_run {
	struct plugin_host host;
	struct backup_opts o;
	struct backup_session s;
	struct backup_programs progs;
	struct backup_files f;
	struct backup_check check;
	struct tartree_stats tree; /* paths: what went into the tar stream */
	struct manifest m;         /* describes the new backup (borrows from the run) */
	struct backup_retention retention;
	char host_name[256];
	double dump_seconds; /* the dump or the archive, up to the synced file */
	double run_seconds;
};

/* ---- the host's services for every step ---- */

/* The host thins the calls out, so this may run for every read. */
void
backup_progress_bytes(struct plugin_host *h, const char *step, uint64_t done, uint64_t expect_bytes)
{
	double f = -1;

	if (expect_bytes > 0)
		f = (double)done / (double)expect_bytes;
	h->ct->progress(h->t, f > 0.99 ? 0.99 : f, step);
}

void
backup_progress_step(struct plugin_host *h, const char *step)
{
	h->ct->progress(h->t, -1, step);
}

/* ---- init ---- */

static int
backup_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct backup_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);

	if (r == NULL)
		return CT_ENOMEM;
	r->f.fd = -1;
	if (gethostname(r->host_name, sizeof(r->host_name) - 1) != 0)
		snprintf(r->host_name, sizeof(r->host_name), "unknown");
	return backup_opts_read(&r->host, &r->o);
}

/* ---- run ---- */

static int
find_programs(struct plugin_host *h, const struct backup_opts *o, int server_version_num,
              struct backup_programs *progs)
{
	char err[512];
	int rc;

	rc = pgtools_find("pg_dump", o->pg_bindir, server_version_num, &progs->pg_dump, err,
	                  sizeof(err));
	if (rc == 0 && strcmp(o->format, "custom") == 0)
		rc = pgtools_find("pg_restore", o->pg_bindir, server_version_num,
		                  &progs->pg_restore, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(h, rc, "%s", err);
	return 0;
}

/* --dry-run: check what can be checked, show what retention would do,
 * dump nothing. */
static int
plan(struct backup_run *r)
{
	int rc = 0;

	if (r->o.n_paths == 0)
		rc = backup_session_open(&r->host, r->o.conninfo, &r->s);
	if (rc == 0 && r->o.n_paths == 0)
		rc = find_programs(&r->host, &r->o, r->s.server_version_num, &r->progs);
	if (rc == 0)
		rc = backup_files_check_space(&r->host, &r->o, &r->f);
	if (rc == 0)
		(void)backup_retain_apply(&r->host, &r->o, &r->retention);
	return rc;
}

/* pg_dump in its snapshot, with the maintenance lock held. */
static int
dump_database(struct backup_run *r)
{
	int rc;

	rc = backup_session_open(&r->host, r->o.conninfo, &r->s);
	if (rc == 0)
		rc = find_programs(&r->host, &r->o, r->s.server_version_num, &r->progs);
	if (rc == 0)
		backup_check_setup(&r->host, &r->o, &r->f, &r->progs.pg_restore, &r->m, &r->check);
	if (rc == 0)
		rc = backup_session_begin(&r->host, &r->s, &r->f.expect_bytes);
	if (rc == 0)
		rc = backup_dump_run(&r->host, &r->o, &r->progs.pg_dump, &r->s, &r->check, &r->f,
		                     &r->dump_seconds);
	r->m.finished_at = time(NULL);
	backup_session_end(&r->s);
	backup_manifest_dump(&r->s, &r->progs.pg_dump, &r->m);
	return rc;
}

/* o->paths as one tar stream. */
static int
archive_paths(struct backup_run *r)
{
	int rc;

	backup_check_setup(&r->host, &r->o, &r->f, &r->progs.pg_restore, &r->m, &r->check);
	rc = backup_archive_run(&r->host, &r->o, &r->check, &r->f, &r->tree, &r->dump_seconds);
	r->m.finished_at = time(NULL);
	backup_manifest_tree(&r->o, &r->tree, &r->m);
	return rc;
}

/* Everything up to a verified file under its final name with its manifest. */
static int
make_backup(struct backup_run *r)
{
	int rc;

	rc = backup_files_prepare(&r->host, &r->o, &r->f);
	if (rc == 0)
		rc = backup_files_check_space(&r->host, &r->o, &r->f);
	if (rc == 0) {
		backup_manifest_begin(&r->o, &r->f, r->host_name, r->host.ct->host_version(),
		                      &r->m);
		rc = r->o.n_paths > 0 ? archive_paths(r) : dump_database(r);
	}
	if (rc == 0) {
		backup_manifest_stream(&r->f.st, &r->m);
		rc = backup_check_run(&r->host, &r->check, &r->f.st, &r->m);
	}
	if (rc == 0)
		rc = backup_files_publish(&r->host, &r->m, &r->f);
	if (rc != 0) {
		backup_check_abandon(&r->check);
		backup_files_discard(r->o.dest, &r->f);
	}
	return rc;
}

/* Retention only counts backups verified to L2, and runs only after the
 * new one got there. */
static void
retain(struct plugin_host *h, const struct backup_opts *o, const struct backup_check *c,
       const struct backup_files *f, struct backup_retention *rt)
{
	if (c->result.passed >= MANIFEST_L2) {
		(void)backup_retain_apply(h, o, rt);
		return;
	}
	if (backupset_policy_is_active(&o->policy))
		h->ct->add_finding(
		    h->t, CT_SEV_WARNING, f->file_path,
		    "retention skipped: the new backup is encrypted and checked at L1 "
		    "only (set decrypt_key, or verify it with the key)");
}

static int
backup_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct backup_run *r = state;
	double t0 = monotonic_seconds();
	int rc;

	(void)t;
	(void)ct;
	if (r->host.ct->is_dry_run(r->host.t))
		return plan(r);
	rc = make_backup(r);
	if (rc == 0)
		retain(&r->host, &r->o, &r->check, &r->f, &r->retention);
	r->run_seconds = monotonic_seconds() - t0;
	return rc;
}

/* ---- report ---- */

static void
report_metrics(const struct backup_run *r)
{
	const struct plugin_host *h = &r->host;
	double raw = (double)r->f.st.raw_bytes, stored = (double)r->f.st.stored_bytes;

	h->ct->add_metric(h->t, "bytes", stored, "bytes");
	h->ct->add_metric(h->t, "raw_bytes", raw, "bytes");
	h->ct->add_metric(h->t, "ratio", stored > 0 ? raw / stored : 0, "ratio");
	h->ct->add_metric(h->t, "duration_seconds", r->run_seconds, "seconds");
	h->ct->add_metric(h->t, "dump_seconds", r->dump_seconds, "seconds");
	h->ct->add_metric(h->t, "throughput_bytes_per_second",
	                  r->dump_seconds > 0 ? raw / r->dump_seconds : 0, "bytes/s");
	h->ct->add_metric(h->t, "verify_seconds", r->check.result.seconds, "seconds");
	h->ct->add_metric(h->t, "tables", (double)r->s.n_tables, "");
	h->ct->add_metric(h->t, "retention_deleted", (double)r->retention.n_deleted, "");
	h->ct->add_metric(h->t, "retention_kept", (double)r->retention.n_kept, "");
}

static void
report_plan(const struct backup_run *r)
{
	const struct plugin_host *h = &r->host;
	const struct backup_retention *rt = &r->retention;

	if (h->err[0] != '\0') {
		h->ct->set_status(h->t, CT_STATUS_FAIL, "dry run: %s", h->err);
		return;
	}
	if (r->o.n_paths > 0)
		h->ct->set_status(
		    h->t, CT_STATUS_OK,
		    "dry run: would archive %zu path(s) into %s; retention would delete "
		    "%zu and keep %zu backup(s)",
		    r->o.n_paths, r->o.dest, rt->n_deleted, rt->n_kept);
	else
		h->ct->set_status(
		    h->t, CT_STATUS_OK,
		    "dry run: would dump %s (PostgreSQL %s) with %s into %s; retention "
		    "would delete %zu and keep %zu backup(s)",
		    r->s.database, r->s.server_version, r->progs.pg_dump.path, r->o.dest,
		    rt->n_deleted, rt->n_kept);
}

/* The result line of a backup that got its name. */
static void
report_done(const struct backup_run *r)
{
	const struct plugin_host *h = &r->host;
	const struct backup_retention *rt = &r->retention;
	double raw = (double)r->f.st.raw_bytes, stored = (double)r->f.st.stored_bytes;

	h->ct->add_artifact(h->t, "backup", r->f.file_path);
	h->ct->add_artifact(h->t, "manifest", r->f.manifest_path);
	h->ct->set_status(
	    h->t, rt->err[0] ? CT_STATUS_WARN : CT_STATUS_OK,
	    "%s: %.1f MiB %s to %.1f MiB (%.2fx, %s %d%s) in %.1f s, verified L%d; "
	    "retention kept %zu, deleted %zu%s%s",
	    r->f.file_name, raw / 1048576.0, r->o.n_paths > 0 ? "archived" : "dumped",
	    stored / 1048576.0, stored > 0 ? raw / stored : 0, compress_kind_name(r->o.kind),
	    r->o.level, r->o.encrypt_to ? ", encrypted" : "", r->run_seconds,
	    r->check.result.passed, rt->n_kept, rt->n_deleted, rt->err[0] ? "; " : "", rt->err);
}

static int
backup_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	const struct backup_run *r = state;

	(void)t;
	if (ct->is_dry_run(r->host.t)) {
		report_plan(r);
		return CT_OK;
	}
	if (!r->f.is_done) {
		ct->set_status(r->host.t, CT_STATUS_FAIL, "%s",
		               r->host.err[0] ? r->host.err : "backup failed");
		return CT_OK;
	}
	report_metrics(r);
	report_done(r);
	return CT_OK;
}

static void
backup_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct backup_run *r = state;

	(void)t;
	(void)ct;
	if (r == NULL)
		return;
	backup_check_abandon(&r->check);
	backup_files_close(&r->f);
	compress_stats_free(&r->f.st);
	crypt_writer_free(r->f.cw);
	pgtables_free(r->s.tables, r->s.n_tables);
	free(r);
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
