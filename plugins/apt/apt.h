/*
 * apt.h — the apt plugin's steps, and what each one reads and writes
 * (internal).
 *
 *   apt.c          entry points, the order of the steps, the report
 *   apt_options.c  the option table, read into struct apt_opts
 *   apt_cmd.c      running apt-get, apt-mark and dpkg-query: the
 *                  noninteractive environment, the job's apt options,
 *                  output captured, waiting out a held apt or dpkg lock
 *   apt_plan.c     what `apt-get -s` says would be upgraded, and which of
 *                  it comes from a security origin
 *   apt_record.c   the versions before the upgrade (the rollback's list),
 *                  the versions after, held packages, reboot-required
 *
 * Each step takes the structs it reads as const pointers and those it
 * writes as plain ones, and struct plugin_host when it talks to the host.
 */
#ifndef CARETAKER_PLUGINS_APT_H
#define CARETAKER_PLUGINS_APT_H

#include <stddef.h>
#include <stdint.h>

#include <caretaker/plugin.h>

#include "plughost.h"

#define APT_PLUGIN_VERSION "1.0"

enum apt_upgrade { APT_UPGRADE_NONE = 0, APT_UPGRADE_SECURITY, APT_UPGRADE_ALL };

/* The job's options, read once in init; const for every step after. */
struct apt_opts {
	enum apt_upgrade upgrade;
	int is_updating;                /* apt-get update first */
	int64_t lock_timeout_ms;        /* how long a held apt/dpkg lock is waited for */
	const char *const *apt_options; /* NAME=VALUE, each passed as -o NAME=VALUE */
	size_t n_apt_options;
	const char *const *security_words; /* an origin containing one is a security one */
	size_t n_security_words;
	const char *reboot_file; /* /var/run/reboot-required */
	int64_t keep_versions;   /* version files kept in state_dir */
};

/* What a command printed (stdout and stderr together) and how it ended. */
struct apt_output {
	char *text; /* NUL-terminated; owned, free() */
	size_t len;
	int exit_code; /* -1 when it did not exit by itself */
};

/* One package `apt-get -s` would install or upgrade. */
struct apt_pkg {
	char *name;
	char *old_version; /* NULL: newly installed */
	char *new_version;
	char *origins; /* as apt-get -s prints them: "Debian-Security:12/stable-security" */
	int is_security;
	int is_chosen; /* upgraded by this run's mode */
	int was_auto;  /* marked automatically installed before */
	char *now;     /* the version installed after the run, or NULL */
};

/* What would change, and what will not. */
struct apt_plan {
	struct apt_pkg *pkgs;
	size_t n_pkgs;
	size_t n_chosen;
	char **held; /* apt-mark showhold */
	size_t n_held;
	char **kept_back; /* "The following packages have been kept back" */
	size_t n_kept_back;
};

/* What the run did, for the report. */
struct apt_outcome {
	char versions_path[4096]; /* the rollback's list; "" when none was written */
	int is_upgrade_run;
	int is_reboot_required;
	char reboot_pkgs[1024]; /* from reboot-required.pkgs, comma-separated */
	size_t n_upgraded;      /* chosen packages now at their new version */
};

/* ---- apt_options.c ---- */
extern const struct ct_option apt_option_table[];
int apt_opts_read(struct plugin_host *h, struct apt_opts *o);

/* ---- apt_cmd.c ---- */

/* Runs `program` (apt-get, apt-mark, dpkg-query) with the job's apt
 * options before `args` (NULL-terminated), capturing its output into *out
 * and into the report's stream `stream` (NULL: not shown).  A failure
 * that says an apt or dpkg lock is held is retried until the job's
 * lock_timeout, counted from `lock_deadline_ms` (monotonic; 0: now).
 * Returns 0 when the command ran (whatever its exit code), or a CT_E*
 * code with the reason kept in h. */
int apt_cmd_run(struct plugin_host *h, const struct apt_opts *o, const char *program,
                const char *const *args, const char *stream, struct apt_output *out);
void apt_output_free(struct apt_output *out);
/* The last line of the output that starts with "E: ", or the last line. */
void apt_output_error(const struct apt_output *out, char *buf, size_t size);

/* ---- apt_plan.c ---- */
/* Parses `apt-get -s upgrade` output into plan->pkgs and kept_back. */
int apt_plan_parse(const char *text, struct apt_plan *plan);
/* Marks security packages and the ones the mode upgrades. */
void apt_plan_choose(const struct apt_opts *o, struct apt_plan *plan);
/* Appends words of a line-per-item command output (apt-mark). */
int apt_plan_lines(const char *text, char ***items, size_t *n);
void apt_plan_free(struct apt_plan *plan);

/* ---- apt_record.c ---- */
/* Writes state_dir/versions-STAMP.list, "name=old" for every chosen
 * package that is installed, and keeps the newest keep_versions files. */
int apt_record_versions(struct plugin_host *h, const struct apt_opts *o,
                        const struct apt_plan *plan, struct apt_outcome *oc);
/* Reads the installed versions of the plan's packages into pkg->now. */
int apt_record_installed(struct plugin_host *h, const struct apt_opts *o, struct apt_plan *plan);
/* Whether a reboot is required, and for which packages. */
void apt_record_reboot(const struct apt_opts *o, struct apt_outcome *oc);

#endif
