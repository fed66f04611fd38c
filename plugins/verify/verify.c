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
 * verify_restore.c does L3.  struct verify_run owns the run's structs and
 * the entry points hand each step its part (verify.h).  docs/backup.md is
 * the user's guide.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <caretaker/plugin.h>

#include "verify.h"

/* One run of the job, from init to fini. */
struct verify_run {
	struct plugin_host host;
	struct verify_opts o;
	struct verify_tally tally;
};

/* One backup being checked, and what came of it. */
struct verify_item {
	struct backupset_entry *e;
	char step[200];          /* progress words: the backup being checked */
	struct manifest_check c; /* the result, recorded in the manifest when a verdict */
	int is_verdict; /* c judges the backup, rather than saying the check could not run */
};

static const struct ct_option verify_options[] = {
    {.key = "dest",
     .type = CT_OPT_PATH,
     .flags = CT_OPTF_REQUIRED,
     .help = "the backup folder to check (a backup job's dest)"},
    {.key = "name",
     .type = CT_OPT_STRING,
     .help = "only backups of this name (the backup job's name); default: all in dest"},
    {.key = "newest",
     .type = CT_OPT_INT,
     .default_value = "1",
     .min_value = 1,
     .max_value = 100000,
     .help = "check the N newest complete backups"},
    {.key = "restore_test",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "L3: also restore into a scratch database (created and always dropped) and "
             "compare every table's row count with the manifest's"},
    {.key = "restore_conninfo",
     .type = CT_OPT_STRING,
     .help = "server for the restore test (default: [caretaker] conninfo); its role needs "
             "CREATEDB and the dump's roles"},
    {.key = "pg_bindir",
     .type = CT_OPT_PATH,
     .help = "folder of psql and pg_restore (default: /usr/lib/postgresql/MAJOR/bin, else PATH)"},
    {.key = "decrypt_key",
     .type = CT_OPT_PATH,
     .help = "secret key file for encrypted backups (mode 0600): L2 and L3 need it; without "
             "it an encrypted backup is checked at L1"},
    {.key = "threads",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 64,
     .help = "decompression threads; 0: one per CPU"},
    {.key = NULL},
};

static void
read_opts(struct plugin_host *h, struct verify_opts *o)
{
	const struct ct_services *ct = h->ct;
	int64_t threads = 0;

	o->newest = 1;
	ct->opt_string(h->t, "dest", &o->dest);
	ct->opt_string(h->t, "name", &o->name);
	ct->opt_int(h->t, "newest", &o->newest);
	ct->opt_bool(h->t, "restore_test", &o->is_restore_test);
	ct->opt_string(h->t, "restore_conninfo", &o->restore_conninfo);
	ct->opt_string(h->t, "pg_bindir", &o->pg_bindir);
	ct->opt_string(h->t, "decrypt_key", &o->decrypt_key);
	ct->opt_int(h->t, "threads", &threads);
	o->n_threads = (int)threads;
}

static int
verify_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct verify_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);

	if (r == NULL)
		return CT_ENOMEM;
	read_opts(&r->host, &r->o);
	return CT_OK;
}

/* ---- what is in dest ---- */

static void
report_strays(struct plugin_host *h, const struct backupset *set, struct verify_tally *tally)
{
	static const char *const words[] = {
	    [BACKUPSET_ORPHAN] = "backup file without a manifest: incomplete (its run was killed "
	                         "or failed), so not listed, verified or counted",
	    [BACKUPSET_PARTIAL] = "unfinished backup file: a backup is running, or one was killed",
	};

	for (size_t i = 0; i < set->n_strays; i++) {
		const struct backupset_stray *s = &set->strays[i];

		tally->n_strays++;
		if (s->kind == BACKUPSET_BAD_MANIFEST) {
			tally->n_failed++;
			h->ct->add_finding(h->t, CT_SEV_ERROR, s->path, "unreadable manifest: %s",
			                   s->why);
		} else {
			h->ct->add_finding(h->t, CT_SEV_WARNING, s->path, "%s", words[s->kind]);
		}
	}
}

/* ---- one backup ---- */

/* L2 of a custom archive reads it with pg_restore of the dump's major. */
static int
find_pg_restore(const char *pg_bindir, const struct manifest *m, struct pgtools_prog *p,
                char *detail, size_t size)
{
	if (strcmp(m->format, "custom") != 0)
		return 0;
	return pgtools_find("pg_restore", pg_bindir, m->server_version_num, p, detail, size);
}

static void
record(struct plugin_host *h, struct backupset_entry *e, const struct manifest_check *c)
{
	/* manifest_record_check says nothing of why: it fails only for memory. */
	char err[512] = "out of memory";

