/*
 * health_services.c — `services =`: each systemd unit must be active, as
 * `systemctl is-active UNIT` says (its exit status and its word: active,
 * activating, inactive, failed, ...).
 *
 * Why systemctl and not sd-bus: it is the words an operator types, it
 * needs no library in the plugin, and its answer is systemd's own.  Why
 * /run/systemd/system first: that folder exists exactly when systemd runs
 * as the init system (sd_booted(3) tests the same); without it (a
 * container, a chroot) systemctl could only fail, so the check says that
 * plainly, at the level `no_systemd` gives, instead of calling every unit
 * dead.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "childrun.h"
#include "health.h"

#define HEALTH_SYSTEMD_RUNTIME "/run/systemd/system"

/* Runs `systemctl is-active -- unit` (its stderr not kept); fills `word`
 * with its first line.  Returns its exit status, or -1 with the reason
 * in `word`. */
static int
is_active(struct plugin_host *h, const char *unit, char *word, size_t size)
{
	char *const argv[] = {"systemctl", "is-active", "--", (char *)unit, NULL};
	struct childrun_params p = {.argv = argv,
	                            .capture_max = size - 1,
	                            .should_stop = plugin_host_should_stop,
	                            .stop_arg = h};
	struct childrun_result r;
	int status = -1;

	word[0] = '\0';
	if (childrun_run(&p, &r, word, size) != CT_OK)
		goto out;
	if (r.exec_errno != 0)
		snprintf(word, size, "systemctl: %s", strerror(r.exec_errno));
	else
		status = r.exit_code;
	if (r.output != NULL && r.exec_errno == 0)
		snprintf(word, size, "%.*s", (int)strcspn(r.output, "\n"), r.output);
out:
	childrun_result_free(&r);
	return status;
}

/* Between states (activating, reloading, deactivating) is a warning:
 * the next run will know. */
static int
level_of(int status, const char *word)
{
	static const char *const passing[] = {"activating", "reloading", "deactivating"};

	if (status == 0)
		return HEALTH_OK;
	for (size_t i = 0; i < sizeof(passing) / sizeof(passing[0]); i++)
		if (strcmp(word, passing[i]) == 0)
			return HEALTH_WARN;
	return HEALTH_FAIL;
}

void
health_check_services(struct plugin_host *h, const struct health_opts *o,
                      struct health_tally *tally)
{
	char word[128];

	if (o->n_services == 0)
		return;
	if (access(HEALTH_SYSTEMD_RUNTIME, F_OK) != 0) {
		health_say(
		    h, tally, o->no_systemd_level, "systemd",
		    "systemd is not running here (no %s), so %zu service(s) were not checked",
		    HEALTH_SYSTEMD_RUNTIME, o->n_services);
		return;
	}
	for (size_t i = 0; i < o->n_services; i++) {
		int status = is_active(h, o->services[i], word, sizeof(word));
		int level = level_of(status, word);

		health_say(h, tally, level, o->services[i], "unit is %s",
		           word[0] ? word : "unknown");
	}
}
