/*
 * dumpcount.c — per-table row counts from a plain pg_dump stream (see
 * dumpcount.h).
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "dumpcount.h"

/* Enough of a line outside the sections to read pg_dump's comment header
 * and a COPY line's table name (two quoted identifiers of at most 63
 * bytes each, every quote doubled). */
#define LINE_KEEP 640
#define TAIL_KEEP 16
#define NAME_MAX_BYTES 300
/* "$tag$": a tag is an identifier, at most 63 bytes. */
#define DOLLAR_TAG_MAX 66

static const char header_start[] = "-- Data for Name: ";
static const char header_mark[] = "; Type: TABLE DATA; ";
static const char copy_start[] = "COPY ";
static const char copy_end[] = " FROM stdin;";

/* Where the SQL text between the sections is (see lex_line()). */
enum lex_state {
	LEX_CODE,
	LEX_LINE_COMMENT,  /* "--" up to the newline */
	LEX_BLOCK_COMMENT, /* nested, as PostgreSQL's are */
	LEX_STRING,        /* '...', a quote doubled inside */
	LEX_ESTRING,       /* E'...', with backslash escapes too */
	LEX_IDENT,         /* "...", a quote doubled inside */
	LEX_DOLLAR_TAG,    /* after a "$" that may open a dollar quote */
	LEX_DOLLAR,        /* $tag$...$tag$ */
	LEX_META,          /* a psql backslash command, up to the newline */
};

enum lex_step {
	STEP_NEXT,  /* the byte is taken */
	STEP_AGAIN, /* the state changed: read the same byte in the new one */
	STEP_EOL,   /* the byte is the newline that ends the line */
};

struct lexer {
	enum lex_state state;
	unsigned char prev;       /* the byte before, 0 after a token ended */
	size_t word_len;          /* identifier bytes just before, in code */
	int is_escaped;           /* in E'': the byte before was a backslash */
	int is_estring_closed;    /* an E'' string just closed: a quote goes on with it */
	int depth;                /* of block comments */
	char tag[DOLLAR_TAG_MAX]; /* "$tag$" of the open dollar quote */
	size_t tag_len, matched;
};

struct dumpcount {
	int in_section;
	struct lexer lx;  /* the SQL outside the sections */
	int after_header; /* the last lines were pg_dump's TABLE DATA comment */
	/* the line being read outside a section */
	char line[LINE_KEEP];
	size_t line_len;      /* whole length; bytes beyond LINE_KEEP are not kept */
	char tail[TAIL_KEEP]; /* its last bytes */
	size_t tail_len;
	/* the section being read */
	char start[2]; /* the first bytes of its current line */
	size_t cur_len;
	int64_t rows;
	char name[NAME_MAX_BYTES];
	/* the sections done */
	struct manifest_table *tables;
	size_t n_tables, cap_tables;
	int is_sorted;
	char err[400];
};

struct dumpcount *
dumpcount_new(void)
{
	return calloc(1, sizeof(struct dumpcount));
}

void
dumpcount_free(struct dumpcount *dc)
{
	if (dc == NULL)
		return;
	for (size_t i = 0; i < dc->n_tables; i++)
		free((char *)dc->tables[i].name);
	free(dc->tables);
	free(dc);
}

/* ---- names ---- */

/* One identifier as pg_dump's fmtId() writes it: bare, or in double
 * quotes with every quote inside doubled.  Returns the bytes consumed, or
 * 0 for none. */
static size_t
parse_ident(const char *s, size_t len, char *out, size_t out_size, size_t *out_len)
{
	size_t i = 0, n = *out_len;

	if (len > 0 && s[0] == '"') {
		for (i = 1; i < len; i++) {
			if (s[i] == '"') {
				if (i + 1 < len && s[i + 1] == '"') {
					i++;
				} else {
					*out_len = n;
					return i > 1 ? i + 1 : 0;
				}
			}
			if (n + 1 >= out_size)
				return 0;
			out[n++] = s[i];
		}
		return 0; /* no closing quote */
	}
	while (i < len && s[i] != '.' && s[i] != ' ' && s[i] != '"' && s[i] != '(') {
		if (n + 1 >= out_size)
			return 0;
		out[n++] = s[i++];
	}
	*out_len = n;
	return i;
}

