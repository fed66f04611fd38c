/*
 * due.h — which jobs `caretaker run --due` runs now.
 *
 * A job is due when an elapse of its schedule has passed since the last
 * elapse it handled (state.json).  However many elapses were missed, it runs
 * once (catch_up = once), or, with catch_up = skip, only when the newest
 * missed elapse is within [caretaker] due_window of now; older ones are
 * marked handled without a run.  A job seen for the first time is not run:
 * its baseline is now, like a new systemd timer.
 */
#ifndef CT_DUE_H
#define CT_DUE_H

#include <stdint.h>

struct job;
struct schedule;
struct state;

enum due_verdict {
	DUE_NOT,         /* nothing elapsed since the last handled elapse */
	DUE_RUN,         /* run it; *elapse_us is the elapse it handles */
	DUE_SKIP_MISSED, /* catch_up = skip and the elapse is too old */
	DUE_BASELINE,    /* first seen: record now as handled */
};

/* The newest elapse in (after_us, now_us], or 0 when there is none. */
int64_t due_latest_elapse(const struct schedule *sched, int64_t after_us, int64_t now_us);

/* Decide for one enabled job with a schedule; *elapse_us gets the elapse
 * to record (for every verdict but DUE_NOT). */
enum due_verdict due_check(const struct job *job, const struct state *st, int64_t now_us,
                           int64_t due_window_ms, int64_t *elapse_us);

#endif
