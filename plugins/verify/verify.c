/*
 * verify — the seed's `verify_backups`, done properly: checks the newest
 * complete backups in a folder at L1 (present, size, SHA-256) and L2 (every
 * block decompressed and checked, the stream's SHA-256, the dump complete),
 * optionally L3 (restored into a scratch database whose row counts must
 * match the manifest's), and records each result in the backup's manifest,
 * where retention reads it.  Damage is named: the file, the level, the
 * block and offset, the table.
 *
 * This file holds the options, the entry points and the loop over backups;
 * verify_restore.c does L3.  docs/backup.md is the user's guide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <caretaker/plugin.h>

#include "verify.h"

static const struct ct_option verify_options[] = {
	{.key = "dest", .type = CT_OPT_PATH, .flags = CT_OPTF_REQUIRED,
	 .help = "the backup folder to check (a backup job's dest)"},
	{.key = "name", .type = CT_OPT_STRING,
	 .help = "only backups of this name (the backup job's name); default: all in dest"},
	{.key = "newest", .type = CT_OPT_INT, .default_value = "1", .min_value = 1,
	 .max_value = 100000, .help = "check the N newest complete backups"},
	{.key = "restore_test", .type = CT_OPT_BOOL, .default_value = "no",
	 .help = "L3: also restore into a scratch database (created and always dropped) and "
	         "compare every table's row count with the manifest's"},
	{.key = "restore_conninfo", .type = CT_OPT_STRING,
	 .help = "server for the restore test (default: [caretaker] conninfo); its role needs "
	         "CREATEDB and the dump's roles"},
	{.key = "pg_bindir", .type = CT_OPT_PATH,
	 .help = "folder of psql and pg_restore (default: /usr/lib/postgresql/MAJOR/bin, else PATH)"},
	{.key = "decrypt_key", .type = CT_OPT_PATH,
	 .help = "secret key file for encrypted backups (mode 0600): L2 and L3 need it; without "
	         "it an encrypted backup is checked at L1"},
	{.key = "threads", .type = CT_OPT_INT, .default_value = "0", .min_value = 0,
	 .max_value = 64, .help = "decompression threads; 0: one per CPU"},
	{.key = NULL},
};

int
verify_should_stop(void *ctx)
{
	struct verify_state *v = ctx;

	return v->ct->should_stop(v->t);
}

static int
verify_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct verify_state *v = calloc(1, sizeof(*v));
	int64_t threads = 0;

	if (v == NULL)
		return CT_ENOMEM;
	*state = v;
	v->t = t;
	v->ct = ct;
	v->o.newest = 1;
	ct->opt_string(t, "dest", &v->o.dest);
	ct->opt_string(t, "name", &v->o.name);
	ct->opt_int(t, "newest", &v->o.newest);
	ct->opt_bool(t, "restore_test", &v->o.is_restore_test);
	ct->opt_string(t, "restore_conninfo", &v->o.restore_conninfo);
	ct->opt_string(t, "pg_bindir", &v->o.pg_bindir);
	ct->opt_string(t, "decrypt_key", &v->o.decrypt_key);
	ct->opt_int(t, "threads", &threads);
	v->o.n_threads = (int)threads;
	return CT_OK;
}

/* ---- what is in dest ---- */

static void
report_strays(struct verify_state *v, const struct backupset *set)
{
	static const char *const words[] = {
	    [BACKUPSET_ORPHAN] = "backup file without a manifest: incomplete (its run was killed "
	                         "or failed), so not listed, verified or counted",
	    [BACKUPSET_PARTIAL] = "unfinished backup file: a backup is running, or one was killed",
	};

	for (size_t i = 0; i < set->n_strays; i++) {
		const struct backupset_stray *s = &set->strays[i];

		v->n_strays++;
		if (s->kind == BACKUPSET_BAD_MANIFEST) {
			v->n_failed++;
			v->ct->add_finding(v->t, CT_SEV_ERROR, s->path, "unreadable manifest: %s", s->why);
		} else {
			v->ct->add_finding(v->t, CT_SEV_WARNING, s->path, "%s", words[s->kind]);
		}
	}
}

/* ---- one backup ---- */

/* L2 of a custom archive reads it with pg_restore of the dump's major. */
static int
find_pg_restore(struct verify_state *v, const struct manifest *m, struct pgtools_prog *p,
                char *detail, size_t size)
{
	if (strcmp(m->format, "custom") != 0)
		return 0;
	return pgtools_find("pg_restore", v->o.pg_bindir, m->server_version_num, p, detail, size);
}

static void
record(struct verify_state *v, struct backupset_entry *e, const struct manifest_check *c)
{
	char err[512];

