/*
 * verify_restore.c — L3, the restore test: a scratch database created for
 * the test and dropped on every path, the backup restored into it by psql
 * (plain) or pg_restore (custom) fed from the same read that checks L2,
 * then every table's row count compared with what the manifest recorded
 * from the dump's own snapshot.
 *
 * The scratch database has a fixed name per job (caretaker_verify_JOB), so
 * that a run killed before it could drop it (SIGKILL, a power cut) has its
 * leftover dropped by the next run; the core never runs one job twice at
 * once.  DROP ... WITH (FORCE) (PostgreSQL 13+) ends sessions a failed
 * restore may have left.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <caretaker/errors.h>

#include "monotonic.h"
#include "pgquery.h"
#include "pgtables.h"
#include "verify.h"

/* caretaker_verify_ and the job name folded to [a-z0-9_], within NAMEDATALEN. */
static void
scratch_name(const char *job, char *out, size_t size)
{
	size_t n = (size_t)snprintf(out, size, "caretaker_verify_");

	for (const char *p = job; *p != '\0' && n + 1 < size && n < 63; p++) {
		char c = *p;

		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		out[n++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
	}
	out[n] = '\0';
}

/* CREATE/DROP DATABASE on the admin connection.  Never cancelled by a stop
 * request: the drop must happen then above all. */
static int
admin_exec(PGconn *admin, const char *sql, char *detail, size_t detail_size)
{
	return pgquery_exec(admin, sql, NULL, NULL, NULL, detail, detail_size);
}

static int
scratch_drop(struct verify_restore *r, char *detail, size_t detail_size)
{
	char *ident = PQescapeIdentifier(r->admin, r->scratch, strlen(r->scratch));
	char sql[256];

	if (ident == NULL) {
		snprintf(detail, detail_size, "cannot quote %s", r->scratch);
		return CT_ENOMEM;
	}
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s%s", ident,
	         PQserverVersion(r->admin) >= 130000 ? " WITH (FORCE)" : "");
	PQfreemem(ident);
	return admin_exec(r->admin, sql, detail, detail_size);
}

/* template0, in the encoding the dumped database had. */
static int
scratch_create(struct verify_restore *r, const struct manifest *m, char *detail, size_t detail_size)
{
	char *ident = PQescapeIdentifier(r->admin, r->scratch, strlen(r->scratch));
	char *enc =
	    m->encoding ? PQescapeLiteral(r->admin, m->encoding, strlen(m->encoding)) : NULL;
	char sql[256];
	int rc = CT_ENOMEM;

	if (ident != NULL && (enc != NULL || m->encoding == NULL)) {
		snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE template0%s%s", ident,
		         enc ? " ENCODING " : "", enc ? enc : "");
		rc = admin_exec(r->admin, sql, detail, detail_size);
	}
	PQfreemem(ident);
	PQfreemem(enc);
	if (rc == 0)
		r->is_created = 1;
	return rc;
}

static int
restore_connect(struct plugin_host *h, const char *conninfo, struct verify_restore *r, char *detail,
                size_t detail_size)
{
	char *msg = NULL;

	if (h->ct->pg_connect(h->t, conninfo, &r->admin) != 0) {
		snprintf(detail, detail_size, "cannot connect to the restore server (see the log)");
		return CT_EPG;
	}
	/* "does not exist, skipping" from DROP ... IF EXISTS is no news. */
	if (pgquery_exec(r->admin, "SET client_min_messages = warning", NULL, NULL, NULL, detail,
	                 detail_size) != 0)
		return CT_EPG;
	r->opts = conninfo ? PQconninfoParse(conninfo, &msg) : PQconninfo(r->admin);
	if (r->opts != NULL)
		return 0;
	snprintf(detail, detail_size, "restore_conninfo: %s", msg ? msg : "out of memory");
	PQfreemem(msg);
	return CT_ECONFIG;
}

