/*
 * metrics — the runbook's collect_system_metrics and get_db_connections:
 * CPU over a short stated interval, memory and swap, load, every real
 * file system's space and inodes, every interface's traffic and errors,
 * and, when the job has a database, its client connections by state, idle
 * transactions, the share of max_connections in use, the longest open
 * transaction, database sizes, the cache hit ratio and a replica's lag.
 * Every figure goes into the run report with its unit (and from there to
 * the Prometheus textfile); `store = database` also appends them to a
 * table (metrics_store.c).
 *
 * This file holds the option table, the entry points and the samples
 * list; the host's figures come from plugins/lib/hoststat.h through
 * metrics_host.c, the database's from metrics_db.c.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "hoststat.h"
#include "metrics.h"
#include "monotonic.h"

static const struct ct_option metrics_options[] = {
    {.key = "cpu_interval",
     .type = CT_OPT_DURATION,
     .default_value = "200ms",
     .help = "CPU use is the share of /proc/stat's ticks that were busy over this interval, "
             "sampled at its start and end (10ms to 60s)"},
    {.key = "exclude_fs",
     .type = CT_OPT_LIST,
     .default_value = HOSTSTAT_PSEUDO_FS,
     .help = "file system types left out of the disk figures (kernel views and memory-backed "
             "ones by default)"},
    {.key = "mounts",
     .type = CT_OPT_LIST,
     .help = "only these mount points (default: every mounted file system not excluded, "
             "each device once)"},
    {.key = "exclude_interfaces",
     .type = CT_OPT_LIST,
     .default_value = "lo",
     .help = "network interfaces left out"},
    {.key = "database",
     .type = CT_OPT_BOOL,
     .default_value = "yes",
     .help = "also collect the database's figures (needs a conninfo; store = database needs "
             "it)"},
    {.key = "conninfo",
     .type = CT_OPT_STRING,
     .help = "libpq connection string of the database (default: [caretaker] conninfo); no "
             "password here: ~/.pgpass and service files work"},
    {.key = "statement_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "10s",
     .help = "cancel a query of the job running longer than this"},
    {.key = "store",
     .type = CT_OPT_ENUM,
     .default_value = "report",
     .choices = "report|database",
     .help = "report: the figures go to the run report (and the Prometheus textfile) only; "
             "database: also appended to `table`, one row per figure"},
    {.key = "table",
     .type = CT_OPT_STRING,
     .default_value = "caretaker_metrics",
     .help = "store = database: the table (created when missing; docs/metrics.md has its "
             "columns), as the catalog spells it"},
    {.key = "schema",
     .type = CT_OPT_STRING,
     .default_value = "public",
     .help = "store = database: the table's schema"},
    {.key = NULL},
};

/* One run of the job, from init to fini. */
struct metrics_run {
	struct plugin_host host;
	struct metrics_opts o;
	struct metrics_samples samples;
	size_t n_host, n_db; /* samples of each part */
	double seconds;
	int is_stored;
};

/* ---- samples ---- */

int
metrics_samples_add(struct metrics_samples *s, const char *family, const char *label, double value,
                    const char *unit)
{
	struct metrics_sample *m;

	if (s->n == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 64;
		struct metrics_sample *grown = realloc(s->items, cap * sizeof(*grown));

		if (grown == NULL)
			return CT_ENOMEM;
		s->items = grown;
		s->cap = cap;
	}
	m = &s->items[s->n++];
	snprintf(m->family, sizeof(m->family), "%s", family);
	snprintf(m->label, sizeof(m->label), "%s", label ? label : "");
	m->value = value;
	m->unit = unit;
	return 0;
}

void
metrics_samples_free(struct metrics_samples *s)
{
	free(s->items);
	s->items = NULL;
	s->n = s->cap = 0;
}

void
metrics_sample_name(const struct metrics_sample *m, char *out, size_t size)
{
	size_t len;
	int is_gap = 1;

	snprintf(out, size, "%s", m->family);
	if (m->label[0] == '\0')
		return;
	if (strcmp(m->label, "/") == 0) {
		snprintf(out + strlen(out), size - strlen(out), "_root");
		return;
	}
	len = strlen(out);
	for (const char *p = m->label; *p != '\0' && len + 2 < size; p++) {
		unsigned char c = (unsigned char)*p;

		if (c >= 0x80 || !isalnum(c)) {
			is_gap = 1;
			continue;
		}
		if (is_gap)
			out[len++] = '_';
		out[len++] = (char)tolower(c);
		is_gap = 0;
	}
	out[len] = '\0';
}

/* ---- init ---- */

static int
opts_read(struct plugin_host *h, struct metrics_opts *o)
{
	static const char *const stores[] = {"report", "database"};
	const char *store = plugin_host_opt_str(h, "store");

	o->cpu_interval_ms = plugin_host_opt_ms(h, "cpu_interval", 200);
	plugin_host_opt_list(h, "exclude_fs", &o->exclude_fs, &o->n_exclude_fs);
	plugin_host_opt_list(h, "mounts", &o->mounts, &o->n_mounts);
	plugin_host_opt_list(h, "exclude_interfaces", &o->exclude_interfaces,
	                     &o->n_exclude_interfaces);
	o->is_database = 1;
	h->ct->opt_bool(h->t, "database", &o->is_database);
	o->conninfo = plugin_host_opt_str(h, "conninfo");
	o->statement_timeout_ms = plugin_host_opt_ms(h, "statement_timeout", 10000);
	o->store = store != NULL && strcmp(store, stores[1]) == 0;
	o->table = plugin_host_opt_str(h, "table");
	o->schema = plugin_host_opt_str(h, "schema");
	if (o->cpu_interval_ms < 10 || o->cpu_interval_ms > 60000)
		return plugin_host_fail(h, CT_ECONFIG,
		                        "cpu_interval: %lld ms is not from 10ms to 60s",
		                        (long long)o->cpu_interval_ms);
	if (o->store == METRICS_STORE_DATABASE && !o->is_database)
		return plugin_host_fail(h, CT_ECONFIG,
		                        "store = database needs the database\nhint: set database = "
		                        "yes, or store = report");
	return 0;
}

