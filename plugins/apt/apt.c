/*
 * apt — the system's package updates, done the way an update that must
 * not break production wants them: apt-get update, then nothing, the
 * security updates only, or everything; noninteractive, keeping the
 * admin's configuration files; waiting for an apt or dpkg lock instead of
 * failing at once; the versions before the upgrade recorded in the job's
 * state (an artifact a rollback reinstalls); and a report of every
 * package upgraded (old and new version), the held ones, and whether the
 * system wants a reboot.  See docs/apt.md and apt.h for the steps.
 */
#define _GNU_SOURCE /* asprintf */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "apt.h"

/* Everything one run owns. */
struct apt_run {
	struct plugin_host host;
	struct apt_opts opts;
	struct apt_plan plan;
	struct apt_outcome outcome;
	int is_dry_run;
};

static const char *const mode_words[] = {"none", "security", "all"};

static int
apt_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct apt_run *run = plugin_host_state_new(t, ct, sizeof(*run), state);

	if (run == NULL)
		return CT_ENOMEM;
	run->is_dry_run = ct->is_dry_run(t);
	return apt_opts_read(&run->host, &run->opts);
}

/* Runs apt-get with args; a non-zero exit is a failure named for `what`. */
static int
apt_get(struct apt_run *run, const char *const *args, const char *stream, const char *what,
        struct apt_output *out)
{
	char why[1024];
	int rc = apt_cmd_run(&run->host, &run->opts, "apt-get", args, stream, out);

	if (rc != CT_OK || out->exit_code == 0)
		return rc;
	apt_output_error(out, why, sizeof(why));
	return plugin_host_fail(&run->host, CT_ECHILD, "%s failed (exit %d): %s", what,
	                        out->exit_code, why);
}

static int
step_update(struct apt_run *run)
{
	static const char *const args[] = {"-q", "update", NULL};
	struct apt_output out = {0};
	int rc;

	run->host.ct->progress(run->host.t, -1, "apt-get update");
	rc = apt_get(run, args, "update", "apt-get update", &out);
	apt_output_free(&out);
	return rc;
}

/* What apt-get -s says an upgrade would do, and the held packages. */
static int
step_plan(struct apt_run *run)
{
	static const char *const sim[] = {"-q", "-s", "upgrade", "--with-new-pkgs", NULL};
	static const char *const held[] = {"showhold", NULL};
	struct apt_output out = {0};
	int rc;

	run->host.ct->progress(run->host.t, -1, "planning");
	rc = apt_get(run, sim, "simulate", "apt-get -s upgrade", &out);
	if (rc == CT_OK)
		rc = apt_plan_parse(out.text != NULL ? out.text : "", &run->plan);
	if (rc == CT_OK)
		rc = apt_cmd_run(&run->host, &run->opts, "apt-mark", held, NULL, &out);
	if (rc == CT_OK && out.exit_code == 0 && out.text != NULL)
		rc = apt_plan_lines(out.text, &run->plan.held, &run->plan.n_held);
	apt_output_free(&out);
	apt_plan_choose(&run->opts, &run->plan);
	return rc;
}

/* apt-get install marks what it names as installed by hand; the packages
 * a security upgrade names keep the automatic mark they had. */
static int
step_note_auto(struct apt_run *run)
{
	static const char *const args[] = {"showauto", NULL};
	struct apt_output out = {0};
	char **autos = NULL;
	size_t n = 0;
	int rc = apt_cmd_run(&run->host, &run->opts, "apt-mark", args, NULL, &out);

	if (rc == CT_OK && out.exit_code == 0 && out.text != NULL)
		rc = apt_plan_lines(out.text, &autos, &n);
	for (size_t i = 0; i < n; i++) {
		for (size_t k = 0; k < run->plan.n_pkgs; k++)
			if (run->plan.pkgs[k].is_chosen &&
			    strcmp(run->plan.pkgs[k].name, autos[i]) == 0)
				run->plan.pkgs[k].was_auto = 1;
		free(autos[i]);
	}
	free(autos);
	apt_output_free(&out);
	return rc;
}

/* The arguments of the upgrade; the caller frees the array and, for a
 * security upgrade, the name=version words from index `first_owned`. */
static const char **
upgrade_args(const struct apt_run *run, size_t *first_owned, size_t *n)
{
	static const char *const head[] = {"-q", "-y",
	                                   "-o", "Dpkg::Options::=--force-confdef",
	                                   "-o", "Dpkg::Options::=--force-confold"};
	size_t nh = sizeof(head) / sizeof(head[0]);
	const char **args = calloc(nh + run->plan.n_pkgs + 4, sizeof(*args));

	if (args == NULL)
		return NULL;
	memcpy(args, head, sizeof(head));
	*n = nh;
	if (run->opts.upgrade == APT_UPGRADE_ALL) {
		args[(*n)++] = "upgrade";
		args[(*n)++] = "--with-new-pkgs";
		*first_owned = *n;
		return args;
	}
	args[(*n)++] = "install";
	args[(*n)++] = "--only-upgrade";
	*first_owned = *n;
	for (size_t i = 0; i < run->plan.n_pkgs; i++) {
		const struct apt_pkg *p = &run->plan.pkgs[i];
		char *word = NULL;

		if (!p->is_chosen || asprintf(&word, "%s=%s", p->name, p->new_version) < 0)
			continue;
		args[(*n)++] = word;
	}
	return args;
}

