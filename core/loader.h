/*
 * loader.h — finding, checking and loading task plugins.
 *
 * Two halves:
 *  - loader_open()/loader_close() load one plugin file in the calling
 *    process: file and folder checks on the open descriptor, eager symbol
 *    binding through libltdl, and every check of the descriptor.  Only a
 *    child process calls them: a plugin's constructors run at load time.
 *  - loader_probe(), loader_scan() and loader_find() run loader_open() in a
 *    child process and bring back a copy of what the descriptor says (or why
 *    it was refused), so a crashing plugin cannot take the caller down.
 */
#ifndef CT_LOADER_H
#define CT_LOADER_H

#include <stddef.h>
#include <stdint.h>

#include <caretaker/plugin.h>

struct arena;
struct config;

/* What the host knows of a plugin file, in the host's own memory. */
struct plugin_info {
	const char *name; /* from the file name */
	const char *path;
	const char *version; /* NULL when refused */
	const char *summary;
	const char *help;
	uint32_t abi_version;
	uint32_t flags;
	struct ct_option *options; /* NULL-key terminated, host layout */
	const char *refusal;       /* NULL when usable; otherwise the one-line reason */
	const char *shadowed_by;   /* set when an earlier folder has the same name */
};

struct plugin_list {
	struct plugin_info **items;
	size_t n;
	char **warnings; /* e.g. a missing folder; owned */
	size_t n_warnings;
};

/* Loader policy, from [caretaker] (loader_policy_from_config). */
struct loader_policy {
	const char *const *dirs;
	size_t n_dirs;
	int is_trusting_dirs; /* skip owner/mode checks (containers) */
	int64_t probe_timeout_ms;
	const char *cache_dir; /* where loader_find and loader_scan keep probes; NULL: none */
};

/*
 * The policy [caretaker] asks for: plugin_path, trust_plugin_dirs,
 * probe_timeout, and the probe cache in state_dir/cache.  Strings come from
 * cfg or `a`.  When trust_plugin_dirs is on (and the checks would apply, as
 * root) it warns, once per process: every command that loads plugins comes
 * through here.
 */
void loader_policy_from_config(const struct config *cfg, struct arena *a,
                               struct loader_policy *pol);

/* A plugin loaded in this process. */
struct loaded_plugin {
	void *handle; /* lt_dlhandle */
	int fd;       /* the checked file, kept open while loaded */
	const struct ct_plugin *desc;
};

/*
 * Check and load `path` (absolute) in this process.  On failure returns
 * CT_EPLUGIN (or CT_EPERM for ownership and mode) with the one-line reason in
 * err, and nothing stays loaded.  `name` is what the descriptor's name must
 * be (the file name without ".so").
 */
int loader_open(const char *path, const char *name, const struct loader_policy *pol,
                struct loaded_plugin *out, char *err, size_t err_size);
void loader_close(struct loaded_plugin *lp);

/* Probe one file in a child process; the result comes from `a`. */
struct plugin_info *loader_probe(const char *path, const char *name,
                                 const struct loader_policy *pol, struct arena *a);
/* Probe every NAME.so in every folder; earlier folders win.  Uses the
 * cache as loader_find does. */
void loader_scan(const struct loader_policy *pol, struct arena *a, struct plugin_list *out);
/* Find NAME.so in the folders and probe it; NULL when there is none.
 * With pol->cache_dir, a probe's outcome is kept there under the file's
 * identity (device, inode, size, mtime, ctime) and reused while the file
 * is unchanged, sparing a process per run: the descriptor's copy, or a
 * refusal that comes from the file itself (a hang, crash or exit while
 * loading, a bad descriptor), so a plugin that hangs costs probe_timeout
 * once.  Refusals of the file's place (folders, owner, mode), of what
 * dlopen needs besides the file, and failures to probe at all are not
 * kept.  The job's child loads and checks the file itself every time. */
struct plugin_info *loader_find(const struct loader_policy *pol, const char *name, struct arena *a);
void plugin_list_clear(struct plugin_list *l);

/* Checks of a file and its folders, exposed for tests: 0, or CT_EPERM with
 * the reason.  dir_fd/base: the file; the folders are checked from "/". */
int loader_check_path(const char *path, int is_root, int *fd_out, char *err, size_t err_size);

/* Whether a plugin name is acceptable as a file name part. */
int loader_name_is_valid(const char *name);

#endif
