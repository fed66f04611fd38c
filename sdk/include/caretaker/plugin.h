/*
 * caretaker/plugin.h — the stable ABI between the caretaker host and its task
 * plugins.  This header, with caretaker/errors.h, is all a plugin includes.
 *
 * A plugin is a shared object that exports exactly one symbol,
 * `caretaker_plugin`, a const struct ct_plugin filled in by
 * CT_PLUGIN_DEFINE().  The host loads it, checks the descriptor, validates the
 * job's options against the plugin's option table, and then, in a child
 * process of its own for every job run, calls
 *
 *     init -> run -> report -> fini
 *
 * handing each call the task (one run of one job, opaque) and the host's
 * services table.  Plugins reach the host only through that table: they never
 * link against caretaker, never parse INI, never print to stdout and never
 * call exit().
 *
 * Compatibility (docs/abi.md has the full promise):
 *  - struct ct_plugin and struct ct_services begin with abi_version and size
 *    and only ever grow at the end.  Each side reads a member only when
 *    offsetof(member) < size as the other side reported it.  Members added
 *    after 1.0 are marked "since 1.N".
 *  - The host refuses a plugin whose ABI major differs from its own.  A plugin
 *    built against 1.N loads in every host 1.M with M >= 0; a plugin that needs
 *    a member added in 1.N checks CT_HAS_SERVICE() in init and refuses an older
 *    host with a clear message.
 *  - Enum values and error codes keep their numbers; new ones are appended.
 *
 * Everything a plugin receives from the host (strings, lists, connections)
 * is owned by the host and stays valid until fini returns, unless a
 * prototype says otherwise.
 */
#ifndef CARETAKER_PLUGIN_H
#define CARETAKER_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include <caretaker/errors.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CT_ABI_MAJOR 1
#define CT_ABI_MINOR 1
/* Major in the high 16 bits, minor in the low 16. */
#define CT_ABI_VERSION (((uint32_t)CT_ABI_MAJOR << 16) | (uint32_t)CT_ABI_MINOR)
#define CT_ABI_MAJOR_OF(v) ((uint32_t)(v) >> 16)
#define CT_ABI_MINOR_OF(v) ((uint32_t)(v)&0xffffu)

/* The one symbol a plugin exports. */
#define CT_PLUGIN_SYMBOL "caretaker_plugin"

#if defined(__GNUC__) || defined(__clang__)
#define CT_EXPORT __attribute__((visibility("default")))
#define CT_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define CT_EXPORT
#define CT_PRINTF(fmt, args)
#endif

/* One run of one job.  Opaque; valid from init until fini returns. */
struct ct_task;
/* libpq's connection object (PGconn is a typedef of it in libpq-fe.h). */
struct pg_conn;

/* Option value types.  The host parses and checks every value before the
 * plugin runs; getters of the matching type never fail for a valid key. */
enum ct_opt_type {
	CT_OPT_STRING = 1,    /* any text */
	CT_OPT_INT = 2,       /* signed 64-bit decimal, range-checked by min/max */
	CT_OPT_BOOL = 3,      /* yes/no, true/false, on/off, 1/0 */
	CT_OPT_DURATION = 4,  /* 30s, 15min, 2h30m, 90d, 1w; a bare number is seconds */
	CT_OPT_SIZE = 5,      /* 500M, 10G, 64K (powers of 1024); a bare number is bytes */
	CT_OPT_LIST = 6,      /* comma- or newline-separated items, trimmed */
	CT_OPT_ENUM = 7,      /* one of `choices` ("gzip|zstd|none") */
	CT_OPT_PATH = 8,      /* a path; relative paths resolve against the config file */
	CT_OPT_PATH_LIST = 9, /* a list of paths, each resolved like CT_OPT_PATH */
	CT_OPT__LAST          /* never use */
};

/* ct_option.flags */
#define CT_OPTF_REQUIRED 0x1u /* the job must set it */
#define CT_OPTF_SECRET 0x2u   /* never echoed in reports or `check` output */

/* One entry of a plugin's declarative option table.  The table is an array
 * terminated by an entry whose key is NULL.  The host walks it with the
 * stride the plugin was compiled with (ct_plugin.option_size), so this struct
 * may grow at the end like the others. */
