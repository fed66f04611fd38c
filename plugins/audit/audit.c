/*
 * audit — the runbook's security_audit done properly: failed logins per
 * address from the application's event table (audit_failed_logins) and
 * from sshd's auth log, with bursts, distributed guessing, credential
 * stuffing, a login right after a burst, an allowlist and the checks that
 * say whether the counts can be trusted; permission changes and suspicious
 * events listed; system changes against a baseline of hashes, owners and
 * modes; and generate_security_report as the run's findings, whose
 * severities make the job warn or fail (warn_on, fail_on).
 *
 * This file holds the entry points, the order of the parts and the report.
 * struct audit_run owns each part's struct.  The three parts (database,
 * auth log, baseline) run independently: one that fails does not keep the
 * others from reporting, and the run fails with the first failure's words.
 * audit.h says which file does what; docs/audit.md is the user's guide.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <caretaker/plugin.h>

#include "audit.h"
#include "monotonic.h"

/* One run of the job, from init to fini. */
struct audit_run {
	struct plugin_host host;
	struct audit_opts o;
	struct audit_nets nets;
	struct audit_db db;
	struct audit_logins table; /* failed logins in the event table */
	struct audit_listed listed;
	struct audit_events events; /* the auth log's */
	struct audit_authlog_stats log_stats;
	struct audit_logins log; /* failed logins in the auth log */
	struct audit_tree tree;
	struct audit_baseline_result baseline;
	struct audit_findings f;
	int64_t table_counts[AUDIT_HIT__LAST];
	int64_t log_counts[AUDIT_HIT__LAST];
	int is_tree_done;
	double seconds;
};

/* ---- the host's services for every step ---- */

/* ---- init ---- */

static int
audit_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct audit_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);
	int rc;

	if (r == NULL)
		return CT_ENOMEM;
	rc = audit_opts_read(&r->host, &r->o);
	if (rc == 0)
		rc = audit_nets_parse(&r->o, &r->nets, r->host.err, sizeof(r->host.err));
	return plugin_host_init_end(&r->host, rc);
}

/* ---- run: the three parts ---- */

static int
audit_database(struct audit_run *r)
{
	struct plugin_host *h = &r->host;
	int rc;

	h->ct->progress(h->t, -1, "counting failed logins");
	rc = audit_db_open(h, &r->o, &r->db);
	if (rc == 0)
		rc = audit_db_check_source(h, &r->o, &r->db);
	if (rc == 0)
		rc = audit_db_logins(h, &r->o, &r->db, &r->table);
	if (rc == 0)
		audit_logins_report(&r->o, &r->table, &r->f, r->table_counts);
	if (rc == 0)
		rc = audit_db_events(h, &r->o, &r->db, &r->f, &r->listed);
	audit_db_close(&r->db);
	return rc;
}

static int
audit_auth_log(struct audit_run *r)
{
	struct audit_logins *l = &r->log;
	int rc;

	l->now = time(NULL);
	l->cutoff = l->now - (time_t)(r->o.th.window_ms / 1000);
	snprintf(l->label, sizeof(l->label), "sshd in %s", r->o.auth_log);
	l->retention_hint = "the log and its rotated files reach back less than the window: "
	                    "keep more of them (logrotate's rotate), or shorten window";
	rc = audit_authlog_read(&r->host, &r->o, &r->nets, l->cutoff, &r->events, &r->log_stats);
	if (rc == 0)
		rc = audit_count_logins(&r->o.th, &r->nets, &r->events, l);
	if (rc != 0)
		return plugin_host_fail(&r->host, rc, "auth_log: counting failed logins: %s",
		                        r->host.ct->strerror(rc));
	l->oldest = r->log_stats.oldest;
	audit_logins_report(&r->o, l, &r->f, r->log_counts);
	return 0;
}

static int
audit_system(struct audit_run *r)
{
	int rc;

	rc = audit_tree_walk(&r->host, &r->o, &r->tree, &r->f);
	if (rc == 0) {
		r->is_tree_done = 1;
		rc = audit_baseline_check(&r->host, &r->o, &r->tree, &r->f, &r->baseline);
	}
	return rc;
}

static int
audit_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct audit_run *r = state;
	double t0 = monotonic_seconds();
	int rc = 0, part_rc;

	(void)t;
	(void)ct;
	if (r->o.is_database)
		rc = audit_database(r);
	if (r->o.auth_log != NULL && rc != CT_ECANCELED) {
		part_rc = audit_auth_log(r);
		rc = rc != 0 ? rc : part_rc;
	}
	if (r->o.baseline_paths.n > 0 && rc != CT_ECANCELED) {
		part_rc = audit_system(r);
		rc = rc != 0 ? rc : part_rc;
	}
	r->seconds = monotonic_seconds() - t0;
	return rc;
}

/* ---- report ---- */

