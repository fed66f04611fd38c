/*
 * apt_options.c — the apt plugin's options (see apt.h), read once.
 */
#include <string.h>

#include "apt.h"

const struct ct_option apt_option_table[] = {
    {.key = "upgrade",
     .type = CT_OPT_ENUM,
     .default_value = "security",
     .choices = "none|security|all",
     .help = "what to upgrade: nothing (report only), packages whose new version comes from a "
             "security origin, or everything (apt-get upgrade --with-new-pkgs)"},
    {.key = "update",
     .type = CT_OPT_BOOL,
     .default_value = "yes",
     .help = "run apt-get update first"},
    {.key = "lock_timeout",
     .type = CT_OPT_DURATION,
     .default_value = "10min",
     .help = "how long to wait for an apt or dpkg lock another program holds (an unattended "
             "upgrade, an admin's apt) before failing"},
    {.key = "apt_options",
     .type = CT_OPT_LIST,
     .help = "NAME=VALUE apt settings passed as -o to every apt command, e.g. "
             "Dir::Etc::SourceList=/etc/caretaker/apt.list for a private repository"},
    {.key = "security_origins",
     .type = CT_OPT_LIST,
     .default_value = "-security",
     .help = "with upgrade = security, a new version counts as a security update when one of "
             "its origins, as apt-get -s prints them (LABEL:VERSION/SUITE), contains one of "
             "these words"},
    {.key = "reboot_required_file",
     .type = CT_OPT_PATH,
     .default_value = "/var/run/reboot-required",
     .help = "the file whose presence says a reboot is required (its .pkgs file names the "
             "packages)"},
    {.key = "keep_versions",
     .type = CT_OPT_INT,
     .default_value = "10",
     .min_value = 1,
     .max_value = 1000,
     .help = "how many lists of the versions before an upgrade the job's state keeps"},
    {.key = NULL},
};

static const char *const upgrade_words[] = {"none", "security", "all"};

static int
check_pairs(struct plugin_host *h, const struct apt_opts *o)
{
	for (size_t i = 0; i < o->n_apt_options; i++) {
		const char *eq = strchr(o->apt_options[i], '=');

		if (eq == NULL || eq == o->apt_options[i] || o->apt_options[i][0] == '-')
			return plugin_host_fail(
			    h, CT_EINVAL,
			    "apt_options: '%s' is not NAME=VALUE\n"
			    "hint: write Dir::Etc::SourceList=/path, not -o ...",
			    o->apt_options[i]);
	}
	return CT_OK;
}

int
apt_opts_read(struct plugin_host *h, struct apt_opts *o)
{
	const char *upgrade = plugin_host_opt_str(h, "upgrade");
	int is_updating = 1;

	memset(o, 0, sizeof(*o));
	for (size_t i = 0; i < sizeof(upgrade_words) / sizeof(upgrade_words[0]); i++)
		if (upgrade != NULL && strcmp(upgrade, upgrade_words[i]) == 0)
			o->upgrade = (enum apt_upgrade)i;
	h->ct->opt_bool(h->t, "update", &is_updating);
	o->is_updating = is_updating;
	o->lock_timeout_ms = plugin_host_opt_ms(h, "lock_timeout", 600000);
	plugin_host_opt_list(h, "apt_options", &o->apt_options, &o->n_apt_options);
	plugin_host_opt_list(h, "security_origins", &o->security_words, &o->n_security_words);
	o->reboot_file = plugin_host_opt_str(h, "reboot_required_file");
	o->keep_versions = plugin_host_opt_int(h, "keep_versions", 10);
	return check_pairs(h, o);
}
