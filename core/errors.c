/*
 * errors.c — the table behind ct_strerror().  Indexed by -code; grows in step
 * with enum ct_error, never reordered.
 */
#include "autoconf.h"

#include <stddef.h>

#include "errors.h"

static const char *const error_words[] = {
    [0] = "success",
    [-CT_ENOMEM] = "out of memory",
    [-CT_EINVAL] = "invalid value",
    [-CT_ENOENT] = "not found",
    [-CT_EIO] = "input/output error",
    [-CT_ESYS] = "system call failed",
    [-CT_ECONFIG] = "configuration error",
    [-CT_EPLUGIN] = "plugin error",
    [-CT_EPG] = "PostgreSQL error",
    [-CT_ETIMEDOUT] = "timed out",
    [-CT_ECANCELED] = "canceled",
    [-CT_ELOCKED] = "locked by another run",
    [-CT_ECORRUPT] = "data corrupt",
    [-CT_EPERM] = "not permitted",
    [-CT_ECHILD] = "child process failed",
    [-CT_ETYPE] = "wrong option type",
    [-CT_ENOSPC] = "not enough space",
    [-CT_EUNSUPPORTED] = "not supported",
};

_Static_assert(sizeof(error_words) / sizeof(error_words[0]) == (size_t)-CT_E__LAST,
               "every CT_E* code needs words");

const char *
ct_strerror(int code)
{
	if (code > 0 || code <= CT_E__LAST)
		return "unknown error";
	return error_words[-code];
}