/* psql or pg_restore for the restore server, and new enough for the dump. */
static int
restore_find(const char *pg_bindir, const struct manifest *m, struct verify_restore *r,
             char *detail, size_t detail_size)
{
	const char *prog = strcmp(m->format, "custom") == 0 ? "pg_restore" : "psql";
	int dump_num = 0, rc;

	rc =
	    pgtools_find(prog, pg_bindir, PQserverVersion(r->admin), &r->prog, detail, detail_size);
	if (rc == 0 && m->pg_dump_version != NULL &&
	    pgtools_version_parse(m->pg_dump_version, &dump_num) == 0)
		rc = pgtools_version_check(r->prog.path, r->prog.version_num, dump_num, detail,
		                           detail_size);
	return rc;
}

static int
restore_spawn(struct plugin_host *h, const struct manifest *m, struct verify_restore *r,
              char *detail, size_t detail_size)
{
	struct pgtools_env *env = NULL;
	char app[160], dbarg[2048];
	int rc;

	snprintf(app, sizeof(app), "caretaker/%s/restore", h->ct->job_name(h->t));
	rc = pgtools_env_new(r->opts, r->scratch, app, &env, detail, detail_size);
	if (rc != 0)
		return rc;
	snprintf(dbarg, sizeof(dbarg), "--dbname=%s", pgtools_env_dbname_arg(env));
	if (strcmp(m->format, "custom") == 0) {
		char *const argv[] = {r->prog.path, "--no-password", "--exit-on-error", dbarg,
		                      NULL};

		rc = pgtools_spawn(r->prog.path, argv, pgtools_env_envp(env),
		                   PGTOOLS_STDIN | PGTOOLS_STDERR_BUFFER, &r->child, detail,
		                   detail_size);
	} else {
		char *const argv[] = {
		    r->prog.path, "-X", "-q", "--no-password", "-v", "ON_ERROR_STOP=1",
		    "-f",         "-",  NULL};

		rc = pgtools_spawn(r->prog.path, argv, pgtools_env_envp(env),
		                   PGTOOLS_STDIN | PGTOOLS_STDERR_BUFFER, &r->child, detail,
		                   detail_size);
	}
	pgtools_env_free(env);
	return rc;
}

int
verify_restore_begin(struct plugin_host *h, const struct verify_opts *o, const struct manifest *m,
                     struct verify_restore *r, char *detail, size_t detail_size)
{
	int rc;

	r->child = (struct pgtools_child){0, -1, -1, -1, 0};
	r->seconds = monotonic_seconds();
	scratch_name(h->ct->job_name(h->t), r->scratch, sizeof(r->scratch));
	rc = restore_connect(h, o->restore_conninfo, r, detail, detail_size);
	if (rc == 0)
		rc = restore_find(o->pg_bindir, m, r, detail, detail_size);
	if (rc == 0)
		rc = scratch_drop(r, detail, detail_size); /* a killed run's leftover */
	if (rc == 0)
		rc = scratch_create(r, m, detail, detail_size);
	if (rc == 0)
		rc = restore_spawn(h, m, r, detail, detail_size);
	return rc;
}

int
verify_restore_feed_cb(const void *buf, size_t len, void *ctx)
{
	struct verify_restore *r = ctx;

	if (!r->is_child_gone && pgtools_feed(&r->child, buf, len) != 0)
		r->is_child_gone = 1;
	return 0;
}

/* The restore program's verdict; its stderr goes to the report. */
static int
restore_wait(struct plugin_host *h, struct verify_restore *r, char *detail, size_t detail_size)
{
	char said[4096], how[64];
	size_t len;
	int status = 0;

	pgtools_close_stdin(&r->child);
	if (pgtools_wait(&r->child, &status) != 0) {
		snprintf(detail, detail_size, "cannot wait for %s", r->prog.path);
		return CT_ECHILD;
	}
	len = pgtools_read_stderr(&r->child, said, sizeof(said));
	if (len > 0)
		h->ct->add_output(h->t, "restore", said, len);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	pgtools_status_text(status, how, sizeof(how));
	said[strcspn(said, "\n")] = '\0';
	snprintf(detail, detail_size, "L3 failed: %s %s: %.300s", r->prog.path, how,
	         said[0] ? said : "no message");
	return CT_ECORRUPT;
}