	if (manifest_record_check(&e->m, c) != 0 ||
	    manifest_write(e->manifest_path, &e->m, err, sizeof(err)) != 0)
		h->ct->add_finding(h->t, CT_SEV_ERROR, e->manifest_path,
		                   "cannot record the verification: %s", err);
}

/* Counts the stream as the check reads it, for the progress the operator
 * sees, and passes it on (to the restore test, if any). */
struct verify_watch {
	struct plugin_host *h;
	const char *step;      /* progress words */
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
		w->h->ct->progress(w->h->t, (double)w->done / (double)w->expect_bytes, w->step);
	return w->next_cb != NULL ? w->next_cb(buf, len, w->next_ctx) : 0;
}

/* Put the watch between the check and whoever gets the stream. */
static void
watch_install(struct verify_watch *w, struct plugin_host *h, const struct verify_item *it,
              struct backupcheck_opts *bo)
{
	*w = (struct verify_watch){.h = h,
	                           .step = it->step,
	                           .expect_bytes = it->e->m.raw_bytes,
	                           .next_cb = bo->also_cb,
	                           .next_ctx = bo->also_ctx};
	bo->also_cb = watch_data_cb;
	bo->also_ctx = w;
	h->ct->progress(h->t, -1, it->step);
}

/* L1 and L2 as the check gives them: rc judges the backup unless the check
 * itself could not run. */
static int
check_levels(struct plugin_host *h, struct backupcheck_opts *bo, struct verify_item *it)
{
	struct backupcheck_result res;
	struct verify_watch w;
	int rc;

	watch_install(&w, h, it, bo);
	rc = backupcheck_run(bo, &res);
	it->is_verdict = rc == 0 || rc == CT_ECORRUPT || rc == CT_ENOENT;
	it->c.level = rc == 0 ? res.passed : res.passed + 1;
	snprintf(it->c.detail, sizeof(it->c.detail), "%s", res.detail);
	return rc;
}

/* L3 around the L2 read: begins before, judges after, always cleans up. */
static int
check_with_restore(struct plugin_host *h, const struct verify_opts *o, struct backupcheck_opts *bo,
                   struct verify_item *it)
{
	struct verify_restore r = {0};
	struct manifest_check *c = &it->c;
	int rc;

	rc = verify_restore_begin(h, o, &it->e->m, &r, c->detail, sizeof(c->detail));
	if (rc != 0) {
		verify_restore_cleanup(h, &r);
		return rc; /* the test could not run: not the backup's fault */
	}
	bo->also_cb = verify_restore_feed_cb;
	bo->also_ctx = &r;
	rc = check_levels(h, bo, it);
	if (rc == 0) {
		rc = verify_restore_end(h, &it->e->m, &r, c->detail, sizeof(c->detail));
		it->is_verdict = rc == 0 || rc == CT_ECORRUPT;
		c->level = MANIFEST_L3;
	}
	verify_restore_cleanup(h, &r);
	return rc;
}

/* L3 restores database dumps; a file archive, or an encrypted backup
 * without the key, gets what can be had, said in a finding. */
static int
can_restore(struct plugin_host *h, const struct verify_opts *o, const struct backupset_entry *e)
{
	const char *why = NULL;

	if (strcmp(e->m.format, "tar") == 0)
		why = "a file archive: the restore test applies to database dumps (L2 done)";
	else if (e->m.encryption_key_id != NULL && o->decrypt_key == NULL)
		why = "encrypted: the restore test needs decrypt_key";
	if (why != NULL)
		h->ct->add_finding(h->t, CT_SEV_INFO, e->file_path, "no L3: %s", why);
	return why == NULL;
}

/* The levels the job asks for, as far as the backup allows. */
static int
check_one(struct plugin_host *h, const struct verify_opts *o, struct verify_item *it)
{
	struct backupset_entry *e = it->e;
	struct pgtools_prog pg_restore;
	struct backupcheck_opts bo = {.path = e->file_path,
	                              .m = &e->m,
	                              .n_threads = o->n_threads,
	                              .pg_restore = &pg_restore,
	                              .secret_key_path = o->decrypt_key,
	                              .should_stop = plugin_host_should_stop,
	                              .stop_ctx = h};
	int rc;

	rc = find_pg_restore(o->pg_bindir, &e->m, &pg_restore, it->c.detail, sizeof(it->c.detail));
	if (rc != 0)
		return rc;
	if (o->is_restore_test && can_restore(h, o, e))
		return check_with_restore(h, o, &bo, it);
	return check_levels(h, &bo, it);
}

