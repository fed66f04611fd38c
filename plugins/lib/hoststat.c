/*
 * hoststat.c — parsers of /proc/stat, /proc/meminfo, /proc/loadavg and
 * /proc/net/dev, and the readers that feed them (see hoststat.h).  The
 * mount table and statvfs live in hoststat_mounts.c.
 *
 * Why no stdio on /proc: these files are generated on every read(2) and
 * report a size of 0, so they are read whole into a growing buffer with
 * plain read(2) and parsed from memory, which also lets the tests feed
 * the parsers sample text.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "hoststat.h"

static int
read_all(int fd, char **text)
{
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap), *grown;
	ssize_t n;

	while (buf != NULL) {
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		len += (size_t)n;
		if (cap - len > 1)
			continue;
		grown = realloc(buf, cap * 2);
		if (grown == NULL)
			free(buf);
		buf = grown;
		cap *= 2;
	}
	if (buf == NULL)
		return CT_ENOMEM;
	if (n < 0) {
		free(buf);
		return CT_EIO;
	}
	buf[len] = '\0';
	*text = buf;
	return 0;
}

int
hoststat_file_read(const char *path, char **text, char *err, size_t err_size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

	if (fd < 0) {
		snprintf(err, err_size, "%s: %s", path, strerror(errno));
		return CT_EIO;
	}
	rc = read_all(fd, text);
	if (rc != 0)
		snprintf(err, err_size, "%s: %s", path,
		         rc == CT_ENOMEM ? "out of memory" : strerror(errno));
	close(fd);
	return rc;
}

/* ---- /proc/stat ---- */

int
hoststat_cpu_parse(const char *text, struct hoststat_cpu *c)
{
	const char *p = text;
	int is_found = 0;

	memset(c, 0, sizeof(*c));
	for (; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : NULL) {
		if (strncmp(p, "cpu ", 4) == 0) {
			/* Fields a kernel older than 2.6.11 lacks stay 0. */
			int n = sscanf(p + 4,
			               "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
			               " %" SCNu64 " %" SCNu64 " %" SCNu64,
			               &c->user, &c->nice, &c->system, &c->idle, &c->iowait,
			               &c->irq, &c->softirq, &c->steal);
			is_found = n >= 4;
		} else if (strncmp(p, "cpu", 3) == 0 && p[3] >= '0' && p[3] <= '9') {
			c->n_cpus++;
		}
	}
	return is_found ? 0 : CT_EINVAL;
}

/* Guest time is already inside user and nice, so it is not added. */
static uint64_t
cpu_total(const struct hoststat_cpu *c)
{
	return c->user + c->nice + c->system + c->idle + c->iowait + c->irq + c->softirq + c->steal;
}

void
hoststat_cpu_share(const struct hoststat_cpu *a, const struct hoststat_cpu *b,
                   struct hoststat_cpu_share *s)
{
	uint64_t ta = cpu_total(a), tb = cpu_total(b);
	double dt = tb > ta ? (double)(tb - ta) : 0;
	double idle = (double)(b->idle - a->idle), iowait = (double)(b->iowait - a->iowait);

	memset(s, 0, sizeof(*s));
	if (dt <= 0 || b->idle < a->idle || b->iowait < a->iowait)
		return;
	s->iowait = iowait / dt;
	s->steal = b->steal >= a->steal ? (double)(b->steal - a->steal) / dt : 0;
	s->busy = 1.0 - (idle + iowait) / dt;
	if (s->busy < 0)
		s->busy = 0;
}

int
hoststat_cpu_read(const char *path, struct hoststat_cpu *c, char *err, size_t err_size)
{
	char *text = NULL;
	int rc = hoststat_file_read(path, &text, err, err_size);

	if (rc == 0) {
		rc = hoststat_cpu_parse(text, c);
		if (rc != 0)
			snprintf(err, err_size, "%s: no \"cpu\" line", path);
	}
	free(text);
	return rc;
}

/* ---- /proc/meminfo ---- */

struct mem_field {
	const char *key; /* with its colon */
	size_t offset;
};

static const struct mem_field mem_fields[] = {
    {"MemTotal:", offsetof(struct hoststat_mem, total)},
    {"MemFree:", offsetof(struct hoststat_mem, free)},
    {"MemAvailable:", offsetof(struct hoststat_mem, available)},
    {"Buffers:", offsetof(struct hoststat_mem, buffers)},
    {"Cached:", offsetof(struct hoststat_mem, cached)},
    {"SwapTotal:", offsetof(struct hoststat_mem, swap_total)},
    {"SwapFree:", offsetof(struct hoststat_mem, swap_free)},
};

/* One "Key:   1234 kB" line into its member; returns the field's index or
 * -1. */
