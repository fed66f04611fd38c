/*
 * skip.h — skipping a unit test that cannot run here, without hiding a
 * broken set-up.
 *
 * cmocka's skip() is green.  Under CI=true tests/bootstrap.sh has installed
 * everything the tests need (time zones, gzip and zstd, /dev/full), so a
 * test that cannot run there fails instead, saying what was missing.  A
 * test that does not apply to the machine at all (root-only checks when
 * not root) calls skip() itself.  Include after <cmocka.h>.
 */
#ifndef CT_TESTS_SKIP_H
#define CT_TESTS_SKIP_H

#include <stdlib.h>
#include <string.h>

static inline int
skip_is_ci(void)
{
	const char *ci = getenv("CI");

	return ci != NULL && (strcmp(ci, "true") == 0 || strcmp(ci, "TRUE") == 0 ||
	                      strcmp(ci, "1") == 0 || strcmp(ci, "yes") == 0);
}

/* Skips the test, or under CI=true fails it saying why: the arguments are
 * a format (a string literal) and its values, as fail_msg() takes. */
#define skip_outside_ci(...)                                                                       \
	do {                                                                                       \
		if (skip_is_ci())                                                                  \
			fail_msg("cannot run under CI=true: " __VA_ARGS__);                        \
		skip();                                                                            \
	} while (0)

#endif
