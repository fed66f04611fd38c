/*
 * audit.h — the audit plugin's steps, and what each one reads and writes
 * (internal).
 *
 *   audit.c            entry points, the order of the steps, the report
 *   audit_options.c    the option table, read into struct audit_opts
 *   audit_findings.c   the run's findings, and the words of login hits
 *   audit_db.c         the plugin's session: read only, one snapshot, the
 *                      event table and its columns checked and quoted
 *   audit_db_logins.c  failed logins counted in SQL, the proxy and the
 *                      retention checks
 *   audit_db_events.c  permission changes and other listed events
 *   audit_net.c        addresses and CIDR ranges in C (the auth log's side)
 *   audit_sshd.c       one line of sshd's log, parsed
 *   audit_authlog.c    the auth log and its rotated siblings, read
 *   audit_count.c      failed logins counted in C over the log's events
 *   audit_tree.c       the configured paths walked: type, owner, mode, hash
 *   audit_baseline.c   the stored baseline: compared, created, accepted
 *
 * Failed logins are counted twice over, in SQL for the event table and in
 * C for the auth log, into the same struct audit_logins, so that the
 * findings of both read alike (audit_findings.c words them).
 */
#ifndef CARETAKER_PLUGINS_AUDIT_H
#define CARETAKER_PLUGINS_AUDIT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <libpq-fe.h>

#include <caretaker/plugin.h>

#include "plughost.h"

#define AUDIT_PLUGIN_VERSION "1.0"

/* warn_on / fail_on: above every severity. */
#define AUDIT_SEV_NEVER CT_SEV__LAST

/* An address as text (INET6_ADDRSTRLEN), or a user name as the finding's
 * object; longer user names are cut (sshd's own limit is lower). */
#define AUDIT_NAME_SIZE 256

struct audit_list {
	const char *const *items; /* owned by the host */
	size_t n;
};

/* Where the events live: names as written in the job, unquoted. */
struct audit_source {
	const char *schema; /* NULL: the search path finds the table */
	const char *table;
	const char *type_column;
	const char *time_column;
	const char *ip_column;
	const char *user_column;
	const char *details_column; /* "" or NULL: none */
};

struct audit_thresholds {
	int64_t window_ms;        /* failed logins */
	int64_t events_window_ms; /* listed events */
	int64_t threshold;        /* failures per address */
	int64_t burst_window_ms;
	int64_t burst_threshold;
	int64_t distributed_ips; /* addresses per user name */
	int64_t stuffing_users;  /* user names per address */
	int64_t proxy_share_pct;
};

/* The job's options, read once in init; const for every step after. */
struct audit_opts {
	const char *conninfo;
	int is_database;
	struct audit_source src;
	struct audit_list failure_events, success_events;
	struct audit_list permission_events, suspicious_events;
	int permission_severity;
	struct audit_thresholds th;
	struct audit_list allow;   /* addresses and CIDR ranges, checked in init */
	struct audit_list proxies; /* addresses counted as proxies, checked in init */
	const char *auth_log;
	struct audit_list baseline_paths, baseline_exclude;
	const char *baseline_accept; /* a fingerprint (hex prefix), or NULL */
	int64_t list_limit;
	int warn_on, fail_on; /* a CT_SEV_*, or AUDIT_SEV_NEVER */
	int64_t statement_timeout_ms, lock_timeout_ms;
};

/* audit_options.c */
extern const struct ct_option audit_options[];
/* Reads the job's options into *o; a bad value is the run's failure. */
int audit_opts_read(struct plugin_host *h, struct audit_opts *o);

/* ---- findings (audit_findings.c) ---- */

struct audit_finding {
	int severity;
	char *object; /* may be NULL */
	char *message;
};

/* Everything the run found, in order, emitted by the report. */
struct audit_findings {
	struct audit_finding *items;
	size_t n, cap;
	size_t n_dropped; /* lost to a failed allocation */
};

