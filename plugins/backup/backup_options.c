/*
 * backup_options.c — the backup plugin's option table (what `caretaker
 * describe backup` shows) and reading a job's values into struct
 * backup_opts once, in init, with the checks the table cannot express
 * (levels per kind, names, the key file, options that exclude each other).
 */
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "backup.h"

/* Measured on the harness's `bench` dump (689 MB of real pg_dump SQL, see
 * tests/bench/backup-bench.sh and docs/backup.md): gzip level 2, the
 * library's default for synthetic SQL, came out 5.3% larger than `gzip -6`
 * there; level 3 is 3.2% larger and still within the time target. */
#define DEFAULT_GZIP_LEVEL 3
#define DEFAULT_ZSTD_LEVEL 1

const struct ct_option backup_options[] = {
    {.key = "conninfo",
     .type = CT_OPT_STRING,
     .help = "libpq connection string of the database to dump (default: [caretaker] "
             "conninfo); no password here: ~/.pgpass and service files work"},
    {.key = "dest",
     .type = CT_OPT_PATH,
     .flags = CT_OPTF_REQUIRED,
     .help = "the backup folder (created 0700 if missing); backups are "
             "NAME-YYYYmmddTHHMMSSZ.sql.gz with NAME-....manifest.json beside"},
    {.key = "name",
     .type = CT_OPT_STRING,
     .help = "file name prefix, and whose backups retention looks at (default: the job's name)"},
    {.key = "format",
     .type = CT_OPT_ENUM,
     .default_value = "plain",
     .choices = "plain|custom",
     .help = "plain: SQL, restored with psql; custom: pg_dump -Fc (.dump), restored with "
             "pg_restore (selective or parallel restores)"},
    {.key = "row_counts",
     .type = CT_OPT_ENUM,
     .default_value = "auto",
     .choices = "auto|dump|snapshot",
     .help = "how the manifest's per-table row counts (compared by verify's restore test) "
             "are taken: dump counts the rows of pg_dump's output as it passes (plain "
             "format; no extra work for the server); snapshot runs count(*) on every table "
             "in the dump's snapshot beside the dump (reads every table a second time); "
             "auto: dump for plain, snapshot for custom"},
    {.key = "compress",
     .type = CT_OPT_ENUM,
     .default_value = "gzip",
     .choices = "gzip|zstd|none",
     .help = "gzip: parallel blocks any gunzip reads; zstd: faster and smaller, zstd -d "
             "reads it; none"},
    {.key = "level",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 19,
     .help = "compression level, gzip 1-12, zstd 1-19; 0: the measured default (gzip 3, zstd 1)"},
    {.key = "threads",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 64,
     .help = "compression threads; 0: one per CPU"},
    {.key = "lock_wait_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "0",
     .help = "how long pg_dump may wait for the share lock on each table (a migration or "
             "another session holding an exclusive lock) before the backup fails, naming "
             "the table; 0: wait, up to the job's timeout"},
    {.key = "min_size",
     .type = CT_OPT_SIZE,
     .default_value = "512",
     .help = "fail when pg_dump writes less than this (an empty database dumps ~700 bytes)"},
    {.key = "min_free",
     .type = CT_OPT_SIZE,
     .help = "refuse to start when dest has less free space than this"},
    {.key = "min_free_factor",
     .type = CT_OPT_STRING,
     .default_value = "1.5",
     .help = "also refuse when dest's free space is below this many times the last "
             "backup's size (0: off)"},
    {.key = "keep_daily",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 100000,
     .help = "retention: keep the newest backup of each of the N newest days (UTC) that have one"},
    {.key = "keep_weekly",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 100000,
     .help = "retention: ... of each of the N newest ISO weeks"},
    {.key = "keep_monthly",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 100000,
     .help = "retention: ... of each of the N newest months"},
    {.key = "keep_days",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 100000,
     .help = "retention: keep every backup younger than N days"},
    {.key = "keep_min",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 100000,
     .help = "retention: always keep the N newest; retention is off while every keep_* is 0, "
             "counts only backups verified to L2 and never deletes the newest of those"},
    {.key = "pg_bindir",
     .type = CT_OPT_PATH,
     .help = "folder of pg_dump and pg_restore (default: /usr/lib/postgresql/MAJOR/bin of "
             "the server's major version, else PATH)"},
    {.key = "paths",
     .type = CT_OPT_PATH_LIST,
     .help = "files and folders to archive as one tar (.tar.gz) instead of dumping a "
             "database; an unreadable file fails the backup"},
    {.key = "exclude",
     .type = CT_OPT_LIST,
     .help = "glob patterns left out of paths (*.pyc, cache/*, __pycache__/)"},
    {.key = "encrypt_to",
     .type = CT_OPT_PATH,
     .help = "a public key file (caretaker keygen): the backup is encrypted to it (.enc) and "
             "only the secret key reads it"},
    {.key = "decrypt_key",
     .type = CT_OPT_PATH,
     .help = "the secret key of encrypt_to, if this host may hold it: the job then checks "
             "the new backup at L2; without it, L1, and retention waits for a verify job "
             "that has the key"},
    {.key = NULL},
};

/* The level for o->kind: its measured default for 0, else within the
 * kind's range. */
static int
read_level(struct plugin_host *h, int64_t level, struct backup_opts *o)
{
	static const int defaults[COMPRESS__LAST] = {0, DEFAULT_GZIP_LEVEL, DEFAULT_ZSTD_LEVEL};
	static const int max[COMPRESS__LAST] = {0, 12, 19};

	if (level == 0) {
		o->level = defaults[o->kind];
		return 0;
	}
	if (level > max[o->kind] && o->kind == COMPRESS_NONE) {
		h->ct->set_status(h->t, CT_STATUS_FAIL, "level: compress = none takes no level");
		return CT_EINVAL;
	}
	if (level > max[o->kind]) {
		h->ct->set_status(h->t, CT_STATUS_FAIL, "level: %s takes 1-%d, not %lld",
		                  compress_kind_name(o->kind), max[o->kind], (long long)level);
		return CT_EINVAL;
	}
	o->level = (int)level;
	return 0;
}

