/*
 * vacuum_options.c — the vacuum plugin's option table (what `caretaker
 * describe vacuum` shows) and reading a job's values into struct
 * vacuum_opts once, in init, with the checks the table cannot express
 * (scale factors and ratios, which the option types have no number for,
 * and VACUUM FULL only of tables named one by one).
 *
 * Where the defaults come from (docs/vacuum.md says it for the user):
 * vacuum, insert and analyze thresholds and scale factors are autovacuum's
 * own defaults, vacuum_max_threshold is PostgreSQL 18's
 * autovacuum_vacuum_max_threshold; the freeze ages default to half of the
 * server's autovacuum_freeze_max_age and autovacuum_multixact_freeze_max_age,
 * so that the job freezes long before autovacuum forces an anti-wraparound
 * vacuum at 100% and check_postgres's autovac_freeze warns at 90%;
 * index_bloat_ratio and index_bloat_min_bytes are the limits of the
 * pgexperts index bloat check (over 50% and over 10 MB).
 */
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "vacuum.h"

const struct ct_option vacuum_options[] = {
    {.key = "conninfo",
     .type = CT_OPT_STRING,
     .help = "libpq connection string of the database (default: [caretaker] conninfo); no "
             "password here: ~/.pgpass and service files work"},
    {.key = "mode",
     .type = CT_OPT_ENUM,
     .default_value = "auto",
     .choices = "auto|all",
     .help = "auto: only the tables whose statistics pass a threshold below; all: every table "
             "in scope (the runbook's VACUUM ANALYZE), still one table at a time"},
    {.key = "tables",
     .type = CT_OPT_LIST,
     .help = "only these tables: names or globs compared with schema.table and with the bare "
             "name (public.*, django_*); a plain name that matches nothing fails the job"},
    {.key = "exclude",
     .type = CT_OPT_LIST,
     .help = "leave these tables alone (names or globs, as for tables)"},
    {.key = "vacuum_full",
     .type = CT_OPT_LIST,
     .help = "VACUUM FULL of these tables, named one by one (no globs): rewrites each under "
             "an ACCESS EXCLUSIVE lock that blocks its readers and writers, so it is skipped "
             "while any session holds a lock on it or a backup runs, and always reported as "
             "a warning"},
    {.key = "vacuum_threshold",
     .type = CT_OPT_INT,
     .default_value = "50",
     .min_value = 0,
     .max_value = INT32_MAX,
     .help = "vacuum when dead tuples > vacuum_threshold + vacuum_scale_factor x rows "
             "(autovacuum_vacuum_threshold)"},
    {.key = "vacuum_scale_factor",
     .type = CT_OPT_STRING,
     .default_value = "0.2",
     .help = "see vacuum_threshold; 0 to 100 (autovacuum_vacuum_scale_factor)"},
    {.key = "vacuum_max_threshold",
     .type = CT_OPT_INT,
     .default_value = "100000000",
     .min_value = 0,
     .max_value = 1000000000000LL,
     .help = "caps the dead tuple threshold of big tables (PostgreSQL 18's "
             "autovacuum_vacuum_max_threshold); 0: no cap"},
    {.key = "insert_threshold",
     .type = CT_OPT_INT,
     .default_value = "1000",
     .min_value = -1,
     .max_value = INT32_MAX,
     .help = "vacuum when rows inserted since the last vacuum > insert_threshold + "
             "insert_scale_factor x rows, so insert-only tables (an audit log) get their "
             "visibility map and freezing (autovacuum_vacuum_insert_threshold; PostgreSQL 13 "
             "or later); -1: off"},
    {.key = "insert_scale_factor",
     .type = CT_OPT_STRING,
     .default_value = "0.2",
     .help = "see insert_threshold; 0 to 100 (autovacuum_vacuum_insert_scale_factor)"},
    {.key = "analyze_threshold",
     .type = CT_OPT_INT,
     .default_value = "50",
     .min_value = 0,
     .max_value = INT32_MAX,
     .help = "analyze when rows modified since the last analyze > analyze_threshold + "
             "analyze_scale_factor x rows (autovacuum_analyze_threshold)"},
    {.key = "analyze_scale_factor",
     .type = CT_OPT_STRING,
     .default_value = "0.1",
     .help = "see analyze_threshold; 0 to 100 (autovacuum_analyze_scale_factor)"},
    {.key = "freeze_age",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 2000000000,
     .help = "VACUUM (FREEZE) a table whose transaction ID age (its TOAST table's included) "
             "reaches this; 0: half of the server's autovacuum_freeze_max_age (100 million "
             "by default), well before autovacuum's forced anti-wraparound vacuum"},
    {.key = "multixact_freeze_age",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 2000000000,
     .help = "the same for multixact IDs; 0: half of autovacuum_multixact_freeze_max_age"},
    {.key = "vacuum_max_interval",
     .type = CT_OPT_DURATION,
     .default_value = "30d",
     .help = "also vacuum a table last vacuumed (by anyone) longer ago than this that has "
             "dead or new rows since; 0: off"},
    {.key = "analyze_max_interval",
     .type = CT_OPT_DURATION,
     .default_value = "30d",
     .help = "also analyze a table last analyzed longer ago than this that has modified rows "
             "since; 0: off"},
    {.key = "reindex",
     .type = CT_OPT_ENUM,
     .default_value = "none",
     .choices = "none|bloated|all",
     .help = "rebuild indexes with REINDEX INDEX CONCURRENTLY (PostgreSQL 12 or later), which "
             "never blocks writes: bloated ones (btree, estimated from pg_stats without "
             "extensions) or all of the tables in scope"},
    {.key = "index_bloat_ratio",
     .type = CT_OPT_STRING,
     .default_value = "0.5",
     .help = "reindex = bloated: rebuild a btree index whose estimated waste is at least this "
             "share of its size, 0 to 1 ..."},
    {.key = "index_bloat_min_bytes",
     .type = CT_OPT_SIZE,
     .default_value = "10M",
     .help = "... and at least this many bytes"},
    {.key = "drop_leftovers",
     .type = CT_OPT_BOOL,
     .default_value = "yes",
     .help = "drop (DROP INDEX CONCURRENTLY) the invalid NAME_ccnew/NAME_ccold indexes an "
             "interrupted REINDEX CONCURRENTLY left; other invalid indexes are reported, never "
             "dropped"},
    {.key = "lock_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "5s",
     .help = "how long a statement may wait for a lock (a table's, or older transactions "
             "during a concurrent rebuild) before that table or index is skipped with a "
             "finding; 0: wait"},
    {.key = "statement_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "0",
     .help = "cancel a VACUUM, ANALYZE or REINDEX running longer than this and go on with the "
             "next table; 0: none (the job's timeout still ends the run)"},
    {.key = "maintenance_work_mem",
     .type = CT_OPT_SIZE,
     .help = "memory for VACUUM and index builds in this session (default: the server's "
             "maintenance_work_mem)"},
    {.key = "verbose",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "VACUUM/ANALYZE/REINDEX (VERBOSE), their INFO lines kept in the report's "
             "\"verbose\" output"},
    {.key = NULL},
};

