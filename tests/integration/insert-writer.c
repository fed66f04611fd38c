/*
 * insert-writer — the application, as far as a maintenance job can hurt
 * it: one INSERT every INTERVAL milliseconds on one connection, each one's
 * latency measured on the client, until SIGTERM or SIGINT.  On a second
 * connection it samples, after every insert, how long the oldest open
 * transaction of the sessions in the same database whose application_name
 * is LIKE PATTERN has been running (pg_stat_activity.xact_start), so a
 * test can tell both what
 * the application felt and how long the maintenance held a transaction.
 *
 *   insert-writer CONNINFO INTERVAL_MS PATTERN SQL
 *
 * Prints one line when it ends:
 *   inserts N worst_ms X mean_ms Y longest_xact_ms Z
 * and exits 0, or 1 when an insert failed (the message on stderr).
 * Used by tests/integration/retention.sh and tests/bench/retention-bench.sh.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

static volatile sig_atomic_t is_stopping;

struct tally {
	long inserts;
	double worst_ms, total_ms, longest_xact_ms;
};

static void
on_signal(int sig)
{
	(void)sig;
	is_stopping = 1;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static PGconn *
connect_as(const char *conninfo, const char *name)
{
	const char *keys[] = {"dbname", "application_name", NULL};
	const char *values[] = {conninfo, name, NULL};
	PGconn *c = PQconnectdbParams(keys, values, 1);

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "insert-writer: cannot connect: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int
insert_once(PGconn *c, const char *sql, struct tally *t)
{
	double t0 = now_ms(), ms;
	PGresult *r = PQexec(c, sql);
	int is_ok = PQresultStatus(r) == PGRES_COMMAND_OK;

	ms = now_ms() - t0;
	if (!is_ok)
		fprintf(stderr, "insert-writer: insert failed: %s", PQresultErrorMessage(r));
	PQclear(r);
	t->inserts += is_ok;
	t->total_ms += ms;
	if (ms > t->worst_ms)
		t->worst_ms = ms;
	return is_ok ? 0 : -1;
}

static void
sample_xact(PGconn *c, const char *pattern, struct tally *t)
{
	const char *params[] = {pattern};
	PGresult *r = PQexecParams(
	    c,
	    "SELECT coalesce(max(extract(epoch FROM clock_timestamp() - xact_start)) * 1000, 0) "
	    "FROM pg_stat_activity WHERE application_name LIKE $1 AND xact_start IS NOT NULL "
	    "AND datname = current_database()",
	    1, NULL, params, NULL, NULL, 0);
	double ms;

	if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
		ms = strtod(PQgetvalue(r, 0, 0), NULL);
		if (ms > t->longest_xact_ms)
			t->longest_xact_ms = ms;
	}
	PQclear(r);
}

/* Sleeps until `next` (ms on the monotonic clock), or returns at once
 * when an insert took longer than the interval. */
static void
sleep_until(double next)
{
	double left = next - now_ms();
	struct timespec ts;

	if (left <= 0)
		return;
	ts.tv_sec = (time_t)(left / 1000.0);
	ts.tv_nsec = (long)((left - (double)ts.tv_sec * 1000.0) * 1e6);
	nanosleep(&ts, NULL);
}

int
main(int argc, char **argv)
{
	struct tally t = {0};
	PGconn *w, *s;
	double interval, next;
	int rc = 0;

	if (argc != 5) {
		fprintf(stderr, "usage: insert-writer CONNINFO INTERVAL_MS PATTERN SQL\n");
		return 2;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	interval = strtod(argv[2], NULL);
	w = connect_as(argv[1], "insert-writer");
	s = w ? connect_as(argv[1], "insert-writer-sampler") : NULL;
	if (s == NULL)
		return 1;
	next = now_ms();
	while (!is_stopping && rc == 0) {
		rc = insert_once(w, argv[4], &t);
		sample_xact(s, argv[3], &t);
		next += interval;
		if (next < now_ms())
			next = now_ms();
		sleep_until(next);
	}
	printf("inserts %ld worst_ms %.1f mean_ms %.2f longest_xact_ms %.1f\n", t.inserts,
	       t.worst_ms, t.inserts ? t.total_ms / (double)t.inserts : 0, t.longest_xact_ms);
	PQfinish(w);
	PQfinish(s);
	return rc == 0 ? 0 : 1;
}
