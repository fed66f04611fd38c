/*
 * pgident.h — names of PostgreSQL objects (tables, indexes, columns) and
 * text values in SQL, quoted by libpq's PQescapeIdentifier and
 * PQescapeLiteral, for every plugin that puts a name from the catalog or
 * from a job's options into a statement.  Part of libctpg.
 *
 * Nothing here assembles SQL from unquoted text: a name with quotes,
 * spaces or a semicolon comes out as one identifier.
 */
#ifndef CARETAKER_PLUGINS_PGIDENT_H
#define CARETAKER_PLUGINS_PGIDENT_H

#include <stddef.h>

#include <libpq-fe.h>

/*
 * "schema"."name", each part quoted by libpq for `conn`'s encoding; schema
 * NULL gives "name" alone.  Returns 0 and sets *out (the caller free()s
 * it), CT_ENOMEM, or CT_EINVAL with libpq's words in `err` when it refuses
 * a name (not valid in the connection's encoding).
 */
int pgident_qualified(PGconn *conn, const char *schema, const char *name, char **out, char *err,
                      size_t err_size);

/* 'text' as a string literal, quoted by libpq; as pgident_qualified. */
int pgident_literal(PGconn *conn, const char *text, char **out, char *err, size_t err_size);

#endif
