/*
 * durable.c — crash-safe file replacement (see durable.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "durable.h"
#include "fdio.h"

static int
errno_code(int e)
{
	return e == ENOSPC || e == EDQUOT ? CT_ENOSPC : CT_EIO;
}

int
durable_dirname(const char *path, char *out, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t len;

	if (slash == NULL)
		return snprintf(out, size, ".") < (int)size ? 0 : CT_EINVAL;
	len = slash == path ? 1 : (size_t)(slash - path);
	if (len >= size)
		return CT_EINVAL;
	memcpy(out, path, len);
	out[len] = '\0';
	return 0;
}

int
durable_fsync_dir(const char *dir, char *err, size_t err_size)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int rc = 0;

	int saved = 0;

	if (fd < 0 || fsync(fd) != 0) {
		saved = errno;
		fdio_errf(err, err_size, "cannot sync folder %s: %s", dir, strerror(saved));
		rc = CT_EIO;
	}
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		errno = saved;
	return rc;
}

int
durable_fsync_fd(int fd, const char *path, char *err, size_t err_size)
{
	if (fsync(fd) == 0)
		return 0;
	fdio_errf(err, err_size, "cannot sync %s: %s", path, strerror(errno));
	return errno_code(errno);
}

int
durable_rename(const char *from, const char *to, char *err, size_t err_size)
{
	char dir[4096];

	if (durable_dirname(to, dir, sizeof(dir)) != 0) {
		fdio_errf(err, err_size, "path too long: %s", to);
		return CT_EINVAL;
	}
	if (rename(from, to) != 0) {
		fdio_errf(err, err_size, "cannot rename %s to %s: %s", from, to, strerror(errno));
		return CT_EIO;
	}
	return durable_fsync_dir(dir, err, err_size);
}

int
durable_unlink(const char *path, char *err, size_t err_size)
{
	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	fdio_errf(err, err_size, "cannot remove %s: %s", path, strerror(errno));
	return CT_EIO;
}

/* ".NAME.tmp-XXXXXX" beside NAME, for mkstemp. */
static int
durable_tmp_name(const char *path, char *tmp, size_t size)
{
	const char *slash = strrchr(path, '/');
	int dir_len = slash != NULL ? (int)(slash - path + 1) : 0;
	int n = snprintf(tmp, size, "%.*s.%s" DURABLE_TMP_INFIX "XXXXXX", dir_len, path,
	                 slash != NULL ? slash + 1 : path);

	return n > 0 && (size_t)n < size ? 0 : CT_EINVAL;
}

/* Write, chmod and (with DURABLE_SYNC_FILE) sync the open temporary file. */
static int
durable_fill(int fd, const char *tmp, const void *data, size_t len, mode_t mode, unsigned flags,
             char *err, size_t err_size)
{
	int rc = fdio_write_all(fd, data, len, FDIO_NO_OFFSET, NULL, 0);

	if (rc != 0) {
		fdio_errf(err, err_size, "cannot write %s: %s", tmp, strerror(errno));
		return rc;
	}
	if (fchmod(fd, mode) != 0) {
		fdio_errf(err, err_size, "cannot chmod %s: %s", tmp, strerror(errno));
		return CT_EIO;
	}
	return (flags & DURABLE_SYNC_FILE) ? durable_fsync_fd(fd, tmp, err, err_size) : 0;
}

int
durable_replace(const char *path, const void *data, size_t len, mode_t mode, unsigned flags,
                char *err, size_t err_size)
{
	char tmp[4096], dir[4096];
	int fd, rc, saved;

	if (durable_tmp_name(path, tmp, sizeof(tmp)) != 0 ||
	    durable_dirname(path, dir, sizeof(dir)) != 0) {
		fdio_errf(err, err_size, "path too long: %s", path);
		return CT_EINVAL;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		fdio_errf(err, err_size, "cannot create %s: %s", tmp, strerror(errno));
		return errno_code(errno);
	}
	rc = durable_fill(fd, tmp, data, len, mode, flags, err, err_size);
	if (close(fd) != 0 && rc == 0) {
		fdio_errf(err, err_size, "cannot close %s: %s", tmp, strerror(errno));
		rc = errno_code(errno);
	}
	if (rc == 0 && rename(tmp, path) != 0) {
		fdio_errf(err, err_size, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
		rc = CT_EIO;
	}
	saved = errno;
	if (rc != 0)
		unlink(tmp);
	if (rc == 0 && (flags & DURABLE_SYNC_DIR))
		return durable_fsync_dir(dir, err, err_size);
	errno = saved;
	return rc;
}
