/*
 * testutil.c — fixtures for the unit tests (see testutil.h).
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "proc.h"
#include "runner.h"
#include "testutil.h"

static char tu_dir[256];

const char *
tu_tmpdir_new(void)
{
	snprintf(tu_dir, sizeof(tu_dir), "%s/caretaker-unit.XXXXXX",
	         getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	assert_non_null(mkdtemp(tu_dir));
	assert_int_equal(chmod(tu_dir, 0755), 0);
	return tu_dir;
}

void
tu_tmpdir_free(void)
{
	char cmd[300];

	if (tu_dir[0] == '\0')
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tu_dir);
	assert_int_equal(system(cmd), 0);
	tu_dir[0] = '\0';
}

const char *
tu_path(const char *name)
{
	static char bufs[4][512];
	static int slot;
	char *b = bufs[slot++ % 4];

	snprintf(b, sizeof(bufs[0]), "%s/%s", tu_dir, name);
	return b;
}

void
tu_write_bytes(const char *name, const void *data, size_t len)
{
	char path[512], dir[512];
	char *slash;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tu_dir, name);
	snprintf(dir, sizeof(dir), "%s", path);
	slash = strrchr(dir, '/');
	*slash = '\0';
	assert_int_equal(proc_mkdir_p(dir, 0755), 0);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, 0644), 0);
}

void
tu_write(const char *name, const char *text)
{
	tu_write_bytes(name, text, strlen(text));
}

void
tu_copy(const char *from, const char *name)
{
	FILE *f = fopen(from, "rb");
	char *buf;
	long len;

	if (f == NULL)
		fail_msg("cannot open %s (is it built?)", from);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)len);
	assert_int_equal(fread(buf, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	tu_write_bytes(name, buf, (size_t)len);
	free(buf);
}
