/*
 * logscan_match.c — the compiled patterns and the search for the lines that
 * match them.
 *
 * The search runs over a whole buffer of complete lines, never line by
 * line: a prefilter finds the next place where any pattern can match, the
 * line around that place is cut out, and only that line is checked against
 * each pattern with PCRE2 (and against the exclude patterns).  Lines with no
 * hit are never looked at one by one, so the common case runs at the speed
 * of the prefilter.
 *
 * Two prefilters, chosen at compile time of the job's patterns:
 *  - Hyperscan (libhs), where it was built in and the CPU has SSSE3: every
 *    pattern compiled with HS_FLAG_PREFILTER into one database, so one pass
 *    of its SIMD literal and automaton search reports every candidate.  It
 *    needs no executable memory at run time.
 *  - PCRE2: the alternation of every pattern, matched over the buffer from
 *    hit to hit; PCRE2's start-of-match optimisations (first code unit,
 *    start bitmap) skip the text between hits with memchr.
 * docs/logscan.md gives the measurements behind the choice.
 *
 * PCRE2 JIT where the process may map executable memory; where it may not
 * (systemd's MemoryDenyWriteExecute=, prctl PR_SET_MDWE) pcre2_jit_compile
 * fails and the interpreter runs the same patterns.
 *
 * A buffer of 4 MB or more is cut at a line boundary near its middle and
 * the halves are searched by two threads; the hits are joined in order.
 */
#define _GNU_SOURCE /* memrchr */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "logscan.h"

#ifdef HAVE_HYPERSCAN
#include <hs/hs.h>
#endif

#define SPLIT_MIN_BYTES (4u << 20)
#define MAX_THREADS 2

struct scan_job {
	const struct logscan_matcher *m;
	const char *buf; /* the whole buffer: hit offsets are relative to it */
	size_t len;      /* of the whole buffer: records may reach past end */
	size_t begin, end;
	size_t last_line; /* start of the last line checked, +1 (0: none) */
	/* Hyperscan's exact matches of literal patterns: the line being
	 * collected, whose mask grows with each pattern found on it. */
	int has_pending;
	size_t pend_start, pend_end;
	uint32_t pend_mask;
	int is_unordered;
	void *scratch;
	pcre2_match_data *md;
	struct logscan_hits hits;
	int rc;
};

static int
hits_push(struct logscan_hits *h, size_t off, size_t len, uint32_t mask)
{
	if (h->n == h->cap) {
		size_t cap = h->cap ? h->cap * 2 : 1024;
		struct logscan_hit *v = realloc(h->v, cap * sizeof(*v));

		if (v == NULL)
			return CT_ENOMEM;
		h->v = v;
		h->cap = cap;
	}
	h->v[h->n++] = (struct logscan_hit){.off = off, .len = len, .mask = mask, .rec_begin = off};
	return 0;
}

static int
code_matches(const pcre2_code *code, const char *s, size_t len, pcre2_match_data *md)
{
	return pcre2_match(code, (PCRE2_SPTR)s, len, 0, 0, md, NULL) >= 0;
}

/* Which patterns the line matches, 0 when an exclude pattern matches it. */
static uint32_t
line_mask(const struct logscan_matcher *m, const char *line, size_t len, pcre2_match_data *md)
{
	uint32_t mask = 0;

	for (size_t i = 0; i < m->n_pats; i++)
		if (code_matches(m->pats[i].code, line, len, md))
			mask |= 1u << i;
	for (size_t i = 0; mask != 0 && i < m->n_exclude; i++)
		if (code_matches(m->exclude[i], line, len, md))
			mask = 0;
	return mask;
}

/* The line of j->buf holding byte `pos`: checks it once and records it.
 * Returns the offset just past the line's '\n'. */
