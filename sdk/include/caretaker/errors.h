/*
 * caretaker/errors.h — the one error vocabulary of caretaker and its plugins.
 *
 * Every function that can fail returns int: CT_OK (0) on success or one of
 * the negative codes below.  The words for a code come from the host's
 * ct_strerror() (core) or from the services table's `strerror` member
 * (plugins).  The list is append-only: a code keeps its number forever, new
 * codes go before CT_E__LAST.
 *
 * This header includes nothing and compiles alone.
 */
#ifndef CARETAKER_ERRORS_H
#define CARETAKER_ERRORS_H

enum ct_error {
	CT_OK = 0,
	CT_ENOMEM = -1,        /* out of memory */
	CT_EINVAL = -2,        /* invalid argument or value */
	CT_ENOENT = -3,        /* no such object (option, file, job, elapse) */
	CT_EIO = -4,           /* read or write failed */
	CT_ESYS = -5,          /* a system call failed; errno text is in the message */
	CT_ECONFIG = -6,       /* configuration error */
	CT_EPLUGIN = -7,       /* plugin refused or misbehaved */
	CT_EPG = -8,           /* PostgreSQL error; SQLSTATE is in the message */
	CT_ETIMEDOUT = -9,     /* deadline passed */
	CT_ECANCELED = -10,    /* stop was requested */
	CT_ELOCKED = -11,      /* held by another run */
	CT_ECORRUPT = -12,     /* data failed a checksum or format check */
	CT_EPERM = -13,        /* not permitted (ownership, mode, privilege) */
	CT_ECHILD = -14,       /* a child process failed */
	CT_ETYPE = -15,        /* option asked for with the wrong type */
	CT_ENOSPC = -16,       /* not enough free space */
	CT_EUNSUPPORTED = -17, /* not supported by this plugin or host */
	CT_E__LAST = -18       /* never use */
};

#endif