	if (manifest_record_check(&e->m, c) != 0 ||
	    manifest_write(e->manifest_path, &e->m, err, sizeof(err)) != 0)
		v->ct->add_finding(v->t, CT_SEV_ERROR, e->manifest_path,
		                   "cannot record the verification: %s", err);
}

/* Counts the stream as the check reads it, for the progress the operator
 * sees, and passes it on (to the restore test, if any). */
struct verify_watch {
	struct verify_state *v;
	uint64_t expect_bytes; /* the manifest's raw size, 0: unknown */
	uint64_t done;
	compress_data_cb next_cb;
	void *next_ctx;
};

static int
watch_data_cb(const void *buf, size_t len, void *ctx)
{
	struct verify_watch *w = ctx;

	w->done += len;
	if (w->expect_bytes > 0)
		w->v->ct->progress(w->v->t, (double)w->done / (double)w->expect_bytes, w->v->step);
	return w->next_cb != NULL ? w->next_cb(buf, len, w->next_ctx) : 0;
}

/* Put the watch between the check and whoever gets the stream. */
static void
watch_install(struct verify_watch *w, struct verify_state *v, const struct manifest *m,
              struct backupcheck_opts *o)
{
	*w = (struct verify_watch){.v = v, .expect_bytes = m->raw_bytes, .next_cb = o->also_cb,
	                           .next_ctx = o->also_ctx};
	o->also_cb = watch_data_cb;
	o->also_ctx = w;
	v->ct->progress(v->t, -1, v->step);
}

/* L3 around the L2 read: begins before, judges after, always cleans up. */
static int
check_with_restore(struct verify_state *v, struct backupset_entry *e,
                   struct backupcheck_opts *o, struct backupcheck_result *res,
                   struct manifest_check *c, int *is_verdict)
{
	struct verify_restore r = {0};
	struct verify_watch w;
	int rc;

	rc = verify_restore_begin(v, &e->m, &r, c->detail, sizeof(c->detail));
	if (rc != 0) {
		verify_restore_cleanup(v, &r);
		return rc; /* the test could not run: not the backup's fault */
	}
	o->also_cb = verify_restore_feed_cb;
	o->also_ctx = &r;
	watch_install(&w, v, &e->m, o);
	rc = backupcheck_run(o, res);
	*is_verdict = rc == 0 || rc == CT_ECORRUPT || rc == CT_ENOENT;
	c->level = rc == 0 ? res->passed : res->passed + 1;
	snprintf(c->detail, sizeof(c->detail), "%s", res->detail);
	if (rc == 0) {
		rc = verify_restore_end(v, &e->m, &r, c->detail, sizeof(c->detail));
		*is_verdict = rc == 0 || rc == CT_ECORRUPT;
		c->level = MANIFEST_L3;
	}
	verify_restore_cleanup(v, &r);
	return rc;
}

/* L3 restores database dumps; a file archive, or an encrypted backup
 * without the key, gets what can be had, said in a finding. */
static int
can_restore(struct verify_state *v, const struct backupset_entry *e)
{
	const char *why = NULL;

	if (strcmp(e->m.format, "tar") == 0)
		why = "a file archive: the restore test applies to database dumps (L2 done)";
	else if (e->m.encryption_key_id != NULL && v->o.decrypt_key == NULL)
		why = "encrypted: the restore test needs decrypt_key";
	if (why != NULL)
		v->ct->add_finding(v->t, CT_SEV_INFO, e->file_path, "no L3: %s", why);
	return why == NULL;
}

/* *is_verdict: the result judges the backup (and is recorded), rather than
 * saying that the check could not run. */
static int
check_one(struct verify_state *v, struct backupset_entry *e, struct manifest_check *c,
          int *is_verdict)
{
	struct pgtools_prog pg_restore;
	struct backupcheck_opts o = {.path = e->file_path, .m = &e->m, .n_threads = v->o.n_threads,
	                             .pg_restore = &pg_restore, .secret_key_path = v->o.decrypt_key,
	                             .should_stop = verify_should_stop, .stop_ctx = v};
	struct backupcheck_result res;
	struct verify_watch w;
	int rc;

	rc = find_pg_restore(v, &e->m, &pg_restore, c->detail, sizeof(c->detail));
	if (rc != 0)
		return rc;
	if (v->o.is_restore_test && can_restore(v, e))
		return check_with_restore(v, e, &o, &res, c, is_verdict);
	watch_install(&w, v, &e->m, &o);
	rc = backupcheck_run(&o, &res);
	*is_verdict = rc == 0 || rc == CT_ECORRUPT || rc == CT_ENOENT;
	c->level = rc == 0 ? res.passed : res.passed + 1;
	snprintf(c->detail, sizeof(c->detail), "%s", res.detail);
	return rc;
}

