/*
 * logscan_feed.c — a stream that arrives in pieces of any size (a
 * decompressed rotated file, a journal) cut into buffers of complete lines
 * for the scan.  Plain files need none of this: they are mapped and
 * scanned in place (logscan_file.c).
 */
#define _GNU_SOURCE /* memrchr */
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "logscan.h"

#define FEED_BYTES (16u << 20)
/* A line longer than this is scanned in pieces. */
#define FEED_MAX_BYTES (1u << 30)

int
logscan_feed_init(struct logscan_feed *f, const struct logscan_matcher *m,
                  struct logscan_tally *tally, uint64_t offset, int is_skip)
{
	memset(f, 0, sizeof(*f));
	f->buf = malloc(FEED_BYTES);
	if (f->buf == NULL)
		return CT_ENOMEM;
	f->cap = FEED_BYTES;
	f->m = m;
	f->tally = tally;
	f->skip = is_skip ? offset : 0;
	f->consumed = offset;
	return 0;
}

static int
feed_grow(struct logscan_feed *f)
{
	char *b = realloc(f->buf, f->cap * 2);

	if (b == NULL)
		return CT_ENOMEM;
	f->buf = b;
	f->cap *= 2;
	return 0;
}

/* Scans the complete lines held (all of them when is_final) and keeps the
 * rest for the next call. */
static int
feed_flush(struct logscan_feed *f, int is_final)
{
	const char *nl = f->len > 0 ? memrchr(f->buf, '\n', f->len) : NULL;
	size_t upto = nl != NULL ? (size_t)(nl - f->buf) + 1 : 0;
	int rc;

	if (is_final || (upto == 0 && f->len == f->cap && f->cap >= FEED_MAX_BYTES))
		upto = f->len;
	if (upto == 0)
		return f->len == f->cap ? feed_grow(f) : 0;
	rc = logscan_scan_region(f->m, f->tally, f->buf, upto, f->consumed);
	if (rc != 0)
		return rc;
	f->consumed += upto;
	memmove(f->buf, f->buf + upto, f->len - upto);
	f->len -= upto;
	return 0;
}

int
logscan_feed_write(struct logscan_feed *f, const void *data, size_t len)
{
	const char *p = data;
	int rc = 0;

	if (f->skip > 0) {
		size_t drop = f->skip < len ? (size_t)f->skip : len;

		p += drop;
		len -= drop;
		f->skip -= drop;
	}
	while (len > 0 && rc == 0) {
		size_t n = f->cap - f->len < len ? f->cap - f->len : len;

		memcpy(f->buf + f->len, p, n);
		f->len += n;
		p += n;
		len -= n;
		if (f->len == f->cap)
			rc = feed_flush(f, 0);
	}
	return rc;
}

void
logscan_feed_space(struct logscan_feed *f, char **buf, size_t *len)
{
	*buf = f->buf + f->len;
	*len = f->cap - f->len;
}

int
logscan_feed_commit(struct logscan_feed *f, size_t len)
{
	f->len += len;
	return f->len == f->cap ? feed_flush(f, 0) : 0;
}

int
logscan_feed_finish(struct logscan_feed *f, int is_final)
{
	return feed_flush(f, is_final);
}

void
logscan_feed_free(struct logscan_feed *f)
{
	free(f->buf);
	f->buf = NULL;
}
