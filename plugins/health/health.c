/*
 * health — the runbook's daily check_system_health for the host and what
 * it serves: space and inodes of every real file system, memory and load
 * against warn/fail thresholds; the database reachable and answering in
 * time; systemd units active; the newest verified backup young enough;
 * certificates far enough from expiry.  Every check is a finding (info
 * when it passes), and the job's status is the worst of them, so the
 * report at 3 a.m. says which check failed and by how much.
 *
 * This file holds the option table, the entry points, the thresholds'
 * reading and the tally; each kind of check has a file of its own.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "health.h"
#include "hoststat.h"

static const struct ct_option health_options[] = {
    {.key = "disk_warn",
     .type = CT_OPT_INT,
     .default_value = "80",
     .min_value = 1,
     .max_value = 100,
     .help = "warn when a file system is this many percent full (df's Use%)"},
    {.key = "disk_fail",
     .type = CT_OPT_INT,
     .default_value = "90",
     .min_value = 1,
     .max_value = 100,
     .help = "fail when a file system is this many percent full"},
    {.key = "inodes_warn",
     .type = CT_OPT_INT,
     .default_value = "80",
     .min_value = 1,
     .max_value = 100,
     .help = "warn when this many percent of a file system's inodes are used"},
    {.key = "inodes_fail",
     .type = CT_OPT_INT,
     .default_value = "90",
     .min_value = 1,
     .max_value = 100,
     .help = "fail at this many percent of inodes used"},
    {.key = "memory_warn",
     .type = CT_OPT_INT,
     .default_value = "90",
     .min_value = 1,
     .max_value = 100,
     .help = "warn when this many percent of memory is in use (1 - MemAvailable / MemTotal)"},
    {.key = "memory_fail",
     .type = CT_OPT_INT,
     .default_value = "95",
     .min_value = 1,
     .max_value = 100,
     .help = "fail at this many percent of memory in use"},
    {.key = "load_warn",
     .type = CT_OPT_STRING,
     .default_value = "2",
     .help = "warn when the 5-minute load average per CPU reaches this (a number)"},
    {.key = "load_fail",
     .type = CT_OPT_STRING,
     .default_value = "4",
     .help = "fail when the 5-minute load average per CPU reaches this"},
    {.key = "exclude_fs",
     .type = CT_OPT_LIST,
     .default_value = HOSTSTAT_PSEUDO_FS,
     .help = "file system types not checked (kernel views and memory-backed ones by default)"},
    {.key = "mounts",
     .type = CT_OPT_LIST,
     .help = "check only these mount points (default: every file system not excluded)"},
    {.key = "database",
     .type = CT_OPT_BOOL,
     .default_value = "yes",
     .help = "check that the database accepts a connection and answers SELECT 1"},
    {.key = "conninfo",
     .type = CT_OPT_STRING,
     .help = "libpq connection string of the database (default: [caretaker] conninfo); add "
             "connect_timeout=N to bound the connection attempt itself"},
    {.key = "database_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "5s",
     .help = "fail when connecting and answering SELECT 1 takes longer than this"},
    {.key = "services",
     .type = CT_OPT_LIST,
     .help = "systemd units that must be active (systemctl is-active), e.g. postgresql, nginx"},
    {.key = "no_systemd",
     .type = CT_OPT_ENUM,
     .default_value = "warn",
     .choices = "ok|warn|fail",
     .help = "the finding's level when services are listed but systemd is not running here "
             "(a container)"},
    {.key = "backup_dir",
     .type = CT_OPT_PATH,
     .help = "the backup job's dest: its newest verified backup (manifest, verified to L2) is "
             "checked"},
    {.key = "backup_name",
     .type = CT_OPT_STRING,
     .help = "only backups of this name (the backup job's name or `name` option)"},
    {.key = "backup_warn_age",
     .type = CT_OPT_DURATION,
     .default_value = "26h",
     .help = "warn when the newest verified backup is older than this"},
    {.key = "backup_fail_age",
     .type = CT_OPT_DURATION,
     .default_value = "50h",
     .help = "fail when it is older than this, or when there is none"},
    {.key = "certificates",
     .type = CT_OPT_PATH_LIST,
     .help = "PEM certificate files whose expiry is checked (the first certificate of each)"},
    {.key = "cert_warn_days",
     .type = CT_OPT_INT,
     .default_value = "30",
     .min_value = 0,
     .max_value = 3650,
     .help = "warn when a certificate expires within this many days"},
    {.key = "cert_fail_days",
     .type = CT_OPT_INT,
     .default_value = "7",
     .min_value = 0,
     .max_value = 3650,
     .help = "fail when it expires within this many days, or has expired"},
    {.key = NULL},
};

/* One run of the job, from init to fini. */
struct health_run {
	struct plugin_host host;
	struct health_opts o;
	struct health_tally tally;
};

