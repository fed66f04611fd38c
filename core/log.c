/*
 * log.c — stderr logging with journal priority prefixes (see log.h).
 *
 * A line is formatted into one buffer and written with one write(2) so lines
 * from the parent and from job children do not interleave mid-line.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"

static int log_level_max = LOG_LEVEL_NOTICE;
static int log_journal;
static void (*log_line_cb)(void);

static const char *const level_words[8] = {
    "emergency", "alert", "critical", "error", "warning", "notice", "info", "debug",
};

/* systemd sets JOURNAL_STREAM=DEV:INODE for the stream it connected; only
 * trust it when stderr really is that stream (a child may inherit the
 * variable with stderr redirected elsewhere). */
static int
log_stderr_is_journal(void)
{
	const char *env = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;

	if (env == NULL || sscanf(env, "%llu:%llu", &dev, &ino) != 2)
		return 0;
	if (fstat(STDERR_FILENO, &st) != 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void
log_init(int max_level)
{
	log_level_max = max_level;
	log_journal = log_stderr_is_journal();
}

int
log_max_level(void)
{
	return log_level_max;
}

int
log_is_journal(void)
{
	return log_journal;
}

void
log_set_line_cb(void (*cb)(void))
{
	log_line_cb = cb;
}

void
log_vmsg(int level, const char *who, const char *fmt, va_list ap)
{
	/* Room for a plugin's longest log line (task.h) and the prefix; a line
	 * that escapes make longer still is cut, with "...". */
	char line[8192];
	size_t n;
	int saved_errno = errno;

	if (level > log_level_max)
		return;
	if (level < 0 || level > 7)
		level = LOG_LEVEL_ERR;
	if (log_journal)
		n = (size_t)snprintf(line, sizeof(line), "<%d>%s%s", level, who ? who : "",
		                     who ? ": " : "");
	else if (who != NULL)
		n = (size_t)snprintf(line, sizeof(line), "caretaker[%s]: %s: ", who,
		                     level_words[level]);
	else
		n = (size_t)snprintf(line, sizeof(line), "caretaker: %s: ", level_words[level]);
	if (n < sizeof(line))
		n += (size_t)vsnprintf(line + n, sizeof(line) - n, fmt, ap);
	if (n >= sizeof(line) - 1) {
		n = sizeof(line) - 5;
		memcpy(line + n, "...", 3);
		n += 3;
	}
	line[n++] = '\n';
	if (log_line_cb != NULL)
		log_line_cb();
	if (write(STDERR_FILENO, line, n) < 0) {
		/* Nowhere left to say it. */
	}
	errno = saved_errno;
}

void
log_msg(int level, const char *who, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vmsg(level, who, fmt, ap);
	va_end(ap);
}
