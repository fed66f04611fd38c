/*
 * fuzzutil.c — the temporary folder and file writing the harnesses share
 * (see fuzz.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"

static char fuzz_dir[4096];

static int
remove_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void
fuzz_tmpdir_remove(void)
{
	if (fuzz_dir[0] != '\0')
		nftw(fuzz_dir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
}

const char *
fuzz_tmpdir(void)
{
	const char *base = getenv("TMPDIR");

	if (fuzz_dir[0] != '\0')
		return fuzz_dir;
	/* Memory is best: the manifest harness fsyncs what it writes. */
	if (base == NULL || base[0] == '\0')
		base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	snprintf(fuzz_dir, sizeof(fuzz_dir), "%s/caretaker-fuzz.XXXXXX", base);
	if (mkdtemp(fuzz_dir) == NULL) {
		fprintf(stderr, "fuzz: cannot make a folder in %s: %s\n", base, strerror(errno));
		abort();
	}
	atexit(fuzz_tmpdir_remove);
	return fuzz_dir;
}

void
fuzz_write_file(const char *path, const void *data, size_t len, unsigned mode)
{
	const char *p = data;
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, (mode_t)mode);
	if (fd < 0) {
		fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
		abort();
	}
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0) {
			fprintf(stderr, "fuzz: cannot write %s: %s\n", path, strerror(errno));
			abort();
		}
		p += n;
		len -= (size_t)n;
	}
	/* The mode must not depend on the umask: it is part of the input. */
	fchmod(fd, (mode_t)mode);
	close(fd);
}

char *
fuzz_strndup(const uint8_t *data, size_t len)
{
	char *s = malloc(len + 1);

	if (s == NULL)
		abort();
	if (len > 0)
		memcpy(s, data, len);
	s[len] = '\0';
	return s;
}