int audit_findings_add(struct audit_findings *f, int severity, const char *object, const char *fmt,
                       ...) __attribute__((format(printf, 4, 5)));
/* The highest severity found, or -1 when there is none. */
int audit_findings_max(const struct audit_findings *f);
void audit_findings_free(struct audit_findings *f);

/* ---- failed logins, from either source ---- */

enum audit_hit_kind {
	AUDIT_HIT_IP,       /* an address at or above threshold */
	AUDIT_HIT_STUFFING, /* an address failing against many user names */
	AUDIT_HIT_BURST,    /* an address failing burst_threshold times within burst_window */
	AUDIT_HIT_USER,     /* a user name failing from many addresses */
	AUDIT_HIT_SUCCESS,  /* a login from an address right after a burst of its failures */
	AUDIT_HIT__LAST     /* never use */
};

/* One finding's worth of counts. */
struct audit_hit {
	int kind;
	char object[AUDIT_NAME_SIZE]; /* the address; the user name for AUDIT_HIT_USER */
	int64_t count;                /* failures */
	int64_t distinct;             /* user names (IP, STUFFING), addresses (USER) */
	time_t first, last;           /* the failures'; SUCCESS: the burst's first, the login */
	char user[AUDIT_NAME_SIZE];   /* SUCCESS: the user name that logged in */
};

/* What one source (the event table, or the auth log) showed. */
struct audit_logins {
	char label[512];  /* "table patient_input_securityevent", "sshd in /var/log/auth.log" */
	int is_done;      /* counted; the rest is meaningful */
	int64_t failures; /* in the window, allowlisted ones left out */
	int64_t allowed;  /* failures from allowlisted addresses */
	int64_t addresses;
	struct audit_hit *hits;
	size_t n_hits, cap_hits;
	/* The address with the most events in the window (any type). */
	char top_ip[AUDIT_NAME_SIZE];
	int64_t top_count, top_total;
	int is_top_private; /* private, loopback... or listed in proxies */
	/* The oldest event the source holds, 0 when it holds none, and what
	 * to do when it is younger than the window. */
	time_t oldest;
	const char *retention_hint;
	time_t cutoff; /* start of the window */
	time_t now;
};

int audit_logins_add_hit(struct audit_logins *l, const struct audit_hit *hit);
void audit_logins_free(struct audit_logins *l);
/* Orders the hits by kind, then the strongest first. */
void audit_logins_sort(struct audit_logins *l);
/* The findings and the per-kind counts of what `l` showed. */
void audit_logins_report(const struct audit_opts *o, const struct audit_logins *l,
                         struct audit_findings *f, int64_t counts[AUDIT_HIT__LAST]);

/* "7d", "10min", "36h" (for messages). */
void audit_format_duration(int64_t ms, char *buf, size_t size);
/* "2024-05-01 12:00:00Z". */
void audit_format_time(time_t t, char *buf, size_t size);

/* ---- the database (audit_db*.c) ---- */

/* The source's names quoted (PQescapeIdentifier), and the expressions the
 * queries use. */
struct audit_sql {
	char *table; /* "schema"."table" or "table" */
	char *type;  /* "event_type"::text */
	char *time;
	char *ip;      /* an inet expression: the column, or a guarded cast of text */
	char *user;    /* "username"::text */
	char *details; /* "details"::text, or NULL */
};

/* The plugin's session: one read-only REPEATABLE READ transaction, so
 * every count sees the same events. */
struct audit_db {
	PGconn *conn; /* the host's: never PQfinish()ed here */
	struct audit_sql sql;
	time_t now_epoch; /* the transaction's now() */
	char cutoff[64];  /* now() - window, as the server writes it */
	time_t cutoff_epoch;
	char events_cutoff[64]; /* now() - events_window */
	int is_in_transaction;
};

