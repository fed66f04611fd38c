/*
 * plughost.c — the host's services every step of a bundled plugin needs
 * (see plughost.h).
 */
#include <stdarg.h>
#include <stdio.h>

#include "plughost.h"

int
plugin_host_should_stop(void *host)
{
	struct plugin_host *h = host;

	return h->ct->should_stop(h->t);
}

int
plugin_host_fail(struct plugin_host *h, int rc, const char *fmt, ...)
{
	va_list ap;

	if (h->err[0] == '\0') {
		va_start(ap, fmt);
		vsnprintf(h->err, sizeof(h->err), fmt, ap);
		va_end(ap);
	}
	return rc;
}

int64_t
plugin_host_opt_int(struct plugin_host *h, const char *key, int64_t fallback)
{
	int64_t v = fallback;

	(void)h->ct->opt_int(h->t, key, &v);
	return v;
}

int64_t
plugin_host_opt_ms(struct plugin_host *h, const char *key, int64_t fallback)
{
	int64_t v = fallback;

	(void)h->ct->opt_duration_ms(h->t, key, &v);
	return v;
}

const char *
plugin_host_opt_str(struct plugin_host *h, const char *key)
{
	const char *v = NULL;

	(void)h->ct->opt_string(h->t, key, &v);
	return v;
}

void
plugin_host_opt_list(struct plugin_host *h, const char *key, const char *const **items, size_t *n)
{
	*items = NULL;
	*n = 0;
	(void)h->ct->opt_list(h->t, key, items, n);
}
