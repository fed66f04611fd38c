/*
 * backup_dump.c — pg_dump's stdout through the compression writer into the
 * partial file, and the checks that fail the backup closed.
 *
 * One loop in the plugin's thread polls three things: pg_dump's stdout
 * (into the writer, whose workers compress on the other cores, and, with
 * row_counts = dump, past the row counter), its stderr (into the report,
 * scanned for error lines) and the session's socket (the table list or the
 * row counts arriving).  A full writer blocks the loop, which stops reading
 * the pipe, which stops pg_dump: memory stays bounded.
 *
 * Fail closed: the backup fails, and the partial file goes, on a non-zero
 * exit, an error line on stderr even with exit 0, a plain dump without its
 * completion trailer, a custom archive without its magic, output below
 * min_size, a failed write, a stop request, failed row counts, or (row
 * counts from the output) a table the database has and the output lacks.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* F_GETPIPE_SZ */
#endif
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "backup.h"
#include "dumpcount.h"
#include "monotonic.h"

#define READ_BYTES ((size_t)256 << 10)
#define POLL_MS 200
/* pg_dump writes through stdio, 4 KiB per write() into a pipe.  Reading
 * each piece as it comes costs a wake-up on both sides; after a short read
 * we wait a moment and take a batch instead.  Measured on the bench dump
 * (689 MB, 2 cores): system time 2.3 -> 1.5 s, dump 6.8 -> 6.3 s.  The
 * wait stays well below the time pg_dump needs to fill the pipe. */
#define BATCH_BYTES ((size_t)64 << 10)

/* The dump step: what it reads (const) and writes, and the loop's own
 * state. */
struct pump {
	struct plugin_host *h;
	const struct backup_opts *o;
	const struct pgtools_prog *pg_dump;
	struct backup_session *s; /* its snapshot; the row counts arrive here */
	struct backup_files *f;   /* the partial file and its writer */
	struct pgtools_child child;
	struct pgtools_tail tail; /* plain: the completion trailer */
	struct dumpcount *dc;     /* row_counts = dump: the rows of each COPY section */
	char head[5];             /* custom: "PGDMP" */
	size_t head_len;
	uint64_t raw_bytes;
	char line[1024]; /* the stderr line being assembled */
	size_t line_len;
	int n_errors;
	char first_error[400];
	char lock_table[200]; /* the table of a LOCK TABLE query pg_dump reported */
	int status;           /* pg_dump's wait status */
	long batch_ns;        /* pause after a short read, 0: none */
	int rc;               /* the first failure */
};

static int
is_custom(const struct backup_opts *o)
{
	return strcmp(o->format, "custom") == 0;
}

/* The partial file, its writer and the check that follows it, and with
 * row_counts = dump the counter of the output's rows. */
static int
start_output(struct pump *p, struct backup_check *c)
{
	int rc;

	rc = backup_files_open(p->h, p->o, c, p->f);
	if (rc != 0 || !p->o->counts_in_dump)
		return rc;
	p->dc = dumpcount_new();
	if (p->dc == NULL)
		return plugin_host_fail(p->h, CT_ENOMEM, "out of memory for the row counts");
	return 0;
}

/* pg_dump's connection options: the job's conninfo parsed, or the host's
 * session described (when the job relies on the [caretaker] default). */
static int
conn_options(struct pump *p, PQconninfoOption **opts)
{
	char *msg = NULL;

	if (p->o->conninfo == NULL) {
		*opts = PQconninfo(p->s->conn);
		return *opts ? 0 : plugin_host_fail(p->h, CT_ENOMEM, "out of memory for conninfo");
	}
	*opts = PQconninfoParse(p->o->conninfo, &msg);
	if (*opts != NULL)
		return 0;
	plugin_host_fail(p->h, CT_ECONFIG, "conninfo: %s", msg ? msg : "out of memory");
	PQfreemem(msg);
	return CT_ECONFIG;
}

struct dump_args {
	char snapshot[128];
	char lock_wait[64];
	char dbname[2048];
	char *argv[10];
};

