/*
 * prometheus.h — every job's last run, last success, duration, status and
 * plugin metrics in the Prometheus text exposition format.
 */
#ifndef CT_PROMETHEUS_H
#define CT_PROMETHEUS_H

#include <stddef.h>

struct config;

/* The exposition into a new string (caller frees).  0 or an error with
 * err filled. */
int prometheus_text(const struct config *cfg, char **out, char *err, size_t err_size);
/* Write it atomically to [caretaker] prometheus_dir/caretaker.prom. */
int prometheus_write(const struct config *cfg, char *err, size_t err_size);

#endif
