/*
 * dumpcount.h — per-table row counts read from a plain-format pg_dump
 * stream as it passes by.
 *
 * A plain dump carries each table's rows as one COPY section:
 *
 *     --
 *     -- Data for Name: t; Type: TABLE DATA; Schema: public; Owner: app
 *     --
 *
 *     COPY public.t (id, note) FROM stdin;
 *     1	first
 *     2	second\nline
 *     \.
 *
 * In COPY's text format a row is exactly one line (a newline inside a value
 * is written as the two characters \n) and no row is the line "\.".  So the
 * rows of a section are its lines up to "\.".  A COPY line counts as a
 * section only right after pg_dump's "Type: TABLE DATA" comment block.
 *
 * Between the sections the counter follows the SQL's quoting: a line ends
 * at a newline outside strings, quoted names, dollar quotes and comments.
 * A name holding a newline makes a COPY line of two lines,
 *
 *     COPY public."two
 *     lines" (id) FROM stdin;
 *
 * and a comment, a default or a function body (words any user who can
 * create a table can write) may hold lines shaped like the header and a
 * COPY line: inside their quotes these start no section.
 *
 * The counter costs one memchr() per row, and about one per string
 * between the sections: the backup counts what it dumps without reading
 * every table a second time on the server.
 */
#ifndef CARETAKER_DUMPCOUNT_H
#define CARETAKER_DUMPCOUNT_H

#include <stddef.h>
#include <stdint.h>

#include "manifest.h"

struct dumpcount;

/* Returns NULL when out of memory. */
struct dumpcount *dumpcount_new(void);

void dumpcount_free(struct dumpcount *dc);

/* Feeds the next bytes of the stream, in any pieces.  Returns 0, or
 * CT_ENOMEM / CT_ECORRUPT (a COPY line whose table name cannot be read):
 * the reason is kept for dumpcount_error(). */
int dumpcount_add(struct dumpcount *dc, const void *buf, size_t len);

/* How many sections ended so far; one still open (no "\." yet) is not
 * among them. */
size_t dumpcount_n_tables(const struct dumpcount *dc);

/* A table with two sections (pg_dump writes one per table), or NULL. */
const char *dumpcount_duplicate(const struct dumpcount *dc);

/* Nonzero while inside a section: a stream that ends so was cut short. */
int dumpcount_is_in_section(const struct dumpcount *dc);

/* Why the last dumpcount_add() failed. */
const char *dumpcount_error(const struct dumpcount *dc);

/* The rows of `name` ("schema.table" unquoted, as pgquery_rowcount_sql
 * names tables), or -1 when the stream had no section for it. */
int64_t dumpcount_rows(const struct dumpcount *dc, const char *name);

/* Parses the table of a COPY line ("COPY schema.table (cols) FROM stdin;",
 * identifiers quoted the way pg_dump quotes them) into "schema.table"
 * unquoted.  Returns 0, or -1 for a line that does not have that shape or
 * a name longer than out_size. */
int dumpcount_parse_copy(const char *line, size_t len, char *out, size_t out_size);

#endif