static void
metrics_logins(const struct plugin_host *h, const char *prefix, const struct audit_logins *l,
               const int64_t counts[AUDIT_HIT__LAST])
{
	static const char *const names[AUDIT_HIT__LAST] = {
	    [AUDIT_HIT_IP] = "flagged_addresses",       [AUDIT_HIT_STUFFING] = "stuffing_addresses",
	    [AUDIT_HIT_BURST] = "burst_addresses",      [AUDIT_HIT_USER] = "targeted_users",
	    [AUDIT_HIT_SUCCESS] = "logins_after_burst",
	};
	char name[100];

	snprintf(name, sizeof(name), "%sfailed_logins", prefix);
	h->ct->add_metric(h->t, name, (double)l->failures, "");
	snprintf(name, sizeof(name), "%sfailed_logins_allowed", prefix);
	h->ct->add_metric(h->t, name, (double)l->allowed, "");
	snprintf(name, sizeof(name), "%sfailing_addresses", prefix);
	h->ct->add_metric(h->t, name, (double)l->addresses, "");
	for (int k = 0; k < AUDIT_HIT__LAST; k++) {
		snprintf(name, sizeof(name), "%s%s", prefix, names[k]);
		h->ct->add_metric(h->t, name, (double)counts[k], "");
	}
}

static void
report_metrics(const struct audit_run *r)
{
	const struct plugin_host *h = &r->host;

	if (r->table.is_done) {
		metrics_logins(h, "", &r->table, r->table_counts);
		h->ct->add_metric(h->t, "permission_changes", (double)r->listed.permission_changes,
		                  "");
		h->ct->add_metric(h->t, "suspicious_events", (double)r->listed.suspicious, "");
	}
	if (r->log.is_done) {
		metrics_logins(h, "sshd_", &r->log, r->log_counts);
		h->ct->add_metric(h->t, "sshd_log_files", (double)r->log_stats.n_files, "");
		h->ct->add_metric(h->t, "sshd_log_bytes", (double)r->log_stats.n_bytes, "bytes");
		h->ct->add_metric(h->t, "sshd_log_lines", (double)r->log_stats.n_lines, "");
	}
	if (r->is_tree_done) {
		h->ct->add_metric(h->t, "baseline_entries", (double)r->baseline.n_files, "");
		h->ct->add_metric(h->t, "baseline_changed", (double)r->baseline.n_changed, "");
		h->ct->add_metric(h->t, "baseline_added", (double)r->baseline.n_added, "");
		h->ct->add_metric(h->t, "baseline_removed", (double)r->baseline.n_removed, "");
		h->ct->add_metric(h->t, "baseline_bytes_hashed", (double)r->tree.bytes_hashed,
		                  "bytes");
	}
	h->ct->add_metric(h->t, "duration_seconds", r->seconds, "seconds");
}

/* The summary, one part after the other, into a fixed buffer. */
struct summary {
	char text[3072];
	size_t n;
};