static int
read_factor(struct plugin_host *h, struct backup_opts *o)
{
	const char *s = "1.5";
	char *end;

	h->ct->opt_string(h->t, "min_free_factor", &s);
	o->min_free_factor = strtod(s, &end);
	if (end == s || *end != '\0' || !(o->min_free_factor >= 0 && o->min_free_factor < 1e12)) {
		h->ct->set_status(h->t, CT_STATUS_FAIL,
		                  "min_free_factor: '%s' is not a number, 0 or more", s);
		return CT_EINVAL;
	}
	return 0;
}

static int
read_name(struct plugin_host *h, struct backup_opts *o)
{
	const char *n = h->ct->job_name(h->t);

	h->ct->opt_string(h->t, "name", &n);
	if (n[0] == '\0' || n[0] == '.' ||
	    strspn(n, "abcdefghijklmnopqrstuvwxyz"
	              "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") != strlen(n)) {
		h->ct->set_status(h->t, CT_STATUS_FAIL,
		                  "name: '%s' must be letters, digits, '.', '_' and '-'", n);
		return CT_EINVAL;
	}
	o->name = n;
	return 0;
}

static void
read_policy(struct plugin_host *h, struct backupset_policy *p)
{
	p->daily = plugin_host_opt_int(h, "keep_daily", 0);
	p->weekly = plugin_host_opt_int(h, "keep_weekly", 0);
	p->monthly = plugin_host_opt_int(h, "keep_monthly", 0);
	p->days = plugin_host_opt_int(h, "keep_days", 0);
	p->min = plugin_host_opt_int(h, "keep_min", 0);
}

/* encrypt_to: the public key now, so that a bad file fails before any
 * dump; paths: file trees, which need no database. */
static int
read_targets(struct plugin_host *h, struct backup_opts *o)
{
	char err[400];

	if (o->encrypt_to != NULL &&
	    crypt_public_key_load(o->encrypt_to, &o->pk, err, sizeof(err)) != 0) {
		h->ct->set_status(h->t, CT_STATUS_FAIL, "encrypt_to: %s", err);
		return CT_ECONFIG;
	}
	if (o->n_paths > 0 && o->conninfo != NULL) {
		h->ct->set_status(h->t, CT_STATUS_FAIL,
		                  "paths and conninfo: a job backs up file trees or a database, "
		                  "not both\nhint: make two jobs");
		return CT_ECONFIG;
	}
	if (o->n_excludes > 0 && o->n_paths == 0) {
		h->ct->set_status(h->t, CT_STATUS_FAIL,
		                  "exclude applies to paths, which is not set");
		return CT_ECONFIG;
	}
	return 0;
}

/* Counting in the dump's output needs the plain format's COPY sections. */
static int
read_counts(struct plugin_host *h, const char *counts, struct backup_opts *o)
{
	int is_custom = strcmp(o->format, "custom") == 0;

	if (strcmp(counts, "dump") == 0 && is_custom) {
		h->ct->set_status(
		    h->t, CT_STATUS_FAIL,
		    "row_counts = dump reads the rows of a plain dump; this job has "
		    "format = custom\nhint: row_counts = snapshot, or leave it unset");
		return CT_ECONFIG;
	}
	o->counts_in_dump =
	    strcmp(counts, "dump") == 0 || (strcmp(counts, "auto") == 0 && !is_custom);
	return 0;
}

/* The values the table types and checks alone. */
static void
read_values(struct plugin_host *h, struct backup_opts *o)
{
	const struct ct_services *ct = h->ct;

	o->format = "plain";
	ct->opt_string(h->t, "conninfo", &o->conninfo);
	ct->opt_string(h->t, "dest", &o->dest);
	ct->opt_string(h->t, "format", &o->format);
	ct->opt_string(h->t, "pg_bindir", &o->pg_bindir);
	ct->opt_string(h->t, "encrypt_to", &o->encrypt_to);
	ct->opt_string(h->t, "decrypt_key", &o->decrypt_key);
	ct->opt_list(h->t, "paths", &o->paths, &o->n_paths);
	ct->opt_list(h->t, "exclude", &o->excludes, &o->n_excludes);
	ct->opt_duration_ms(h->t, "lock_wait_timeout", &o->lock_wait_ms);
	ct->opt_size_bytes(h->t, "min_size", &o->min_size);
	ct->opt_size_bytes(h->t, "min_free", &o->min_free);
	o->n_threads = (int)plugin_host_opt_int(h, "threads", 0);
	read_policy(h, &o->policy);
}

int
backup_opts_read(struct plugin_host *h, struct backup_opts *o)
{
	const char *kind = "gzip", *counts = "auto";
	int rc;

	read_values(h, o);
	h->ct->opt_string(h->t, "row_counts", &counts);
	h->ct->opt_string(h->t, "compress", &kind);
	rc = compress_kind_parse(kind, &o->kind, NULL, 0);
	if (rc == 0)
		rc = read_counts(h, counts, o);
	if (rc == 0)
		rc = read_level(h, plugin_host_opt_int(h, "level", 0), o);
	if (rc == 0)
		rc = read_factor(h, o);
	if (rc == 0)
		rc = read_name(h, o);
	if (rc == 0)
		rc = read_targets(h, o);
	return rc;
}