struct ct_option {
	const char *key;           /* lowercase, [a-z0-9_] */
	int type;                  /* enum ct_opt_type */
	uint32_t flags;            /* CT_OPTF_* */
	const char *default_value; /* as it would be written in the INI file, or NULL */
	const char *choices;       /* CT_OPT_ENUM: "a|b|c"; otherwise NULL */
	int64_t min_value;         /* CT_OPT_INT: inclusive bounds, checked only */
	int64_t max_value;         /*   when min_value < max_value */
	const char *help;          /* one line for `caretaker describe` */
};

/* Outcome of a run, as set by ct_services.set_status. */
enum ct_status {
	CT_STATUS_OK = 0,
	CT_STATUS_WARN = 1, /* done, but someone should look */
	CT_STATUS_FAIL = 2,
	CT_STATUS_SKIPPED = 3, /* nothing was done, by design */
	CT_STATUS__LAST        /* never use */
};

/* Severity of a finding. */
enum ct_severity {
	CT_SEV_INFO = 0,
	CT_SEV_WARNING = 1,
	CT_SEV_ERROR = 2,
	CT_SEV_CRITICAL = 3,
	CT_SEV__LAST /* never use */
};

/* Log levels use syslog's numbers so the journal shows them as they are. */
enum ct_log_level {
	CT_LOG_ERR = 3,
	CT_LOG_WARNING = 4,
	CT_LOG_NOTICE = 5,
	CT_LOG_INFO = 6,
	CT_LOG_DEBUG = 7
};

/*
 * What the host offers a plugin.  Handed to every entry point; the pointer
 * stays valid for the whole run.  Every function is safe to call from the
 * thread that called the entry point; log, add_*, progress and should_stop
 * are also safe from other threads of the plugin.
 *
 * Limits on the words a plugin reports, in bytes of UTF-8 after the format
 * is expanded: a summary, a log line, a finding's message and its object,
 * and an artifact's path are kept up to 4096 bytes (a progress step: 127); a
 * metric's unit, an artifact's kind and an output stream's name up to 64.
 * Longer text is kept shortened, on a character boundary, ending in
 * "... [N bytes cut]"; the call still succeeds.  Bytes that are not UTF-8
 * become U+FFFD.  A run keeps at most 10000 metrics, 10000 findings,
 * 10000 artifacts, 1000 warnings and errors and 16 output streams; what
 * comes past that is counted in a warning of the run, not kept.  Text is
 * kept exactly in the history; where it is shown on a terminal or written
 * to the journal, control characters appear as escapes (\n, \x1b, ...).
 */
struct ct_services {
	uint32_t abi_version; /* the host's CT_ABI_VERSION */
	uint32_t size;        /* sizeof(struct ct_services) in the host */

	/* Log a line (no trailing newline needed).  The host prefixes plugin and
	 * job names and forwards it to stderr/the journal; warnings and errors
	 * are also kept in the run's history record.  At most 4096 bytes; a
	 * newline inside is shown as \n. */
	void (*log)(struct ct_task *t, int level, const char *fmt, ...) CT_PRINTF(3, 4);
	void (*vlog)(struct ct_task *t, int level, const char *fmt, va_list ap);

	/* The job's name (the INI section).  Owned by the host. */
	const char *(*job_name)(struct ct_task *t);

	/* Typed option getters.  They return CT_OK and set *value, CT_ENOENT
	 * when the option is unset and has no default (*value untouched), or
	 * CT_ETYPE when `key` is not declared with that type.  Strings and lists
	 * are owned by the host.  opt_string also answers for ENUM and PATH
	 * options; opt_list for PATH_LIST. */
	int (*opt_string)(struct ct_task *t, const char *key, const char **value);
	int (*opt_int)(struct ct_task *t, const char *key, int64_t *value);
	int (*opt_bool)(struct ct_task *t, const char *key, int *value);
	int (*opt_duration_ms)(struct ct_task *t, const char *key, int64_t *value_ms);
	int (*opt_size_bytes)(struct ct_task *t, const char *key, uint64_t *value);
	int (*opt_list)(struct ct_task *t, const char *key, const char *const **items,
	                size_t *count);

