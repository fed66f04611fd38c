/*
 * audit_options.c — the audit plugin's option table (what `caretaker
 * describe audit` shows) and reading a job's values into struct
 * audit_opts once, in init, with the checks the table cannot express
 * (address ranges, severities, a job with nothing to audit).
 *
 * The defaults are the seed application's: its security-event table
 * (patient_input_securityevent, Django's names) and the runbook's
 * audit_failed_logins (AUTH_FAILURE, 7 days, 5 failures); the burst is
 * fail2ban's default (maxretry 5 within findtime 10 minutes).
 */
#include <stdio.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "audit.h"

#define SEVERITIES "info|warning|error|critical|never"

const struct ct_option audit_options[] = {
    {.key = "conninfo",
     .type = CT_OPT_STRING,
     .help = "libpq connection string of the application's database (default: [caretaker] "
             "conninfo); no password here: ~/.pgpass and service files work"},
    {.key = "database",
     .type = CT_OPT_BOOL,
     .default_value = "yes",
     .help = "audit the event table (failed logins, permission changes); no: only auth_log "
             "and baseline_paths"},
    {.key = "event_table",
     .type = CT_OPT_STRING,
     .default_value = "patient_input_securityevent",
     .help = "the table of security events (one row per login, failure, permission "
             "change...); any name, quoted as written"},
    {.key = "event_schema",
     .type = CT_OPT_STRING,
     .help = "its schema (default: the table the search path finds)"},
    {.key = "type_column",
     .type = CT_OPT_STRING,
     .default_value = "event_type",
     .help = "the column holding the event's type"},
    {.key = "time_column",
     .type = CT_OPT_STRING,
     .default_value = "timestamp",
     .help = "the column holding its time (timestamptz, timestamp or date)"},
    {.key = "ip_column",
     .type = CT_OPT_STRING,
     .default_value = "ip_address",
     .help = "the column holding the client's address (inet, cidr, or text holding "
             "addresses; other text counts as no address)"},
    {.key = "user_column",
     .type = CT_OPT_STRING,
     .default_value = "username",
     .help = "the column holding the user name the login tried"},
    {.key = "details_column",
     .type = CT_OPT_STRING,
     .default_value = "details",
     .help = "a column shown with listed events (jsonb or text, first 300 characters); "
             "empty: none"},
    {.key = "failure_events",
     .type = CT_OPT_LIST,
     .default_value = "AUTH_FAILURE",
     .help = "event types that are failed logins"},
    {.key = "success_events",
     .type = CT_OPT_LIST,
     .default_value = "AUTH_SUCCESS",
     .help = "event types that are successful logins (for a login right after a burst)"},
    {.key = "permission_events",
     .type = CT_OPT_LIST,
     .default_value = "PERMISSION_CHANGE",
     .help = "event types listed one by one as permission changes (add SYSTEM_CHANGE, "
             "PASSWORD_CHANGE... to list those too)"},
    {.key = "permission_severity",
     .type = CT_OPT_ENUM,
     .default_value = "info",
     .choices = "info|warning|error|critical",
     .help = "the severity of a listed permission change"},
    {.key = "suspicious_events",
     .type = CT_OPT_LIST,
     .default_value = "SUSPICIOUS_ACTIVITY",
     .help = "event types the application flags itself, listed as warnings"},
    {.key = "window",
     .type = CT_OPT_DURATION,
     .default_value = "7d",
     .help = "failed logins are counted over this much time before the run"},
    {.key = "events_window",
     .type = CT_OPT_DURATION,
     .help = "listed events are shown over this much time (default: window; a monthly "
             "report wants 31d)"},
    {.key = "threshold",
     .type = CT_OPT_INT,
     .default_value = "5",
     .min_value = 1,
     .max_value = 1000000000,
     .help = "an address with at least this many failed logins in the window is a finding"},
    {.key = "burst_window",
     .type = CT_OPT_DURATION,
     .default_value = "10min",
     .help = "a burst: burst_threshold failures of one address within this (fail2ban's "
             "findtime)"},
    {.key = "burst_threshold",
     .type = CT_OPT_INT,
     .default_value = "5",
     .min_value = 2,
     .max_value = 1000000000,
     .help = "failures that make a burst (fail2ban's maxretry); a login from the address "
             "right after one is critical"},
    {.key = "distributed_ips",
     .type = CT_OPT_INT,
     .default_value = "10",
     .min_value = 2,
     .max_value = 1000000000,
     .help = "a user name failing from at least this many addresses is a finding "
             "(guessing spread over addresses to stay under threshold)"},
    {.key = "stuffing_users",
     .type = CT_OPT_INT,
     .default_value = "10",
     .min_value = 2,
     .max_value = 1000000000,
     .help = "an address failing against at least this many user names is a finding "
             "(credential stuffing)"},
    {.key = "allow",
     .type = CT_OPT_LIST,
     .help = "addresses and CIDR ranges never counted (monitoring, the office): "
             "192.0.2.7, 10.0.0.0/8, 2001:db8::/32"},
    {.key = "proxies",
     .type = CT_OPT_LIST,
     .help = "addresses of proxies in front of the application (private ranges count "
             "already): one of these with most of the events is a warning"},
    {.key = "proxy_share",
     .type = CT_OPT_INT,
     .default_value = "50",
     .min_value = 1,
     .max_value = 100,
     .help = "percent of the window's events from one private or proxy address that makes "
             "the proxy warning"},
    {.key = "auth_log",
     .type = CT_OPT_PATH,
     .help = "also count sshd's failed logins in this syslog file (/var/log/auth.log) and "
             "its rotated siblings (.1, .2.gz...) written within the window"},
    {.key = "baseline_paths",
     .type = CT_OPT_PATH_LIST,
     .help = "files and folders whose hashes, owners and modes are compared with a "
             "baseline in the job's state (/etc/nginx, the app's settings); symbolic "
             "links are recorded, never followed"},
    {.key = "baseline_exclude",
     .type = CT_OPT_LIST,
     .help = "glob patterns left out of baseline_paths (*.pyc, cache/*, __pycache__/), "
             "as the backup plugin's exclude"},
    {.key = "baseline_accept",
     .type = CT_OPT_STRING,
     .help = "the fingerprint of a reviewed state (the run's summary gives it; 16 hex "
             "digits or more): when the paths are in that state, it becomes the baseline"},
    {.key = "list_limit",
     .type = CT_OPT_INT,
     .default_value = "100",
     .min_value = 1,
     .max_value = 10000,
     .help = "findings listed per kind; the rest are counted in one finding"},
    {.key = "warn_on",
     .type = CT_OPT_ENUM,
     .default_value = "warning",
     .choices = SEVERITIES,
     .help = "the job warns when a finding is at least this severe"},
    {.key = "fail_on",
     .type = CT_OPT_ENUM,
     .default_value = "critical",
     .choices = SEVERITIES,
     .help = "the job fails when a finding is at least this severe (critical: a login "
             "right after a burst)"},
    {.key = "statement_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "5min",
     .help = "statement_timeout of the audit's session"},
    {.key = "lock_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "5s",
     .help = "lock_timeout of the audit's session (it reads only: it waits only for a "
             "table locked exclusively, by a migration say)"},
    {.key = NULL},
};