static int
metrics_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct metrics_run *r = plugin_host_state_new(t, ct, sizeof(*r), state);

	if (r == NULL)
		return CT_ENOMEM;
	return plugin_host_init_end(&r->host, opts_read(&r->host, &r->o));
}

/* ---- run ---- */

static int
database_part(struct metrics_run *r)
{
	struct plugin_host *h = &r->host;
	struct pg_conn *conn = NULL;
	size_t before = r->samples.n;
	int rc;

	rc = h->ct->pg_connect(h->t, r->o.conninfo, &conn);
	if (rc != 0)
		return plugin_host_fail(
		    h, rc, "cannot connect to the database (the log has libpq's words)");
	rc = metrics_db_session(h, conn, &r->o);
	if (rc == 0)
		rc = metrics_db_collect(h, conn, &r->samples);
	r->n_db = r->samples.n - before;
	if (rc == 0 && r->o.store == METRICS_STORE_DATABASE && !h->ct->is_dry_run(h->t)) {
		rc = metrics_store_append(h, conn, &r->o, &r->samples);
		r->is_stored = rc == 0;
	}
	return rc;
}

static int
metrics_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct metrics_run *r = state;
	double t0 = monotonic_seconds();
	int rc;

	(void)t;
	(void)ct;
	rc = metrics_host_collect(&r->host, &r->o, &r->samples);
	r->n_host = r->samples.n;
	if (rc == 0 && r->o.is_database)
		rc = database_part(r);
	r->seconds = monotonic_seconds() - t0;
	return rc;
}

/* ---- report ---- */

static const struct metrics_sample *
find(const struct metrics_samples *s, const char *family, const char *label)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->items[i].family, family) == 0 &&
		    strcmp(s->items[i].label, label) == 0)
			return &s->items[i];
	return NULL;
}

static double
value_of(const struct metrics_samples *s, const char *family, const char *label)
{
	const struct metrics_sample *m = find(s, family, label);

	return m != NULL ? m->value : 0;
}

static void
summary(struct metrics_run *r, int status)
{
	const struct metrics_samples *s = &r->samples;
	char db[160] = "";

	if (r->n_db > 0)
		snprintf(db, sizeof(db),
		         "; database: %.0f client connections (%.0f%% of "
		         "max_connections), cache hits %.1f%%%s",
		         value_of(s, "db_connections_total", ""),
		         100 * value_of(s, "db_connections_used_ratio", ""),
		         100 * value_of(s, "db_cache_hit_ratio", ""),
		         r->is_stored ? ", stored" : "");
	r->host.ct->set_status(
	    r->host.t, status,
	    "cpu %.1f%% busy over %lld ms, memory %.1f%% used, load %.2f, %zu "
	    "figures%s%s%s",
	    100 * value_of(s, "cpu_busy_ratio", ""), (long long)r->o.cpu_interval_ms,
	    100 * value_of(s, "memory_used_ratio", ""), value_of(s, "load_1", ""), s->n, db,
	    r->host.err[0] ? ": " : "", r->host.err);
}

static int
metrics_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct metrics_run *r = state;
	char name[100];

	for (size_t i = 0; i < r->samples.n; i++) {
		metrics_sample_name(&r->samples.items[i], name, sizeof(name));
		ct->add_metric(t, name, r->samples.items[i].value, r->samples.items[i].unit);
	}
	ct->add_metric(t, "duration_seconds", r->seconds, "seconds");
	summary(r, r->host.err[0] ? CT_STATUS_FAIL : CT_STATUS_OK);
	return CT_OK;
}

static void
metrics_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct metrics_run *r = state;

	(void)t;
	(void)ct;
	if (r == NULL)
		return;
	metrics_samples_free(&r->samples);
	free(r);
}

CT_PLUGIN_DEFINE(.name = "metrics", .version = "1.0",
                 .summary = "host and database figures into the report, optionally a table",
                 .help = "CPU use over cpu_interval (/proc/stat), memory and swap, load, space "
                         "and inodes of every real file system, traffic and errors of every "
                         "network interface, and with a database its client connections by "
                         "state, idle transactions, the share of max_connections used, the "
                         "longest open transaction, database sizes, the cache hit ratio and a "
                         "replica's lag. Each figure is a metric of the run (FAMILY_LABEL, "
                         "e.g. disk_used_ratio_var_lib); store = database appends them to a "
                         "table. See docs/metrics.md.",
                 .flags = CT_PLUGIN_DRY_RUN | CT_PLUGIN_STATE_ONLY | CT_PLUGIN_USES_PG,
                 .options = metrics_options, .init = metrics_init, .run = metrics_run,
                 .report = metrics_report, .fini = metrics_fini);
