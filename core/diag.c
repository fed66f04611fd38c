/*
 * diag.c — configuration diagnostics (see diag.h).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "xmalloc.h"

void
diag_list_clear(struct diag_list *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].file);
		free(d->items[i].job);
		free(d->items[i].msg);
		free(d->items[i].hint);
	}
	free(d->items);
	memset(d, 0, sizeof(*d));
}

void
diag_add(struct diag_list *d, enum diag_severity sev, const char *file, int line, const char *job,
         const char *hint, const char *fmt, ...)
{
	struct diag *dg;
	va_list ap;

	d->items = xreallocarray(d->items, d->n + 1, sizeof(*d->items));
	dg = &d->items[d->n++];
	dg->severity = sev;
	dg->file = file ? xstrdup(file) : NULL;
	dg->line = line;
	dg->job = job ? xstrdup(job) : NULL;
	dg->hint = hint ? xstrdup(hint) : NULL;
	va_start(ap, fmt);
	dg->msg = xvasprintf(fmt, ap);
	va_end(ap);
	if (sev == DIAG_ERROR)
		d->n_errors++;
	else
		d->n_warnings++;
}

char *
diag_format(const struct diag *dg)
{
	if (dg->file != NULL && dg->line > 0)
		return xasprintf("%s:%d: %s", dg->file, dg->line, dg->msg);
	if (dg->file != NULL)
		return xasprintf("%s: %s", dg->file, dg->msg);
	return xstrdup(dg->msg);
}

void
diag_print(const struct diag_list *d, FILE *out)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *dg = &d->items[i];
		const char *sev = dg->severity == DIAG_ERROR ? "error" : "warning";

		if (dg->file != NULL && dg->line > 0)
			fprintf(out, "%s:%d: %s: %s\n", dg->file, dg->line, sev, dg->msg);
		else if (dg->file != NULL)
			fprintf(out, "%s: %s: %s\n", dg->file, sev, dg->msg);
		else
			fprintf(out, "caretaker: %s: %s\n", sev, dg->msg);
		if (dg->hint != NULL)
			fprintf(out, "  hint: %s\n", dg->hint);
	}
}

const struct diag *
diag_first_error_for(const struct diag_list *d, const char *job)
{
	for (size_t i = 0; i < d->n; i++) {
		const struct diag *dg = &d->items[i];

		if (dg->severity == DIAG_ERROR && dg->job != NULL && strcmp(dg->job, job) == 0)
			return dg;
	}
	return NULL;
}

size_t
diag_global_errors(const struct diag_list *d)
{
	size_t n = 0;

	for (size_t i = 0; i < d->n; i++)
		if (d->items[i].severity == DIAG_ERROR && d->items[i].job == NULL)
			n++;
	return n;
}
