/*
 * backup_retain.c — retention over dest's complete backups of this name,
 * after the new backup passed L2 (or, under --dry-run, what it would do).
 *
 * Which backups go is backupset_select()'s decision; this file carries it
 * out and says why for each one.  A backup goes manifest first, with the
 * folder synced in between: a crash halfway leaves a data file without a
 * manifest (invisible, reported as an orphan), never a manifest that
 * promises data that is gone.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <caretaker/errors.h>

#include "backup.h"
#include "durable.h"

#define SECONDS_PER_DAY 86400

static void
policy_text(const struct backupset_policy *p, char *buf, size_t size)
{
	snprintf(buf, size,
	         "keep_daily=%lld keep_weekly=%lld keep_monthly=%lld keep_days=%lld keep_min=%lld",
	         (long long)p->daily, (long long)p->weekly, (long long)p->monthly,
	         (long long)p->days, (long long)p->min);
}

static int
delete_backup(struct backup_state *b, const struct backupset_entry *e)
{
	char err[512];
	int rc;

	rc = durable_unlink(e->manifest_path, err, sizeof(err));
	if (rc == 0)
		rc = durable_fsync_dir(b->o.dest, err, sizeof(err));
	if (rc == 0)
		rc = durable_unlink(e->file_path, err, sizeof(err));
	if (rc != 0)
		b->ct->add_finding(b->t, CT_SEV_ERROR, e->file_path, "retention: %s", err);
	return rc;
}

static void
report_uncounted(struct backup_state *b, const struct backupset_entry *e)
{
	const struct manifest_check *v = &e->m.verified;

	if (v->level == 0)
		b->ct->add_finding(b->t, CT_SEV_WARNING, e->file_path,
		                   "never verified: not counted by retention and not deleted");
	else
		b->ct->add_finding(b->t, CT_SEV_WARNING, e->file_path,
		                   "verification %s at L%d: not counted by retention and not "
		                   "deleted; look at it, then remove it by hand: %s",
		                   v->is_ok ? "stopped" : "failed", v->level, v->detail);
}

/* One backup the policy does not keep: delete it, or say we would. */
static int
drop_one(struct backup_state *b, const struct backupset_entry *e, time_t now,
         const char *policy)
{
	char when[MANIFEST_TIME_SIZE];
	long days = (long)((now - e->m.started_at) / SECONDS_PER_DAY);
	int is_dry = b->ct->is_dry_run(b->t);

	manifest_time_format(e->m.started_at, when);
	b->ct->add_finding(b->t, CT_SEV_INFO, e->file_path,
	                   "%s: taken %s (%ld days ago), kept by no rule (%s)",
	                   is_dry ? "would delete" : "deleted", when, days, policy);
	if (is_dry)
		return 0;
	return delete_backup(b, e);
}

static int
apply(struct backup_state *b, const struct backupset *set, struct backupset_item *items,
      time_t now)
{
	char policy[200];
	int rc = 0;

	policy_text(&b->o.policy, policy, sizeof(policy));
	for (size_t i = 0; i < set->n_entries; i++) {
		b->ct->progress(b->t, (double)i / (double)set->n_entries, "retention");
		if (items[i].keep & BACKUPSET_KEEP_UNCOUNTED)
			report_uncounted(b, &set->entries[i]);
		if (items[i].keep != 0) {
			b->n_kept++;
			continue;
		}
		if (drop_one(b, &set->entries[i], now, policy) == 0)
			b->n_deleted++;
		else
			rc = CT_EIO;
	}
	return rc;
}

int
backup_retain_apply(struct backup_state *b)
{
	struct backupset set = {0};
	struct backupset_item *items = NULL;
	time_t now = time(NULL);
	char err[480];
	int rc;

	if (!backupset_policy_is_active(&b->o.policy))
		return 0;
	rc = backupset_load(b->o.dest, b->o.name, &set, err, sizeof(err));
	if (rc != 0) {
		snprintf(b->retain_err, sizeof(b->retain_err), "retention: %s", err);
		return rc;
	}
	items = calloc(set.n_entries + 1, sizeof(*items));
	rc = items == NULL ? CT_ENOMEM : 0;
	for (size_t i = 0; rc == 0 && i < set.n_entries; i++)
		items[i] = (struct backupset_item){set.entries[i].m.started_at,
		                                   manifest_is_counted(&set.entries[i].m), 0};
	if (rc == 0)
		rc = backupset_select(items, set.n_entries, &b->o.policy, now);
	if (rc == 0)
		rc = apply(b, &set, items, now);
	if (rc == CT_ENOMEM)
		snprintf(b->retain_err, sizeof(b->retain_err), "retention: out of memory");
	else if (rc != 0)
		snprintf(b->retain_err, sizeof(b->retain_err),
		         "retention could not delete every backup it should (see the findings)");
	free(items);
	backupset_free(&set);
	return rc;
}