static size_t
check_line_at(struct scan_job *j, size_t pos)
{
	const char *nl = pos > j->begin ? memrchr(j->buf + j->begin, '\n', pos - j->begin) : NULL;
	size_t start = nl != NULL ? (size_t)(nl - j->buf) + 1 : j->begin;
	const char *e = memchr(j->buf + pos, '\n', j->end - pos);
	size_t end = e != NULL ? (size_t)(e - j->buf) : j->end;
	uint32_t mask;

	if (start + 1 == j->last_line)
		return end + 1;
	if (start + 1 < j->last_line)
		j->is_unordered = 1;
	j->last_line = start + 1;
	mask = line_mask(j->m, j->buf + start, end - start, j->md);
	if (mask != 0 && hits_push(&j->hits, start, end - start, mask) != 0)
		j->rc = CT_ENOMEM;
	return end + 1;
}

static void
search_pcre2(struct scan_job *j)
{
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(j->md);
	size_t pos = j->begin;

	while (pos < j->end && j->rc == 0) {
		int n = pcre2_match(j->m->prefilter, (PCRE2_SPTR)(j->buf + j->begin),
		                    j->end - j->begin, pos - j->begin, 0, j->md, NULL);

		if (n < 0)
			break;
		pos = check_line_at(j, j->begin + ov[0]);
	}
}

#ifdef HAVE_HYPERSCAN
static int
is_excluded(const struct logscan_matcher *m, const char *line, size_t len, pcre2_match_data *md)
{
	for (size_t i = 0; i < m->n_exclude; i++)
		if (code_matches(m->exclude[i], line, len, md))
			return 1;
	return 0;
}

/* Records the collected line, unless an exclude pattern matches it. */
static void
pending_flush(struct scan_job *j)
{
	size_t len = j->pend_end - j->pend_start;

	if (!j->has_pending)
		return;
	j->has_pending = 0;
	if (j->pend_start + 1 < j->last_line)
		j->is_unordered = 1;
	j->last_line = j->pend_start + 1;
	if (is_excluded(j->m, j->buf + j->pend_start, len, j->md))
		return;
	if (hits_push(&j->hits, j->pend_start, len, j->pend_mask) != 0)
		j->rc = CT_ENOMEM;
}

/* Pattern `id` matched exactly, ending at `pos`: no PCRE2 needed, only
 * the line's bounds, once per line. */
static void
exact_hit(struct scan_job *j, unsigned id, size_t pos)
{
	const char *nl, *e;

	if (j->has_pending && pos >= j->pend_start && pos <= j->pend_end) {
		j->pend_mask |= 1u << id;
		return;
	}
	pending_flush(j);
	nl = pos > j->begin ? memrchr(j->buf + j->begin, '\n', pos - j->begin) : NULL;
	e = memchr(j->buf + pos, '\n', j->end - pos);
	j->pend_start = nl != NULL ? (size_t)(nl - j->buf) + 1 : j->begin;
	j->pend_end = e != NULL ? (size_t)(e - j->buf) : j->end;
	j->pend_mask = 1u << id;
	j->has_pending = 1;
}

static int
hs_hit_cb(unsigned int id, unsigned long long from, unsigned long long to, unsigned int flags,
          void *ctx)
{
	struct scan_job *j = ctx;
	size_t pos = j->begin + (size_t)(to > 0 ? to - 1 : 0);

	(void)from;
	(void)flags;
	if (pos >= j->end)
		pos = j->end - 1;
	if (j->m->is_hs_exact)
		exact_hit(j, id, pos);
	else
		check_line_at(j, pos);
	return j->rc != 0;
}

static void
search_hyperscan(struct scan_job *j)
{
	if (hs_scan(j->m->hs_db, j->buf + j->begin, (unsigned)(j->end - j->begin), 0, j->scratch,
	            hs_hit_cb, j) == HS_SCAN_TERMINATED &&
	    j->rc == 0)
		j->rc = CT_EIO;
	pending_flush(j);
}
#endif

static int
hit_cmp(const void *a, const void *b)
{
	const struct logscan_hit *x = a, *y = b;

	return (x->off > y->off) - (x->off < y->off);
}

/* Hits of a prefilter that reported out of order: sorted, one per line,
 * with the patterns of every report of the line. */