static int
severity_of(const char *word)
{
	static const char *const words[] = {"info", "warning", "error", "critical", "never"};

	for (int i = 0; i < (int)(sizeof(words) / sizeof(words[0])); i++)
		if (word != NULL && strcmp(word, words[i]) == 0)
			return i;
	return AUDIT_SEV_NEVER;
}

static void
read_source(struct plugin_host *h, struct audit_source *s)
{
	s->schema = plugin_host_opt_str(h, "event_schema");
	s->table = plugin_host_opt_str(h, "event_table");
	s->type_column = plugin_host_opt_str(h, "type_column");
	s->time_column = plugin_host_opt_str(h, "time_column");
	s->ip_column = plugin_host_opt_str(h, "ip_column");
	s->user_column = plugin_host_opt_str(h, "user_column");
	s->details_column = plugin_host_opt_str(h, "details_column");
}

static void
read_thresholds(struct plugin_host *h, struct audit_thresholds *th)
{
	th->window_ms = plugin_host_opt_ms(h, "window", 0);
	th->events_window_ms = plugin_host_opt_ms(h, "events_window", 0);
	if (th->events_window_ms == 0)
		th->events_window_ms = th->window_ms;
	th->threshold = plugin_host_opt_int(h, "threshold", 0);
	th->burst_window_ms = plugin_host_opt_ms(h, "burst_window", 0);
	th->burst_threshold = plugin_host_opt_int(h, "burst_threshold", 0);
	th->distributed_ips = plugin_host_opt_int(h, "distributed_ips", 0);
	th->stuffing_users = plugin_host_opt_int(h, "stuffing_users", 0);
	th->proxy_share_pct = plugin_host_opt_int(h, "proxy_share", 0);
}

