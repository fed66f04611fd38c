/*
 * inspect.h — commands that look without running anything.
 * Each returns an exit code (enum runner_exit).
 */
#ifndef CT_INSPECT_H
#define CT_INSPECT_H

struct arena;
struct config;
struct plugin_list;

/* Probe every plugin in plugin_path (into `list`, memory from `a`), bind
 * every job to its plugin and check the requires graph; problems go to
 * cfg->diags.  Used by check and timers. */
void inspect_bind_plugins(struct config *cfg, struct plugin_list *list, struct arena *a);

/* `caretaker list`: the configured jobs. */
int inspect_list(const struct config *cfg);
/* `caretaker plugins`: every plugin file found, usable or refused. */
int inspect_plugins(const struct config *cfg);
/* `caretaker describe NAME`: a plugin's options. */
int inspect_describe(const struct config *cfg, const char *name);
/* `caretaker check`: load everything, validate every job, print every
 * problem; 78 when there is any error. */
int inspect_check(struct config *cfg, int is_quiet);

#endif
