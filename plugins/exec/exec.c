/*
 * exec — run any command, the seed's `manage.py check --deploy`,
 * `clearsessions` and friends done properly: argv split with shell-style
 * quoting but never run by a shell, its own environment and working
 * folder, accepted exit codes, and stdout/stderr captured into the report.
 *
 * The command is run by libctchild (childrun.h) and stays in the job's
 * process group, so the core's timeout and kill reach it; `user` and
 * `timeout` are the core's job keys.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "argv.h"
#include "causeenv.h"
#include "childrun.h"

struct exec_state {
	char **argv;
	size_t argc;
	const char *cwd;
	const char *const *env;
	size_t n_env;
	char **cause_env;             /* CARETAKER_FAILED_* and artifacts, NULL-terminated */
	const char *const *artifacts; /* KIND=PATH the command writes */
	size_t n_artifacts;
	int is_clearing_env;
	int ok_codes[256];   /* 1 where the exit code counts as success */
	int warn_codes[256]; /* 1 where it counts as a warning */
	int exit_code;       /* -1 until known */
	int term_signal;
	double seconds;
	char last_line[256]; /* last non-empty line of output, for the summary */
};

static const struct ct_option exec_options[] = {
    {.key = "command",
     .type = CT_OPT_STRING,
     .flags = CT_OPTF_REQUIRED,
     .help = "program and arguments, quoted like a shell would, but never run by one"},
    {.key = "cwd", .type = CT_OPT_PATH, .help = "working folder (default: /)"},
    {.key = "env",
     .type = CT_OPT_LIST,
     .help = "NAME=value pairs added to the environment, comma-separated"},
    {.key = "clear_env",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "start from an empty environment (PATH, HOME, USER, LANG kept)"},
    {.key = "ok_exit_codes",
     .type = CT_OPT_LIST,
     .default_value = "0",
     .help = "exit codes that mean success"},
    {.key = "warn_exit_codes",
     .type = CT_OPT_LIST,
     .help = "exit codes that mean done, with a warning"},
    {.key = "artifacts",
     .type = CT_OPT_LIST,
     .help = "KIND=/absolute/path files the command writes, recorded as the run's artifacts "
             "when it succeeds (a later on_failure job gets them)"},
    {.key = NULL},
};

static int
parse_codes(struct ct_task *t, const struct ct_services *ct, const char *key, int *codes)
{
	const char *const *items = NULL;
	size_t n = 0;

	if (ct->opt_list(t, key, &items, &n) != CT_OK)
		return CT_OK;
	for (size_t i = 0; i < n; i++) {
		char *end;
		long v = strtol(items[i], &end, 10);

		if (end == items[i] || *end != '\0' || v < 0 || v > 255) {
			ct->set_status(t, CT_STATUS_FAIL, "%s: '%s' is not an exit code (0-255)",
			               key, items[i]);
			return CT_EINVAL;
		}
		codes[v] = 1;
	}
	return CT_OK;
}

/* Checks a list of NAME=value items. */
static int
check_pairs(struct ct_task *t, const struct ct_services *ct, const char *key,
            const char *const *items, size_t n)
{
	int is_env = strcmp(key, "env") == 0;

	for (size_t i = 0; i < n; i++) {
		const char *eq = strchr(items[i], '=');

		if (eq == NULL || items[i][0] == '=' || (!is_env && eq[1] != '/')) {
			ct->set_status(t, CT_STATUS_FAIL, "%s: '%s' is not %s", key, items[i],
			               is_env ? "NAME=value" : "KIND=/absolute/path");
			return CT_EINVAL;
		}
	}
	return CT_OK;
}

static int
exec_init(struct ct_task *t, const struct ct_services *ct, void **state)
{
	struct exec_state *st = calloc(1, sizeof(*st));
	const char *command = NULL;
	char err[256];
	int rc;

	if (st == NULL)
		return CT_ENOMEM;
	*state = st;
	st->exit_code = -1;
	ct->opt_string(t, "command", &command);
	ct->opt_string(t, "cwd", &st->cwd);
	ct->opt_list(t, "env", &st->env, &st->n_env);
	ct->opt_bool(t, "clear_env", &st->is_clearing_env);
	rc = argv_split(command, &st->argv, &st->argc, err, sizeof(err));
	if (rc != CT_OK) {
		ct->set_status(t, CT_STATUS_FAIL, "command: %s", err);
		return rc;
	}
	ct->opt_list(t, "artifacts", &st->artifacts, &st->n_artifacts);
	rc = check_pairs(t, ct, "env", st->env, st->n_env);
	if (rc == CT_OK)
		rc = check_pairs(t, ct, "artifacts", st->artifacts, st->n_artifacts);
	if (rc == CT_OK)
		rc = cause_env_build(t, ct, &st->cause_env);
	if (rc == CT_OK)
		rc = parse_codes(t, ct, "ok_exit_codes", st->ok_codes);
	if (rc == CT_OK)
		rc = parse_codes(t, ct, "warn_exit_codes", st->warn_codes);
	return rc;
}