static int
check(struct plugin_host *h, const struct audit_opts *o)
{
	if (!o->is_database && o->auth_log == NULL && o->baseline_paths.n == 0)
		return plugin_host_fail(h, CT_ECONFIG,
		                        "nothing to audit: database = no, and neither auth_log nor "
		                        "baseline_paths is set");
	if (o->th.window_ms < 1000 || o->th.burst_window_ms < 1000)
		return plugin_host_fail(h, CT_ECONFIG,
		                        "window and burst_window must be 1s or more");
	if (o->is_database && (o->src.table[0] == '\0' || o->failure_events.n == 0))
		return plugin_host_fail(h, CT_ECONFIG,
		                        "event_table and failure_events must name something\nhint: "
		                        "database = no audits without the event table");
	if (o->baseline_accept != NULL &&
	    (strlen(o->baseline_accept) < 16 ||
	     strspn(o->baseline_accept, "0123456789abcdef") != strlen(o->baseline_accept)))
		return plugin_host_fail(
		    h, CT_ECONFIG,
		    "baseline_accept: '%s' is not a fingerprint (16 to 64 lowercase "
		    "hex digits, as the run's summary prints it)",
		    o->baseline_accept);
	return 0;
}

int
audit_opts_read(struct plugin_host *h, struct audit_opts *o)
{
	o->conninfo = plugin_host_opt_str(h, "conninfo");
	(void)h->ct->opt_bool(h->t, "database", &o->is_database);
	read_source(h, &o->src);
	plugin_host_opt_list(h, "failure_events", &o->failure_events.items, &o->failure_events.n);
	plugin_host_opt_list(h, "success_events", &o->success_events.items, &o->success_events.n);
	plugin_host_opt_list(h, "permission_events", &o->permission_events.items,
	                     &o->permission_events.n);
	plugin_host_opt_list(h, "suspicious_events", &o->suspicious_events.items,
	                     &o->suspicious_events.n);
	o->permission_severity = severity_of(plugin_host_opt_str(h, "permission_severity"));
	read_thresholds(h, &o->th);
	plugin_host_opt_list(h, "allow", &o->allow.items, &o->allow.n);
	plugin_host_opt_list(h, "proxies", &o->proxies.items, &o->proxies.n);
	o->auth_log = plugin_host_opt_str(h, "auth_log");
	plugin_host_opt_list(h, "baseline_paths", &o->baseline_paths.items, &o->baseline_paths.n);
	plugin_host_opt_list(h, "baseline_exclude", &o->baseline_exclude.items,
	                     &o->baseline_exclude.n);
	o->baseline_accept = plugin_host_opt_str(h, "baseline_accept");
	o->list_limit = plugin_host_opt_int(h, "list_limit", 0);
	o->warn_on = severity_of(plugin_host_opt_str(h, "warn_on"));
	o->fail_on = severity_of(plugin_host_opt_str(h, "fail_on"));
	o->statement_timeout_ms = plugin_host_opt_ms(h, "statement_timeout", 0);
	o->lock_timeout_ms = plugin_host_opt_ms(h, "lock_timeout", 0);
	return check(h, o);
}
