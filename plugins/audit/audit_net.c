/*
 * audit_net.c — addresses and CIDR ranges for the auth log's counts, and
 * the allowlist and proxies parsed from the job's options.
 *
 * The event table's side does the same in SQL with PostgreSQL's inet
 * operators; the private ranges are listed once here for both.  An
 * IPv4-mapped IPv6 address (::ffff:192.0.2.1, as sshd logs clients of a
 * dual-stack socket) is the IPv4 address: it is one client either way.
 */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <caretaker/errors.h>

#include "audit.h"

/* RFC 1918, loopback, link-local, shared address space (RFC 6598),
 * unique-local and link-local IPv6, the IPv6 loopback. */
const char *const audit_private_ranges[] = {
    "10.0.0.0/8",    "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "169.254.0.0/16",
    "100.64.0.0/10", "::1/128",       "fc00::/7",       "fe80::/10",
};
const size_t audit_n_private_ranges =
    sizeof(audit_private_ranges) / sizeof(audit_private_ranges[0]);

static const unsigned char v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

int
audit_addr_parse(const char *s, size_t len, struct audit_addr *a)
{
	char buf[64];

	if (len == 0 || len >= sizeof(buf))
		return CT_EINVAL;
	memcpy(buf, s, len);
	buf[len] = '\0';
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, buf, a->b) == 1) {
		a->family = AF_INET;
		return 0;
	}
	if (inet_pton(AF_INET6, buf, a->b) != 1)
		return CT_EINVAL;
	a->family = AF_INET6;
	if (memcmp(a->b, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0) {
		memmove(a->b, a->b + 12, 4);
		memset(a->b + 4, 0, 12);
		a->family = AF_INET;
	}
	return 0;
}

void
audit_addr_format(const struct audit_addr *a, char *buf, size_t size)
{
	char tmp[INET6_ADDRSTRLEN];

	if (inet_ntop(a->family, a->b, tmp, sizeof(tmp)) == NULL)
		snprintf(tmp, sizeof(tmp), "?");
	snprintf(buf, size, "%s", tmp);
}

int
audit_addr_cmp(const struct audit_addr *x, const struct audit_addr *y)
{
	if (x->family != y->family)
		return x->family < y->family ? -1 : 1;
	return memcmp(x->b, y->b, sizeof(x->b));
}

static int
parse_prefix(const char *s, int max, int *prefix)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return CT_EINVAL;
	v = strtol(s, &end, 10);
	if (*end != '\0' || v < 0 || v > max)
		return CT_EINVAL;
	*prefix = (int)v;
	return 0;
}

int
audit_cidr_parse(const char *s, struct audit_cidr *c)
{
	const char *slash = strchr(s, '/');
	size_t len = slash != NULL ? (size_t)(slash - s) : strlen(s);
	int max;

	if (audit_addr_parse(s, len, &c->a) != 0)
		return CT_EINVAL;
	max = c->a.family == AF_INET ? 32 : 128;
	c->prefix = max;
	if (slash == NULL)
		return 0;
	/* "::ffff:10.0.0.0/104" was read as IPv4: its prefix counts the 96
	 * bits of the mapping too. */
	if (c->a.family == AF_INET && strchr(s, ':') != NULL) {
		if (parse_prefix(slash + 1, 128, &c->prefix) != 0 || c->prefix < 96)
			return CT_EINVAL;
		c->prefix -= 96;
		return 0;
	}
	return parse_prefix(slash + 1, max, &c->prefix);
}

int
audit_cidr_contains(const struct audit_cidr *c, const struct audit_addr *a)
{
	int whole = c->prefix / 8, rest = c->prefix % 8;
	unsigned char mask = (unsigned char)(0xff << (8 - rest));

	if (a->family != c->a.family || memcmp(a->b, c->a.b, (size_t)whole) != 0)
		return 0;
	return rest == 0 || (a->b[whole] & mask) == (c->a.b[whole] & mask);
}

int
audit_addr_is_private(const struct audit_addr *a)
{
	struct audit_cidr c;

	for (size_t i = 0; i < audit_n_private_ranges; i++)
		if (audit_cidr_parse(audit_private_ranges[i], &c) == 0 &&
		    audit_cidr_contains(&c, a))
			return 1;
	return 0;
}

/* ---- the allowlist and the proxies ---- */

static int
parse_list(const char *key, const struct audit_list *in, struct audit_cidr **out, size_t *n,
           char *err, size_t err_size)
{
	*out = NULL;
	*n = 0;
	if (in->n == 0)
		return 0;
	*out = calloc(in->n, sizeof(**out));
	if (*out == NULL)
		return CT_ENOMEM;
	for (size_t i = 0; i < in->n; i++)
		if (audit_cidr_parse(in->items[i], &(*out)[i]) != 0) {
			snprintf(err, err_size,
			         "%s: '%s' is not an address or a CIDR range\nhint: write "
			         "192.0.2.7, 10.0.0.0/8 or 2001:db8::/32",
			         key, in->items[i]);
			return CT_ECONFIG;
		}
	*n = in->n;
	return 0;
}

int
audit_nets_parse(const struct audit_opts *o, struct audit_nets *nets, char *err, size_t err_size)
{
	int rc;

	rc = parse_list("allow", &o->allow, &nets->allow, &nets->n_allow, err, err_size);
	if (rc == 0)
		rc = parse_list("proxies", &o->proxies, &nets->proxies, &nets->n_proxies, err,
		                err_size);
	return rc;
}

int
audit_nets_allows(const struct audit_nets *nets, const struct audit_addr *a)
{
	for (size_t i = 0; i < nets->n_allow; i++)
		if (audit_cidr_contains(&nets->allow[i], a))
			return 1;
	return 0;
}

void
audit_nets_free(struct audit_nets *nets)
{
	free(nets->allow);
	free(nets->proxies);
	memset(nets, 0, sizeof(*nets));
}