static int
dump_argv(const struct pump *p, const struct pgtools_env *env, struct dump_args *a)
{
	const char *extra = pgtools_env_extra_arg(env);
	int n = 0;

	a->argv[n++] = (char *)p->pg_dump->path;
	a->argv[n++] = "--no-password";
	snprintf(a->snapshot, sizeof(a->snapshot), "--snapshot=%s", p->s->snapshot);
	a->argv[n++] = a->snapshot;
	a->argv[n++] = is_custom(p->o) ? "--format=custom" : "--format=plain";
	if (p->o->lock_wait_ms > 0) {
		snprintf(a->lock_wait, sizeof(a->lock_wait), "--lock-wait-timeout=%lldms",
		         (long long)p->o->lock_wait_ms);
		a->argv[n++] = a->lock_wait;
	}
	/* A custom archive is compressed by pg_dump itself unless told not to;
	 * ours is parallel and checksummed per block, so one layer is enough. */
	if (is_custom(p->o) && p->o->kind != COMPRESS_NONE)
		a->argv[n++] = "--compress=0";
	if (extra != NULL) {
		if (snprintf(a->dbname, sizeof(a->dbname), "--dbname=%s", extra) >=
		    (int)sizeof(a->dbname))
			return CT_EINVAL;
		a->argv[n++] = a->dbname;
	}
	a->argv[n] = NULL;
	return 0;
}

static int
start_pg_dump(struct pump *p)
{
	PQconninfoOption *opts = NULL;
	struct pgtools_env *env = NULL;
	struct dump_args args;
	char app[160], err[512];
	int rc;

	rc = conn_options(p, &opts);
	snprintf(app, sizeof(app), "caretaker/%s/pg_dump", p->h->ct->job_name(p->h->t));
	if (rc == 0)
		rc = pgtools_env_new(opts, NULL, app, &env, err, sizeof(err));
	if (rc != 0 && opts != NULL)
		rc = plugin_host_fail(p->h, rc, "%s", err);
	if (rc == 0 && dump_argv(p, env, &args) != 0)
		rc = plugin_host_fail(p->h, CT_EINVAL,
		                      "conninfo: too many options without a variable");
	if (rc == 0) {
		rc = pgtools_spawn(p->pg_dump->path, args.argv, pgtools_env_envp(env),
		                   PGTOOLS_STDOUT, &p->child, err, sizeof(err));
		if (rc != 0)
			rc = plugin_host_fail(p->h, rc, "%s", err);
	}
	pgtools_env_free(env);
	PQconninfoFree(opts);
	return rc;
}

/* ---- the loop ---- */

/* 2 ms with the 1 MiB pipe (pg_dump writes ~150 MB/s: 30% of it; half
 * the wake-ups of 1 ms), 0.2 ms if the kernel refused to grow it from
 * 64 KiB. */
static long
batch_pause_ns(int fd)
{
	int size = fcntl(fd, F_GETPIPE_SZ);

	return size >= (1 << 20) ? 2000000L : 200000L;
}

/* With --lock-wait-timeout pg_dump's error is a statement timeout; the
 * detail line after it names the table it could not lock (quoted as SQL,
 * spaces and all).  The first such table is kept. */
static void
take_lock_table(struct pump *p)
{
	static const char lock_query[] = "pg_dump: detail: Query was: LOCK TABLE ";
	static const char lock_mode[] = " IN ACCESS SHARE MODE";
	size_t at = sizeof(lock_query) - 1;
	const char *end;

	if (p->line_len <= at || memcmp(p->line, lock_query, at) != 0 || p->lock_table[0] != '\0')
		return;
	end = memmem(p->line + at, p->line_len - at, lock_mode, sizeof(lock_mode) - 1);
	if (end != NULL)
		snprintf(p->lock_table, sizeof(p->lock_table), "%.*s", (int)(end - p->line - at),
		         p->line + at);
}

static void
take_line(struct pump *p)
{
	take_lock_table(p);
	if (!pgtools_line_is_error(p->line, p->line_len))
		return;
	if (p->n_errors++ == 0)
		snprintf(p->first_error, sizeof(p->first_error), "%.*s", (int)p->line_len, p->line);
}

/* Splits stderr into lines; a line longer than the buffer is judged by its
 * start, which is where pg_dump puts the severity. */
static void
scan_stderr(struct pump *p, const char *buf, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\n') {
			take_line(p);
			p->line_len = 0;
		} else if (p->line_len < sizeof(p->line)) {
			p->line[p->line_len++] = buf[i];
		}
	}
}

static void
read_stderr(struct pump *p)
{
	char buf[16384];
	ssize_t n = read(p->child.err_fd, buf, sizeof(buf));

	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n <= 0) {
		if (p->line_len > 0)
			take_line(p);
		close(p->child.err_fd);
		p->child.err_fd = -1;
		return;
	}
	p->h->ct->add_output(p->h->t, "pg_dump", buf, (size_t)n);
	scan_stderr(p, buf, (size_t)n);
}

