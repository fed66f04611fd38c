/*
 * next.h — `caretaker next`: when does a job run?
 */
#ifndef CT_NEXT_H
#define CT_NEXT_H

#include <stddef.h>
#include <stdint.h>

struct config;

struct next_options {
	const char *job; /* NULL: every scheduled job, soonest first */
	size_t count;    /* elapses per job (default 5 for one job, 1 for all) */
	int64_t base_us; /* compute from this time; 0 for now */
};

/* Upcoming elapses, local and UTC. */
int next_show(const struct config *cfg, const struct next_options *opts);

#endif