/* ---- findings ---- */

void
health_say(struct plugin_host *h, struct health_tally *tally, int level, const char *object,
           const char *fmt, ...)
{
	static const int severities[HEALTH__LAST] = {CT_SEV_INFO, CT_SEV_WARNING, CT_SEV_ERROR};
	static const char *const words[HEALTH__LAST] = {"ok", "warning", "failed"};
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (level < 0 || level >= HEALTH__LAST)
		level = HEALTH_FAIL;
	tally->n[level]++;
	if (level > tally->worst || tally->worst_words[0] == '\0') {
		tally->worst = level;
		snprintf(tally->worst_words, sizeof(tally->worst_words), "%.200s: %.300s", object,
		         msg);
	}
	h->ct->add_finding(h->t, severities[level], object, "%s: %s", words[level], msg);
}

int
health_judge(double value, const struct health_limits *lim)
{
	if (value >= lim->fail)
		return HEALTH_FAIL;
	return value >= lim->warn ? HEALTH_WARN : HEALTH_OK;
}

/* ---- init ---- */

static int
read_load(struct plugin_host *h, const char *key, const char *fallback, double *value)
{
	const char *s = plugin_host_opt_str(h, key);
	char *end;

	s = s != NULL ? s : fallback;
	*value = strtod(s, &end);
	if (end == s || *end != '\0' || !(*value > 0 && *value <= 1000))
		return plugin_host_fail(h, CT_ECONFIG, "%s: '%s' is not a number above 0", key, s);
	return 0;
}

static int
read_pair(struct plugin_host *h, const char *name, struct health_limits *lim, int64_t warn,
          int64_t fail)
{
	char wkey[32], fkey[32];

	snprintf(wkey, sizeof(wkey), "%s_warn", name);
	snprintf(fkey, sizeof(fkey), "%s_fail", name);
	lim->warn = (double)plugin_host_opt_int(h, wkey, warn) / 100;
	lim->fail = (double)plugin_host_opt_int(h, fkey, fail) / 100;
	if (lim->warn > lim->fail)
		return plugin_host_fail(h, CT_ECONFIG, "%s (%.0f%%) is above %s (%.0f%%)", wkey,
		                        lim->warn * 100, fkey, lim->fail * 100);
	return 0;
}

static void
read_rest(struct plugin_host *h, struct health_opts *o)
{
	const char *no_systemd = plugin_host_opt_str(h, "no_systemd");

	plugin_host_opt_list(h, "exclude_fs", &o->exclude_fs, &o->n_exclude_fs);
	plugin_host_opt_list(h, "mounts", &o->mounts, &o->n_mounts);
	o->is_database = 1;
	h->ct->opt_bool(h->t, "database", &o->is_database);
	o->conninfo = plugin_host_opt_str(h, "conninfo");
	o->database_timeout_ms = plugin_host_opt_ms(h, "database_timeout", 5000);
	plugin_host_opt_list(h, "services", &o->services, &o->n_services);
	o->no_systemd_level = no_systemd == NULL                ? HEALTH_WARN
	                      : strcmp(no_systemd, "ok") == 0   ? HEALTH_OK
	                      : strcmp(no_systemd, "fail") == 0 ? HEALTH_FAIL
	                                                        : HEALTH_WARN;
	o->backup_dir = plugin_host_opt_str(h, "backup_dir");
	o->backup_name = plugin_host_opt_str(h, "backup_name");
	o->backup_warn_age_s = plugin_host_opt_ms(h, "backup_warn_age", 26 * 3600000LL) / 1000;
	o->backup_fail_age_s = plugin_host_opt_ms(h, "backup_fail_age", 50 * 3600000LL) / 1000;
	plugin_host_opt_list(h, "certificates", &o->certificates, &o->n_certificates);
	o->cert_warn_days = plugin_host_opt_int(h, "cert_warn_days", 30);
	o->cert_fail_days = plugin_host_opt_int(h, "cert_fail_days", 7);
}