int audit_db_open(struct plugin_host *h, const struct audit_opts *o, struct audit_db *db);
/* The table and its columns exist and have usable types; quotes them. */
int audit_db_check_source(struct plugin_host *h, const struct audit_opts *o, struct audit_db *db);
/* A query with values as parameters, stopped when the host asks; a
 * failure's words begin with `what`. */
int audit_db_query(struct plugin_host *h, const struct audit_db *db, const char *what,
                   const char *sql, const char *const *values, int n_values, PGresult **res);
/* `tmpl` with {table}, {type}, {time}, {ip}, {user} and {details} replaced
 * by the quoted expressions (caller frees; NULL when out of memory). */
char *audit_db_expand(const struct audit_db *db, const char *tmpl);
/* Commits (reads only); safe on every path. */
void audit_db_close(struct audit_db *db);

/* A text[] or inet[] literal of `n` items, for a parameter (caller frees). */
char *audit_db_array(const char *const *items, size_t n);

int audit_db_logins(struct plugin_host *h, const struct audit_opts *o, const struct audit_db *db,
                    struct audit_logins *l);

/* What the listed events (permission changes, suspicious ones) showed. */
struct audit_listed {
	int64_t permission_changes;
	int64_t suspicious;
};

int audit_db_events(struct plugin_host *h, const struct audit_opts *o, const struct audit_db *db,
                    struct audit_findings *f, struct audit_listed *listed);

/* ---- addresses (audit_net.c) ---- */

struct audit_addr {
	int family;          /* AF_INET, AF_INET6 */
	unsigned char b[16]; /* network order; IPv4 in the first 4 */
};

struct audit_cidr {
	struct audit_addr a;
	int prefix; /* bits */
};

/* An address (IPv4-mapped IPv6 becomes IPv4).  0 or CT_EINVAL. */
int audit_addr_parse(const char *s, size_t len, struct audit_addr *a);
void audit_addr_format(const struct audit_addr *a, char *buf, size_t size);
int audit_addr_cmp(const struct audit_addr *x, const struct audit_addr *y);
/* "10.0.0.0/8", "2001:db8::/32" or an address alone.  0 or CT_EINVAL. */
int audit_cidr_parse(const char *s, struct audit_cidr *c);
int audit_cidr_contains(const struct audit_cidr *c, const struct audit_addr *a);
/* Private, loopback, link-local, shared (CGNAT) or unique-local. */
int audit_addr_is_private(const struct audit_addr *a);
/* The private ranges above as text, for SQL. */
extern const char *const audit_private_ranges[];
extern const size_t audit_n_private_ranges;

/* The allowlist and the proxies, parsed in init. */
struct audit_nets {
	struct audit_cidr *allow;
	size_t n_allow;
	struct audit_cidr *proxies;
	size_t n_proxies;
};

int audit_nets_parse(const struct audit_opts *o, struct audit_nets *nets, char *err,
                     size_t err_size);
int audit_nets_allows(const struct audit_nets *nets, const struct audit_addr *a);
void audit_nets_free(struct audit_nets *nets);

/* ---- the auth log (audit_sshd.c, audit_authlog.c, audit_count.c) ---- */

enum audit_sshd_kind {
	AUDIT_SSHD_NONE,     /* not a line we count */
	AUDIT_SSHD_FAILED,   /* Failed password for [invalid user] NAME from ADDR */
	AUDIT_SSHD_INVALID,  /* Invalid user NAME from ADDR */
	AUDIT_SSHD_ACCEPTED, /* Accepted METHOD for NAME from ADDR */
};

struct audit_sshd_line {
	int kind;
	time_t ts;
	long pid;
	int is_invalid_user; /* FAILED: "for invalid user" */
	int64_t repeat;      /* "message repeated N times": N, else 1 */
	struct audit_addr addr;
	char user[AUDIT_NAME_SIZE];
};

/* Parses one line (no newline).  `year_ref` is the time the file was last
 * written: a syslog time carries no year, so it takes the year that puts it
 * at or before year_ref.  Returns 0 with out->ts and out->kind set
 * (AUDIT_SSHD_NONE for every line that is not a counted one of sshd's), or
 * CT_EINVAL when the line does not begin with a time. */
