/*
 * audit_authlog.c — the auth log (`auth_log = /var/log/auth.log`) and its
 * rotated siblings as logrotate leaves them (auth.log.1, auth.log.2.gz,
 * ..., or auth.log.1.gz without delaycompress), read into events.
 *
 * A sibling last written before the window began holds nothing of it, and
 * the older ones hold less: reading stops there.  zlib reads plain and
 * gzip files alike, so one reader serves both.  Lines longer than
 * LINE_MAX_BYTES are not sshd's and are skipped.
 *
 * One attempt, one failure: for an unknown user sshd logs "Invalid user X
 * from A port P" when the attempt starts and, if it gets a password,
 * "Failed password for invalid user X from A port P ssh2" when it fails.
 * The first "Failed password" of a connection (same pid and address) after
 * its "Invalid user" is the same attempt and is not counted again; where
 * password logins are off, only the "Invalid user" line exists and counts.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zlib.h>

#include <caretaker/plugin.h>

#include "audit.h"
#include "fdio.h"

#define READ_BYTES (64 * 1024)
#define LINE_MAX_BYTES (16 * 1024)
#define MAX_SIBLINGS 1000
/* Connections whose "Invalid user" line waits for its "Failed password". */
#define PENDING_SLOTS 64

struct pending {
	long pid;
	struct audit_addr addr;
	int is_used;
};

/* One file being read. */
struct reader {
	struct plugin_host *h;
	const struct audit_nets *nets;
	time_t cutoff;
	time_t year_ref; /* the file's mtime */
	struct audit_events *ev;
	struct audit_authlog_stats *st;
	struct pending pending[PENDING_SLOTS];
	size_t next_pending;
	char line[LINE_MAX_BYTES];
	size_t line_len;
	int is_line_too_long;
};

static int
add_events(struct reader *r, const struct audit_sshd_line *sl, int64_t n, int is_success)
{
	struct audit_event e = {
	    .ts = sl->ts, .addr = sl->addr, .is_success = (unsigned char)is_success};
	int rc = 0;

	if (sl->ts < r->cutoff)
		return 0;
	e.is_allowed = (unsigned char)audit_nets_allows(r->nets, &sl->addr);
	for (int64_t i = 0; i < n && rc == 0; i++)
		rc = audit_events_add(r->ev, &e, sl->user);
	return rc;
}

static void
pending_remember(struct reader *r, const struct audit_sshd_line *sl)
{
	struct pending *p = &r->pending[r->next_pending++ % PENDING_SLOTS];

	p->pid = sl->pid;
	p->addr = sl->addr;
	p->is_used = 1;
}

/* Takes the connection's waiting "Invalid user" line, if there is one. */
static int
pending_take(struct reader *r, const struct audit_sshd_line *sl)
{
	for (size_t i = 0; i < PENDING_SLOTS; i++) {
		struct pending *p = &r->pending[i];

		if (p->is_used && p->pid == sl->pid && audit_addr_cmp(&p->addr, &sl->addr) == 0) {
			p->is_used = 0;
			return 1;
		}
	}
	return 0;
}

static int
handle_line(struct reader *r, const char *line, size_t len)
{
	struct audit_sshd_line sl;
	int64_t n;

	r->st->n_lines++;
	if (audit_sshd_parse(line, len, r->year_ref, &sl) != 0)
		return 0;
	if (r->st->oldest == 0 || sl.ts < r->st->oldest)
		r->st->oldest = sl.ts;
	switch (sl.kind) {
	case AUDIT_SSHD_INVALID:
		pending_remember(r, &sl);
		return add_events(r, &sl, sl.repeat, 0);
	case AUDIT_SSHD_FAILED:
		n = sl.repeat;
		if (sl.is_invalid_user && pending_take(r, &sl))
			n--;
		return add_events(r, &sl, n, 0);
	case AUDIT_SSHD_ACCEPTED:
		return add_events(r, &sl, 1, 1);
	default:
		return 0;
	}
}

/* Adds a piece of the current line; a line past the buffer is marked and
 * later skipped whole. */
static void
line_append(struct reader *r, const char *p, size_t n)
{
	if (r->line_len + n > sizeof(r->line)) {
		r->is_line_too_long = 1;
		return;
	}
	memcpy(r->line + r->line_len, p, n);
	r->line_len += n;
}