static int
mem_line(const char *line, struct hoststat_mem *m)
{
	for (size_t i = 0; i < sizeof(mem_fields) / sizeof(mem_fields[0]); i++) {
		size_t klen = strlen(mem_fields[i].key);
		uint64_t kib;

		if (strncmp(line, mem_fields[i].key, klen) != 0)
			continue;
		if (sscanf(line + klen, "%" SCNu64, &kib) != 1)
			return -1;
		*(uint64_t *)((char *)m + mem_fields[i].offset) = kib * 1024;
		return (int)i;
	}
	return -1;
}

int
hoststat_mem_parse(const char *text, struct hoststat_mem *m)
{
	int has_total = 0, has_available = 0;

	memset(m, 0, sizeof(*m));
	for (const char *p = text; p != NULL && *p != '\0';) {
		int i = mem_line(p, m);

		has_total |= i == 0;
		has_available |= i == 2;
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
	}
	if (!has_available)
		m->available = m->free + m->buffers + m->cached;
	return has_total ? 0 : CT_EINVAL;
}

double
hoststat_mem_used_ratio(const struct hoststat_mem *m)
{
	if (m->total == 0 || m->available > m->total)
		return 0;
	return 1.0 - (double)m->available / (double)m->total;
}

int
hoststat_mem_read(const char *path, struct hoststat_mem *m, char *err, size_t err_size)
{
	char *text = NULL;
	int rc = hoststat_file_read(path, &text, err, err_size);

	if (rc == 0) {
		rc = hoststat_mem_parse(text, m);
		if (rc != 0)
			snprintf(err, err_size, "%s: no MemTotal line", path);
	}
	free(text);
	return rc;
}

/* ---- /proc/loadavg: "0.52 0.58 0.59 2/1234 56789" ---- */

int
hoststat_load_parse(const char *text, struct hoststat_load *l)
{
	memset(l, 0, sizeof(*l));
	if (sscanf(text, "%lf %lf %lf %" SCNd64 "/%" SCNd64, &l->avg1, &l->avg5, &l->avg15,
	           &l->running, &l->total) < 3)
		return CT_EINVAL;
	return 0;
}

int
hoststat_load_read(const char *path, struct hoststat_load *l, char *err, size_t err_size)
{
	char *text = NULL;
	int rc = hoststat_file_read(path, &text, err, err_size);

	if (rc == 0) {
		rc = hoststat_load_parse(text, l);
		if (rc != 0)
			snprintf(err, err_size, "%s: not three load averages", path);
	}
	free(text);
	return rc;
}

/* ---- /proc/net/dev ---- */

static int
is_listed(const char *word, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(word, list[i]) == 0)
			return 1;
	return 0;
}

/* "  eth0: 123 4 0 0 0 0 0 0 567 8 0 0 0 0 0 0": 1 when an interface
 * was read, 0 for a header line, -1 for damage. */
static int
net_line(const char *line, struct hoststat_netif *f)
{
	const char *colon = strchr(line, ':'), *nl = strchr(line, '\n');
	uint64_t skip;
	size_t len;

	if (colon == NULL || (nl != NULL && colon > nl))
		return 0;
	line += strspn(line, " ");
	len = (size_t)(colon - line);
	if (len == 0 || len >= sizeof(f->name))
		return -1;
	memset(f, 0, sizeof(*f));
	memcpy(f->name, line, len);
	if (sscanf(colon + 1,
	           "%" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64
	           " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64 " %" SCNu64,
	           &f->rx_bytes, &f->rx_packets, &f->rx_errors, &f->rx_dropped, &skip, &skip, &skip,
	           &skip, &f->tx_bytes, &f->tx_packets, &f->tx_errors, &f->tx_dropped) != 12)
		return -1;
	return 1;
}

int
hoststat_net_parse(const char *text, const char *const *exclude, size_t n_exclude,
                   struct hoststat_net *out)
{
	struct hoststat_net n = {0};
	struct hoststat_netif f, *grown;

	for (const char *p = text; p != NULL && *p != '\0';) {
		int got = net_line(p, &f);

		if (got < 0) {
			hoststat_net_free(&n);
			return CT_EINVAL;
		}
		p = strchr(p, '\n');
		p = p != NULL ? p + 1 : NULL;
		if (got == 0 || is_listed(f.name, exclude, n_exclude))
			continue;
		grown = realloc(n.items, (n.n + 1) * sizeof(*n.items));
		if (grown == NULL) {
			hoststat_net_free(&n);
			return CT_ENOMEM;
		}
		n.items = grown;
		n.items[n.n++] = f;
	}
	*out = n;
	return 0;
}

void
hoststat_net_free(struct hoststat_net *n)
{
	if (n == NULL)
		return;
	free(n->items);
	n->items = NULL;
	n->n = 0;
}