int
dumpcount_parse_copy(const char *line, size_t len, char *out, size_t out_size)
{
	size_t at = sizeof(copy_start) - 1, n = 0, k;

	if (out_size < 4 || len < at || memcmp(line, copy_start, at) != 0)
		return -1;
	k = parse_ident(line + at, len - at, out, out_size, &n);
	if (k == 0 || at + k >= len || line[at + k] != '.')
		return -1;
	at += k + 1;
	out[n++] = '.';
	k = parse_ident(line + at, len - at, out, out_size, &n);
	if (k == 0 || at + k >= len || line[at + k] != ' ')
		return -1;
	out[n] = '\0';
	return 0;
}

/* ---- the SQL between the sections ---- */

/*
 * Outside the sections the stream is SQL for psql, and a newline ends a
 * line only outside quotes: pg_dump writes a name holding a newline as a
 * quoted identifier over two lines, and a comment, a default or a function
 * body (anyone's words) as a string whose lines may look like its own
 * TABLE DATA header and COPY line.  So the counter follows psql's lexer as
 * far as telling code from a comment, a string (E'' with backslash
 * escapes; a plain string needs none, as pg_dump doubles every backslash
 * when standard_conforming_strings is off), a quoted identifier, a
 * dollar-quoted string and a psql backslash command (\connect, \restrict).
 * A line is what ends at a newline in code, a "--" comment or a
 * backslash command.
 */

static int
is_word_byte(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '$' || c >= 0x80;
}

static int
is_tag_byte(unsigned char c, int is_first)
{
	return is_word_byte(c) && c != '$' && !(is_first && c >= '0' && c <= '9');
}

static enum lex_step
lex_enter(struct lexer *lx, enum lex_state state)
{
	lx->state = state;
	lx->prev = 0;
	lx->word_len = 0;
	return STEP_NEXT;
}

/* A quote in code opens E'' after a lone E (or right after another E''
 * string: the quote is doubled inside it), else a plain string. */
static enum lex_step
lex_quote(struct lexer *lx)
{
	int is_e = (lx->word_len == 1 && (lx->prev == 'E' || lx->prev == 'e')) ||
	           (lx->prev == '\'' && lx->is_estring_closed);

	lx->is_escaped = 0;
	lx->is_estring_closed = 0;
	return lex_enter(lx, is_e ? LEX_ESTRING : LEX_STRING);
}

static enum lex_step
lex_code(struct lexer *lx, unsigned char c)
{
	if (c == '\n') {
		lx->is_estring_closed = 0;
		lex_enter(lx, LEX_CODE);
		return STEP_EOL;
	}
	if (c == '\'')
		return lex_quote(lx);
	lx->is_estring_closed = 0;
	if (c == '-' && lx->prev == '-')
		return lex_enter(lx, LEX_LINE_COMMENT);
	if (c == '*' && lx->prev == '/') {
		lx->depth = 1;
		return lex_enter(lx, LEX_BLOCK_COMMENT);
	}
	if (c == '"')
		return lex_enter(lx, LEX_IDENT);
	if (c == '\\')
		return lex_enter(lx, LEX_META);
	if (c == '$' && lx->word_len == 0) {
		lx->tag[0] = '$';
		lx->tag_len = 1;
		return lex_enter(lx, LEX_DOLLAR_TAG);
	}
	lx->word_len = is_word_byte(c) ? lx->word_len + 1 : 0;
	lx->prev = c;
	return STEP_NEXT;
}

static enum lex_step
lex_to_eol(struct lexer *lx, unsigned char c)
{
	if (c != '\n')
		return STEP_NEXT;
	lex_enter(lx, LEX_CODE);
	return STEP_EOL;
}

