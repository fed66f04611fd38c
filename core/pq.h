/*
 * pq.h — libpq, loaded when first needed.
 *
 * Linking libpq (and through it OpenSSL, Kerberos and LDAP) costs about
 * 12 ms at every start of caretaker, more than everything else `caretaker
 * run` does for a small job.  Most invocations never talk to PostgreSQL,
 * so the core opens libpq.so.5 with dlopen() the first time a job, a lock
 * or the history table needs it, and calls it through this table.  A
 * plugin that links libpq itself shares the same loaded copy (the dynamic
 * linker matches it by soname), so the PGconn the host hands it is one its
 * own libpq calls accept.
 */
#ifndef CT_PQ_H
#define CT_PQ_H

#include <stddef.h>

#include <libpq-fe.h>

struct pq_api {
	PGconn *(*connectdb_params)(const char *const *keywords, const char *const *values,
	                            int expand_dbname);
	ConnStatusType (*status)(const PGconn *conn);
	char *(*error_message)(const PGconn *conn);
	void (*finish)(PGconn *conn);
	PGresult *(*exec_params)(PGconn *conn, const char *command, int n_params,
	                         const Oid *param_types, const char *const *param_values,
	                         const int *param_lengths, const int *param_formats,
	                         int result_format);
	ExecStatusType (*result_status)(const PGresult *res);
	char *(*result_error_field)(const PGresult *res, int fieldcode);
	int (*ntuples)(const PGresult *res);
	char *(*getvalue)(const PGresult *res, int row, int column);
	void (*clear)(PGresult *res);
	PQnoticeReceiver (*set_notice_receiver)(PGconn *conn, PQnoticeReceiver proc, void *arg);
};

/* The table, loading libpq on the first call.  NULL when it cannot be
 * loaded, with the reason in err. */
const struct pq_api *pq_load(char *err, size_t err_size);

/* Send the server's notices on `conn` to the log instead of libpq's raw
 * "NOTICE:  ..." on stderr: WARNING at warning level, NOTICE and the
 * chatter below it (relation already exists, skipping) at debug.  `who`
 * is log_msg's (NULL for the core) and must outlive the connection.  Call
 * it on every connection the host opens, right after it connected. */
void pq_notices_to_log(PGconn *conn, const char *who);

#endif
