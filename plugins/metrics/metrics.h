/*
 * metrics.h — the metrics plugin's pieces and the structs that pass
 * between them: the options (metrics.c), the samples of the host
 * (metrics_host.c), of the database (metrics_db.c) and their row in a
 * table (metrics_store.c).  docs/metrics.md is the user's guide.
 */
#ifndef CARETAKER_PLUGINS_METRICS_H
#define CARETAKER_PLUGINS_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include <libpq-fe.h>

#include "plughost.h"

enum metrics_store { METRICS_STORE_REPORT = 0, METRICS_STORE_DATABASE = 1 };

struct metrics_opts {
	int64_t cpu_interval_ms;
	const char *const *exclude_fs;
	size_t n_exclude_fs;
	const char *const *mounts;
	size_t n_mounts;
	const char *const *exclude_interfaces;
	size_t n_exclude_interfaces;
	int is_database; /* collect the database's figures */
	const char *conninfo;
	int64_t statement_timeout_ms;
	int store;         /* enum metrics_store */
	const char *table; /* store = database: the table, unquoted */
	const char *schema;
};

/* One figure: a family ("disk_used_bytes") and the thing it is of (a
 * mount point, an interface, a database; "" for the host as a whole). */
struct metrics_sample {
	char family[64];
	char label[256];
	double value;
	const char *unit; /* static */
};

struct metrics_samples {
	struct metrics_sample *items;
	size_t n, cap;
};

/* Appends one sample; CT_ENOMEM when it cannot. */
int metrics_samples_add(struct metrics_samples *s, const char *family, const char *label,
                        double value, const char *unit);
void metrics_samples_free(struct metrics_samples *s);

/* The report's name of a sample: FAMILY, or FAMILY_LABEL with the label
 * made of [a-z0-9_] ("/" is "root", "/var/lib" is "var_lib"). */
void metrics_sample_name(const struct metrics_sample *m, char *out, size_t size);

/* CPU over o->cpu_interval_ms, memory, swap, load, mounts, interfaces. */
int metrics_host_collect(struct plugin_host *h, const struct metrics_opts *o,
                         struct metrics_samples *s);

/* Connections by state, transactions, sizes, cache hits, replication. */
int metrics_db_collect(struct plugin_host *h, PGconn *conn, struct metrics_samples *s);

/* Session settings for the job's connection (statement_timeout). */
int metrics_db_session(struct plugin_host *h, PGconn *conn, const struct metrics_opts *o);

/* Creates the table when missing and appends every sample as one row,
 * stamped with the server's now(), the host's name and the job's. */
int metrics_store_append(struct plugin_host *h, PGconn *conn, const struct metrics_opts *o,
                         const struct metrics_samples *s);

#endif