/* Bytes pg_dump wrote, already in the writer's block: looked at, then
 * committed to the stream. */
static void
take_data(struct pump *p, const char *buf, size_t n)
{
	char err[512];
	int rc;

	if (p->head_len < sizeof(p->head)) {
		size_t k = sizeof(p->head) - p->head_len < n ? sizeof(p->head) - p->head_len : n;

		memcpy(p->head + p->head_len, buf, k);
		p->head_len += k;
	}
	pgtools_tail_add(&p->tail, buf, n);
	p->raw_bytes += n;
	backup_progress_bytes(p->h, "dumping", p->raw_bytes, p->f->expect_bytes);
	rc = p->dc != NULL ? dumpcount_add(p->dc, buf, n) : 0;
	if (rc != 0) {
		p->rc = plugin_host_fail(
		    p->h, rc,
		    "counting rows in pg_dump's output: %s\n"
		    "hint: row_counts = snapshot counts them on the server instead",
		    dumpcount_error(p->dc));
		return;
	}
	rc = compress_writer_commit(p->f->w, n, err, sizeof(err));
	if (rc != 0)
		p->rc = plugin_host_fail(p->h, rc, "writing %s: %s", p->f->partial_path, err);
}

/* Reads straight into the writer's block: no copy on the way. */
static void
read_stdout(struct pump *p)
{
	void *space;
	size_t len;
	ssize_t n;

	/* Refused only after a commit failed, which already failed the run. */
	p->rc = compress_writer_space(p->f->w, &space, &len);
	if (p->rc != 0)
		return;
	n = read(p->child.out_fd, space, len < READ_BYTES ? len : READ_BYTES);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return;
	if (n < 0)
		p->rc =
		    plugin_host_fail(p->h, CT_EIO, "reading pg_dump's output: %s", strerror(errno));
	if (n <= 0) {
		close(p->child.out_fd);
		p->child.out_fd = -1;
		return;
	}
	take_data(p, space, (size_t)n);
	if ((size_t)n < BATCH_BYTES && (size_t)n < len && p->batch_ns > 0)
		nanosleep(&(struct timespec){0, p->batch_ns}, NULL);
}

/* One round of poll over stdout, stderr and, while counting, the session. */
static void
pump_round(struct pump *p)
{
	struct pollfd fds[3] = {
	    {.fd = p->child.out_fd, .events = POLLIN},
	    {.fd = p->child.err_fd, .events = POLLIN},
	    {.fd = p->s->is_counting ? PQsocket(p->s->conn) : -1, .events = POLLIN}};

	if (poll(fds, 3, POLL_MS) < 0) {
		if (errno != EINTR)
			p->rc = plugin_host_fail(p->h, CT_ESYS, "poll: %s", strerror(errno));
		return;
	}
	if (fds[0].revents != 0)
		read_stdout(p);
	if (fds[1].revents != 0 && p->rc == 0)
		read_stderr(p);
	if (fds[2].revents != 0 && p->rc == 0)
		(void)backup_session_count_poll(p->s);
}

static void
pump_loop(struct pump *p)
{
	while (p->rc == 0 && (p->child.out_fd >= 0 || p->child.err_fd >= 0)) {
		if (plugin_host_should_stop(p->h)) {
			p->rc = plugin_host_fail(p->h, CT_ECANCELED, "stopped during the dump");
			break;
		}
		pump_round(p);
	}
	if (p->rc != 0) {
		pgtools_stop(&p->child);
		return;
	}
	if (pgtools_wait(&p->child, &p->status) != 0)
		p->rc = plugin_host_fail(p->h, CT_ECHILD, "cannot wait for pg_dump");
}

/* ---- the verdict ---- */

static int
check_exit(struct pump *p)
{
	char how[64];

	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0 && p->n_errors == 0)
		return 0;
	pgtools_status_text(p->status, how, sizeof(how));
	if (p->o->lock_wait_ms > 0 && p->lock_table[0] != '\0' &&
	    strstr(p->first_error, "statement timeout") != NULL)
		return plugin_host_fail(
		    p->h, CT_ECHILD,
		    "pg_dump could not lock table %s within lock_wait_timeout (%lld ms): "
		    "another session holds a conflicting lock (lock timeout)\n"
		    "hint: SELECT pid, mode, query FROM pg_locks JOIN pg_stat_activity "
		    "USING (pid) WHERE relation = '%s'::regclass; or raise "
		    "lock_wait_timeout",
		    p->lock_table, (long long)p->o->lock_wait_ms, p->lock_table);
	if (WIFEXITED(p->status) && WEXITSTATUS(p->status) == 0)
		return plugin_host_fail(p->h, CT_ECHILD,
		                        "pg_dump exited 0 but reported %d error(s): %s",
		                        p->n_errors, p->first_error);
	return plugin_host_fail(p->h, CT_ECHILD, "pg_dump %s: %s", how,
	                        p->n_errors ? p->first_error : "see its output in the report");
}