/* A number the option types cannot say: `key`'s text, lo <= value <= hi. */
static int
read_number(struct plugin_host *h, const char *key, const char *fallback, double lo, double hi,
            double *value)
{
	const char *s = fallback;
	char *end;

	h->ct->opt_string(h->t, key, &s);
	*value = strtod(s, &end);
	if (end == s || *end != '\0' || !(*value >= lo && *value <= hi)) {
		h->ct->set_status(h->t, CT_STATUS_FAIL, "%s: '%s' is not a number from %g to %g",
		                  key, s, lo, hi);
		return CT_EINVAL;
	}
	return 0;
}

static int
read_thresholds(struct plugin_host *h, struct vacuum_thresholds *th)
{
	int rc;

	th->vacuum_base = plugin_host_opt_int(h, "vacuum_threshold", 50);
	th->vacuum_max = plugin_host_opt_int(h, "vacuum_max_threshold", 100000000);
	th->insert_base = plugin_host_opt_int(h, "insert_threshold", 1000);
	th->analyze_base = plugin_host_opt_int(h, "analyze_threshold", 50);
	th->freeze_age = plugin_host_opt_int(h, "freeze_age", 0);
	th->multixact_freeze_age = plugin_host_opt_int(h, "multixact_freeze_age", 0);
	th->vacuum_interval_ms = plugin_host_opt_ms(h, "vacuum_max_interval", 0);
	th->analyze_interval_ms = plugin_host_opt_ms(h, "analyze_max_interval", 0);
	rc = read_number(h, "vacuum_scale_factor", "0.2", 0, 100, &th->vacuum_scale);
	if (rc == 0)
		rc = read_number(h, "insert_scale_factor", "0.2", 0, 100, &th->insert_scale);
	if (rc == 0)
		rc = read_number(h, "analyze_scale_factor", "0.1", 0, 100, &th->analyze_scale);
	return rc;
}

