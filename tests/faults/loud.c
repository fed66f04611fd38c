/*
 * Says too much, or says it in a way meant to mislead, depending on its
 * `mode` option:
 *
 *   big        a 1 MiB summary, a 2 MiB finding and a 1 MiB log line
 *   control    escape sequences, C0/C1 controls and forged lines in every
 *              kind of text it reports
 *   badutf8    a summary with an overlong encoding and a surrogate
 *   silent     fails with an empty summary
 *   overlong   writes a 2 MiB status message straight to the report pipe,
 *              then a proper end message, as a rogue child could
 *   malformed  writes a status message whose status is a string, then an
 *              end message
 *
 * The core must keep every word it can, shortened with a visible marker,
 * escape what would reach a terminal, and never record a failure without
 * saying why.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fault.h"

static const struct ct_option loud_options[] = {
    {.key = "mode",
     .type = CT_OPT_ENUM,
     .default_value = "big",
     .choices = "big|control|badutf8|silent|overlong|malformed",
     .help = "how to misbehave"},
    {.key = NULL},
};

/* `len` bytes: `head`, then 'x' up to the end. */
static char *
loud_text(const char *head, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		return NULL;
	memset(s, 'x', len);
	memcpy(s, head, strlen(head));
	s[len] = '\0';
	return s;
}

static int
loud_big(struct ct_task *t, const struct ct_services *ct)
{
	char *summary = loud_text("LOUD-SUMMARY ", 1u << 20);
	char *finding = loud_text("LOUD-FINDING ", 2u << 20);
	char *line = loud_text("LOUD-LOG ", 1u << 20);
	int rc = CT_ENOMEM;

	if (summary != NULL && finding != NULL && line != NULL) {
		ct->log(t, CT_LOG_WARNING, "%s", line);
		rc = ct->add_finding(t, CT_SEV_WARNING, "big-object", "%s", finding);
		ct->set_status(t, CT_STATUS_OK, "%s", summary);
	}
	free(summary);
	free(finding);
	free(line);
	return rc;
}

static int
loud_control(struct ct_task *t, const struct ct_services *ct)
{
	static const char output[] = "LOUD-OUTPUT \033[2Jmore\nsecond line\r\n";

	ct->log(t, CT_LOG_WARNING, "LOUD-LOG \033[31mred\nFORGED-LOG line");
	ct->add_metric(t, "loud", 1, "unit\033[5m\nforged_metric 1");
	ct->add_finding(t, CT_SEV_ERROR, "object\033]0;title\007", "LOUD-FINDING\nFORGED-FINDING");
	ct->add_artifact(t, "kind\001", "/tmp/path\033[8m");
	ct->add_output(t, "stream\033[1m", output, sizeof(output) - 1);
	ct->set_status(
	    t, CT_STATUS_WARN,
	    "LOUD-SUMMARY\nok       forged   0.01s  FORGED-RUN\033[2J\001\177\302\233\r end");
	return CT_OK;
}

static int
loud_badutf8(struct ct_task *t, const struct ct_services *ct)
{
	ct->set_status(t, CT_STATUS_OK,
	               "LOUD-BADUTF8 overlong \300\200 surrogate \355\240\200 end");
	return CT_OK;
}

/* The report pipe: the only FIFO open for writing besides stdout and
 * stderr (which go to the capture pipe). */
static int
loud_report_fd(void)
{
	struct stat st;

	for (int fd = 3; fd < 1024; fd++) {
		int flags = fcntl(fd, F_GETFL);

		if (flags < 0 || (flags & O_ACCMODE) != O_WRONLY)
			continue;
		if (fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode))
			return fd;
	}
	return -1;
}

static void
loud_write(int fd, const char *s, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, s, len);

		if (n <= 0)
			return;
		s += n;
		len -= (size_t)n;
	}
}

/* Write `message` raw, then an end message, and leave as the child would
 * after fini. */
static int
loud_raw(const char *message, size_t len)
{
	static const char end[] = "{\"t\":\"end\",\"phase\":\"run\",\"rc\":0}\n";
	int fd = loud_report_fd();

	if (fd < 0)
		return CT_EPLUGIN;
	loud_write(fd, message, len);
	loud_write(fd, end, sizeof(end) - 1);
	_exit(0);
}

static int
loud_overlong(void)
{
	static const char head[] = "{\"t\":\"status\",\"status\":0,\"summary\":\"";
	size_t len = (2u << 20) + 1; /* 2 MiB and the newline */
	char *line = loud_text(head, len);

	if (line == NULL)
		return CT_ENOMEM;
	memcpy(line + len - 3, "\"}\n", 3);
	return loud_raw(line, len);
}

static int
loud_malformed(void)
{
	static const char line[] =
	    "{\"t\":\"status\",\"status\":\"ok\",\"summary\":\"LOUD-LIE\"}\n";

	return loud_raw(line, sizeof(line) - 1);
}

static int
loud_run(struct ct_task *t, const struct ct_services *ct, void *state)
{
	const char *mode = "big";

	(void)state;
	ct->opt_string(t, "mode", &mode);
	if (strcmp(mode, "control") == 0)
		return loud_control(t, ct);
	if (strcmp(mode, "badutf8") == 0)
		return loud_badutf8(t, ct);
	if (strcmp(mode, "silent") == 0) {
		ct->set_status(t, CT_STATUS_FAIL, "%s", "");
		return CT_OK;
	}
	if (strcmp(mode, "overlong") == 0)
		return loud_overlong();
	if (strcmp(mode, "malformed") == 0)
		return loud_malformed();
	return loud_big(t, ct);
}

CT_PLUGIN_DEFINE(.name = "loud", .version = "0", .summary = "fault plugin: says too much",
                 .options = loud_options, .init = fault_init, .run = loud_run,
                 .report = fault_report);
