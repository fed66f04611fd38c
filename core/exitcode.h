/*
 * exitcode.h — the exit statuses of every caretaker command, as
 * caretaker(8) documents them.  Append only: scripts and systemd units
 * test these numbers.
 */
#ifndef CT_EXITCODE_H
#define CT_EXITCODE_H

enum ct_exit {
	EXIT_OK = 0,         /* every job ok or warned */
	EXIT_JOB_FAILED = 1, /* a job failed (or a command could not do its work) */
	EXIT_USAGE = 2,      /* bad command line */
	EXIT_LOCKED = 75,    /* EX_TEMPFAIL: skipped, already running */
	EXIT_CONFIG = 78,    /* EX_CONFIG: configuration error */
};

#endif
