/*
 * logrotate_scripts.c — prerotate and postrotate: argv run without a
 * shell, as a child of the job's process (it stays in the job's process
 * group, so the job's timeout and the host's clean-up end it with the
 * job), stdout and stderr captured into the report's stream of the
 * command's name, through libctchild.  Once a run, like logrotate's
 * sharedscripts.  A daemon the command starts may keep the output open:
 * the run goes on a second after the command itself exited.
 */
#include <stddef.h>

#include "childrun.h"
#include "logrotate.h"

/* What the command's output callback sees. */
struct script_call {
	struct lr_run *run;
	const char *name; /* prerotate or postrotate: the report's stream */
};

static void
script_output_cb(void *arg, const char *stream, const char *buf, size_t n)
{
	struct script_call *c = arg;

	(void)stream;
	c->run->host.ct->add_output(c->run->host.t, c->name, buf, n);
}

int
lr_script_run(struct lr_run *run, const char *name, char *const *argv)
{
	struct script_call call = {.run = run, .name = name};
	struct childrun_params p = {.argv = argv,
	                            .cwd = "/",
	                            .is_merging_stderr = 1,
	                            .on_output = script_output_cb,
	                            .output_arg = &call,
	                            .should_stop = plugin_host_should_stop,
	                            .stop_arg = &run->host};
	struct childrun_result r;
	char err[256], how[sizeof(r.error)];
	int rc;

	lr_note(run, "running %s: %s", name, argv[0]);
	rc = childrun_run(&p, &r, err, sizeof(err));
	childrun_result_free(&r);
	if (rc != CT_OK)
		return plugin_host_fail(&run->host, rc, "%s: %s", name, err);
	if (r.exit_code == 0)
		return CT_OK;
	childrun_describe(&r, how, sizeof(how));
	if (r.exec_errno != 0)
		return plugin_host_fail(&run->host, CT_ECHILD, "%s: %s", name, how);
	return plugin_host_fail(&run->host, CT_ECHILD, "%s: %s %s", name, argv[0], how);
}
