/*
 * report.h — `caretaker report`: the last runs from history, as text for a
 * person at a terminal or as JSON for machines.
 */
#ifndef CT_REPORT_H
#define CT_REPORT_H

#include <stddef.h>
#include <stdint.h>

struct config;

enum report_format { REPORT_TEXT, REPORT_JSON, REPORT_PROMETHEUS };

struct report_options {
	const char *job; /* NULL: every job */
	enum report_format format;
	size_t max_runs;  /* 0: default (20, or 10 for one job) */
	int64_t since_us; /* 0: all */
};

/* Print the report to stdout; returns an exit code. */
int report_show(const struct config *cfg, const struct report_options *opts);

#endif