int audit_sshd_parse(const char *line, size_t len, time_t year_ref, struct audit_sshd_line *out);

/* One counted event of the log. */
struct audit_event {
	time_t ts;
	struct audit_addr addr;
	uint32_t user; /* index into audit_events.users */
	unsigned char is_success;
	unsigned char is_allowed; /* counted only for the proxy check */
};

struct audit_events {
	struct audit_event *items;
	size_t n, cap;
	char **users; /* each name once */
	size_t n_users, cap_users;
	uint32_t *user_slots; /* hash of names to 1 + index; 0 is empty */
	size_t n_slots;
};

/* One event, the user name copied once per distinct name. */
int audit_events_add(struct audit_events *ev, const struct audit_event *e, const char *user);
void audit_events_free(struct audit_events *ev);

/* What the log reading covered. */
struct audit_authlog_stats {
	size_t n_files;
	uint64_t n_lines;
	uint64_t n_bytes;
	time_t oldest; /* the oldest line read, or the newest file left unread */
};

/* Reads o->auth_log and its rotated siblings written since `cutoff`. */
int audit_authlog_read(struct plugin_host *h, const struct audit_opts *o,
                       const struct audit_nets *nets, time_t cutoff, struct audit_events *ev,
                       struct audit_authlog_stats *st);

/* The same counts as audit_db_logins, over `ev` (which it sorts). */
int audit_count_logins(const struct audit_thresholds *th, const struct audit_nets *nets,
                       struct audit_events *ev, struct audit_logins *l);

/* ---- system changes (audit_tree.c, audit_baseline.c) ---- */

enum audit_entry_type {
	AUDIT_ENTRY_FILE,
	AUDIT_ENTRY_DIR,
	AUDIT_ENTRY_LINK,
	AUDIT_ENTRY_OTHER, /* FIFO, socket, device: type and mode only */
};

/* One file, folder or link below a configured path. */
struct audit_entry {
	char *path;
	int type;
	mode_t mode; /* permission bits and setuid/setgid/sticky */
	uid_t uid;
	gid_t gid;
	uint64_t size;
	char *content; /* FILE: SHA-256 hex, LINK: the target, else "" */
	char *error;   /* why it could not be read, or NULL */
};

/* The state of the configured paths, sorted by path. */
struct audit_tree {
	struct audit_entry *items;
	size_t n, cap;
	char fingerprint[65]; /* SHA-256 of the canonical form */
	uint64_t bytes_hashed;
};

/* Walks o->baseline_paths into `tree` (sorted, fingerprinted); a path
 * that does not exist is an info finding. */
int audit_tree_walk(struct plugin_host *h, const struct audit_opts *o, struct audit_tree *tree,
                    struct audit_findings *f);
/* Sorts by path and computes the fingerprint. */
int audit_tree_finish(struct audit_tree *tree);
int audit_tree_add(struct audit_tree *tree, const struct audit_entry *e);
void audit_tree_free(struct audit_tree *tree);
/* Non-zero when two entries differ in anything the baseline keeps. */
int audit_entry_differs(const struct audit_entry *a, const struct audit_entry *b);

/* What comparing with the baseline found, and did. */
struct audit_baseline_result {
	size_t n_files; /* entries of the current state */
	size_t n_changed, n_added, n_removed;
	int is_created;       /* there was none: the current state became it */
	int is_accepted;      /* baseline_accept named the current state */
	int is_written;       /* the baseline file was (re)written */
	char fingerprint[65]; /* of the current state */
	time_t baseline_time; /* when the baseline was made or last accepted */
};

int audit_baseline_check(struct plugin_host *h, const struct audit_opts *o,
                         const struct audit_tree *tree, struct audit_findings *f,
                         struct audit_baseline_result *r);

#endif