/* Splits a block into lines, keeping the unfinished one for the next. */
static int
handle_block(struct reader *r, const char *buf, size_t len)
{
	const char *p = buf, *end = buf + len;
	int rc = 0;

	while (rc == 0 && p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));

		if (nl == NULL) {
			line_append(r, p, (size_t)(end - p));
			break;
		}
		line_append(r, p, (size_t)(nl - p));
		if (!r->is_line_too_long)
			rc = handle_line(r, r->line, r->line_len);
		r->line_len = 0;
		r->is_line_too_long = 0;
		p = nl + 1;
	}
	return rc;
}

static int
read_stream(struct reader *r, gzFile gz, const char *path)
{
	char *buf = malloc(READ_BYTES);
	int n = 0, rc = 0, zerr;

	if (buf == NULL)
		return CT_ENOMEM;
	while (rc == 0) {
		n = gzread(gz, buf, READ_BYTES);
		if (n <= 0)
			break;
		r->st->n_bytes += (uint64_t)n;
		rc = handle_block(r, buf, (size_t)n);
		if (rc == 0 && plugin_host_should_stop(r->h))
			rc = CT_ECANCELED;
	}
	if (rc == 0 && n < 0)
		rc = plugin_host_fail(r->h, CT_EIO, "auth_log: %s: %s", path, gzerror(gz, &zerr));
	if (rc == 0 && r->line_len > 0 && !r->is_line_too_long)
		rc = handle_line(r, r->line, r->line_len);
	free(buf);
	return rc;
}

static int
read_file(struct reader *r, const char *path)
{
	char err[512];
	gzFile gz;
	int fd = -1, rc;

	rc = fdio_open_regular(path, O_RDONLY, 0, &fd, err, sizeof(err));
	if (rc != 0)
		return plugin_host_fail(r->h, rc, "auth_log: %s", err);
	gz = gzdopen(fd, "rb");
	if (gz == NULL) {
		close(fd);
		return plugin_host_fail(r->h, CT_ENOMEM, "auth_log: %s: cannot read", path);
	}
	r->h->ct->progress(r->h->t, -1, "reading the auth log");
	rc = read_stream(r, gz, path);
	gzclose(gz);
	r->st->n_files++;
	return rc;
}

/* The file of rotation `i` (0: the log itself) into path; 0 when one
 * exists, its mtime in *mtime. */
static int
find_sibling(const char *base, int i, char *path, size_t size, time_t *mtime)
{
	static const char *const suffixes[] = {"", ".gz"};
	struct stat st;

	for (size_t k = 0; k < 2; k++) {
		if (i == 0 && k == 1)
			break;
		if (i == 0)
			snprintf(path, size, "%s", base);
		else
			snprintf(path, size, "%s.%d%s", base, i, suffixes[k]);
		if (stat(path, &st) == 0) {
			*mtime = st.st_mtime;
			return 0;
		}
	}
	return CT_ENOENT;
}

static int
read_siblings(struct reader *r, const char *base)
{
	char path[4096];
	time_t mtime;
	int rc = 0;

	for (int i = 0; i <= MAX_SIBLINGS && rc == 0; i++) {
		if (find_sibling(base, i, path, sizeof(path), &mtime) != 0)
			break;
		if (mtime < r->cutoff) {
			/* Older than the window: the log reaches back far enough. */
			if (r->st->oldest == 0 || mtime < r->st->oldest)
				r->st->oldest = mtime;
			break;
		}
		r->year_ref = mtime;
		memset(r->pending, 0, sizeof(r->pending));
		rc = read_file(r, path);
	}
	return rc;
}

int
audit_authlog_read(struct plugin_host *h, const struct audit_opts *o, const struct audit_nets *nets,
                   time_t cutoff, struct audit_events *ev, struct audit_authlog_stats *st)
{
	struct reader *r;
	struct stat sb;
	int rc;

	if (stat(o->auth_log, &sb) != 0)
		return plugin_host_fail(
		    h, errno == ENOENT ? CT_ENOENT : CT_ESYS,
		    "auth_log: %s: %s\nhint: Debian writes sshd's log there "
		    "only with rsyslog installed; journald alone keeps it in the "
		    "journal",
		    o->auth_log, strerror(errno));
	r = calloc(1, sizeof(*r));
	if (r == NULL)
		return CT_ENOMEM;
	r->h = h;
	r->nets = nets;
	r->cutoff = cutoff;
	r->ev = ev;
	r->st = st;
	rc = read_siblings(r, o->auth_log);
	free(r);
	return rc;
}
