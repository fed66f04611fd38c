/*
 * pgtools_output.c — reading what pg_dump, pg_restore and psql print: the
 * completion trailer at the end of a plain dump and error lines on stderr
 * (see pgtools.h).
 *
 * pg_dump writes "-- PostgreSQL database dump complete" only after the last
 * object, so a dump cut short by a crash, a full disk or a killed process
 * lacks it even when every byte written is intact.  Since the August 2025
 * minor releases (17.6, 16.10, 15.14, 14.19, 13.22) a plain dump also ends
 * with `\unrestrict KEY`, after the trailer.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <string.h>

#include "pgtools.h"

static const char complete_block[] = "\n-- PostgreSQL database dump complete\n--\n";

void
pgtools_tail_add(struct pgtools_tail *t, const void *buf, size_t len)
{
	const char *p = buf;
	size_t keep = sizeof(t->buf);

	if (len >= keep) {
		memcpy(t->buf, p + len - keep, keep);
		t->len = keep;
		return;
	}
	if (t->len + len > keep) {
		size_t drop = t->len + len - keep;

		memmove(t->buf, t->buf + drop, t->len - drop);
		t->len -= drop;
	}
	memcpy(t->buf + t->len, p, len);
	t->len += len;
}

/* `\unrestrict KEY\n` at p; sets *next past it. */
static int
is_unrestrict_line(const char *p, const char *end, const char **next)
{
	static const char cmd[] = "\\unrestrict ";
	const char *nl;

	if ((size_t)(end - p) < sizeof(cmd) || memcmp(p, cmd, sizeof(cmd) - 1) != 0)
		return 0;
	nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return 0;
	*next = nl + 1;
	return 1;
}

static const char *
find_last_block(const struct pgtools_tail *t)
{
	const char *hit = NULL, *p = t->buf, *end = t->buf + t->len, *q;

	while ((q = memmem(p, (size_t)(end - p), complete_block, sizeof(complete_block) - 1)) !=
	       NULL) {
		hit = q;
		p = q + 1;
	}
	return hit;
}

int
pgtools_tail_is_complete(const struct pgtools_tail *t)
{
	const char *p = find_last_block(t), *end = t->buf + t->len;

	if (p == NULL)
		return 0;
	p += sizeof(complete_block) - 1;
	while (p < end) {
		if (*p == '\n')
			p++;
		else if (!is_unrestrict_line(p, end, &p))
			return 0;
	}
	return 1;
}

static int
contains(const char *line, size_t len, const char *word)
{
	return memmem(line, len, word, strlen(word)) != NULL;
}

int
pgtools_line_is_error(const char *line, size_t len)
{
	size_t prog = 0;

	/* "pg_dump: error: ..." (and "fatal:" before PostgreSQL 15): the
	 * program's name, a colon, the severity. */
	while (prog < len && line[prog] != ':' && line[prog] != ' ')
		prog++;
	if (prog > 0 && prog + 2 < len && line[prog] == ':' && line[prog + 1] == ' ') {
		const char *sev = line + prog + 2;
		size_t rest = len - prog - 2;

		if ((rest >= 6 && memcmp(sev, "error:", 6) == 0) ||
		    (rest >= 6 && memcmp(sev, "fatal:", 6) == 0))
			return 1;
	}
	/* The server's words, quoted by psql ("psql:<stdin>:9: ERROR:  ..."). */
	return contains(line, len, "ERROR:") || contains(line, len, "FATAL:") ||
	       contains(line, len, "PANIC:");
}
