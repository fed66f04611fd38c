/*
 * retention_options.c — the retention plugin's option table (what
 * `caretaker describe retention` shows) and reading a job's values into
 * struct retention_opts once, in init, with the checks the table cannot
 * express (bounds that depend on each other, names that cannot be empty).
 *
 * One job is one rule: table, column, older_than.  Why not a list of rules
 * in one job: docs/retention.md, "One rule per job".
 */
#include <stdio.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "retention.h"

const struct ct_option retention_options[] = {
    {.key = "table",
     .type = CT_OPT_STRING,
     .flags = CT_OPTF_REQUIRED,
     .help = "the table to delete old rows from, as the catalog spells it (no quoting: "
             "Audit Log means the table \"Audit Log\"); a view or a partitioned table is "
             "refused"},
    {.key = "schema",
     .type = CT_OPT_STRING,
     .help = "the table's schema (default: the first schema of the role's search_path "
             "that has such a table)"},
    {.key = "column",
     .type = CT_OPT_STRING,
     .flags = CT_OPTF_REQUIRED,
     .help = "a timestamptz, timestamp or date column: a row goes when its value is older "
             "than the cutoff; rows where it is NULL stay"},
    {.key = "older_than",
     .type = CT_OPT_DURATION,
     .flags = CT_OPTF_REQUIRED,
     .help = "the age past which a row goes, from the server's now() at the start of the "
             "run: 90d deletes rows older than 90 days; 0 deletes rows whose time has "
             "passed (Django's expire_date)"},
    {.key = "conninfo",
     .type = CT_OPT_STRING,
     .help = "libpq connection string of the database (default: [caretaker] conninfo); "
             "no password here: ~/.pgpass and service files work"},
    {.key = "archive_to",
     .type = CT_OPT_PATH,
     .help = "a folder (created 0700 if missing): every batch's rows are first written "
             "there with COPY into a compressed, checksummed file with a JSON sidecar, "
             "synced, and only then is the batch's delete committed; a failure to archive "
             "deletes nothing"},
    {.key = "archive_compress",
     .type = CT_OPT_ENUM,
     .default_value = "gzip",
     .choices = "gzip|zstd",
     .help = "the archive files' compression: gzip (.copy.gz, any gunzip reads it) or zstd "
             "(.copy.zst)"},
    {.key = "batch_time",
     .type = CT_OPT_DURATION,
     .default_value = "200ms",
     .help = "how long one batch's transaction should take: the batch size grows or "
             "shrinks (by at most 2x a batch) toward it"},
    {.key = "batch_rows_min",
     .type = CT_OPT_INT,
     .default_value = "100",
     .min_value = 1,
     .max_value = 100000000,
     .help = "the smallest batch, in rows; the first batch is 1000 rows, within the bounds"},
    {.key = "batch_rows_max",
     .type = CT_OPT_INT,
     .default_value = "100000",
     .min_value = 1,
     .max_value = 100000000,
     .help = "the largest batch, in rows"},
    {.key = "pause",
     .type = CT_OPT_DURATION,
     .default_value = "0",
     .help = "a pause between batches, leaving the server to other work (0: none)"},
    {.key = "lock_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "500ms",
     .help = "how long a statement may wait for a lock: a batch that meets rows another "
             "session holds is redone around them (FOR UPDATE SKIP LOCKED); a table another "
             "session holds is tried again after a pause"},
    {.key = "lock_retries",
     .type = CT_OPT_INT,
     .default_value = "5",
     .min_value = 0,
     .max_value = 1000,
     .help = "how many times in a row a batch is tried again when the table stays locked "
             "before the run fails, naming the table"},
    {.key = "statement_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "1min",
     .help = "the longest any one statement may run (the count of --dry-run included); "
             "0: no limit"},
    {.key = "max_runtime",
     .type = CT_OPT_DURATION,
     .default_value = "0",
     .help = "stop after the batch that passes this much time, with a warning; the next run "
             "goes on where this one stopped (0: until every old row is gone)"},
    {.key = NULL},
};

static void
read_values(struct plugin_host *h, struct retention_opts *o)
{
	const struct ct_services *ct = h->ct;

	ct->opt_string(h->t, "conninfo", &o->conninfo);
	ct->opt_string(h->t, "schema", &o->schema);
	ct->opt_string(h->t, "table", &o->table);
	ct->opt_string(h->t, "column", &o->column);
	ct->opt_duration_ms(h->t, "older_than", &o->older_than_ms);
	ct->opt_string(h->t, "archive_to", &o->archive_to);
	ct->opt_duration_ms(h->t, "batch_time", &o->batch_time_ms);
	ct->opt_int(h->t, "batch_rows_min", &o->batch_rows_min);
	ct->opt_int(h->t, "batch_rows_max", &o->batch_rows_max);
	ct->opt_duration_ms(h->t, "pause", &o->pause_ms);
	ct->opt_duration_ms(h->t, "lock_timeout", &o->lock_timeout_ms);
	ct->opt_int(h->t, "lock_retries", &o->lock_retries);
	ct->opt_duration_ms(h->t, "statement_timeout", &o->statement_timeout_ms);
	ct->opt_duration_ms(h->t, "max_runtime", &o->max_runtime_ms);
	plugin_host_duration_words(o->older_than_ms, o->older_than, sizeof(o->older_than));
}

/* An empty name would match nothing and say so late; say it now. */
static int
check_names(struct plugin_host *h, const struct retention_opts *o)
{
	const char *empty = o->table[0] == '\0'                  ? "table"
	                    : o->column[0] == '\0'               ? "column"
	                    : o->schema != NULL && !o->schema[0] ? "schema"
	                                                         : NULL;

	if (empty == NULL)
		return 0;
	h->ct->set_status(h->t, CT_STATUS_FAIL, "%s: the name is empty", empty);
	return CT_ECONFIG;
}

static int
check_bounds(struct plugin_host *h, const struct retention_opts *o)
{
	const char *why = NULL;

	if (o->batch_rows_min > o->batch_rows_max)
		why = "batch_rows_min is larger than batch_rows_max";
	else if (o->batch_time_ms <= 0)
		why = "batch_time must be more than 0";
	else if (o->lock_timeout_ms <= 0)
		why = "lock_timeout must be more than 0: a batch must never queue without end "
		      "behind another session's lock";
	if (why == NULL)
		return 0;
	h->ct->set_status(h->t, CT_STATUS_FAIL, "%s", why);
	return CT_ECONFIG;
}

int
retention_opts_read(struct plugin_host *h, struct retention_opts *o)
{
	const char *kind = "gzip";
	int rc;

	read_values(h, o);
	h->ct->opt_string(h->t, "archive_compress", &kind);
	rc = compress_kind_parse(kind, &o->archive_kind, NULL, 0);
	if (rc == 0)
		rc = check_names(h, o);
	if (rc == 0)
		rc = check_bounds(h, o);
	return rc;
}
