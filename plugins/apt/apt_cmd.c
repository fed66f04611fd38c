/*
 * apt_cmd.c — running apt's commands for the plugin (see apt.h).
 *
 * Every command gets the noninteractive environment (no debconf question,
 * no apt-listchanges pager) and LC_ALL=C, so that what it prints is the
 * English the parsers expect.  stdout and stderr share one pipe, so the
 * report shows apt's errors where they happened.  The command stays in the
 * job's process group, so the host's timeout reaches it, and it gets
 * SIGTERM when the host asks the run to stop.
 *
 * Locks: dpkg's lock is waited for by apt itself (DPkg::Lock::Timeout,
 * apt 1.9.11 and later); apt-get update does not wait for the lists lock,
 * and older apt not for dpkg's, so a run that failed on a held lock is run
 * again, once a second, until lock_timeout has passed.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "apt.h"
#include "childrun.h"
#include "monotonic.h"

/* More output than this is not kept for parsing (it still reaches the
 * report, which keeps its head and tail). */
#define APT_OUTPUT_MAX (64u << 20)
#define APT_ARGS_MAX 512

/* program, -o NAME=VALUE for apt's own commands, then args. */
static int
build_argv(const struct apt_opts *o, const char *program, const char *const *args, int64_t wait_s,
           char *lock_opt, size_t lock_size, const char **argv)
{
	size_t n = 0;
	int is_apt = strncmp(program, "apt", 3) == 0;

	argv[n++] = program;
	for (size_t i = 0; is_apt && i < o->n_apt_options && n + 2 < APT_ARGS_MAX; i++) {
		argv[n++] = "-o";
		argv[n++] = o->apt_options[i];
	}
	if (is_apt) {
		snprintf(lock_opt, lock_size, "DPkg::Lock::Timeout=%lld", (long long)wait_s);
		argv[n++] = "-o";
		argv[n++] = lock_opt;
	}
	for (size_t i = 0; args[i] != NULL; i++) {
		if (n + 1 >= APT_ARGS_MAX)
			return CT_EINVAL;
		argv[n++] = args[i];
	}
	argv[n] = NULL;
	return CT_OK;
}

/* What every command gets in its environment (see the top). */
static const char *const apt_env[] = {"DEBIAN_FRONTEND=noninteractive",
                                      "APT_LISTCHANGES_FRONTEND=none", "LC_ALL=C"};

/* What the command's output callback sees. */
struct apt_call {
	struct plugin_host *h;
	const char *stream; /* the report's stream, or NULL */
};

static void
apt_output_cb(void *arg, const char *stream, const char *buf, size_t n)
{
	struct apt_call *c = arg;

	(void)stream;
	if (c->stream != NULL)
		c->h->ct->add_output(c->h->t, c->stream, buf, n);
}

/* A program that could not start says so in apt's words, an "E: " line,
 * where apt_output_error finds it (it wrote nothing, so the line is all
 * of its output). */
static void
output_say_failure(struct apt_call *c, const struct childrun_result *r, struct apt_output *out)
{
	char line[sizeof(r->error) + 8];
	int n = snprintf(line, sizeof(line), "E: %s\n", r->error);

	apt_output_free(out);
	out->text = strdup(line);
	out->len = out->text != NULL ? (size_t)n : 0;
	apt_output_cb(c, "stdout", line, (size_t)n);
}

/* stdout and stderr in one pipe; SIGTERM to the command on a stop. */
static int
run_once(struct plugin_host *h, const char **argv, const char *stream, struct apt_output *out)
{
	struct apt_call call = {.h = h, .stream = stream};
	struct childrun_params p = {.argv = (char *const *)argv,
	                            .env = apt_env,
	                            .n_env = sizeof(apt_env) / sizeof(apt_env[0]),
	                            .is_merging_stderr = 1,
	                            .capture_max = APT_OUTPUT_MAX,
	                            .on_output = apt_output_cb,
	                            .output_arg = &call,
	                            .should_stop = plugin_host_should_stop,
	                            .stop_arg = h};
	struct childrun_result r;
	char err[256];
	int rc = childrun_run(&p, &r, err, sizeof(err));

	apt_output_free(out);
	out->exit_code = r.exit_code;
	out->text = r.output;
	out->len = r.output_len;
	r.output = NULL;
	if (rc != CT_OK)
		rc = plugin_host_fail(h, rc, "%s", err);
	else if (r.exec_errno != 0)
		output_say_failure(&call, &r, out);
	childrun_result_free(&r);
	return rc;
}

/* Non-zero when apt said it could not take a lock another program holds. */
static int
is_lock_failure(const struct apt_output *out)
{
	return out->exit_code != 0 && out->text != NULL &&
	       (strstr(out->text, "Could not get lock") != NULL ||
	        strstr(out->text, "Unable to acquire the dpkg frontend lock") != NULL);
}

/* Sleeps a second, or less when a stop is requested. */
static void
wait_a_second(struct plugin_host *h)
{
	for (int i = 0; i < 10 && !plugin_host_should_stop(h); i++)
		usleep(100000);
}

int
apt_cmd_run(struct plugin_host *h, const struct apt_opts *o, const char *program,
            const char *const *args, const char *stream, struct apt_output *out)
{
	const char *argv[APT_ARGS_MAX];
	int64_t deadline_ms = monotonic_ms() + o->lock_timeout_ms;
	char lock_opt[64];
	int rc, is_waiting_said = 0;

	for (;;) {
		int64_t left_ms = deadline_ms - monotonic_ms();

		rc = build_argv(o, program, args, left_ms > 0 ? (left_ms + 999) / 1000 : 0,
		                lock_opt, sizeof(lock_opt), argv);
		if (rc != CT_OK)
			return plugin_host_fail(h, rc, "%s: too many arguments", program);
		rc = run_once(h, argv, stream, out);
		if (rc != CT_OK || !is_lock_failure(out) || monotonic_ms() >= deadline_ms ||
		    plugin_host_should_stop(h))
			return rc;
		if (!is_waiting_said)
			h->ct->log(h->t, CT_LOG_NOTICE, "%s: a lock is held; waiting up to %llds",
			           program, (long long)(o->lock_timeout_ms / 1000));
		is_waiting_said = 1;
		wait_a_second(h);
	}
}

void
apt_output_free(struct apt_output *out)
{
	free(out->text);
	out->text = NULL;
	out->len = 0;
}

void
apt_output_error(const struct apt_output *out, char *buf, size_t size)
{
	const char *text = out->text != NULL ? out->text : "", *line = text, *chosen = NULL;
	const char *last = NULL;

	for (; *line != '\0'; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : "") {
		if (strncmp(line, "E: ", 3) == 0 && chosen == NULL)
			chosen = line; /* the first error says why; the rest follow from it */
		if (*line != '\n')
			last = line;
	}
	if (chosen == NULL)
		chosen = last != NULL ? last : "no output";
	snprintf(buf, size, "%.*s", (int)strcspn(chosen, "\n"), chosen);
}