static enum lex_step
lex_block_comment(struct lexer *lx, unsigned char c)
{
	if (lx->prev == '/' && c == '*') {
		lx->depth++;
		c = 0;
	} else if (lx->prev == '*' && c == '/') {
		c = 0;
		if (--lx->depth == 0)
			return lex_enter(lx, LEX_CODE);
	}
	lx->prev = c;
	return STEP_NEXT;
}

static enum lex_step
lex_string(struct lexer *lx, unsigned char c)
{
	if (c != '\'')
		return STEP_NEXT;
	lex_enter(lx, LEX_CODE);
	lx->prev = '\'';
	return STEP_NEXT;
}

static enum lex_step
lex_estring(struct lexer *lx, unsigned char c)
{
	if (lx->is_escaped) {
		lx->is_escaped = 0;
		return STEP_NEXT;
	}
	if (c == '\\')
		lx->is_escaped = 1;
	if (c != '\'')
		return STEP_NEXT;
	lex_enter(lx, LEX_CODE);
	lx->prev = '\'';
	lx->is_estring_closed = 1;
	return STEP_NEXT;
}

static enum lex_step
lex_ident(struct lexer *lx, unsigned char c)
{
	if (c != '"')
		return STEP_NEXT;
	lex_enter(lx, LEX_CODE);
	lx->word_len = 1; /* a quoted name is a word: "a"$ opens nothing */
	return STEP_NEXT;
}

/* After a "$" in code: a tag and "$" open a dollar quote; anything else
 * ($1, a lone $) was code. */
static enum lex_step
lex_dollar_tag(struct lexer *lx, unsigned char c)
{
	if (c == '$') {
		lx->tag[lx->tag_len++] = '$';
		lx->matched = 0;
		lx->state = LEX_DOLLAR;
		return STEP_NEXT;
	}
	if (is_tag_byte(c, lx->tag_len == 1) && lx->tag_len + 1 < sizeof(lx->tag)) {
		lx->tag[lx->tag_len++] = (char)c;
		return STEP_NEXT;
	}
	lex_enter(lx, LEX_CODE);
	lx->word_len = 1;
	return STEP_AGAIN;
}

/* Only "$tag$" closes.  The tag holds no "$", so after a mismatch a
 * closing can only be starting at this byte. */
static enum lex_step
lex_dollar(struct lexer *lx, unsigned char c)
{
	if ((unsigned char)lx->tag[lx->matched] == c)
		lx->matched++;
	else
		lx->matched = c == '$' ? 1 : 0;
	if (lx->matched == lx->tag_len)
		return lex_enter(lx, LEX_CODE);
	return STEP_NEXT;
}

static enum lex_step (*const lex_steps[])(struct lexer *, unsigned char) = {
    [LEX_CODE] = lex_code,
    [LEX_LINE_COMMENT] = lex_to_eol,
    [LEX_BLOCK_COMMENT] = lex_block_comment,
    [LEX_STRING] = lex_string,
    [LEX_ESTRING] = lex_estring,
    [LEX_IDENT] = lex_ident,
    [LEX_DOLLAR_TAG] = lex_dollar_tag,
    [LEX_DOLLAR] = lex_dollar,
    [LEX_META] = lex_to_eol,
};

/* The one byte each state waits for, where it waits for one: the bytes
 * before it are skipped with memchr(), so a long string (a large object's
 * data, a function body) costs what a section's rows cost. */
static const char lex_wanted[] = {
    [LEX_LINE_COMMENT] = '\n', [LEX_STRING] = '\'', [LEX_IDENT] = '"',
    [LEX_DOLLAR] = '$',        [LEX_META] = '\n',
};

static size_t
lex_skip(const struct lexer *lx, const char *p, size_t n)
{
	const char *hit;

	if (lx->state >= sizeof(lex_wanted) || lex_wanted[lx->state] == 0 ||
	    (lx->state == LEX_DOLLAR && lx->matched > 0))
		return 0;
	hit = memchr(p, lex_wanted[lx->state], n);
	return hit ? (size_t)(hit - p) : n;
}