/* VACUUM FULL takes a table's ACCESS EXCLUSIVE lock: a glob could name the
 * whole database by accident, so only names are taken. */
static int
read_full(struct plugin_host *h, struct vacuum_opts *o)
{
	h->ct->opt_list(h->t, "vacuum_full", &o->full, &o->n_full);
	for (size_t i = 0; i < o->n_full; i++) {
		if (!vacuum_is_pattern(o->full[i]))
			continue;
		h->ct->set_status(h->t, CT_STATUS_FAIL,
		                  "vacuum_full: '%s' is a pattern; VACUUM FULL blocks every reader "
		                  "and writer of a table, so it takes table names one by one",
		                  o->full[i]);
		return CT_ECONFIG;
	}
	return 0;
}

static int
enum_index(struct plugin_host *h, const char *key, const char *const *words, size_t n)
{
	const char *s = words[0];

	h->ct->opt_string(h->t, key, &s);
	for (size_t i = 0; i < n; i++)
		if (strcmp(s, words[i]) == 0)
			return (int)i;
	return 0; /* the host checked the choices */
}

static void
read_values(struct plugin_host *h, struct vacuum_opts *o)
{
	static const char *const modes[] = {"auto", "all"};
	static const char *const reindexes[] = {"none", "bloated", "all"};
	const struct ct_services *ct = h->ct;

	ct->opt_string(h->t, "conninfo", &o->conninfo);
	o->mode = enum_index(h, "mode", modes, 2);
	o->reindex = enum_index(h, "reindex", reindexes, 3);
	ct->opt_list(h->t, "tables", &o->tables, &o->n_tables);
	ct->opt_list(h->t, "exclude", &o->excludes, &o->n_excludes);
	o->bloat.min_bytes = 10u << 20;
	ct->opt_size_bytes(h->t, "index_bloat_min_bytes", &o->bloat.min_bytes);
	o->is_drop_leftovers = 1;
	ct->opt_bool(h->t, "drop_leftovers", &o->is_drop_leftovers);
	o->lock_timeout_ms = 5000;
	ct->opt_duration_ms(h->t, "lock_timeout", &o->lock_timeout_ms);
	ct->opt_duration_ms(h->t, "statement_timeout", &o->statement_timeout_ms);
	ct->opt_size_bytes(h->t, "maintenance_work_mem", &o->maintenance_work_mem);
	ct->opt_bool(h->t, "verbose", &o->is_verbose);
}

int
vacuum_opts_read(struct plugin_host *h, struct vacuum_opts *o)
{
	int rc;

	read_values(h, o);
	rc = read_thresholds(h, &o->th);
	if (rc == 0)
		rc = read_number(h, "index_bloat_ratio", "0.5", 0, 1, &o->bloat.ratio);
	if (rc == 0)
		rc = read_full(h, o);
	return rc;
}
