/*
 * prune — deletes old files under given globs (rotated logs, caches): those
 * older than `older_than`, and the oldest past `max_total_size`, with the
 * `keep_min` newest kept whatever their age.  Regular files only, never
 * through a link out of the folder given (docs/prune.md).  This file owns
 * the entry points, the order of the steps and the report.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <caretaker/plugin.h>

#include "prune.h"

struct prune_run {
	struct plugin_host host;
	struct prune_opts opts;
	struct prune_found found;
	struct prune_tally tally;
};

static int
prune_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct prune_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);

	if (r == NULL)
		return CT_ENOMEM;
	return prune_opts_read(&r->host, &r->opts);
}

static int
prune_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct prune_run *r = state;
	int rc;

	(void)t;
	(void)ct;
	r->tally.now_s = (int64_t)time(NULL);
	rc = prune_collect(&r->host, &r->opts, &r->found);
	if (rc != 0)
		return rc;
	prune_select(&r->opts, &r->found, r->tally.now_s);
	return prune_apply(&r->host, &r->found, &r->tally);
}

/* 1536 bytes as "1.5 KiB". */
static void
bytes_words(int64_t bytes, char *out, size_t size)
{
	static const char *const units[] = {"bytes", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	size_t u = 0;

	while (v >= 1024.0 && u + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1024.0;
		u++;
	}
	if (u == 0)
		snprintf(out, size, "%lld bytes", (long long)bytes);
	else
		snprintf(out, size, "%.1f %s", v, units[u]);
}

static void
add_metrics(struct plugin_host *h, const struct prune_run *r)
{
	const struct prune_tally *y = &r->tally;

	h->ct->add_metric(h->t, "files_matched", (double)r->found.n_files, "");
	h->ct->add_metric(h->t, "files_removed", (double)y->removed, "");
	h->ct->add_metric(h->t, "bytes_freed", (double)y->removed_bytes, "bytes");
	h->ct->add_metric(h->t, "files_kept", (double)(r->found.n_files - y->removed), "");
	h->ct->add_metric(h->t, "bytes_kept", (double)y->kept_bytes, "bytes");
	h->ct->add_metric(h->t, "files_not_regular", (double)r->found.n_not_regular, "");
	h->ct->add_metric(h->t, "errors", (double)(r->found.n_errors + y->failed), "");
	h->ct->add_metric(h->t, "folders_past_max_depth", (double)r->found.n_too_deep, "");
}

static int
status_of(const struct prune_run *r)
{
	if (r->tally.failed > 0)
		return CT_STATUS_FAIL;
	return r->found.n_errors > 0 || r->found.n_too_deep > 0 ? CT_STATUS_WARN : CT_STATUS_OK;
}

static int
prune_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct prune_run *r = state;
	const struct prune_tally *y = &r->tally;
	char freed[32], kept[32];

	(void)ct;
	if (r->host.err[0] != '\0') {
		ct->set_status(t, CT_STATUS_FAIL, "%s", r->host.err);
		return CT_OK;
	}
	add_metrics(&r->host, r);
	bytes_words(y->removed_bytes, freed, sizeof(freed));
	bytes_words(y->kept_bytes, kept, sizeof(kept));
	ct->set_status(t, status_of(r),
	               "%s %lld file(s) (%s) of %zu matched; kept %lld (%s): %lld among the "
	               "keep_min newest, %lld younger than %s, %lld changed during the run; "
	               "%lld not deleted, %lld not regular files left alone, %lld unreadable, "
	               "%lld folder(s) past max_depth",
	               ct->is_dry_run(t) ? "would remove" : "removed", (long long)y->removed, freed,
	               r->found.n_files, (long long)(r->found.n_files - y->removed), kept,
	               (long long)y->kept_newest, (long long)y->kept_young,
	               r->opts.older_than_ms >= 0 ? r->opts.older_than : "any age",
	               (long long)y->kept_changed, (long long)y->failed,
	               (long long)r->found.n_not_regular, (long long)r->found.n_errors,
	               (long long)r->found.n_too_deep);
	return CT_OK;
}

static void
prune_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct prune_run *r = state;

	(void)t;
	(void)ct;
	if (r == NULL)
		return;
	prune_found_free(&r->found);
	free(r);
}

CT_PLUGIN_DEFINE(.name = "prune", .version = PRUNE_PLUGIN_VERSION,
                 .summary = "deletes files older than an age or past a total size, keeping the "
                            "newest",
                 .help = "Walks the folder of each paths glob without following links and "
                         "deletes the regular files it matches that are older than older_than, "
                         "and the oldest past max_total_size, keeping the keep_min newest of "
                         "each glob whatever their age. A file is deleted relative to its "
                         "folder's descriptor after checking that it is still the file the "
                         "walk saw. Links, folders and other files are never deleted. "
                         "--dry-run lists what would go. The report's output lists every "
                         "file, removed or kept, with why (docs/prune.md).",
                 .flags = CT_PLUGIN_DRY_RUN, .options = prune_options, .init = prune_init,
                 .run = prune_run, .report = prune_report, .fini = prune_fini);