static int
check_output(struct pump *p)
{
	if (!is_custom(p->o) && !pgtools_tail_is_complete(&p->tail))
		return plugin_host_fail(
		    p->h, CT_ECORRUPT,
		    "pg_dump's output lacks its completion line: the dump was cut short");
	if (is_custom(p->o) && (p->head_len < 5 || memcmp(p->head, "PGDMP", 5) != 0))
		return plugin_host_fail(p->h, CT_ECORRUPT,
		                        "pg_dump's output is not a custom-format archive");
	if (p->raw_bytes < p->o->min_size)
		return plugin_host_fail(p->h, CT_ECORRUPT,
		                        "pg_dump wrote only %llu bytes, less than min_size (%llu)\n"
		                        "hint: lower min_size if the database really is this small",
		                        (unsigned long long)p->raw_bytes,
		                        (unsigned long long)p->o->min_size);
	return 0;
}

/* row_counts = dump: every table the snapshot lists must have its COPY
 * section in the output, once; its rows become the manifest's count. */
static int
take_counts(struct pump *p)
{
	struct backup_session *s = p->s;
	const char *twice = dumpcount_duplicate(p->dc);
	int64_t rows;

	if (dumpcount_is_in_section(p->dc))
		return plugin_host_fail(
		    p->h, CT_ECORRUPT,
		    "pg_dump's output ends inside a table's rows: the dump was cut short");
	if (twice != NULL)
		return plugin_host_fail(
		    p->h, CT_ECORRUPT,
		    "pg_dump's output has two COPY sections for table %s\n"
		    "hint: row_counts = snapshot counts rows on the server instead",
		    twice);
	for (size_t i = 0; i < s->n_tables; i++) {
		rows = dumpcount_rows(p->dc, s->tables[i].name);
		if (rows < 0)
			return plugin_host_fail(
			    p->h, CT_ECORRUPT,
			    "pg_dump's output has no rows section (COPY) for table %s, "
			    "which the database has: the dump is incomplete",
			    s->tables[i].name);
		s->tables[i].rows = rows;
	}
	return 0;
}

static void
pump_free(struct pump *p)
{
	pgtools_stop(&p->child);
	backup_files_close(p->f);
	dumpcount_free(p->dc);
}

/* pg_dump's verdict and what its output must be: exit, completion, size,
 * every table's rows. */
static int
pump_judge(struct pump *p, struct backup_check *c)
{
	int rc;

	rc = check_exit(p);
	if (rc == 0)
		rc = backup_session_count_wait(p->h, p->s);
	if (rc == 0)
		rc = check_output(p);
	if (rc == 0 && p->dc != NULL)
		rc = take_counts(p);
	if (rc == 0)
		rc = backup_files_finish_writing(p->h, c, p->f);
	return rc;
}

int
backup_dump_run(struct plugin_host *h, const struct backup_opts *o,
                const struct pgtools_prog *pg_dump, struct backup_session *s,
                struct backup_check *c, struct backup_files *f, double *seconds)
{
	struct pump p = {
	    .h = h, .o = o, .pg_dump = pg_dump, .s = s, .f = f, .child = {0, -1, -1, -1, 0}};
	double t0 = monotonic_seconds();
	int rc;

	/* pg_dump first: the file, the compression threads and the check that
	 * follows are set up while it connects and reads the catalog, its
	 * first output waiting in the pipe meanwhile. */
	rc = start_pg_dump(&p);
	if (rc == 0)
		rc = backup_session_count_send(h, s, o->counts_in_dump);
	if (rc == 0)
		rc = start_output(&p, c);
	if (rc == 0) {
		backup_progress_bytes(h, "dumping", 0, f->expect_bytes);
		p.batch_ns = batch_pause_ns(p.child.out_fd);
		pump_loop(&p);
		rc = p.rc;
	}
	if (rc == 0)
		rc = pump_judge(&p, c);
	*seconds = monotonic_seconds() - t0;
	pump_free(&p);
	return rc;
}
