/*
 * plughost.h — what every step of a bundled plugin gets from the host: the
 * task, the services table, and the run's first failure in words.  One
 * struct for every plugin, so that "should I stop?" and "remember why this
 * failed" are written once (plugins/lib/plughost.c, libctplughost).
 *
 * A plugin keeps one struct plugin_host per run (in its run struct) and
 * passes a pointer to every step that reports, logs, shows progress, may
 * be stopped or may fail (docs/architecture.md, "Inside a plugin").
 * It also owns the two things every plugin did alike: starting its run
 * state in init, and handing a long list of lines to an output stream.
 */
#ifndef CARETAKER_PLUGINS_PLUGHOST_H
#define CARETAKER_PLUGINS_PLUGHOST_H

#include <stddef.h>
#include <stdint.h>

#include <caretaker/plugin.h>

struct plugin_host {
	struct ct_task *t;
	const struct ct_services *ct;
	char err[2048];    /* the first failure only: later ones are its consequences */
	size_t n_warnings; /* findings of WARNING or worse said so far, for plugins that count */
};

/* Non-zero once the host wants the run to end (its should_stop service).
 * `host` is a struct plugin_host *; the void * lets it serve as a
 * pgquery_stop_cb and the like. */
int plugin_host_should_stop(void *host);

/* Keep the words of the run's first failure in h->err (later ones are left
 * out: they follow from it) and return `rc`, so a step can end with
 * `return plugin_host_fail(h, CT_EIO, "...", ...)`. */
int plugin_host_fail(struct plugin_host *h, int rc, const char *fmt, ...) CT_PRINTF(3, 4);

/* An option's value, or `fallback` when it is unset and has no default
 * (the host has checked every value against the plugin's table before
 * the run, so a declared key of the right type always answers). */
int64_t plugin_host_opt_int(struct plugin_host *h, const char *key, int64_t fallback);
int64_t plugin_host_opt_ms(struct plugin_host *h, const char *key, int64_t fallback);
/* A string, enum or path option; NULL when unset.  Owned by the host. */
const char *plugin_host_opt_str(struct plugin_host *h, const char *key);

/* A duration option's value for people, in the largest unit that divides
 * it: 90d, 12h, 5min, 90s, 250ms, 0 (the form the option was likely given
 * in, for summaries and findings). */
void plugin_host_duration_words(int64_t ms, char *out, size_t size);
/* A list or path-list option; no items when unset.  Owned by the host. */
void plugin_host_opt_list(struct plugin_host *h, const char *key, const char *const **items,
                          size_t *n);

/* The run state an init starts with: `size` zeroed bytes whose FIRST
 * member is a struct plugin_host, bound to the task and the services and
 * stored in *state (the host hands it back to the plugin's fini, which
 * frees it).  NULL, and *state untouched, when there is no memory. */
void *plugin_host_state_new(struct ct_task *t, const struct ct_services *ct, size_t size,
                            void **state);

/* The end of an init that read its options: a failure (rc != 0) becomes
 * the job's FAIL status in the words kept in h->err.  Returns rc. */
int plugin_host_init_end(struct plugin_host *h, int rc);

/* A list of lines (one per file, change, ...) on one output stream,
 * handed to the host 64 KiB at a time rather than one message per line,
 * and closed by a line that counts them: the host keeps only the head and
 * the tail of a long stream (output_limit), so the tail still says how
 * many there were. */
struct plugin_host_list;

/* Start a list on `stream`; `noun` names its items in the closing count,
 * e.g. "file(s)" for "(12 file(s) in this list)".  Both strings must
 * outlive the list.  CT_ENOMEM when there is no memory. */
int plugin_host_list_begin(struct plugin_host *h, const char *stream, const char *noun,
                           struct plugin_host_list **out);
/* Add one line; `line` ends with its newline. */
void plugin_host_list_add(struct plugin_host_list *l, const char *line, size_t len);
/* Add the count (when there was a line), hand the rest to the host and
 * free the list; *l is NULL afterwards.  A NULL *l is a no-op. */
void plugin_host_list_end(struct plugin_host_list **l);

#endif
