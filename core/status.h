/*
 * status.h — `caretaker status`: is every job fine, and what runs now?
 * Built from schedules and state.json rather than from the full history.
 */
#ifndef CT_STATUS_H
#define CT_STATUS_H

#include <stdint.h>

struct config;

/* One line per job, OK / WARN / FAIL / OVERDUE / UNRECORDED / SKIPPED /
 * PENDING / DISABLED, then the runs in progress.  Returns 1 when any job
 * is failing, overdue or unrecorded, or the state cannot be read; 0
 * otherwise. */
int status_show(const struct config *cfg, int64_t now_us);

#endif
