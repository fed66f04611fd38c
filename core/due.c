/*
 * due.c — due-ness of jobs for `run --due` (see due.h).
 */
#include "autoconf.h"

#include "config.h"
#include "due.h"
#include "schedule.h"
#include "state.h"

#define DAY_US (86400LL * 1000000)

/* Walk elapses from `e` while the next one is still not after now. */
static int64_t
walk_to_newest(const struct schedule *sched, int64_t e, int64_t now_us)
{
	int64_t next;

	while (schedule_next(sched, e, &next) == 0 && next <= now_us)
		e = next;
	return e;
}

int64_t
due_latest_elapse(const struct schedule *sched, int64_t after_us, int64_t now_us)
{
	int64_t first, recent;

	if (schedule_next(sched, after_us, &first) != 0 || first > now_us)
		return 0;
	/* After a long downtime a frequent schedule has many elapses: start
	 * the walk a day back when there is an elapse in that day. */
	if (now_us - DAY_US > first && schedule_next(sched, now_us - DAY_US, &recent) == 0 &&
	    recent <= now_us)
		first = recent;
	return walk_to_newest(sched, first, now_us);
}

enum due_verdict
due_check(const struct job *job, const struct state *st, int64_t now_us, int64_t due_window_ms,
          int64_t *elapse_us)
{
	int64_t last = state_last_elapse_us(st, job->name);
	int64_t e;

	if (last == 0) {
		*elapse_us = now_us;
		return DUE_BASELINE;
	}
	e = due_latest_elapse(job->sched, last, now_us);
	if (e == 0)
		return DUE_NOT;
	*elapse_us = e;
	if (!job->is_catching_up && now_us - e > due_window_ms * 1000)
		return DUE_SKIP_MISSED;
	return DUE_RUN;
}
