/*
 * pgident.c — identifiers and literals quoted by libpq (see pgident.h).
 *
 * libpq's escaping functions return memory that must go back through
 * PQfreemem; the results here are copied into malloc()ed strings so that
 * callers free them like everything else they own.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "pgident.h"

/* One part through `escape`, appended to *out (grown with realloc). */
static int
append_escaped(PGconn *conn, char *(*escape)(PGconn *, const char *, size_t), const char *part,
               const char *sep, char **out, char *err, size_t err_size)
{
	char *q = escape(conn, part, strlen(part)), *grown;
	size_t have = *out ? strlen(*out) : 0, add;

	if (q == NULL) {
		snprintf(err, err_size, "cannot quote '%s': %.*s", part,
		         (int)strcspn(PQerrorMessage(conn), "\n"), PQerrorMessage(conn));
		return CT_EINVAL;
	}
	add = strlen(sep) + strlen(q);
	grown = realloc(*out, have + add + 1);
	if (grown == NULL) {
		PQfreemem(q);
		snprintf(err, err_size, "out of memory");
		return CT_ENOMEM;
	}
	snprintf(grown + have, add + 1, "%s%s", sep, q);
	*out = grown;
	PQfreemem(q);
	return 0;
}

int
pgident_qualified(PGconn *conn, const char *schema, const char *name, char **out, char *err,
                  size_t err_size)
{
	char *s = NULL;
	int rc = 0;

	if (schema != NULL)
		rc = append_escaped(conn, PQescapeIdentifier, schema, "", &s, err, err_size);
	if (rc == 0)
		rc = append_escaped(conn, PQescapeIdentifier, name, schema ? "." : "", &s, err,
		                    err_size);
	if (rc != 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}

int
pgident_literal(PGconn *conn, const char *text, char **out, char *err, size_t err_size)
{
	char *s = NULL;
	int rc;

	rc = append_escaped(conn, PQescapeLiteral, text, "", &s, err, err_size);
	if (rc != 0) {
		free(s);
		return rc;
	}
	*out = s;
	return 0;
}
