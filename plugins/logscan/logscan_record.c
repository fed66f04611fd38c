/*
 * logscan_record.c — from matching lines to what the report counts.
 *
 * A record is a line that matches record_start and the lines after it that
 * do not (a Python traceback under its "ERROR ..." line).  Each pattern
 * counts the lines that match it (what grep -c says) and the records that
 * hold at least one such line; warn_at and fail_at judge the records.  A
 * record is grouped once, under its masked first line and, when it has
 * more than one line, its masked last line (the exception of a traceback),
 * with a count and the first record seen as the sample.
 *
 * Record bounds are looked for only around a hit, never for every line:
 * back from the hit to the nearest record start, forward to the next one,
 * each at most max_record_bytes away and never past the buffer scanned.
 */
#define _GNU_SOURCE /* memrchr */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "logscan.h"

#define KEY_BYTES 512
#define SAMPLE_BYTES 2048
#define MAX_RECORD_LINES 1000

struct span {
	size_t start, end; /* end: the '\n' or the end of the buffer */
};

static struct span
line_at(const char *buf, size_t len, size_t start)
{
	const char *nl = memchr(buf + start, '\n', len - start);

	return (struct span){start, nl != NULL ? (size_t)(nl - buf) : len};
}

/* The start of the line before the one that starts at `start` (> 0). */
static size_t
line_before(const char *buf, size_t start)
{
	const char *nl = start >= 2 ? memrchr(buf, '\n', start - 1) : NULL;

	return nl != NULL ? (size_t)(nl - buf) + 1 : 0;
}

static int
starts_record(const struct logscan_matcher *m, pcre2_match_data *md, const char *buf, size_t len,
              size_t start)
{
	return logscan_matcher_is_record_start(m, md, buf + start, len - start);
}

/* Where the record holding the line at `off` begins. */
static size_t
record_begin(const struct logscan_matcher *m, pcre2_match_data *md, const char *buf, size_t len,
             size_t off, uint64_t max_bytes)
{
	size_t at = off;

	if (m->record_start == NULL)
		return off;
	for (int n = 0; n < MAX_RECORD_LINES; n++) {
		if (starts_record(m, md, buf, len, at) || at == 0)
			return at;
		if (off - at > max_bytes)
			break;
		at = line_before(buf, at);
	}
	return off;
}

/* The last line of the record that begins at `begin`. */
static struct span
record_last_line(const struct logscan_matcher *m, pcre2_match_data *md, const char *buf, size_t len,
                 size_t begin, uint64_t max_bytes)
{
	struct span last = line_at(buf, len, begin);

	if (m->record_start == NULL)
		return last;
	for (int n = 0; n < MAX_RECORD_LINES && last.end + 1 < len; n++) {
		struct span next = line_at(buf, len, last.end + 1);

		if (starts_record(m, md, buf, len, next.start) || next.end - begin > max_bytes)
			break;
		last = next;
	}
	return last;
}

static uint64_t
key_hash(const char *s)
{
	return logscan_fp_of_bytes(s, strlen(s));
}

static int
groups_grow(struct logscan_tally *t)
{
	size_t cap = t->cap_groups ? t->cap_groups * 2 : 256;
	struct logscan_group *g = calloc(cap, sizeof(*g));

	if (g == NULL)
		return CT_ENOMEM;
	for (size_t i = 0; i < t->cap_groups; i++) {
		size_t j;

		if (t->groups[i].key == NULL)
			continue;
		for (j = key_hash(t->groups[i].key) & (cap - 1); g[j].key != NULL;
		     j = (j + 1) & (cap - 1))
			;
		g[j] = t->groups[i];
	}
	free(t->groups);
	t->groups = g;
	t->cap_groups = cap;
	return 0;
}

/* The group of h's key, a new one (taking the key, with the record's
 * sample) when it is not there yet; NULL when the table is full or memory
 * ran out. */
static struct logscan_group *
group_get(struct logscan_tally *t, struct logscan_hit *h, const char *buf)
{
	size_t j;

	if ((t->n_groups + 1) * 10 > t->cap_groups * 7 && groups_grow(t) != 0)
		return NULL;
	for (j = h->key_hash & (t->cap_groups - 1); t->groups[j].key != NULL;
	     j = (j + 1) & (t->cap_groups - 1))
		if (strcmp(t->groups[j].key, h->key) == 0)
			return &t->groups[j];
	if (t->n_groups >= LOGSCAN_MAX_GROUPS)
		return NULL;
	t->groups[j].sample = strndup(buf + h->rec_begin, h->sample_len);
	t->groups[j].file = t->file != NULL ? strdup(t->file) : NULL;
	if (t->groups[j].sample == NULL || (t->file != NULL && t->groups[j].file == NULL)) {
		free(t->groups[j].sample);
		free(t->groups[j].file);
		t->groups[j].sample = t->groups[j].file = NULL;
		return NULL;
	}
	t->groups[j].key = h->key;
	h->key = NULL;
	t->n_groups++;
	return &t->groups[j];
}

