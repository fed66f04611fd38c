/*
 * health.h — the health plugin's checks and what passes between them:
 * the options (health.c), and one file per kind of check: the host's
 * disks, inodes, memory and load (health_host.c), the database
 * (health_db.c), systemd units (health_services.c), the newest verified
 * backup (health_backup.c) and certificates (health_certs.c).  Every
 * check ends in exactly one finding through health_say().
 * docs/health.md is the user's guide.
 */
#ifndef CARETAKER_PLUGINS_HEALTH_H
#define CARETAKER_PLUGINS_HEALTH_H

#include <stddef.h>
#include <stdint.h>

#include "plughost.h"

enum health_level { HEALTH_OK = 0, HEALTH_WARN = 1, HEALTH_FAIL = 2, HEALTH__LAST };

/* A warn/fail pair; a value at or past `fail` fails, at or past `warn`
 * warns. */
struct health_limits {
	double warn, fail;
};

struct health_opts {
	struct health_limits disk, inodes, memory, load; /* shares 0..1; load per CPU */
	const char *const *exclude_fs;
	size_t n_exclude_fs;
	const char *const *mounts;
	size_t n_mounts;
	int is_database;
	const char *conninfo;
	int64_t database_timeout_ms;
	const char *const *services;
	size_t n_services;
	int no_systemd_level; /* enum health_level */
	const char *backup_dir;
	const char *backup_name;
	int64_t backup_warn_age_s, backup_fail_age_s;
	const char *const *certificates;
	size_t n_certificates;
	int64_t cert_warn_days, cert_fail_days;
};

struct health_tally {
	size_t n[HEALTH__LAST];
	int worst;
	char worst_words[512]; /* the first finding of the worst level */
};

/* One check's finding: INFO for ok, WARNING, ERROR for a failure; counted
 * in `tally`.  `object` names what was checked ("/var", "postgresql"). */
void health_say(struct plugin_host *h, struct health_tally *tally, int level, const char *object,
                const char *fmt, ...) CT_PRINTF(5, 6);

/* The level of `value` against `lim`. */
int health_judge(double value, const struct health_limits *lim);

void health_check_host(struct plugin_host *h, const struct health_opts *o,
                       struct health_tally *tally);
void health_check_database(struct plugin_host *h, const struct health_opts *o,
                           struct health_tally *tally);
void health_check_services(struct plugin_host *h, const struct health_opts *o,
                           struct health_tally *tally);
void health_check_backup(struct plugin_host *h, const struct health_opts *o,
                         struct health_tally *tally);
void health_check_certs(struct plugin_host *h, const struct health_opts *o,
                        struct health_tally *tally);

#endif