/* Gives back the automatic mark apt-get install took away. */
static void
restore_auto(struct apt_run *run)
{
	const char **args = calloc(run->plan.n_pkgs + 2, sizeof(*args));
	struct apt_output out = {0};
	size_t n = 0;

	if (args == NULL)
		return;
	args[n++] = "auto";
	for (size_t i = 0; i < run->plan.n_pkgs; i++)
		if (run->plan.pkgs[i].was_auto)
			args[n++] = run->plan.pkgs[i].name;
	if (n > 1 && (apt_cmd_run(&run->host, &run->opts, "apt-mark", args, NULL, &out) != CT_OK ||
	              out.exit_code != 0))
		run->host.ct->log(run->host.t, CT_LOG_WARNING,
		                  "apt-mark auto failed: packages upgraded by name are now marked "
		                  "as installed by hand");
	apt_output_free(&out);
	free(args);
}

static int
step_upgrade(struct apt_run *run)
{
	struct apt_output out = {0};
	size_t first_owned = 0, n = 0;
	const char **args = upgrade_args(run, &first_owned, &n);
	int rc;

	if (args == NULL)
		return CT_ENOMEM;
	run->host.ct->progress(run->host.t, -1, "upgrading");
	run->outcome.is_upgrade_run = 1;
	rc = apt_get(run, args, "upgrade", "the upgrade", &out);
	if (run->opts.upgrade == APT_UPGRADE_SECURITY)
		restore_auto(run);
	for (size_t i = first_owned; i < n; i++)
		free((char *)args[i]);
	free(args);
	apt_output_free(&out);
	return rc;
}

static int
step_record(struct apt_run *run)
{
	int rc = apt_record_versions(&run->host, &run->opts, &run->plan, &run->outcome);

	if (rc == CT_OK)
		run->host.ct->add_artifact(run->host.t, "package-versions",
		                           run->outcome.versions_path);
	return rc;
}

static int
apt_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct apt_run *run = state;
	int rc = CT_OK;

	(void)t;
	(void)ct;
	if (run->opts.is_updating && !run->is_dry_run)
		rc = step_update(run);
	if (rc == CT_OK)
		rc = step_plan(run);
	if (rc != CT_OK || run->is_dry_run || run->plan.n_chosen == 0)
		goto out;
	if (run->opts.upgrade == APT_UPGRADE_SECURITY)
		rc = step_note_auto(run);
	if (rc == CT_OK)
		rc = step_record(run);
	if (rc == CT_OK)
		rc = step_upgrade(run);
	apt_record_installed(&run->host, &run->opts, &run->plan);
out:
	apt_record_reboot(&run->opts, &run->outcome);
	return rc;
}

/* One finding per package: what happened to it, or would. */
static void
report_package(struct apt_run *run, const struct apt_pkg *p)
{
	const struct ct_services *ct = run->host.ct;
	const char *old = p->old_version != NULL ? p->old_version : "(new)";

	if (!p->is_chosen) {
		ct->add_finding(
		    run->host.t, CT_SEV_INFO, p->name, "upgrade available: %s -> %s (%s)%s", old,
		    p->new_version, p->origins,
		    run->opts.upgrade == APT_UPGRADE_SECURITY ? ", not a security update" : "");
	} else if (run->is_dry_run) {
		ct->add_finding(run->host.t, CT_SEV_INFO, p->name, "would upgrade %s -> %s (%s)",
		                old, p->new_version, p->origins);
	} else if (p->now != NULL && strcmp(p->now, p->new_version) == 0) {
		run->outcome.n_upgraded++;
		ct->add_finding(run->host.t, CT_SEV_INFO, p->name, "upgraded %s -> %s (%s)", old,
		                p->new_version, p->origins);
	} else {
		ct->add_finding(run->host.t, CT_SEV_ERROR, p->name, "not upgraded: %s, expected %s",
		                p->now != NULL ? p->now : "not installed", p->new_version);
	}
}

static void
report_lists(struct apt_run *run)
{
	const struct ct_services *ct = run->host.ct;

	for (size_t i = 0; i < run->plan.n_held; i++)
		ct->add_finding(run->host.t, CT_SEV_INFO, run->plan.held[i],
		                "held: never upgraded (apt-mark unhold %s to allow it)",
		                run->plan.held[i]);
	for (size_t i = 0; i < run->plan.n_kept_back; i++)
		ct->add_finding(run->host.t, CT_SEV_INFO, run->plan.kept_back[i],
		                "kept back: its upgrade would remove packages or it is held");
	if (run->outcome.is_reboot_required)
		ct->add_finding(
		    run->host.t, CT_SEV_WARNING, run->opts.reboot_file, "a reboot is required%s%s",
		    run->outcome.reboot_pkgs[0] ? " by " : "", run->outcome.reboot_pkgs);
}