/* How many bytes of p[0..n) belong to the current line: up to its ending
 * newline (*has_end set, the newline not counted) or all of them. */
static size_t
lex_line(struct lexer *lx, const char *p, size_t n, int *has_end)
{
	enum lex_step step;

	for (size_t i = 0; i < n; i++) {
		i += lex_skip(lx, p + i, n - i);
		if (i == n)
			break;
		do
			step = lex_steps[lx->state](lx, (unsigned char)p[i]);
		while (step == STEP_AGAIN);
		if (step == STEP_EOL) {
			*has_end = 1;
			return i;
		}
	}
	*has_end = 0;
	return n;
}

/* ---- outside the sections ---- */

static int
line_is(const struct dumpcount *dc, const char *s)
{
	size_t n = strlen(s);

	return dc->line_len == n && memcmp(dc->line, s, n) == 0;
}

static int
line_starts(const struct dumpcount *dc, const char *s)
{
	size_t n = strlen(s);

	return dc->line_len >= n && memcmp(dc->line, s, n) == 0;
}

static int
line_ends(const struct dumpcount *dc, const char *s)
{
	size_t n = strlen(s);

	return dc->tail_len >= n && memcmp(dc->tail + dc->tail_len - n, s, n) == 0;
}

static int
is_header(const struct dumpcount *dc)
{
	size_t kept = dc->line_len < LINE_KEEP ? dc->line_len : LINE_KEEP;

	return line_starts(dc, header_start) &&
	       memmem(dc->line, kept, header_mark, sizeof(header_mark) - 1) != NULL;
}

static int
fail(struct dumpcount *dc, int rc, const char *what)
{
	snprintf(dc->err, sizeof(dc->err), "%s", what);
	return rc;
}

/* A whole line outside a section: the header, its frame, or a COPY line. */
static int
take_line(struct dumpcount *dc)
{
	size_t kept = dc->line_len < LINE_KEEP ? dc->line_len : LINE_KEEP;
	char shown[120];

	if (is_header(dc)) {
		dc->after_header = 1;
		return 0;
	}
	if (line_is(dc, "--") || line_is(dc, ""))
		return 0;
	if (dc->after_header && line_starts(dc, copy_start) && line_ends(dc, copy_end)) {
		dc->after_header = 0;
		if (dumpcount_parse_copy(dc->line, kept, dc->name, sizeof(dc->name)) != 0) {
			snprintf(shown, sizeof(shown),
			         "cannot read the table name of the COPY line \"%.*s\"",
			         (int)(kept < 60 ? kept : 60), dc->line);
			return fail(dc, CT_ECORRUPT, shown);
		}
		dc->in_section = 1;
		dc->rows = 0;
		dc->cur_len = 0;
		return 0;
	}
	dc->after_header = 0;
	return 0;
}

/* Bytes of the line outside a section; `has_end`: they end it. */
static int
add_line_piece(struct dumpcount *dc, const char *p, size_t n, int has_end)
{
	int rc = 0;

	if (dc->line_len < LINE_KEEP) {
		size_t k = LINE_KEEP - dc->line_len < n ? LINE_KEEP - dc->line_len : n;

		memcpy(dc->line + dc->line_len, p, k);
	}
	dc->line_len += n;
	if (n >= TAIL_KEEP) {
		memcpy(dc->tail, p + n - TAIL_KEEP, TAIL_KEEP);
		dc->tail_len = TAIL_KEEP;
	} else if (n > 0) {
		size_t keep = dc->tail_len + n > TAIL_KEEP ? TAIL_KEEP - n : dc->tail_len;

		memmove(dc->tail, dc->tail + dc->tail_len - keep, keep);
		memcpy(dc->tail + keep, p, n);
		dc->tail_len = keep + n;
	}
	if (has_end) {
		rc = take_line(dc);
		dc->line_len = 0;
		dc->tail_len = 0;
	}
	return rc;
}

