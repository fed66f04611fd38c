/*
 * monotonic.h — seconds on the monotonic clock, for the durations plugins
 * and their libraries measure and report (the dump, a check, a restore),
 * and milliseconds, for their deadlines (a command's timeout, a lock wait).
 *
 * CLOCK_MONOTONIC counts from an unspecified start and never jumps when
 * the wall clock is set, so the difference of two readings is a duration;
 * one reading alone is not a time of day, and nothing here gives one.
 * Header-only, like fdio.h: any plugin or library of plugins/lib can use it
 * without linking one more library for one function.
 */
#ifndef CARETAKER_PLUGINS_MONOTONIC_H
#define CARETAKER_PLUGINS_MONOTONIC_H

#include <stdint.h>
#include <time.h>

/* Seconds since an unspecified start; subtract two readings. */
static inline double
monotonic_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Milliseconds since an unspecified start, for deadlines and timeouts. */
static inline int64_t
monotonic_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

#endif
