/*
 * standalone.c — main() for a harness built without libFuzzer: runs
 * LLVMFuzzerTestOneInput() once on each file named on the command line, as
 * a libFuzzer binary does with file arguments, so the seed corpus and the
 * regression inputs replay in every build (tests/fuzz/replay.sh).
 *
 * Prints one line per input; a crash or sanitizer report names the input
 * on the line just before it.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

/* Inputs larger than this are not fuzz inputs (libFuzzer caps them too). */
#define STANDALONE_MAX_BYTES (16u << 20)

__attribute__((weak)) int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return 0;
}

static int
standalone_read(const char *path, uint8_t **data, size_t *len)
{
	struct stat st;
	uint8_t *buf = NULL;
	ssize_t got;
	int fd, rc = -1;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (fstat(fd, &st) != 0)
		goto out;
	if (!S_ISREG(st.st_mode) || st.st_size > STANDALONE_MAX_BYTES) {
		errno = S_ISREG(st.st_mode) ? EFBIG : EINVAL;
		goto out;
	}
	/* Exactly the input's size, so that a read past its end is caught. */
	buf = malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
	if (buf == NULL)
		abort();
	got = read(fd, buf, (size_t)st.st_size);
	if (got != st.st_size) {
		errno = got < 0 ? errno : EIO;
		goto out;
	}
	*data = buf;
	buf = NULL;
	*len = (size_t)got;
	rc = 0;
out:
	free(buf);
	close(fd);
	return rc;
}

int
main(int argc, char **argv)
{
	int status = 0;

	LLVMFuzzerInitialize(&argc, &argv);
	for (int i = 1; i < argc; i++) {
		uint8_t *data = NULL;
		size_t len = 0;

		if (standalone_read(argv[i], &data, &len) != 0) {
			fprintf(stderr, "%s: cannot read: %s\n", argv[i], strerror(errno));
			status = 1;
			continue;
		}
		printf("running %s (%zu bytes)\n", argv[i], len);
		fflush(stdout);
		LLVMFuzzerTestOneInput(data, len);
		free(data);
	}
	return status;
}