	/* Open a PostgreSQL connection.  conninfo NULL means the job's
	 * `conninfo` option if the plugin declares one and it is set, else the
	 * [caretaker] default.  The host sets application_name to
	 * "caretaker/JOB", owns the connection and closes it after fini; the
	 * plugin must not PQfinish it.  On failure returns CT_EPG and logs
	 * libpq's message (the password never appears). */
	int (*pg_connect)(struct ct_task *t, const char *conninfo, struct pg_conn **conn);

	/* Report builders.  set_status may be called several times; the last
	 * call wins.  A run that returns an error without a FAIL status is
	 * marked failed with the error's words.  The summary is one line of at
	 * most 4096 bytes (it ends the `caretaker run` line); a longer one is
	 * shortened with "... [N bytes cut]".  A FAIL without a summary is
	 * recorded with a reason of the host's saying so. */
	void (*set_status)(struct ct_task *t, int status, const char *fmt, ...) CT_PRINTF(3, 4);
	/* A number with a unit ("bytes", "seconds", "rows", "ratio", "" for a
	 * count; at most 64 bytes).  `name` is [a-z0-9_], 1 to 99 characters;
	 * it becomes a Prometheus metric.  Another name returns CT_EINVAL and
	 * the metric is not kept. */
	int (*add_metric)(struct ct_task *t, const char *name, double value, const char *unit);
	/* A finding: something the operator should know about `object` (a
	 * table, file, IP address...; may be NULL).  Message and object are
	 * kept up to 4096 bytes each, longer ones shortened with the marker. */
	int (*add_finding)(struct ct_task *t, int severity, const char *object, const char *fmt,
	                   ...) CT_PRINTF(4, 5);
	/* Something the run produced, e.g. kind "backup" and the file's path
	 * (kind up to 64 bytes, path up to 4096). */
	int (*add_artifact)(struct ct_task *t, const char *kind, const char *path);
	/* Captured text for the report (a child's stdout, say), appended to the
	 * named stream (a name of up to 64 bytes; up to 16 streams a run).  The
	 * host keeps the head and the tail up to its output limit
	 * (`output_limit`, per stream) and counts what it dropped.  Any bytes
	 * may be passed; what is not UTF-8, and NUL, becomes U+FFFD. */
	int (*add_output)(struct ct_task *t, const char *stream, const void *data, size_t len);
	/* Progress, for the operator watching the run: `fraction` of the
	 * current step done, 0.0 to 1.0, and a few words naming the step
	 * ("dumping", "checking"; copied, cut past 127 bytes).  A negative
	 * fraction (or NaN) means "unknown": the words and the time spent are
	 * shown, no percentage and no estimate of the time left.  `caretaker
	 * run` shows it on a terminal and `caretaker status` from any shell;
	 * the time left is estimated from the pace of the fraction while the
	 * words stay the same.  Call it as often as is convenient, also from
	 * other threads: the host sends the first call, a change of the words
	 * and a first 1.0 at once and otherwise about ten calls a second, and
	 * drops the rest. */
	void (*progress)(struct ct_task *t, double fraction, const char *what);

	/* Non-zero once the host wants the run to end (timeout, SIGTERM):
	 * finish the current step, clean up and return CT_ECANCELED. */
	int (*should_stop)(struct ct_task *t);
	/* Non-zero under `caretaker run --dry-run`: plan and report only. */
	int (*is_dry_run)(struct ct_task *t);
	/* A directory private to this job, created 0700, that survives between
	 * runs (offsets, last-seen state).  Owned by the host. */
	const char *(*state_dir)(struct ct_task *t);
	/* Words for a CT_E* code.  Static storage. */
	const char *(*strerror)(int code);
	/* The host's version string, e.g. "1.0.0".  Static storage. */
	const char *(*host_version)(void);

	/* When this run is another job's `on_failure` in the same caretaker
	 * run: the failed job's name, its status (enum ct_status, FAIL) and its
	 * summary (the host's reason when it ended by timeout, crash or stop),
	 * owned by the host.  Returns CT_OK, or CT_ENOENT when the job was not
	 * started by a failure (the arguments are then untouched).  Since 1.1. */
	int (*failed_job)(struct ct_task *t, const char **name, int *status, const char **summary);
	/* The artifacts of the failed job's chain: those of the failed job and
	 * of every job it requires, directly or not, that ran earlier in the
	 * same caretaker run, in the order they were added.  `index` counts
	 * from 0; sets the job's name, the kind and the path (owned by the
	 * host) and returns CT_OK, or CT_ENOENT past the last one or when the
	 * run was not started by a failure.  Since 1.1. */
	int (*chain_artifact)(struct ct_task *t, size_t index, const char **job, const char **kind,
	                      const char **path);
};

