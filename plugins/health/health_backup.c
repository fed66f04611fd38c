/*
 * health_backup.c — the newest verified backup must be young enough.
 *
 * The backups are read as the backup plugin lists them (backupset_load:
 * manifests, not file names), and "verified" is what retention counts
 * (manifest_is_counted: its latest verification reached L2 and passed),
 * so a dump that was cut short, or that failed its check, never makes
 * the host look backed up.  The age is from the backup's snapshot
 * (started_at), the moment the data is from.
 */
#include <stdio.h>
#include <time.h>

#include <caretaker/plugin.h>

#include "backupset.h"
#include "health.h"

/* "3d 4h", "2h 5min", "40s": an age an operator reads at a glance. */
static void
age_words(int64_t s, char *out, size_t size)
{
	if (s >= 86400)
		snprintf(out, size, "%lldd %lldh", (long long)(s / 86400),
		         (long long)(s % 86400 / 3600));
	else if (s >= 3600)
		snprintf(out, size, "%lldh %lldmin", (long long)(s / 3600),
		         (long long)(s % 3600 / 60));
	else
		snprintf(out, size, "%llds", (long long)s);
}

static const struct backupset_entry *
newest_verified(const struct backupset *set, size_t *n_unverified)
{
	*n_unverified = 0;
	for (size_t i = 0; i < set->n_entries; i++) {
		if (manifest_is_counted(&set->entries[i].m))
			return &set->entries[i];
		(*n_unverified)++;
	}
	return NULL;
}

static void
judge(struct plugin_host *h, const struct health_opts *o, const struct backupset_entry *e,
      struct health_tally *tally)
{
	int64_t age = (int64_t)time(NULL) - (int64_t)e->m.started_at;
	char words[64], warn[64], fail[64];
	int level = age >= o->backup_fail_age_s   ? HEALTH_FAIL
	            : age >= o->backup_warn_age_s ? HEALTH_WARN
	                                          : HEALTH_OK;

	age_words(age < 0 ? 0 : age, words, sizeof(words));
	age_words(o->backup_warn_age_s, warn, sizeof(warn));
	age_words(o->backup_fail_age_s, fail, sizeof(fail));
	health_say(h, tally, level, e->file_path,
	           "newest verified backup is %s old (warn %s, fail %s), verified to L%d", words,
	           warn, fail, e->m.verified.level);
	h->ct->add_metric(h->t, "backup_age_seconds", (double)age, "seconds");
}

void
health_check_backup(struct plugin_host *h, const struct health_opts *o, struct health_tally *tally)
{
	struct backupset set = {0};
	const struct backupset_entry *e;
	size_t n_unverified;
	char err[1024];

	if (o->backup_dir == NULL)
		return;
	h->ct->progress(h->t, -1, "reading backup manifests");
	if (backupset_load(o->backup_dir, o->backup_name, &set, err, sizeof(err)) != 0) {
		health_say(h, tally, HEALTH_FAIL, o->backup_dir, "cannot list the backups: %s",
		           err);
		return;
	}
	e = newest_verified(&set, &n_unverified);
	if (e != NULL)
		judge(h, o, e, tally);
	else
		health_say(h, tally, HEALTH_FAIL, o->backup_dir,
		           "no verified backup%s%s (%zu backup(s) not verified to L2)",
		           o->backup_name ? " named " : "", o->backup_name ? o->backup_name : "",
		           n_unverified);
	backupset_free(&set);
}