static void
hits_settle(struct logscan_hits *h)
{
	size_t w = 0;

	qsort(h->v, h->n, sizeof(*h->v), hit_cmp);
	for (size_t r = 0; r < h->n; r++) {
		if (w > 0 && h->v[w - 1].off == h->v[r].off) {
			h->v[w - 1].mask |= h->v[r].mask;
			continue;
		}
		h->v[w++] = h->v[r];
	}
	h->n = w;
}

static void *
scan_job_run(void *arg)
{
	struct scan_job *j = arg;
	size_t prev = SIZE_MAX;

	j->md = pcre2_match_data_create(1, NULL);
	if (j->md == NULL) {
		j->rc = CT_ENOMEM;
		return NULL;
	}
#ifdef HAVE_HYPERSCAN
	if (j->m->hs_db != NULL)
		search_hyperscan(j);
	else
#endif
		search_pcre2(j);
	if (j->is_unordered)
		hits_settle(&j->hits);
	/* The records around the hits, here rather than in the thread that
	 * counts them: finding their bounds and masking their text is most of
	 * the work a hit costs. */
	for (size_t i = 0; i < j->hits.n && j->rc == 0; i++) {
		j->rc = logscan_record_describe(j->m, j->md, j->buf, j->len, &j->hits.v[i], prev);
		prev = j->hits.v[i].rec_begin;
	}
	pcre2_match_data_free(j->md);
	j->md = NULL;
	return NULL;
}

/* Where the second thread starts: just past the '\n' nearest the middle. */
static size_t
split_point(const char *buf, size_t len)
{
	const char *nl = memchr(buf + len / 2, '\n', len - len / 2);

	return nl != NULL ? (size_t)(nl - buf) + 1 : len;
}

/* Moves the hits of `in` (keys included) to the end of `out`. */
static int
hits_append(struct logscan_hits *out, struct logscan_hits *in)
{
	for (size_t i = 0; i < in->n; i++) {
		if (hits_push(out, in->v[i].off, in->v[i].len, in->v[i].mask) != 0)
			return CT_ENOMEM;
		out->v[out->n - 1] = in->v[i];
		in->v[i].key = NULL;
	}
	return 0;
}

void
logscan_hits_free(struct logscan_hits *hits)
{
	for (size_t i = 0; i < hits->n; i++)
		free(hits->v[i].key);
	free(hits->v);
	memset(hits, 0, sizeof(*hits));
}

int
logscan_matcher_scan(const struct logscan_matcher *m, const char *buf, size_t len,
                     struct logscan_hits *out)
{
	struct scan_job jobs[MAX_THREADS];
	size_t n = 1, mid = len;
	pthread_t tid;
	int rc = 0, is_threaded = 0;

	memset(jobs, 0, sizeof(jobs));
	if (m->threads > 1 && len >= SPLIT_MIN_BYTES) {
		mid = split_point(buf, len);
		n = mid < len ? 2 : 1;
	}
	for (size_t i = 0; i < n; i++)
		jobs[i] = (struct scan_job){.m = m,
		                            .buf = buf,
		                            .len = len,
		                            .begin = i == 0 ? 0 : mid,
		                            .end = i == 0 ? mid : len,
		                            .scratch = m->hs_scratch[i]};
	if (n == 2 && pthread_create(&tid, NULL, scan_job_run, &jobs[1]) == 0)
		is_threaded = 1;
	scan_job_run(&jobs[0]);
	if (n == 2 && is_threaded)
		pthread_join(tid, NULL);
	else if (n == 2)
		scan_job_run(&jobs[1]);
	for (size_t i = 0; i < n; i++) {
		if (rc == 0)
			rc = jobs[i].rc;
		if (rc == 0)
			rc = hits_append(out, &jobs[i].hits);
		logscan_hits_free(&jobs[i].hits);
	}
	return rc;
}

int
logscan_matcher_is_record_start(const struct logscan_matcher *m, pcre2_match_data *md,
                                const char *line, size_t len)
{
	if (m->record_start == NULL)
		return 1;
	return code_matches(m->record_start, line, len, md);
}