/* Non-zero when the host's services table has `member`. */
#define CT_HAS_SERVICE(svc, member)                                                                \
	((svc)->size >= offsetof(struct ct_services, member) + sizeof((svc)->member))

/* ct_plugin.flags */
#define CT_PLUGIN_DRY_RUN 0x1u    /* understands is_dry_run(); otherwise a dry run skips it */
#define CT_PLUGIN_STATE_ONLY 0x2u /* writes nothing outside state_dir (timers may harden) */
#define CT_PLUGIN_USES_PG 0x4u    /* connects to PostgreSQL */

/*
 * Entry points.  Each returns CT_OK or a negative CT_E* code.
 *  init:   check options, open resources, allocate *state (may stay NULL).
 *  run:    do the work; poll should_stop() in long loops.
 *  report: fill the report (status, metrics, findings) from state.
 *  fini:   release state.  Called whenever init was called, even when init
 *          or run failed.  Optional.
 * When init fails, run and report are not called.  report is called even
 * when run failed, so a plugin can explain what it got done.
 */
typedef int ct_init_fn(struct ct_task *t, const struct ct_services *ct, void **state);
typedef int ct_run_fn(struct ct_task *t, const struct ct_services *ct, void *state);
typedef int ct_report_fn(struct ct_task *t, const struct ct_services *ct, void *state);
typedef void ct_fini_fn(struct ct_task *t, const struct ct_services *ct, void *state);

/* The descriptor.  Fill it with CT_PLUGIN_DEFINE, never by hand. */
struct ct_plugin {
	uint32_t abi_version;            /* CT_ABI_VERSION the plugin was built with */
	uint32_t size;                   /* sizeof(struct ct_plugin) as the plugin saw it */
	uint16_t sizeof_pointer;         /* ABI facts: a plugin built with other flags */
	uint16_t sizeof_time_t;          /*   (-m32, -D_TIME_BITS=64 on 32-bit, ...) */
	uint16_t sizeof_off_t;           /*   is refused instead of misread */
	uint16_t option_size;            /* sizeof(struct ct_option): the table's stride */
	uint32_t flags;                  /* CT_PLUGIN_* */
	const char *name;                /* must equal the file name without ".so" */
	const char *version;             /* the plugin's own version */
	const char *summary;             /* one line for `caretaker plugins` */
	const char *help;                /* paragraphs for `caretaker describe`; may be NULL */
	const struct ct_option *options; /* NULL-key terminated; may be NULL */
	ct_init_fn *init;
	ct_run_fn *run;
	ct_report_fn *report;
	ct_fini_fn *fini; /* optional */
};

/* The smallest descriptor a 1.x host accepts: everything up to `report`. */
#define CT_PLUGIN_MIN_SIZE (offsetof(struct ct_plugin, report) + sizeof(ct_report_fn *))

/*
 * Define the plugin's descriptor.  Pass the remaining members as designated
 * initialisers:
 *
 *     CT_PLUGIN_DEFINE(.name = "hello", .version = "1.0", .summary = "...",
 *                      .options = hello_options, .init = hello_init,
 *                      .run = hello_run, .report = hello_report);
 *
 * The version, size and ABI facts are filled in here.  Build with
 * -fvisibility=hidden (pkg-config --cflags caretaker-plugin does) so this is
 * the only exported symbol.
 */
#define CT_PLUGIN_DEFINE(...)                                                                      \
	CT_EXPORT extern const struct ct_plugin caretaker_plugin;                                  \
	CT_EXPORT const struct ct_plugin caretaker_plugin = {.abi_version = CT_ABI_VERSION,        \
	                                                     .size = sizeof(struct ct_plugin),     \
	                                                     .sizeof_pointer = sizeof(void *),     \
	                                                     .sizeof_time_t = sizeof(time_t),      \
	                                                     .sizeof_off_t = sizeof(off_t),        \
	                                                     .option_size =                        \
	                                                         sizeof(struct ct_option),         \
	                                                     __VA_ARGS__}

#ifdef __cplusplus
}
#endif

#endif
