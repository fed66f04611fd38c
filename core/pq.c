/*
 * pq.c — libpq through dlopen (see pq.h for why), and the server's notices
 * through the log.
 */
#include "autoconf.h"

#include <dlfcn.h>
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "pq.h"

#define PQ_SONAME "libpq.so.5"

struct pq_symbol {
	const char *name;
	size_t offset;
};

#define PQ_SYM(field, symbol)                                                                      \
	{                                                                                          \
		symbol, offsetof(struct pq_api, field)                                             \
	}

static const struct pq_symbol pq_symbols[] = {
    PQ_SYM(connectdb_params, "PQconnectdbParams"),
    PQ_SYM(status, "PQstatus"),
    PQ_SYM(error_message, "PQerrorMessage"),
    PQ_SYM(finish, "PQfinish"),
    PQ_SYM(exec_params, "PQexecParams"),
    PQ_SYM(result_status, "PQresultStatus"),
    PQ_SYM(result_error_field, "PQresultErrorField"),
    PQ_SYM(ntuples, "PQntuples"),
    PQ_SYM(getvalue, "PQgetvalue"),
    PQ_SYM(clear, "PQclear"),
    PQ_SYM(set_notice_receiver, "PQsetNoticeReceiver"),
};

static struct pq_api pq_table;
static int pq_is_loaded;

const struct pq_api *
pq_load(char *err, size_t err_size)
{
	void *h;

	if (pq_is_loaded)
		return &pq_table;
	h = dlopen(PQ_SONAME, RTLD_NOW | RTLD_GLOBAL);
	if (h == NULL) {
		snprintf(err, err_size, "cannot load %s: %s (install libpq5)", PQ_SONAME,
		         dlerror());
		return NULL;
	}
	for (size_t i = 0; i < sizeof(pq_symbols) / sizeof(pq_symbols[0]); i++) {
		void *fn = dlsym(h, pq_symbols[i].name);

		if (fn == NULL) {
			snprintf(err, err_size, "%s lacks %s", PQ_SONAME, pq_symbols[i].name);
			return NULL;
		}
		/* POSIX lets a data pointer from dlsym be stored as a function's. */
		*(void **)((char *)&pq_table + pq_symbols[i].offset) = fn;
	}
	pq_is_loaded = 1;
	return &pq_table;
}

/* The log level of a notice by its severity; any other (none is expected
 * below ERROR) is a warning, so nothing that may matter is hidden. */
static const struct {
	const char *severity;
	int level;
} notice_levels[] = {
    {"DEBUG", LOG_LEVEL_DEBUG},  {"LOG", LOG_LEVEL_DEBUG},       {"INFO", LOG_LEVEL_DEBUG},
    {"NOTICE", LOG_LEVEL_DEBUG}, {"WARNING", LOG_LEVEL_WARNING},
};

static int
notice_level(const char *severity)
{
	for (size_t i = 0; i < sizeof(notice_levels) / sizeof(notice_levels[0]); i++)
		if (severity != NULL && strcmp(severity, notice_levels[i].severity) == 0)
			return notice_levels[i].level;
	return LOG_LEVEL_WARNING;
}

static void
notice_to_log_cb(void *who, const PGresult *res)
{
	/* The untranslated severity decides the level; the words stay the
	 * server's, in its language. */
	const char *severity = pq_table.result_error_field(res, PG_DIAG_SEVERITY_NONLOCALIZED);
	const char *shown = pq_table.result_error_field(res, PG_DIAG_SEVERITY);
	const char *msg = pq_table.result_error_field(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = pq_table.result_error_field(res, PG_DIAG_MESSAGE_DETAIL);

	log_msg(notice_level(severity), who, "PostgreSQL %s: %s%s%s%s",
	        shown      ? shown
	        : severity ? severity
	                   : "NOTICE",
	        msg ? msg : "(no message)", detail ? " (" : "", detail ? detail : "",
	        detail ? ")" : "");
}

void
pq_notices_to_log(PGconn *conn, const char *who)
{
	if (pq_is_loaded && conn != NULL)
		pq_table.set_notice_receiver(conn, notice_to_log_cb, (void *)who);
}