static void
remember_last_line(struct exec_state *st, const char *buf, size_t n)
{
	size_t end = n, start;

	while (end > 0 && (buf[end - 1] == '\n' || buf[end - 1] == '\r' || buf[end - 1] == ' '))
		end--;
	if (end == 0)
		return;
	start = end;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (end - start >= sizeof(st->last_line))
		start = end - (sizeof(st->last_line) - 1);
	memcpy(st->last_line, buf + start, end - start);
	st->last_line[end - start] = '\0';
}

/* What the command's callbacks see. */
struct exec_call {
	struct ct_task *t;
	const struct ct_services *ct;
	struct exec_state *st;
};

static int
exec_should_stop_cb(void *arg)
{
	struct exec_call *c = arg;

	return c->ct->should_stop(c->t);
}

static void
exec_output_cb(void *arg, const char *stream, const char *buf, size_t n)
{
	struct exec_call *c = arg;

	c->ct->add_output(c->t, stream, buf, n);
	remember_last_line(c->st, buf, n);
}

/* The failure's variables first, then the job's env, which may override. */
static const char **
exec_env_new(const struct exec_state *st, size_t *n)
{
	size_t n_cause = 0;
	const char **env;

	while (st->cause_env != NULL && st->cause_env[n_cause] != NULL)
		n_cause++;
	env = calloc(n_cause + st->n_env + 1, sizeof(*env));
	if (env == NULL)
		return NULL;
	for (size_t i = 0; i < n_cause; i++)
		env[i] = st->cause_env[i];
	for (size_t i = 0; i < st->n_env; i++)
		env[n_cause + i] = st->env[i];
	*n = n_cause + st->n_env;
	return env;
}

/* What the command's end says, into st; a command that could not start
 * or left its output held is said here, its exit code in the report. */
static void
note_result(struct ct_task *t, const struct ct_services *ct, struct exec_state *st,
            const struct childrun_result *r)
{
	st->seconds = r->seconds;
	st->exit_code = r->exit_code;
	st->term_signal = r->term_signal;
	if (r->is_output_held)
		ct->log(t, CT_LOG_WARNING,
		        "%s exited, but a process it started still holds its output open: not "
		        "waited for (caretaker ends it when the run ends)",
		        st->argv[0]);
	if (r->exec_errno != 0) {
		ct->set_status(t, CT_STATUS_FAIL, "%s", r->error);
		st->exit_code = -1;
	}
}

/* The command stays in the job's process group, so the core's timeout
 * and clean-up reach it with the job. */
static int
spawn_and_wait(struct ct_task *t, const struct ct_services *ct, struct exec_state *st)
{
	struct exec_call call = {.t = t, .ct = ct, .st = st};
	struct childrun_params p = {.argv = st->argv,
	                            .cwd = st->cwd != NULL ? st->cwd : "/",
	                            .is_clearing_env = st->is_clearing_env,
	                            .on_output = exec_output_cb,
	                            .output_arg = &call,
	                            .should_stop = exec_should_stop_cb,
	                            .stop_arg = &call};
	struct childrun_result r;
	char err[256];
	int rc;

	p.env = exec_env_new(st, &p.n_env);
	if (p.env == NULL) {
		ct->set_status(t, CT_STATUS_FAIL, "out of memory");
		return CT_ENOMEM;
	}
	rc = childrun_run(&p, &r, err, sizeof(err));
	if (rc != CT_OK)
		ct->set_status(t, CT_STATUS_FAIL, "%s", err);
	else
		note_result(t, ct, st, &r);
	childrun_result_free(&r);
	free((void *)p.env);
	return rc;
}

/* "running pg_repack": the program's name only, since its arguments may
 * hold what the running file and the terminal should not show.  How far a
 * command has got is not known. */
