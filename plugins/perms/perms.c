/*
 * perms — checks owners and modes against the job's rule, and scans trees
 * for world-writable, setuid/setgid and secret-looking files readable by
 * group or others; with `fix = yes` applies the rule's owner, group and
 * mode (docs/perms.md).  No link is followed out of a tree.  This file
 * owns the entry points, the order of the steps, the findings' tally (the
 * job's status is its worst finding) and the report.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

#include <caretaker/plugin.h>

#include "perms.h"

struct perms_run {
	struct plugin_host host;
	struct perms_opts opts;
	struct perms_tally tally;
};

void
perms_mode_words(int mode, char out[8])
{
	snprintf(out, 8, "%04o", (unsigned)mode & 07777u);
}

void
perms_finding(struct plugin_host *h, struct perms_tally *tally, int severity, const char *object,
              const char *fmt, ...)
{
	char words[4096];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(words, sizeof(words), fmt, ap);
	va_end(ap);
	h->ct->add_finding(h->t, severity, object, "%s", words);
	if (severity > tally->worst)
		tally->worst = severity;
}

void
perms_too_deep(struct plugin_host *h, struct perms_tally *tally, const char *path, int depth)
{
	tally->too_deep++;
	perms_finding(h, tally, CT_SEV_WARNING, path,
	              "not entered: max_depth (%d) reached, nothing below it checked\n"
	              "hint: raise max_depth (at most 256)",
	              depth);
}

static int
perms_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct perms_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);

	if (r == NULL)
		return CT_ENOMEM;
	r->tally.worst = -1;
	return perms_opts_read(&r->host, &r->opts);
}

static int
perms_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct perms_run *r = state;
	int rc;

	(void)t;
	(void)ct;
	rc = perms_rule_check(&r->host, &r->opts, &r->tally);
	if (rc == 0)
		rc = perms_scan_run(&r->host, &r->opts, &r->tally);
	return rc;
}

static void
add_metrics(struct plugin_host *h, const struct perms_tally *y)
{
	static const struct {
		const char *name;
		size_t offset;
	} metrics[] = {
	    {"entries_checked", offsetof(struct perms_tally, checked)},
	    {"mismatches", offsetof(struct perms_tally, mismatched)},
	    {"changes", offsetof(struct perms_tally, changed)},
	    {"changes_failed", offsetof(struct perms_tally, fix_failed)},
	    {"entries_scanned", offsetof(struct perms_tally, scanned)},
	    {"world_writable", offsetof(struct perms_tally, world_writable)},
	    {"setuid_setgid", offsetof(struct perms_tally, setid)},
	    {"secrets_exposed", offsetof(struct perms_tally, secrets)},
	    {"hard_links_not_changed", offsetof(struct perms_tally, hard_links)},
	    {"links_skipped", offsetof(struct perms_tally, links)},
	    {"errors", offsetof(struct perms_tally, errors)},
	    {"folders_past_max_depth", offsetof(struct perms_tally, too_deep)},
	};

	for (size_t i = 0; i < sizeof(metrics) / sizeof(metrics[0]); i++)
		h->ct->add_metric(h->t, metrics[i].name,
		                  (double)*(const int64_t *)((const char *)y + metrics[i].offset),
		                  "");
}

/* The job's status is its worst finding. */
static int
status_of(const struct perms_tally *y)
{
	static const int by_severity[] = {
	    [CT_SEV_INFO] = CT_STATUS_OK,
	    [CT_SEV_WARNING] = CT_STATUS_WARN,
	    [CT_SEV_ERROR] = CT_STATUS_FAIL,
	    [CT_SEV_CRITICAL] = CT_STATUS_FAIL,
	};

	return y->worst < 0 ? CT_STATUS_OK : by_severity[y->worst];
}

/* "3 of 12 checked do not match the rule, changed 3; " or "" without a rule. */
static void
rule_words(const struct perms_run *r, int is_dry_run, char *out, size_t size)
{
	const struct perms_tally *y = &r->tally;
	char fixed[128] = " (fix = no)";

	out[0] = '\0';
	if (r->opts.rule.n_paths == 0)
		return;
	if (r->opts.is_fix)
		snprintf(fixed, sizeof(fixed), ", %s %lld, %lld hard-linked not changed",
		         is_dry_run ? "would change" : "changed", (long long)y->changed,
		         (long long)y->hard_links);
	snprintf(out, size, "%lld of %lld checked do not match the rule%s; ",
	         (long long)y->mismatched, (long long)y->checked, fixed);
}

/* "scanned 412: 0 world-writable, ...; " or "" without scans. */
static void
scan_words(const struct perms_run *r, char *out, size_t size)
{
	const struct perms_tally *y = &r->tally;

	out[0] = '\0';
	if (r->opts.n_scan == 0)
		return;
	snprintf(out, size,
	         "scanned %lld: %lld world-writable, %lld setuid/setgid, %lld secret(s) readable "
	         "by group or others; ",
	         (long long)y->scanned, (long long)y->world_writable, (long long)y->setid,
	         (long long)y->secrets);
}

static int
perms_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct perms_run *r = state;
	char rule[256], scan[256];

	add_metrics(&r->host, &r->tally);
	rule_words(r, ct->is_dry_run(t), rule, sizeof(rule));
	scan_words(r, scan, sizeof(scan));
	ct->set_status(
	    t, status_of(&r->tally),
	    "%s%s%lld link(s) not followed, %lld unreadable, %lld folder(s) past max_depth", rule,
	    scan, (long long)r->tally.links, (long long)r->tally.errors,
	    (long long)r->tally.too_deep);
	return CT_OK;
}

static void
perms_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	free(state);
}

CT_PLUGIN_DEFINE(.name = "perms", .version = PERMS_PLUGIN_VERSION,
                 .summary = "checks owners and modes, and finds world-writable, setuid and "
                            "exposed secret files",
                 .help = "Checks the job's rule (paths, owner, group, mode exact or max_mode "
                         "at most, recursive) with a finding for every mismatch, and scans "
                         "the scan trees for world-writable entries, setuid/setgid files and "
                         "secret-looking files (secret_names, PEM private keys, settings "
                         "holding SECRET_KEY) readable by group or others. No link is "
                         "followed. fix = yes applies the rule's owner, group and mode and "
                         "lists each change; --dry-run lists only. The job's status is its "
                         "worst finding. One rule per job: several rules are several jobs "
                         "(docs/perms.md).",
                 .flags = CT_PLUGIN_DRY_RUN, .options = perms_options, .init = perms_init,
                 .run = perms_run, .report = perms_report, .fini = perms_fini);
