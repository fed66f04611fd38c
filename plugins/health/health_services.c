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
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "health.h"

#define HEALTH_SYSTEMD_RUNTIME "/run/systemd/system"

extern char **environ;

/* Runs `systemctl is-active -- unit`; fills `word` with its first line.
 * Returns its exit status, or -1 with errno's words in `word`. */
static int
is_active(const char *unit, char *word, size_t size)
{
	char *const argv[] = {"systemctl", "is-active", "--", (char *)unit, NULL};
	posix_spawn_file_actions_t fa;
	int fds[2], status = -1;
	ssize_t n = 0;
	pid_t pid;

	word[0] = '\0';
	if (pipe(fds) != 0) {
		snprintf(word, size, "%s", strerror(errno));
		return -1;
	}
	/* dup2 in the child clears the flag on its stdout only. */
	fcntl(fds[0], F_SETFD, FD_CLOEXEC);
	fcntl(fds[1], F_SETFD, FD_CLOEXEC);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
	posix_spawn_file_actions_addopen(&fa, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
	errno = posix_spawnp(&pid, "systemctl", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(fds[1]);
	if (errno == 0) {
		n = read(fds[0], word, size - 1);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	} else {
		snprintf(word, size, "systemctl: %s", strerror(errno));
	}
	close(fds[0]);
	if (n > 0)
		word[strcspn(word, "\n")] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
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
		int status = is_active(o->services[i], word, sizeof(word));
		int level = level_of(status, word);

		health_say(h, tally, level, o->services[i], "unit is %s",
		           word[0] ? word : "unknown");
	}
}