static int
opts_read(struct plugin_host *h, struct health_opts *o)
{
	int rc = read_pair(h, "disk", &o->disk, 80, 90);

	rc = rc ? rc : read_pair(h, "inodes", &o->inodes, 80, 90);
	rc = rc ? rc : read_pair(h, "memory", &o->memory, 90, 95);
	rc = rc ? rc : read_load(h, "load_warn", "2", &o->load.warn);
	rc = rc ? rc : read_load(h, "load_fail", "4", &o->load.fail);
	if (rc == 0 && o->load.warn > o->load.fail)
		rc = plugin_host_fail(h, CT_ECONFIG, "load_warn (%g) is above load_fail (%g)",
		                      o->load.warn, o->load.fail);
	read_rest(h, o);
	if (rc == 0 && o->backup_warn_age_s > o->backup_fail_age_s)
		rc = plugin_host_fail(h, CT_ECONFIG, "backup_warn_age is above backup_fail_age");
	if (rc == 0 && o->cert_warn_days < o->cert_fail_days)
		rc = plugin_host_fail(h, CT_ECONFIG, "cert_warn_days is below cert_fail_days");
	return rc;
}

static int
health_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct health_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);

	if (r == NULL)
		return CT_ENOMEM;
	return plugin_host_init_end(&r->host, opts_read(&r->host, &r->o));
}

/* ---- run ---- */

static int
health_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct health_run *r = state;
	void (*const checks[])(struct plugin_host *, const struct health_opts *,
	                       struct health_tally *) = {
	    health_check_host,   health_check_database, health_check_services,
	    health_check_backup, health_check_certs,
	};

	(void)t;
	for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
		if (ct->should_stop(t))
			return CT_ECANCELED;
		checks[i](&r->host, &r->o, &r->tally);
	}
	return CT_OK;
}

/* ---- report ---- */

static int
health_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	static const int statuses[HEALTH__LAST] = {CT_STATUS_OK, CT_STATUS_WARN, CT_STATUS_FAIL};
	struct health_run *r = state;
	const struct health_tally *ty = &r->tally;
	size_t n = ty->n[HEALTH_OK] + ty->n[HEALTH_WARN] + ty->n[HEALTH_FAIL];

	ct->add_metric(t, "checks", (double)n, "");
	ct->add_metric(t, "checks_warning", (double)ty->n[HEALTH_WARN], "");
	ct->add_metric(t, "checks_failed", (double)ty->n[HEALTH_FAIL], "");
	if (ty->worst == HEALTH_OK)
		ct->set_status(t, CT_STATUS_OK, "%zu checks ok", n);
	else
		ct->set_status(t, statuses[ty->worst], "%zu checks: %zu failed, %zu warning(s); %s",
		               n, ty->n[HEALTH_FAIL], ty->n[HEALTH_WARN], ty->worst_words);
	return CT_OK;
}

static void
health_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	(void)t;
	(void)ct;
	free(state);
}

CT_PLUGIN_DEFINE(.name = "health", .version = "1.0",
                 .summary = "host, database, services, backup and certificate checks",
                 .help = "Checks space and inodes of every real file system, memory and the "
                         "load against warn/fail thresholds; that the database answers within "
                         "database_timeout; that the systemd units in `services` are active; "
                         "that the newest verified backup in backup_dir is young enough; and "
                         "that the certificates do not expire soon. Every check is a finding; "
                         "the job's status is the worst of them. See docs/health.md.",
                 .flags = CT_PLUGIN_DRY_RUN | CT_PLUGIN_STATE_ONLY | CT_PLUGIN_USES_PG,
                 .options = health_options, .init = health_init, .run = health_run,
                 .report = health_report, .fini = health_fini);