/* ---- inside a section ---- */

static int
end_section(struct dumpcount *dc)
{
	struct manifest_table *t;
	char *name;

	if (dc->n_tables == dc->cap_tables) {
		size_t cap = dc->cap_tables ? 2 * dc->cap_tables : 64;

		t = realloc(dc->tables, cap * sizeof(*t));
		if (t == NULL)
			return fail(dc, CT_ENOMEM, "out of memory for the row counts");
		dc->tables = t;
		dc->cap_tables = cap;
	}
	name = strdup(dc->name);
	if (name == NULL)
		return fail(dc, CT_ENOMEM, "out of memory for the row counts");
	dc->tables[dc->n_tables].name = name;
	dc->tables[dc->n_tables].rows = dc->rows;
	dc->n_tables++;
	dc->is_sorted = 0;
	dc->in_section = 0;
	return 0;
}

/* Counts the lines of a section in p[0..n); returns the bytes used, which
 * stop after its "\." line when the section ends there. */
static size_t
count_rows(struct dumpcount *dc, const char *p, size_t n, int *rc)
{
	const char *at = p, *end = p + n, *nl;

	while (at < end) {
		nl = memchr(at, '\n', (size_t)(end - at));
		size_t piece = (size_t)((nl ? nl : end) - at);

		for (size_t i = 0; dc->cur_len + i < sizeof(dc->start) && i < piece; i++)
			dc->start[dc->cur_len + i] = at[i];
		dc->cur_len += piece;
		if (nl == NULL)
			return n;
		at = nl + 1;
		if (dc->cur_len == 2 && dc->start[0] == '\\' && dc->start[1] == '.') {
			dc->cur_len = 0;
			*rc = end_section(dc);
			return (size_t)(at - p);
		}
		dc->rows++;
		dc->cur_len = 0;
	}
	return n;
}

int
dumpcount_add(struct dumpcount *dc, const void *buf, size_t len)
{
	const char *p = buf, *end = p + len;
	int rc = 0, has_end;
	size_t n;

	while (rc == 0 && p < end) {
		if (dc->in_section) {
			p += count_rows(dc, p, (size_t)(end - p), &rc);
			continue;
		}
		n = lex_line(&dc->lx, p, (size_t)(end - p), &has_end);
		rc = add_line_piece(dc, p, n, has_end);
		p += n + (has_end != 0);
	}
	return rc;
}

/* ---- results ---- */

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct manifest_table *)a)->name,
	              ((const struct manifest_table *)b)->name);
}

size_t
dumpcount_n_tables(const struct dumpcount *dc)
{
	return dc->n_tables;
}

static void
sort_tables(const struct dumpcount *dc)
{
	struct dumpcount *w = (struct dumpcount *)dc;

	/* Sorting reorders, never changes, what the sections say. */
	if (!w->is_sorted && w->n_tables > 1)
		qsort(w->tables, w->n_tables, sizeof(*w->tables), by_name);
	w->is_sorted = 1;
}

const char *
dumpcount_duplicate(const struct dumpcount *dc)
{
	sort_tables(dc);
	for (size_t i = 1; i < dc->n_tables; i++)
		if (strcmp(dc->tables[i - 1].name, dc->tables[i].name) == 0)
			return dc->tables[i].name;
	return NULL;
}

int
dumpcount_is_in_section(const struct dumpcount *dc)
{
	return dc->in_section;
}

const char *
dumpcount_error(const struct dumpcount *dc)
{
	return dc->err;
}

int64_t
dumpcount_rows(const struct dumpcount *dc, const char *name)
{
	struct manifest_table key = {.name = name}, *t;

	sort_tables(dc);
	t = dc->n_tables ? bsearch(&key, dc->tables, dc->n_tables, sizeof(*dc->tables), by_name)
	                 : NULL;
	return t ? t->rows : -1;
}