static void
group_record(struct logscan_tally *t, struct logscan_hit *h, const char *buf)
{
	struct logscan_group *g = h->key != NULL ? group_get(t, h, buf) : NULL;

	if (g == NULL) {
		t->other_records++;
		return;
	}
	g->count++;
	g->mask |= h->mask;
}

int
logscan_record_describe(const struct logscan_matcher *m, pcre2_match_data *md, const char *buf,
                        size_t len, struct logscan_hit *h, size_t prev_begin)
{
	uint64_t max_bytes = m->max_record_bytes;
	struct span head, last;
	char key[KEY_BYTES * 2 + 8];

	h->rec_begin = record_begin(m, md, buf, len, h->off, max_bytes);
	if (h->rec_begin == prev_begin)
		return 0;
	head = line_at(buf, len, h->rec_begin);
	last = record_last_line(m, md, buf, len, h->rec_begin, max_bytes);
	logscan_mask(buf + head.start, head.end - head.start, key, KEY_BYTES);
	if (last.start != head.start) {
		size_t o = strlen(key);

		memcpy(key + o, " ... ", 6);
		logscan_mask(buf + last.start, last.end - last.start, key + o + 5, KEY_BYTES);
	}
	h->sample_len =
	    last.end - h->rec_begin < SAMPLE_BYTES ? last.end - h->rec_begin : SAMPLE_BYTES;
	h->key_hash = key_hash(key);
	h->key = strdup(key);
	return h->key != NULL ? 0 : CT_ENOMEM;
}

static void
count_hit(struct logscan_tally *t, const struct logscan_matcher *m, const char *buf,
          struct logscan_hit *h)
{
	uint64_t rec = t->rec_base + h->rec_begin + 1;

	t->lines_hit++;
	for (size_t i = 0; i < m->n_pats; i++) {
		if (!(h->mask & (1u << i)))
			continue;
		m->pats[i].lines++;
		if (m->pats[i].last_rec != rec) {
			m->pats[i].records++;
			m->pats[i].last_rec = rec;
		}
	}
	if (t->last_grouped != rec) {
		group_record(t, h, buf);
		t->last_grouped = rec;
	}
}

int
logscan_tally_add(struct logscan_tally *tally, const struct logscan_matcher *m, const char *buf,
                  size_t len, struct logscan_hits *hits)
{
	for (size_t i = 0; i < hits->n; i++)
		count_hit(tally, m, buf, &hits->v[i]);
	tally->bytes += len;
	return 0;
}

static int
group_cmp(const void *a, const void *b)
{
	const struct logscan_group *x = *(const struct logscan_group *const *)a;
	const struct logscan_group *y = *(const struct logscan_group *const *)b;

	if (x->count != y->count)
		return x->count < y->count ? 1 : -1;
	return strcmp(x->key, y->key);
}

struct logscan_group **
logscan_tally_sorted(const struct logscan_tally *tally)
{
	struct logscan_group **v = calloc(tally->n_groups + 1, sizeof(*v));
	size_t n = 0;

	if (v == NULL)
		return NULL;
	for (size_t i = 0; i < tally->cap_groups; i++)
		if (tally->groups[i].key != NULL)
			v[n++] = &tally->groups[i];
	qsort(v, n, sizeof(*v), group_cmp);
	return v;
}

void
logscan_tally_free(struct logscan_tally *tally)
{
	if (tally == NULL)
		return;
	for (size_t i = 0; i < tally->cap_groups; i++) {
		free(tally->groups[i].key);
		free(tally->groups[i].sample);
		free(tally->groups[i].file);
	}
	free(tally->groups);
	tally->groups = NULL;
	tally->n_groups = tally->cap_groups = 0;
}

/* Finds and counts the matching lines of buf[0, len), which starts at
 * `base` in its file. */
int
logscan_scan_region(const struct logscan_matcher *m, struct logscan_tally *tally, const char *buf,
                    size_t len, uint64_t base)
{
	struct logscan_hits hits = {0};
	int rc;

	rc = logscan_matcher_scan(m, buf, len, &hits);
	if (rc == 0) {
		tally->rec_base = base;
		rc = logscan_tally_add(tally, m, buf, len, &hits);
	}
	logscan_hits_free(&hits);
	return rc;
}
