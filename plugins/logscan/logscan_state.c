/*
 * logscan_state.c — what was read of each file, kept between runs: one
 * small text file per log in the job's state_dir, named for a hash of the
 * log's path and holding the path itself, so two logs never share one and
 * a damaged file costs only its own log a fresh start.
 *
 *     logscan-state 1
 *     path /var/log/app/error.log
 *     dev 2049
 *     ino 1835011
 *     size 5242880
 *     offset 5242880
 *     fp_len 4096
 *     fp 9f1c0e57a6b3d214
 *
 * `fp` is FNV-1a 64 of the file's first fp_len bytes (up to 4096): the same
 * inode with another head was truncated and rewritten (copytruncate), and a
 * rotated file, compressed or not, is found by its head.  Written with
 * durable_replace, so a crash leaves the old state or the new one.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "durable.h"
#include "fdio.h"
#include "logscan.h"

#define STATE_MAGIC "logscan-state 1"

uint64_t
logscan_fp_of_bytes(const void *data, size_t len)
{
	const unsigned char *p = data;
	uint64_t h = 1469598103934665603ull;

	for (size_t i = 0; i < len; i++) {
		h ^= p[i];
		h *= 1099511628211ull;
	}
	return h;
}

int
logscan_fp_of_fd(int fd, uint32_t len, uint64_t *fp, uint32_t *got)
{
	char buf[LOGSCAN_FP_BYTES];
	ssize_t n;

	if (len > sizeof(buf))
		len = sizeof(buf);
	do
		n = pread(fd, buf, len, 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return CT_EIO;
	*fp = logscan_fp_of_bytes(buf, (size_t)n);
	*got = (uint32_t)n;
	return 0;
}

static void
state_path(const char *state_dir, const char *path, char *out, size_t size)
{
	snprintf(out, size, "%s/file-%016" PRIx64 ".state", state_dir,
	         logscan_fp_of_bytes(path, strlen(path)));
}

/* Reads the fields of `text` into *s; 0 or CT_ECORRUPT. */
static int
state_parse(const char *text, const char *path, struct logscan_fstate *s)
{
	char saved[4096];
	unsigned fp_len;
	int n = sscanf(text,
	               STATE_MAGIC "\npath %4095[^\n]\ndev %" SCNu64 "\nino %" SCNu64
	                           "\nsize %" SCNu64 "\noffset %" SCNu64 "\nfp_len %u\nfp %" SCNx64,
	               saved, &s->dev, &s->ino, &s->size, &s->offset, &fp_len, &s->fp);

	if (n != 7 || strcmp(saved, path) != 0 || fp_len > LOGSCAN_FP_BYTES)
		return CT_ECORRUPT;
	s->fp_len = fp_len;
	s->is_valid = 1;
	return 0;
}

int
logscan_state_load(const char *state_dir, const char *path, struct logscan_fstate *s, char *err,
                   size_t err_size)
{
	char file[4200];
	char *text = NULL;
	size_t len = 0;
	int fd = -1, rc;

	memset(s, 0, sizeof(*s));
	state_path(state_dir, path, file, sizeof(file));
	rc = fdio_open_regular(file, O_RDONLY, 0, &fd, err, err_size);
	if (rc == CT_ENOENT)
		return 0;
	if (rc == 0)
		rc = fdio_read_regular(fd, file, &text, &len, err, err_size);
	if (rc == 0 && state_parse(text, path, s) != 0) {
		memset(s, 0, sizeof(*s));
		snprintf(err, err_size, "%s: damaged state of %s", file, path);
		rc = CT_ECORRUPT;
	}
	if (fd >= 0)
		close(fd);
	free(text);
	return rc;
}

int
logscan_state_save(const char *state_dir, const char *path, const struct logscan_fstate *s,
                   char *err, size_t err_size)
{
	char file[4200], text[4600];
	int n;

	state_path(state_dir, path, file, sizeof(file));
	n = snprintf(text, sizeof(text),
	             STATE_MAGIC "\npath %s\ndev %" PRIu64 "\nino %" PRIu64 "\nsize %" PRIu64
	                         "\noffset %" PRIu64 "\nfp_len %u\nfp %016" PRIx64 "\n",
	             path, s->dev, s->ino, s->size, s->offset, (unsigned)s->fp_len, s->fp);
	if (n < 0 || (size_t)n >= sizeof(text)) {
		snprintf(err, err_size, "%s: path too long for the state file", path);
		return CT_EINVAL;
	}
	return durable_replace(file, text, (size_t)n, 0600, DURABLE_SYNC_ALL, err, err_size);
}
