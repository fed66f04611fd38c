/*
 * plughost.c — the host's services every step of a bundled plugin needs
 * (see plughost.h).
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void *
plugin_host_state_new(struct ct_task *t, const struct ct_services *ct, size_t size, void **state)
{
	struct plugin_host *h = calloc(1, size < sizeof(*h) ? sizeof(*h) : size);

	if (h == NULL)
		return NULL;
	h->t = t;
	h->ct = ct;
	*state = h;
	return h;
}

int
plugin_host_init_end(struct plugin_host *h, int rc)
{
	if (rc != 0)
		h->ct->set_status(h->t, CT_STATUS_FAIL, "%s", h->err);
	return rc;
}

struct plugin_host_list {
	struct plugin_host *h;
	const char *stream;
	const char *noun;
	int64_t lines;
	size_t used;
	char data[64 * 1024];
};

int
plugin_host_list_begin(struct plugin_host *h, const char *stream, const char *noun,
                       struct plugin_host_list **out)
{
	struct plugin_host_list *l = calloc(1, sizeof(*l));

	*out = l;
	if (l == NULL)
		return CT_ENOMEM;
	l->h = h;
	l->stream = stream;
	l->noun = noun;
	return 0;
}

static void
list_flush(struct plugin_host_list *l)
{
	if (l->used > 0)
		l->h->ct->add_output(l->h->t, l->stream, l->data, l->used);
	l->used = 0;
}

void
plugin_host_list_add(struct plugin_host_list *l, const char *line, size_t len)
{
	l->lines++;
	if (l->used + len > sizeof(l->data))
		list_flush(l);
	if (len > sizeof(l->data)) {
		l->h->ct->add_output(l->h->t, l->stream, line, len);
		return;
	}
	memcpy(l->data + l->used, line, len);
	l->used += len;
}

void
plugin_host_list_end(struct plugin_host_list **lp)
{
	struct plugin_host_list *l = *lp;
	char line[128];
	int n;

	if (l == NULL)
		return;
	if (l->lines > 0) {
		n = snprintf(line, sizeof(line), "(%lld %s in this list)\n", (long long)l->lines,
		             l->noun);
		if (n > 0 && (size_t)n < sizeof(line))
			plugin_host_list_add(l, line, (size_t)n);
	}
	list_flush(l);
	free(l);
	*lp = NULL;
}

void
plugin_host_duration_words(int64_t ms, char *out, size_t size)
{
	static const struct {
		int64_t ms;
		const char *unit;
	} units[] = {{86400000, "d"}, {3600000, "h"}, {60000, "min"}, {1000, "s"}, {1, "ms"}};

	snprintf(out, size, "0");
	for (size_t i = 0; ms > 0 && i < sizeof(units) / sizeof(units[0]); i++)
		if (ms % units[i].ms == 0) {
			snprintf(out, size, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
			return;
		}
}
