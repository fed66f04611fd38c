/*
 * pq.c — libpq through dlopen (see pq.h for why).
 */
#include "autoconf.h"

#include <dlfcn.h>
#include <stdio.h>

#include "pq.h"

#define PQ_SONAME "libpq.so.5"

struct pq_symbol {
	const char *name;
	size_t offset;
};

#define PQ_SYM(field, symbol) {symbol, offsetof(struct pq_api, field)}

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
		snprintf(err, err_size, "cannot load %s: %s (install libpq5)", PQ_SONAME, dlerror());
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
