/*
 * durable.c — crash-safe file replacement (see durable.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "durable.h"

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

	if (fd < 0 || fsync(fd) != 0) {
		snprintf(err, err_size, "cannot sync folder %s: %s", dir, strerror(errno));
		rc = CT_EIO;
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

int
durable_fsync_fd(int fd, const char *path, char *err, size_t err_size)
{
	if (fsync(fd) == 0)
		return 0;
	snprintf(err, err_size, "cannot sync %s: %s", path, strerror(errno));
	return errno_code(errno);
}

int
durable_rename(const char *from, const char *to, char *err, size_t err_size)
{
	char dir[4096];

	if (durable_dirname(to, dir, sizeof(dir)) != 0) {
		snprintf(err, err_size, "path too long: %s", to);
		return CT_EINVAL;
	}
	if (rename(from, to) != 0) {
		snprintf(err, err_size, "cannot rename %s to %s: %s", from, to, strerror(errno));
		return CT_EIO;
	}
	return durable_fsync_dir(dir, err, err_size);
}

int
durable_unlink(const char *path, char *err, size_t err_size)
{
	if (unlink(path) == 0 || errno == ENOENT)
		return 0;
	snprintf(err, err_size, "cannot remove %s: %s", path, strerror(errno));
	return CT_EIO;
}

static int
write_all(int fd, const char *data, size_t len, const char *path, char *err, size_t err_size)
{
	ssize_t n;

	while (len > 0) {
		n = write(fd, data, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : EIO;

			snprintf(err, err_size, "cannot write %s: %s", path, strerror(e));
			return errno_code(e);
		}
		data += n;
		len -= (size_t)n;
	}
	return 0;
}

int
durable_replace(const char *path, const void *data, size_t len, mode_t mode, char *err,
                size_t err_size)
{
	char tmp[4096];
	int fd = -1, rc;

	if (snprintf(tmp, sizeof(tmp), "%s.tmp-%ld", path, (long)getpid()) >= (int)sizeof(tmp)) {
		snprintf(err, err_size, "path too long: %s", path);
		return CT_EINVAL;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
	if (fd < 0) {
		snprintf(err, err_size, "cannot create %s: %s", tmp, strerror(errno));
		return errno_code(errno);
	}
	rc = write_all(fd, data, len, tmp, err, err_size);
	if (rc == 0)
		rc = durable_fsync_fd(fd, tmp, err, err_size);
	if (close(fd) != 0 && rc == 0) {
		snprintf(err, err_size, "cannot close %s: %s", tmp, strerror(errno));
		rc = errno_code(errno);
	}
	if (rc == 0)
		rc = durable_rename(tmp, path, err, err_size);
	if (rc != 0)
		unlink(tmp);
	return rc;
}