static int64_t
result_rows(const PGresult *res, const char *table)
{
	for (int i = 0; i < PQntuples(res); i++)
		if (strcmp(PQgetvalue(res, i, 0), table) == 0)
			return strtoll(PQgetvalue(res, i, 1), NULL, 10);
	return -1;
}

/* One finding per table that differs. */
static void
compare_counts(struct plugin_host *h, const struct manifest *m, const PGresult *res,
               struct verify_restore *r)
{
	for (size_t i = 0; i < m->n_tables; i++) {
		int64_t got = result_rows(res, m->tables[i].name);

		if (got == m->tables[i].rows)
			continue;
		r->n_differ++;
		if (got < 0)
			h->ct->add_finding(h->t, CT_SEV_ERROR, m->tables[i].name,
			                   "missing after the restore; the manifest says %lld rows",
			                   (long long)m->tables[i].rows);
		else
			h->ct->add_finding(h->t, CT_SEV_ERROR, m->tables[i].name,
			                   "restored %lld rows, the manifest says %lld",
			                   (long long)got, (long long)m->tables[i].rows);
	}
	for (int i = 0; i < PQntuples(res); i++) {
		r->rows += strtoll(PQgetvalue(res, i, 1), NULL, 10);
		if (manifest_table_rows(m, PQgetvalue(res, i, 0)) >= 0)
			continue;
		r->n_differ++;
		h->ct->add_finding(h->t, CT_SEV_ERROR, PQgetvalue(res, i, 0),
		                   "restored (%s rows) but not in the manifest",
		                   PQgetvalue(res, i, 1));
	}
	r->n_tables = (size_t)PQntuples(res);
}

/* Counts in the scratch database, on a connection of our own. */
static int
count_restored(struct plugin_host *h, const struct manifest *m, struct verify_restore *r,
               char *detail, size_t detail_size)
{
	PGresult *res = NULL;
	char *conninfo = NULL;
	PGconn *c = NULL;
	int rc;

	rc = pgtools_conninfo_string(r->opts, r->scratch, &conninfo);
	if (rc == 0) {
		c = PQconnectdb(conninfo);
		if (c == NULL || PQstatus(c) != CONNECTION_OK) {
			snprintf(detail, detail_size, "cannot connect to %s: %s", r->scratch,
			         c ? PQerrorMessage(c) : "out of memory");
			rc = CT_EPG;
		}
	}
	if (rc == 0)
		rc = pgquery_exec(c, pgtables_rowcount_sql, plugin_host_should_stop, h, &res,
		                  detail, detail_size);
	if (rc == 0)
		compare_counts(h, m, res, r);
	PQclear(res);
	PQfinish(c);
	free(conninfo);
	return rc;
}

int
verify_restore_end(struct plugin_host *h, const struct manifest *m, struct verify_restore *r,
                   char *detail, size_t detail_size)
{
	int rc;

	rc = restore_wait(h, r, detail, detail_size);
	if (rc == 0)
		rc = count_restored(h, m, r, detail, detail_size);
	r->seconds = monotonic_seconds() - r->seconds;
	if (rc != 0)
		return rc;
	if (r->n_differ > 0) {
		snprintf(detail, detail_size,
		         "L3 failed: %zu table(s) differ from the manifest's row counts (see the "
		         "findings)",
		         r->n_differ);
		return CT_ECORRUPT;
	}
	snprintf(detail, detail_size,
	         "L3 ok: restored into %s in %.1f s; %zu tables, %lld rows match the manifest",
	         r->scratch, r->seconds, r->n_tables, (long long)r->rows);
	return 0;
}

void
verify_restore_cleanup(struct plugin_host *h, struct verify_restore *r)
{
	char detail[512];

	pgtools_stop(&r->child);
	if (r->is_created && scratch_drop(r, detail, sizeof(detail)) != 0)
		h->ct->add_finding(h->t, CT_SEV_ERROR, r->scratch,
		                   "the scratch database could not be dropped: %s", detail);
	r->is_created = 0;
	PQconninfoFree(r->opts);
	r->opts = NULL;
}