static size_t
n_security(const struct apt_plan *plan)
{
	size_t n = 0;

	for (size_t i = 0; i < plan->n_pkgs; i++)
		n += (size_t)plan->pkgs[i].is_security;
	return n;
}

static void
report_metrics(struct apt_run *run)
{
	const struct ct_services *ct = run->host.ct;

	ct->add_metric(run->host.t, "upgradable_packages", (double)run->plan.n_pkgs, "");
	ct->add_metric(run->host.t, "security_upgrades", (double)n_security(&run->plan), "");
	ct->add_metric(run->host.t, "upgraded_packages", (double)run->outcome.n_upgraded, "");
	ct->add_metric(run->host.t, "held_packages", (double)run->plan.n_held, "");
	ct->add_metric(run->host.t, "reboot_required", run->outcome.is_reboot_required, "");
}

/* "upgraded 2 of 3 packages (upgrade = security); 1 held; reboot required" */
static void
report_status(struct apt_run *run)
{
	const struct apt_outcome *oc = &run->outcome;
	const char *mode = mode_words[run->opts.upgrade];
	char tail[128];
	int status = CT_STATUS_OK;

	snprintf(tail, sizeof(tail), "%zu held%s", run->plan.n_held,
	         oc->is_reboot_required ? "; reboot required" : "");
	if (oc->is_reboot_required || oc->n_upgraded < run->plan.n_chosen)
		status = CT_STATUS_WARN;
	if (run->host.err[0] != '\0')
		run->host.ct->set_status(run->host.t, CT_STATUS_FAIL, "%s", run->host.err);
	else if (run->opts.upgrade == APT_UPGRADE_NONE)
		run->host.ct->set_status(run->host.t, status,
		                         "%zu packages upgradable, %zu of them security updates "
		                         "(upgrade = none); %s",
		                         run->plan.n_pkgs, n_security(&run->plan), tail);
	else if (run->is_dry_run)
		run->host.ct->set_status(run->host.t, CT_STATUS_OK,
		                         "would upgrade %zu of %zu packages (upgrade = %s); %s",
		                         run->plan.n_chosen, run->plan.n_pkgs, mode, tail);
	else
		run->host.ct->set_status(run->host.t, status,
		                         "upgraded %zu of %zu packages (upgrade = %s); %s",
		                         oc->n_upgraded, run->plan.n_pkgs, mode, tail);
}

static int
apt_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct apt_run *run = state;

	(void)t;
	(void)ct;
	for (size_t i = 0; i < run->plan.n_pkgs; i++)
		report_package(run, &run->plan.pkgs[i]);
	report_lists(run);
	report_metrics(run);
	report_status(run);
	return CT_OK;
}

static void
apt_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct apt_run *run = state;

	(void)t;
	(void)ct;
	if (run == NULL)
		return;
	apt_plan_free(&run->plan);
	free(run);
}

CT_PLUGIN_DEFINE(
        .name = "apt", .version = APT_PLUGIN_VERSION,
        .summary =
            "apt-get update and upgrade (none, security or all), versions recorded for a rollback",
        .help =
            "Runs apt-get update, then upgrades nothing (upgrade = none: report what is "
            "available), only the packages whose new version comes from a security origin "
            "(upgrade = security: the origins apt-get -s names for the candidate must contain "
            "one of security_origins; those packages are installed at exactly that version), or "
            "everything (upgrade = all: apt-get upgrade --with-new-pkgs, as `apt upgrade` "
            "does). Noninteractive: DEBIAN_FRONTEND=noninteractive, and dpkg keeps the "
            "existing configuration files (--force-confdef --force-confold). A lock held by "
            "another apt or dpkg is waited for up to lock_timeout. Before upgrading, the "
            "versions of the packages about to change are written to the job's state folder "
            "(versions-STAMP.list, name=version lines) and recorded as the run's artifact of "
            "kind package-versions, so a rollback can reinstall them with apt-get install "
            "--allow-downgrades. The report has one finding per package (old -> new), the held "
            "and kept-back packages, and a warning when a reboot is required. --dry-run "
            "plans with the package lists as they are (no apt-get update) and changes nothing. "
            "apt_options passes NAME=VALUE settings to every apt command (-o), e.g. a private "
            "sources list and Dir:: folders. Give the job a timeout that an upgrade fits in: "
            "the timeout stops apt and dpkg too. See docs/apt.md.",
        .flags = CT_PLUGIN_DRY_RUN, .options = apt_option_table, .init = apt_init, .run = apt_run,
        .report = apt_report, .fini = apt_fini);
