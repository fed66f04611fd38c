/*
 * timefmt.h — times for people and from them, shared by status, next and
 * the command line.
 */
#ifndef CT_TIMEFMT_H
#define CT_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#define US_PER_S 1000000LL

/* "2026-03-01 02:00:00 CET" for microseconds since the epoch; "-" for 0. */
void timefmt_local(int64_t us, char *buf, size_t size);
/* "2026-03-01 01:00:00 UTC". */
void timefmt_utc(int64_t us, char *buf, size_t size);
/* "3h 5min" for a span in microseconds (seconds precision, minutes past
 * one minute); the sign is dropped. */
void timefmt_span(int64_t us, char *buf, size_t size);
/* Parse a --base-time: "YYYY-MM-DD HH:MM[:SS]" (local, or with a trailing
 * "UTC"), "@EPOCH_SECONDS", or "now".  0 or CT_EINVAL. */
int timefmt_parse(const char *s, int64_t *out_us);

#endif