/* A check that could not run: counted as a failure, not recorded. */
static void
count_unverified(struct plugin_host *h, const struct verify_item *it, struct verify_tally *tally)
{
	tally->n_failed++;
	h->ct->add_finding(h->t, CT_SEV_ERROR, it->e->file_path, "could not verify: %s",
	                   it->c.detail);
	if (tally->summary[0] == '\0')
		snprintf(tally->summary, sizeof(tally->summary), "%s: could not verify: %s",
		         it->e->m.file, it->c.detail);
}

/* A verdict: recorded in the backup's manifest, then counted. */
static void
count_verdict(struct plugin_host *h, struct verify_item *it, struct verify_tally *tally)
{
	record(h, it->e, &it->c);
	if (!it->c.is_ok) {
		tally->n_failed++;
		h->ct->add_finding(h->t, CT_SEV_CRITICAL, it->e->file_path, "%s", it->c.detail);
		if (tally->summary[0] == '\0')
			snprintf(tally->summary, sizeof(tally->summary), "%s: %s", it->e->m.file,
			         it->c.detail);
		return;
	}
	h->ct->add_finding(h->t, CT_SEV_INFO, it->e->file_path, "%s", it->c.detail);
	if (tally->min_level == 0 || it->c.level < tally->min_level)
		tally->min_level = it->c.level;
}

/* One backup: checked, then recorded and counted. */
static int
verify_one(struct plugin_host *h, const struct verify_opts *o, struct verify_item *it,
           struct verify_tally *tally)
{
	int rc;

	rc = check_one(h, o, it);
	if (rc == CT_ECANCELED)
		return rc;
	tally->n_checked++;
	if (!it->is_verdict) {
		count_unverified(h, it, tally);
		return 0;
	}
	it->c.is_ok = rc == 0;
	it->c.at = time(NULL);
	count_verdict(h, it, tally);
	return 0;
}

static size_t
how_many(const struct verify_opts *o, const struct backupset *set)
{
	return (uint64_t)o->newest < set->n_entries ? (size_t)o->newest : set->n_entries;
}

/* The newest backups in `set`, or under --dry-run what would be checked. */
static int
verify_set(struct plugin_host *h, const struct verify_opts *o, struct backupset *set,
           struct verify_tally *tally)
{
	size_t n = how_many(o, set);
	int rc = 0;

	for (size_t i = 0; rc == 0 && i < n; i++) {
		struct verify_item it = {.e = &set->entries[i]};

		if (h->ct->is_dry_run(h->t)) {
			h->ct->add_finding(h->t, CT_SEV_INFO, it.e->file_path, "would verify (L%d)",
			                   o->is_restore_test ? 3 : 2);
			continue;
		}
		snprintf(it.step, sizeof(it.step), "checking %s (%zu of %zu)", it.e->m.file, i + 1,
		         n);
		rc = verify_one(h, o, &it, tally);
	}
	return rc;
}

static int
verify_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct verify_run *r = state;
	struct plugin_host *h = &r->host;
	struct backupset set = {0};
	int rc;

	(void)t;
	(void)ct;
	rc = backupset_load(r->o.dest, r->o.name, &set, h->err, sizeof(h->err));
	if (rc != 0)
		return rc;
	report_strays(h, &set, &r->tally);
	rc = verify_set(h, &r->o, &set, &r->tally);
	if (set.n_entries == 0)
		snprintf(h->err, sizeof(h->err), "no complete backup%s%s in %s",
		         r->o.name ? " named " : "", r->o.name ? r->o.name : "", r->o.dest);
	backupset_free(&set);
	return rc;
}

static int
verify_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	const struct verify_run *r = state;
	const struct verify_tally *tally = &r->tally;
	int level = tally->min_level ? tally->min_level : r->o.is_restore_test ? 3 : 2;

	if (r->host.err[0] != '\0')
		ct->set_status(t, CT_STATUS_FAIL, "%s", r->host.err);
	else if (ct->is_dry_run(t))
		ct->set_status(t, CT_STATUS_OK, "dry run: would verify %lld backup(s) at L%d",
		               (long long)r->o.newest, level);
	else if (tally->n_failed > 0)
		ct->set_status(t, CT_STATUS_FAIL, "%zu of %zu failed: %s", tally->n_failed,
		               tally->n_checked,
		               tally->summary[0] ? tally->summary : "see the findings");
	else
		ct->set_status(t, tally->n_strays > 0 ? CT_STATUS_WARN : CT_STATUS_OK,
		               "%zu backup(s) verified at L%d%s", tally->n_checked, level,
		               tally->n_strays > 0 ? "; incomplete files in dest (see the findings)"
		                                   : "");
	ct->add_metric(t, "verified", (double)tally->n_checked - (double)tally->n_failed, "");
	ct->add_metric(t, "failed", (double)tally->n_failed, "");
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