static int
verify_one(struct verify_state *v, struct backupset_entry *e, size_t i, size_t n)
{
	struct manifest_check c = {0};
	int rc, is_verdict = 0;

	snprintf(v->step, sizeof(v->step), "checking %s (%zu of %zu)", e->m.file, i + 1, n);
	rc = check_one(v, e, &c, &is_verdict);
	if (rc == CT_ECANCELED)
		return rc;
	v->n_checked++;
	if (!is_verdict) {
		v->n_failed++;
		v->ct->add_finding(v->t, CT_SEV_ERROR, e->file_path, "could not verify: %s", c.detail);
		if (v->summary[0] == '\0')
			snprintf(v->summary, sizeof(v->summary), "%s: could not verify: %s", e->m.file, c.detail);
		return 0;
	}
	c.is_ok = rc == 0;
	c.at = time(NULL);
	record(v, e, &c);
	if (rc != 0) {
		v->n_failed++;
		v->ct->add_finding(v->t, CT_SEV_CRITICAL, e->file_path, "%s", c.detail);
		if (v->summary[0] == '\0')
			snprintf(v->summary, sizeof(v->summary), "%s: %s", e->m.file, c.detail);
	} else {
		v->ct->add_finding(v->t, CT_SEV_INFO, e->file_path, "%s", c.detail);
		if (v->min_level == 0 || c.level < v->min_level)
			v->min_level = c.level;
	}
	return 0;
}

static size_t
how_many(const struct verify_state *v, const struct backupset *set)
{
	return (uint64_t)v->o.newest < set->n_entries ? (size_t)v->o.newest : set->n_entries;
}

static int
verify_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct verify_state *v = state;
	struct backupset set = {0};
	int rc;

	rc = backupset_load(v->o.dest, v->o.name, &set, v->err, sizeof(v->err));
	if (rc != 0)
		return rc;
	report_strays(v, &set);
	for (size_t i = 0; rc == 0 && i < how_many(v, &set); i++) {
		if (ct->is_dry_run(t))
			ct->add_finding(t, CT_SEV_INFO, set.entries[i].file_path, "would verify (L%d)",
			                v->o.is_restore_test ? 3 : 2);
		else
			rc = verify_one(v, &set.entries[i], i, how_many(v, &set));
	}
	if (set.n_entries == 0)
		snprintf(v->err, sizeof(v->err), "no complete backup%s%s in %s",
		         v->o.name ? " named " : "", v->o.name ? v->o.name : "", v->o.dest);
	backupset_free(&set);
	return rc;
}

static int
verify_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct verify_state *v = state;
	int level = v->min_level ? v->min_level : v->o.is_restore_test ? 3 : 2;

	if (v->err[0] != '\0')
		ct->set_status(t, CT_STATUS_FAIL, "%s", v->err);
	else if (ct->is_dry_run(t))
		ct->set_status(t, CT_STATUS_OK, "dry run: would verify %lld backup(s) at L%d",
		               (long long)v->o.newest, level);
	else if (v->n_failed > 0)
		ct->set_status(t, CT_STATUS_FAIL, "%zu of %zu failed: %s", v->n_failed,
		               v->n_checked, v->summary[0] ? v->summary : "see the findings");
	else
		ct->set_status(t, v->n_strays > 0 ? CT_STATUS_WARN : CT_STATUS_OK,
		               "%zu backup(s) verified at L%d%s", v->n_checked, level,
		               v->n_strays > 0 ? "; incomplete files in dest (see the findings)" : "");
	ct->add_metric(t, "verified", (double)v->n_checked - (double)v->n_failed, "");
	ct->add_metric(t, "failed", (double)v->n_failed, "");
	return CT_OK;
}

static void
verify_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	free(state);
}

CT_PLUGIN_DEFINE(.name = "verify", .version = "1.0",
                 .summary = "checks backups: checksums, completeness, optional restore test",
                 .help = "Checks the newest complete backups in dest (those with a "
                         "manifest). L1: the file is there, with the recorded size and "
                         "SHA-256. L2: the whole stream decompresses, every block's CRC-32 "
                         "and the stream's SHA-256 match, and the dump is complete (plain: "
                         "pg_dump's completion line; custom: pg_restore reads the whole "
                         "archive). L3 (restore_test = yes): the backup is restored into a "
                         "scratch database, created for the test and dropped on every path, "
                         "and every table's row count must equal the one recorded from the "
                         "dump's snapshot. Each result is written into the backup's manifest, "
                         "atomically; retention counts only backups whose latest result is "
                         "L2 or better and ok. Files without a manifest are reported, never "
                         "verified. See docs/backup.md.",
                 .flags = CT_PLUGIN_DRY_RUN | CT_PLUGIN_USES_PG, .options = verify_options,
                 .init = verify_init, .run = verify_run, .report = verify_report,
                 .fini = verify_fini);