static void
progress_running(struct ct_task *t, const struct ct_services *ct, const char *program)
{
	const char *slash = strrchr(program, '/');
	char what[128];

	snprintf(what, sizeof(what), "running %s", slash != NULL ? slash + 1 : program);
	ct->progress(t, -1, what);
}

static int
exec_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct exec_state *st = state;

	if (ct->is_dry_run(t)) {
		ct->set_status(t, CT_STATUS_OK, "would run %s (%zu argument(s))", st->argv[0],
		               st->argc - 1);
		return CT_OK;
	}
	ct->log(t, CT_LOG_INFO, "running %s", st->argv[0]);
	progress_running(t, ct, st->argv[0]);
	return spawn_and_wait(t, ct, st);
}

/* The files the job says the command writes, once it succeeded. */
static void
add_artifacts(struct ct_task *t, const struct ct_services *ct, const struct exec_state *st)
{
	for (size_t i = 0; i < st->n_artifacts; i++) {
		const char *eq = strchr(st->artifacts[i], '=');
		char kind[65];

		snprintf(kind, sizeof(kind), "%.*s", (int)(eq - st->artifacts[i]),
		         st->artifacts[i]);
		if (access(eq + 1, F_OK) != 0)
			ct->log(t, CT_LOG_WARNING, "artifact %s: %s: %s", kind, eq + 1,
			        strerror(errno));
		else
			ct->add_artifact(t, kind, eq + 1);
	}
}

static int
exec_report(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct exec_state *st = state;
	const char *tail = st->last_line[0] ? st->last_line : "no output";

	if (ct->is_dry_run(t))
		return CT_OK;
	ct->add_metric(t, "duration_seconds", st->seconds, "seconds");
	if (st->term_signal != 0) {
		ct->set_status(t, CT_STATUS_FAIL, "%s killed by signal %d: %s", st->argv[0],
		               st->term_signal, tail);
		return CT_OK;
	}
	if (st->exit_code < 0)
		return CT_OK; /* note_result said why */
	ct->add_metric(t, "exit_code", st->exit_code, "");
	if (st->ok_codes[st->exit_code] || st->warn_codes[st->exit_code]) {
		ct->set_status(t, st->ok_codes[st->exit_code] ? CT_STATUS_OK : CT_STATUS_WARN,
		               "%s exited %d: %s", st->argv[0], st->exit_code, tail);
		add_artifacts(t, ct, st);
	} else {
		ct->set_status(t, CT_STATUS_FAIL, "%s exited %d: %s", st->argv[0], st->exit_code,
		               tail);
	}
	return CT_OK;
}

static void
exec_fini(struct ct_task *t, const struct ct_services *ct, void *state)
{
	struct exec_state *st = state;

	(void)t;
	(void)ct;
	if (st == NULL)
		return;
	argv_free(st->argv);
	cause_env_free(st->cause_env);
	free(st);
}

CT_PLUGIN_DEFINE(.name = "exec", .version = "1.0",
                 .summary = "runs a command: argv without a shell, env, cwd, exit codes, output",
                 .help = "The command is split into words like a shell would (quotes and "
                         "backslashes), but no shell runs it: no variables, globs, pipes or "
                         "redirections. Its stdout and stderr are captured into the report "
                         "(`caretaker report JOB` shows them; head and tail are kept past "
                         "[caretaker] output_limit). The job's timeout and user keys apply to "
                         "the command. Exit codes in ok_exit_codes succeed, those in "
                         "warn_exit_codes warn, any other fails. The job ends a second after "
                         "the command exits, even when a process it started (a daemon) still "
                         "holds its output open; caretaker ends such processes with the run. "
                         "Run as another job's on_failure, the command gets the failure and the "
                         "artifacts of that job's chain as CARETAKER_FAILED_JOB, "
                         "CARETAKER_FAILED_STATUS, CARETAKER_FAILED_SUMMARY, "
                         "CARETAKER_CHAIN_ARTIFACTS, CARETAKER_CHAIN_<i>_JOB/_KIND/_PATH and "
                         "CARETAKER_ARTIFACT_<JOB>_<KIND> (caretaker.ini(5), on_failure; "
                         "docs/updates.md).",
                 .flags = CT_PLUGIN_DRY_RUN, .options = exec_options, .init = exec_init,
                 .run = exec_run, .report = exec_report, .fini = exec_fini);
