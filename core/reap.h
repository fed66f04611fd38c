/*
 * reap.h — ending the processes a job leaves behind: those that left its
 * process group (setsid(), daemonizing scripts), which no signal to the
 * group reaches, and those still running when it ends.
 *
 * A subreaper (PR_SET_CHILD_SUBREAPER) becomes the parent of every orphan
 * below it instead of init, so everything a job started stays a child of
 * the job's child, or of caretaker once that child is gone, until
 * reap_descendants() ends it.
 */
#ifndef CT_REAP_H
#define CT_REAP_H

#include <sys/types.h>

/* Make this process the reaper of its orphaned descendants (is_on = 1), or
 * stop being it (0).  0, or CT_ESYS with errno set. */
int reap_set_subreaper(int is_on);

/*
 * SIGKILL every child of this process and reap it, then do the same for
 * the children that reparents here, until no child is left.  Returns how
 * many of them were running outside process group `group` (the job's):
 * the processes that escaped it.  Children that had already exited are
 * reaped without being counted.  Async-signal-safe: it makes system calls
 * only and allocates nothing.
 */
int reap_descendants(pid_t group);

#endif