static void summary_add(struct summary *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
summary_add(struct summary *s, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (s->n >= sizeof(s->text) - 1)
		return;
	va_start(ap, fmt);
	n = vsnprintf(s->text + s->n, sizeof(s->text) - s->n, fmt, ap);
	va_end(ap);
	if (n > 0)
		s->n += (size_t)n;
	if (s->n > sizeof(s->text) - 1)
		s->n = sizeof(s->text) - 1;
}

static void
summary_logins(struct summary *s, const struct audit_opts *o, const char *name,
               const struct audit_logins *l, const int64_t c[AUDIT_HIT__LAST])
{
	char window[32];

	audit_format_duration(o->th.window_ms, window, sizeof(window));
	summary_add(s,
	            "%s%s: %lld address(es) at >= %lld failed logins in %s (%lld failures from "
	            "%lld addresses), %lld credential stuffing, %lld burst(s), %lld user "
	            "name(s) from >= %lld addresses, %lld login(s) right after a burst",
	            s->n ? "; " : "", name, (long long)c[AUDIT_HIT_IP], (long long)o->th.threshold,
	            window, (long long)l->failures, (long long)l->addresses,
	            (long long)c[AUDIT_HIT_STUFFING], (long long)c[AUDIT_HIT_BURST],
	            (long long)c[AUDIT_HIT_USER], (long long)o->th.distributed_ips,
	            (long long)c[AUDIT_HIT_SUCCESS]);
}

static void
summary_baseline(struct summary *s, const struct audit_baseline_result *b)
{
	size_t changes = b->n_changed + b->n_added + b->n_removed;

	if (b->is_created || b->is_accepted) {
		summary_add(s, "%sbaseline %s%s: %zu entries, state %.16s", s->n ? "; " : "",
		            b->is_written ? "" : "would be ",
		            b->is_created ? "created" : "accepted", b->n_files, b->fingerprint);
		return;
	}
	if (changes == 0) {
		summary_add(s, "%sbaseline: no changes in %zu entries (state %.16s)",
		            s->n ? "; " : "", b->n_files, b->fingerprint);
		return;
	}
	summary_add(s,
	            "%sbaseline: %zu changed, %zu added, %zu removed in %zu entries; after review, "
	            "accept this state with baseline_accept = %.16s",
	            s->n ? "; " : "", b->n_changed, b->n_added, b->n_removed, b->n_files,
	            b->fingerprint);
}

static void
summary_build(const struct audit_run *r, struct summary *s)
{
	if (r->table.is_done) {
		summary_logins(s, &r->o, r->o.src.table, &r->table, r->table_counts);
		if (r->o.permission_events.n > 0)
			summary_add(s, "; %lld permission change(s)",
			            (long long)r->listed.permission_changes);
		if (r->o.suspicious_events.n > 0)
			summary_add(s, "; %lld suspicious event(s)",
			            (long long)r->listed.suspicious);
	}
	if (r->log.is_done)
		summary_logins(s, &r->o, "sshd", &r->log, r->log_counts);
	if (r->is_tree_done && r->host.err[0] == '\0')
		summary_baseline(s, &r->baseline);
}

/* "1 critical, 4 warning(s): " before the summary. */
static void
severity_counts(const struct audit_findings *f, char *buf, size_t size)
{
	static const char *const words[CT_SEV__LAST] = {"info", "warning(s)", "error(s)",
	                                                "critical"};
	size_t counts[CT_SEV__LAST] = {0}, n = 0;

	for (size_t i = 0; i < f->n; i++)
		counts[f->items[i].severity]++;
	buf[0] = '\0';
	for (int sev = CT_SEV__LAST - 1; sev > CT_SEV_INFO; sev--)
		if (counts[sev] > 0 && n < size)
			n += (size_t)snprintf(buf + n, size - n, "%s%zu %s", n ? ", " : "",
			                      counts[sev], words[sev]);
	if (n > 0 && n < size)
		snprintf(buf + n, size - n, ": ");
}

static int
status_of(const struct audit_opts *o, int max_severity)
{
	if (max_severity >= 0 && o->fail_on != AUDIT_SEV_NEVER && max_severity >= o->fail_on)
		return CT_STATUS_FAIL;
	if (max_severity >= 0 && o->warn_on != AUDIT_SEV_NEVER && max_severity >= o->warn_on)
		return CT_STATUS_WARN;
	return CT_STATUS_OK;
}

static int
audit_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	const struct audit_run *r = state;
	struct summary s = {.n = 0};
	char counts[128];

	for (size_t i = 0; i < r->f.n; i++)
		ct->add_finding(t, r->f.items[i].severity, r->f.items[i].object, "%s",
		                r->f.items[i].message);
	if (r->f.n_dropped > 0)
		ct->log(t, CT_LOG_WARNING, "%zu findings lost: out of memory", r->f.n_dropped);
	report_metrics(r);
	summary_build(r, &s);
	if (r->host.err[0] != '\0') {
		ct->set_status(t, CT_STATUS_FAIL, "%s%s%s", r->host.err, s.n ? "; " : "", s.text);
		return CT_OK;
	}
	severity_counts(&r->f, counts, sizeof(counts));
	ct->set_status(t, status_of(&r->o, audit_findings_max(&r->f)), "%s%s%s",
	               ct->is_dry_run(t) ? "dry run: " : "", counts, s.text);
	return CT_OK;
}

static void
audit_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct audit_run *r = state;

	(void)t;
	(void)ct;
	if (r == NULL)
		return;
	audit_db_close(&r->db);
	audit_logins_free(&r->table);
	audit_logins_free(&r->log);
	audit_events_free(&r->events);
	audit_tree_free(&r->tree);
	audit_findings_free(&r->f);
	audit_nets_free(&r->nets);
	free(r);
}

CT_PLUGIN_DEFINE(
        .name = "audit", .version = AUDIT_PLUGIN_VERSION,
        .summary = "security audit: failed logins (event table, sshd's log), permission changes, "
                   "file changes against a baseline",
        .help = "Counts failed logins per address over a window from the application's "
                "security-event table (in SQL, one read-only snapshot) and from sshd's auth log "
                "and its rotated siblings: addresses at a threshold, bursts (fail2ban's 5 in "
                "10min), credential stuffing (one address, many user names), distributed "
                "guessing (one user name, many addresses), a login right after a burst "
                "(critical), with an allowlist of addresses and ranges. It warns when one "
                "private or proxy address has most of the events (the application logs its "
                "proxy) and when the events do not reach back over the whole window (a shorter "
                "retention). It lists permission changes and suspicious events, and compares "
                "the hashes, owners and modes of baseline_paths with a baseline kept in the "
                "job's state (symbolic links recorded, never followed; baseline_accept takes a "
                "reviewed state). Every finding has a severity; warn_on and fail_on turn them "
                "into the job's status. See docs/audit.md.",
        .flags = CT_PLUGIN_DRY_RUN | CT_PLUGIN_USES_PG | CT_PLUGIN_STATE_ONLY,
        .options = audit_options, .init = audit_init, .run = audit_run, .report = audit_report,
        .fini = audit_fini);
