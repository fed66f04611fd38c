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
delete_backup(struct plugin_host *h, const char *dest, const struct backupset_entry *e)
{
	char err[512];
	int rc;

	rc = durable_unlink(e->manifest_path, err, sizeof(err));
	if (rc == 0)
		rc = durable_fsync_dir(dest, err, sizeof(err));
	if (rc == 0)
		rc = durable_unlink(e->file_path, err, sizeof(err));
	if (rc != 0)
		h->ct->add_finding(h->t, CT_SEV_ERROR, e->file_path, "retention: %s", err);
	return rc;
}

static void
report_uncounted(struct plugin_host *h, const struct backupset_entry *e)
{
	const struct manifest_check *v = &e->m.verified;

	if (v->level == 0)
		h->ct->add_finding(h->t, CT_SEV_WARNING, e->file_path,
		                   "never verified: not counted by retention and not deleted");
	else
		h->ct->add_finding(h->t, CT_SEV_WARNING, e->file_path,
		                   "verification %s at L%d: not counted by retention and not "
		                   "deleted; look at it, then remove it by hand: %s",
		                   v->is_ok ? "stopped" : "failed", v->level, v->detail);
}

/* One backup the policy does not keep: delete it, or say we would.
 * `policy` is the policy in words, for the finding. */
static int
drop_one(struct plugin_host *h, const char *dest, const struct backupset_entry *e, time_t now,
         const char *policy)
{
	char when[MANIFEST_TIME_SIZE];
	long days = (long)((now - e->m.started_at) / SECONDS_PER_DAY);
	int is_dry = h->ct->is_dry_run(h->t);

	manifest_time_format(e->m.started_at, when);
	h->ct->add_finding(h->t, CT_SEV_INFO, e->file_path,
	                   "%s: taken %s (%ld days ago), kept by no rule (%s)",
	                   is_dry ? "would delete" : "deleted", when, days, policy);
	if (is_dry)
		return 0;
	return delete_backup(h, dest, e);
}

/* Carries out the decision in `items`, one per entry of `set`, taken as of
 * `now`. */
static int
apply(struct plugin_host *h, const struct backup_opts *o, const struct backupset *set,
      const struct backupset_item *items, time_t now, struct backup_retention *rt)
{
	char policy[200];
	int rc = 0;

	policy_text(&o->policy, policy, sizeof(policy));
	for (size_t i = 0; i < set->n_entries; i++) {
		h->ct->progress(h->t, (double)i / (double)set->n_entries, "retention");
		if (items[i].keep & BACKUPSET_KEEP_UNCOUNTED)
			report_uncounted(h, &set->entries[i]);
		if (items[i].keep != 0) {
			rt->n_kept++;
			continue;
		}
		if (drop_one(h, o->dest, &set->entries[i], now, policy) == 0)
			rt->n_deleted++;
		else
			rc = CT_EIO;
	}
	return rc;
}

/* Which of `set`'s backups the policy keeps, as of `now`: into *items
 * (free it), one per entry. */
static int
select_kept(const struct backup_opts *o, const struct backupset *set, time_t now,
            struct backupset_item **items)
{
	*items = calloc(set->n_entries + 1, sizeof(**items));
	if (*items == NULL)
		return CT_ENOMEM;
	for (size_t i = 0; i < set->n_entries; i++)
		(*items)[i] = (struct backupset_item){set->entries[i].m.started_at,
		                                      manifest_is_counted(&set->entries[i].m), 0};
	return backupset_select(*items, set->n_entries, &o->policy, now);
}

int
backup_retain_apply(struct plugin_host *h, const struct backup_opts *o, struct backup_retention *rt)
{
	struct backupset set = {0};
	struct backupset_item *items = NULL;
	time_t now = time(NULL);
	char err[480];
	int rc;

	if (!backupset_policy_is_active(&o->policy))
		return 0;
	rc = backupset_load(o->dest, o->name, &set, err, sizeof(err));
	if (rc != 0) {
		snprintf(rt->err, sizeof(rt->err), "retention: %s", err);
		return rc;
	}
	rc = select_kept(o, &set, now, &items);
	if (rc == 0)
		rc = apply(h, o, &set, items, now, rt);
	if (rc == CT_ENOMEM)
		snprintf(rt->err, sizeof(rt->err), "retention: out of memory");
	else if (rc != 0)
		snprintf(rt->err, sizeof(rt->err),
		         "retention could not delete every backup it should (see the findings)");
	free(items);
	backupset_free(&set);
	return rc;
}
