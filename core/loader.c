/*
 * loader.c — plugin files: checks, eager loading, descriptor validation, and
 * probing in a child process (see loader.h).
 *
 * Why a loader of our own inside libltdl: libltdl's dlopen loader binds
 * lazily, so a plugin that calls a missing function loads fine and crashes at
 * the call, and a later dlopen(RTLD_NOW | RTLD_NOLOAD) does not rebind it.
 * We register a loader that calls dlopen(RTLD_NOW | RTLD_LOCAL), remove the
 * stock ones, and keep dlerror()'s words, because lt_dlerror() would only say
 * "file not found".
 *
 * Why /proc/self/fd: the file is opened once with O_NOFOLLOW, its owner and
 * mode (and its folders') are checked on that descriptor, and the very same
 * open file is handed to the dynamic loader, so it cannot be swapped between
 * check and load.  The descriptor stays open while the module is loaded:
 * libltdl reuses a handle when it sees the same file name again, and a
 * closed descriptor's number could name another plugin later.
 */
#include "autoconf.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <ltdl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "arena.h"
#include "config.h"
#include "fdio.h"
#include "loader.h"
#include "log.h"
#include "options.h"
#include "proc.h"
#include "utf8.h"
#include "xmalloc.h"

#define LOADER_NAME "caretaker-now"

static char loader_dlerror[512];

static lt_module
eager_open(lt_user_data data, const char *filename, lt_dladvise advise)
{
	void *h;

	(void)data;
	(void)advise;
	h = dlopen(filename, RTLD_NOW | RTLD_LOCAL);
	if (h == NULL) {
		const char *e = dlerror();

		snprintf(loader_dlerror, sizeof(loader_dlerror), "%s", e ? e : "dlopen failed");
	}
	return h;
}

static int
eager_close(lt_user_data data, lt_module module)
{
	(void)data;
	return dlclose(module);
}

static void *
eager_sym(lt_user_data data, lt_module module, const char *name)
{
	(void)data;
	return dlsym(module, name);
}

static const lt_dlvtable eager_vtable = {
    .name = LOADER_NAME,
    .module_open = eager_open,
    .module_close = eager_close,
    .find_sym = eager_sym,
    .priority = LT_DLLOADER_PREPEND,
};

/* Once per process: libltdl with our loader as the only one. */
static int
loader_init(char *err, size_t err_size)
{
	static int is_ready;

	if (is_ready)
		return 0;
	if (lt_dlinit() != 0 || lt_dlloader_add(&eager_vtable) != 0) {
		snprintf(err, err_size, "libltdl: %s", lt_dlerror());
		return CT_EPLUGIN;
	}
	/* Without these, a failed eager open would be retried lazily.  The
	 * removed vtables were allocated by libltdl and are ours to free. */
	free(lt_dlloader_remove("lt_dlopen"));
	free(lt_dlloader_remove("lt_preopen"));
	is_ready = 1;
	return 0;
}

void
loader_policy_from_config(const struct config *cfg, struct arena *a, struct loader_policy *pol)
{
	static int is_trust_said;

	memset(pol, 0, sizeof(*pol));
	pol->dirs = cfg->settings.plugin_path;
	pol->n_dirs = cfg->settings.n_plugin_path;
	pol->is_trusting_dirs = cfg->settings.is_trusting_plugin_dirs;
	pol->probe_timeout_ms = cfg->settings.probe_timeout_ms;
	pol->cache_dir = arena_sprintf(a, "%s/cache", cfg->settings.state_dir);
	/* Every command that loads plugins builds its policy here, so this is
	 * the one place that says what trusting the folders gives up. */
	if (pol->is_trusting_dirs && geteuid() == 0 && !is_trust_said) {
		log_warn("trust_plugin_dirs = yes: plugin files and folders are loaded without "
		         "owner and mode checks; use it only in containers where nobody else "
		         "can write them");
		is_trust_said = 1;
	}
}

int
loader_name_is_valid(const char *name)
{
	size_t len = strlen(name);

	if (len == 0 || len > 64)
		return 0;
	return strspn(name, "abcdefghijklmnopqrstuvwxyz0123456789_-") == len;
}

/* A folder or file is safe when root owns it and only root can change it.
 * A root-owned sticky folder (/tmp) is accepted as a parent: others can add
 * entries there but cannot replace ours. */
static int
mode_is_safe(const struct stat *st, int is_dir, const char *what, const char *path, char *err,
             size_t err_size)
{
	if (st->st_uid != 0) {
		snprintf(err, err_size, "%s %s is owned by uid %u, not root", what, path,
		         (unsigned)st->st_uid);
		return CT_EPERM;
	}
	if ((st->st_mode & (S_IWGRP | S_IWOTH)) && !(is_dir && (st->st_mode & S_ISVTX))) {
		snprintf(err, err_size, "%s %s is writable by %s", what, path,
		         (st->st_mode & S_IWOTH) ? "everyone" : "its group");
		return CT_EPERM;
	}
	return 0;
}

/* Walk from "/" to the file's folder with openat(O_NOFOLLOW), checking each
 * folder on its own descriptor; return the folder's descriptor. */
static int
walk_dirs(const char *dir, int is_root, int *dir_fd, char *err, size_t err_size)
{
	char *copy = xstrdup(dir), *save = NULL, *part;
	int fd = open("/", O_PATH | O_DIRECTORY | O_CLOEXEC), rc = 0;
	struct stat st;
	size_t used = 0;
	char sofar[PATH_MAX] = "";

	for (part = strtok_r(copy, "/", &save); fd >= 0; part = strtok_r(NULL, "/", &save)) {
		if (fstat(fd, &st) != 0) {
			snprintf(err, err_size, "cannot stat %s/: %s", sofar, strerror(errno));
			rc = CT_EPLUGIN;
			break;
		}
		rc =
		    is_root ? mode_is_safe(&st, 1, "folder", used ? sofar : "/", err, err_size) : 0;
		if (rc != 0 || part == NULL)
			break;
		used += (size_t)snprintf(sofar + used, sizeof(sofar) - used, "/%s", part);
		int next = openat(fd, part, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		close(fd);
		fd = next;
	}
	free(copy);
	if (fd < 0 && rc == 0) {
		snprintf(err, err_size, "cannot open folder %s: %s", sofar,
		         errno == ELOOP || errno == ENOTDIR ? "a symbolic link or not a folder"
		                                            : strerror(errno));
		return CT_EPLUGIN;
	}
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*dir_fd = fd;
	return 0;
}

int
loader_check_path(const char *path, int is_root, int *fd_out, char *err, size_t err_size)
{
	const char *slash = strrchr(path, '/');
	char *dir;
	int dir_fd = -1, fd = -1, rc;
	struct stat st;

	if (path[0] != '/' || slash == NULL) {
		snprintf(err, err_size, "not an absolute path");
		return CT_EPLUGIN;
	}
	dir = slash == path ? xstrdup("/") : xstrndup(path, (size_t)(slash - path));
	rc = walk_dirs(dir, is_root, &dir_fd, err, err_size);
	free(dir);
	if (rc != 0)
		return rc;
	fd = openat(dir_fd, slash + 1, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	close(dir_fd);
	if (fd < 0) {
		snprintf(err, err_size, "cannot open: %s",
		         errno == ELOOP ? "it is a symbolic link (not followed)" : strerror(errno));
		return CT_EPLUGIN;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		snprintf(err, err_size, "not a regular file");
		close(fd);
		return CT_EPLUGIN;
	}
	rc = is_root ? mode_is_safe(&st, 0, "file", path, err, err_size) : 0;
	if (rc != 0) {
		close(fd);
		return rc;
	}
	*fd_out = fd;
	return 0;
}

static int
descriptor_check_abi(const struct ct_plugin *d, char *err, size_t err_size)
{
	if (d->size < 2 * sizeof(uint32_t)) {
		snprintf(err, err_size, "descriptor too small: %u bytes", d->size);
		return CT_EPLUGIN;
	}
	if (CT_ABI_MAJOR_OF(d->abi_version) != CT_ABI_MAJOR) {
		snprintf(err, err_size,
		         "ABI mismatch: caretaker is version %u.%u, plugin is version %u.%u; "
		         "rebuild it against caretaker-plugin %u.x",
		         CT_ABI_MAJOR, CT_ABI_MINOR, CT_ABI_MAJOR_OF(d->abi_version),
		         CT_ABI_MINOR_OF(d->abi_version), CT_ABI_MAJOR);
		return CT_EPLUGIN;
	}
	if (d->size < CT_PLUGIN_MIN_SIZE) {
		snprintf(err, err_size, "descriptor too small: %u bytes, ABI %u needs at least %zu",
		         d->size, CT_ABI_MAJOR, (size_t)CT_PLUGIN_MIN_SIZE);
		return CT_EPLUGIN;
	}
	return 0;
}

static int
descriptor_check_facts(const struct ct_plugin *d, char *err, size_t err_size)
{
	const char *what = NULL;
	unsigned plugin_has = 0, host_has = 0;

	if (d->sizeof_pointer != sizeof(void *))
		what = "pointer", plugin_has = d->sizeof_pointer, host_has = sizeof(void *);
	else if (d->sizeof_time_t != sizeof(time_t))
		what = "time_t", plugin_has = d->sizeof_time_t, host_has = sizeof(time_t);
	else if (d->sizeof_off_t != sizeof(off_t))
		what = "off_t", plugin_has = d->sizeof_off_t, host_has = sizeof(off_t);
	else if (d->option_size < offsetof(struct ct_option, help) + sizeof(char *))
		what = "struct ct_option", plugin_has = d->option_size,
		host_has = sizeof(struct ct_option);
	if (what == NULL)
		return 0;
	snprintf(err, err_size,
	         "built with a %u-byte %s, caretaker has %u bytes: "
	         "rebuild it with the host's compiler flags",
	         plugin_has, what, host_has);
	return CT_EPLUGIN;
}

static int
descriptor_check(const struct ct_plugin *d, const char *name, char *err, size_t err_size)
{
	int rc = descriptor_check_abi(d, err, err_size);

	if (rc == 0)
		rc = descriptor_check_facts(d, err, err_size);
	if (rc != 0)
		return rc;
	if (d->name == NULL || strcmp(d->name, name) != 0) {
		snprintf(err, err_size, "descriptor names the plugin '%s' but the file is %s.so",
		         d->name ? d->name : "(null)", name);
		return CT_EPLUGIN;
	}
	if (d->init == NULL || d->run == NULL || d->report == NULL) {
		snprintf(err, err_size, "descriptor lacks an init, run or report function");
		return CT_EPLUGIN;
	}
	return 0;
}

/* dlerror() names the file as the dynamic loader saw it, /proc/self/fd/N,
 * which tells the operator nothing: write the plugin's path in its place,
 * wherever it appears (and not in /proc/self/fd/N0...). */
static void
error_name_file(const char *msg, const char *proc_path, const char *path, char *out,
                size_t out_size)
{
	size_t used = 0, proc_len = strlen(proc_path);
	const char *hit = strstr(msg, proc_path);

	out[0] = '\0';
	while (hit != NULL && used < out_size) {
		int is_whole = hit[proc_len] < '0' || hit[proc_len] > '9';

		used += (size_t)snprintf(out + used, out_size - used, "%.*s%s", (int)(hit - msg),
		                         msg, is_whole ? path : proc_path);
		msg = hit + proc_len;
		hit = strstr(msg, proc_path);
	}
	if (used < out_size)
		snprintf(out + used, out_size - used, "%s", msg);
}

/* Load the checked descriptor; on failure the reason names `path`. */
static int
load_descriptor(int fd, const char *path, lt_dlhandle *out, char *err, size_t err_size)
{
	char proc_path[64], why[1024];

	snprintf(proc_path, sizeof(proc_path), "/proc/self/fd/%d", fd);
	loader_dlerror[0] = '\0';
	*out = lt_dlopen(proc_path);
	if (*out != NULL)
		return 0;
	error_name_file(loader_dlerror[0] ? loader_dlerror : lt_dlerror(), proc_path, path, why,
	                sizeof(why));
	snprintf(err, err_size, "cannot load: %s", why);
	return CT_EPLUGIN;
}

/* The descriptor of a loaded file, checked; on failure the reason. */
static int
descriptor_find(lt_dlhandle h, const char *name, const struct ct_plugin **out, char *err,
                size_t err_size)
{
	const struct ct_plugin *d = lt_dlsym(h, CT_PLUGIN_SYMBOL);
	int rc;

	if (d == NULL) {
		snprintf(err, err_size,
		         "no descriptor: the symbol %s is missing "
		         "(not a caretaker plugin, or not built with CT_PLUGIN_DEFINE)",
		         CT_PLUGIN_SYMBOL);
		return CT_EPLUGIN;
	}
	rc = descriptor_check(d, name, err, err_size);
	if (rc == 0)
		*out = d;
	return rc;
}

/*
 * loader_open(), saying whether a refusal is lasting: one that comes from
 * what the file holds (its descriptor), and so holds while the file is
 * unchanged.  A refusal of its place (folders, owner, mode) or of what
 * dlopen() needs besides the file (a library not installed yet) is not.
 */
static int
open_plugin(const char *path, const char *name, const struct loader_policy *pol,
            struct loaded_plugin *out, int *is_lasting, char *err, size_t err_size)
{
	int is_root = geteuid() == 0 && !pol->is_trusting_dirs;
	lt_dlhandle h = NULL;
	const struct ct_plugin *d = NULL;
	int fd = -1, rc;

	*is_lasting = 0;
	rc = loader_init(err, err_size);
	if (rc == 0)
		rc = loader_check_path(path, is_root, &fd, err, err_size);
	if (rc == 0)
		rc = load_descriptor(fd, path, &h, err, err_size);
	if (rc == 0) {
		rc = descriptor_find(h, name, &d, err, err_size);
		*is_lasting = rc != 0;
	}
	if (rc != 0) {
		if (h != NULL)
			lt_dlclose(h);
		if (fd >= 0)
			close(fd);
		return rc;
	}
	out->handle = h;
	out->fd = fd;
	out->desc = d;
	return 0;
}

int
loader_open(const char *path, const char *name, const struct loader_policy *pol,
            struct loaded_plugin *out, char *err, size_t err_size)
{
	int is_lasting;

	return open_plugin(path, name, pol, out, &is_lasting, err, err_size);
}

void
loader_close(struct loaded_plugin *lp)
{
	if (lp == NULL || lp->handle == NULL)
		return;
	lt_dlclose(lp->handle);
	close(lp->fd);
	lp->handle = NULL;
	lp->fd = -1;
	lp->desc = NULL;
}

/* ---- probing in a child ------------------------------------------------ */

static json_t *
json_str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
options_to_json(const struct ct_plugin *d)
{
	json_t *arr = json_array();
	const char *base = (const char *)d->options;

	for (size_t i = 0; base != NULL; i++) {
		struct ct_option o = {0};

		memcpy(&o, base + i * d->option_size,
		       d->option_size < sizeof(o) ? d->option_size : sizeof(o));
		if (o.key == NULL)
			break;
		json_array_append_new(
		    arr,
		    json_pack("{s:s, s:i, s:I, s:o, s:o, s:I, s:I, s:o}", "key", o.key, "type",
		              o.type, "flags", (json_int_t)o.flags, "default",
		              json_str_or_null(o.default_value), "choices",
		              json_str_or_null(o.choices), "min", (json_int_t)o.min_value, "max",
		              (json_int_t)o.max_value, "help", json_str_or_null(o.help)));
	}
	return arr;
}

static json_t *
descriptor_to_json(const struct ct_plugin *d)
{
	const char *help = NULL;

	if (d->size > offsetof(struct ct_plugin, help))
		help = d->help;
	return json_pack("{s:s, s:o, s:o, s:o, s:I, s:I, s:o}", "name", d->name, "version",
	                 json_str_or_null(d->version), "summary", json_str_or_null(d->summary),
	                 "help", json_str_or_null(help), "abi", (json_int_t)d->abi_version, "flags",
	                 (json_int_t)d->flags, "options", options_to_json(d));
}

static void
probe_child(const char *path, const char *name, const struct loader_policy *pol, int out_fd)
{
	struct loaded_plugin lp = {0};
	char err[1024];
	int is_lasting = 0;
	json_t *j;
	char *text;

	if (open_plugin(path, name, pol, &lp, &is_lasting, err, sizeof(err)) != 0)
		j = json_pack("{s:s, s:b}", "refusal", err, "lasting", is_lasting);
	else
		j = descriptor_to_json(lp.desc);
	text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	if (text == NULL)
		text = xstrdup("{\"refusal\":\"its descriptor holds text that is not UTF-8\","
		               "\"lasting\":true}");
	fdio_write_all(out_fd, text, strlen(text), FDIO_NO_OFFSET, NULL, 0);
	proc_child_exit(0);
}

static const char *
json_dup(struct arena *a, json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? arena_strdup(a, s) : NULL;
}

/* A string a person reads (summary, help, a refusal's words), with the
 * control characters a plugin file could smuggle in made visible: it goes
 * to the terminal from `plugins`, `describe` and `check`. */
static const char *
json_dup_text(struct arena *a, json_t *obj, const char *key, unsigned flags)
{
	const char *s = json_string_value(json_object_get(obj, key));
	char *safe;
	const char *kept;

	if (s == NULL)
		return NULL;
	safe = utf8_escape(s, flags);
	kept = arena_strdup(a, safe);
	free(safe);
	return kept;
}

static void
options_from_json(struct plugin_info *info, json_t *arr, struct arena *a)
{
	size_t n = json_array_size(arr);

	info->options = arena_alloc(a, (n + 1) * sizeof(*info->options));
	for (size_t i = 0; i < n; i++) {
		json_t *o = json_array_get(arr, i);
		struct ct_option *dst = &info->options[i];

		dst->key = json_dup(a, o, "key");
		dst->type = (int)json_integer_value(json_object_get(o, "type"));
		dst->flags = (uint32_t)json_integer_value(json_object_get(o, "flags"));
		dst->default_value = json_dup(a, o, "default");
		dst->choices = json_dup(a, o, "choices");
		dst->min_value = json_integer_value(json_object_get(o, "min"));
		dst->max_value = json_integer_value(json_object_get(o, "max"));
		dst->help = json_dup_text(a, o, "help", 0);
	}
}

/* Check the option table once, in the host, after the copy. */
static const char *
options_check(const struct plugin_info *info, struct arena *a)
{
	for (const struct ct_option *o = info->options; o && o->key; o++) {
		if (o->type <= 0 || o->type >= CT_OPT__LAST)
			return arena_sprintf(a, "option '%s' has unknown type %d", o->key, o->type);
		if (o->type == CT_OPT_ENUM && (o->choices == NULL || o->choices[0] == '\0'))
			return arena_sprintf(a, "enum option '%s' has no choices", o->key);
		for (const struct ct_option *p = info->options; p < o; p++)
			if (strcmp(p->key, o->key) == 0)
				return arena_sprintf(a, "option '%s' is declared twice", o->key);
	}
	return NULL;
}

/* Fill `info` from a probe's reply: a descriptor copy or a refusal. */
static void
info_from_reply(struct plugin_info *info, json_t *j, struct arena *a)
{
	info->refusal = json_dup_text(a, j, "refusal", 0);
	if (info->refusal != NULL)
		return;
	info->version = json_dup_text(a, j, "version", 0);
	info->summary = json_dup_text(a, j, "summary", 0);
	info->help = json_dup_text(a, j, "help", UTF8_ESCAPE_KEEP_LINES);
	info->abi_version = (uint32_t)json_integer_value(json_object_get(j, "abi"));
	info->flags = (uint32_t)json_integer_value(json_object_get(j, "flags"));
	options_from_json(info, json_object_get(j, "options"), a);
	info->refusal = options_check(info, a);
}

/*
 * Read the child's reply into `info`.  Returns what the cache may keep of
 * it (a new reference), or NULL: a refusal that is not lasting (see
 * open_plugin) is probed again next time.
 */
static json_t *
info_from_child(struct plugin_info *info, const char *text, struct arena *a)
{
	json_t *j = json_loads(text, 0, NULL);

	if (!json_is_object(j)) {
		info->refusal = "the probe returned nothing readable";
		json_decref(j);
		return NULL;
	}
	info_from_reply(info, j, a);
	if (json_object_get(j, "refusal") != NULL && !json_is_true(json_object_get(j, "lasting"))) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* The words for a probe child that did not end well; NULL when it did. */
static const char *
probe_status_words(int status, int is_timed_out, const struct loader_policy *pol, struct arena *a)
{
	char took[32];

	if (is_timed_out) {
		value_format_duration(pol->probe_timeout_ms, took, sizeof(took));
		return arena_sprintf(a, "hung while loading: killed after %s (probe_timeout)",
		                     took);
	}
	if (WIFSIGNALED(status))
		return arena_sprintf(a, "crashed while loading (%s)",
		                     proc_signal_name(WTERMSIG(status)));
	if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
		return arena_sprintf(a, "exited with status %d while loading", WEXITSTATUS(status));
	return NULL;
}

static struct plugin_info *
info_new(const char *path, const char *name, struct arena *a)
{
	struct plugin_info *info = arena_alloc(a, sizeof(*info));

	info->name = arena_strdup(a, name);
	info->path = arena_strdup(a, path);
	return info;
}

/*
 * Probe in a child.  *keep gets what the cache may keep of the outcome (a
 * new reference) or NULL.  A hang, a crash or an exit while loading is the
 * file's constructors' doing and is kept, with the timeout it was given;
 * a failed pipe or fork says nothing about the file and is not.
 */
static struct plugin_info *
probe_capture(const char *path, const char *name, const struct loader_policy *pol, struct arena *a,
              json_t **keep)
{
	struct plugin_info *info = info_new(path, name, a);
	struct proc_capture cap = {0};
	int status = 0, is_timed_out = 0;
	int fds[2];
	pid_t pid;

	*keep = NULL;
	if (pipe2(fds, O_CLOEXEC) != 0) {
		info->refusal = arena_sprintf(a, "cannot probe: pipe: %s", strerror(errno));
		return info;
	}
	pid = fork();
	if (pid == 0) {
		close(fds[0]);
		proc_child_exit_guard();
		proc_child_quiet();
		probe_child(path, name, pol, fds[1]);
	}
	close(fds[1]);
	if (pid < 0) {
		close(fds[0]);
		info->refusal = arena_sprintf(a, "cannot probe: fork: %s", strerror(errno));
		return info;
	}
	proc_read_until_exit(fds[0], pid, pol->probe_timeout_ms, 1 << 20, &cap, &status,
	                     &is_timed_out);
	close(fds[0]);
	info->refusal = probe_status_words(status, is_timed_out, pol, a);
	if (info->refusal != NULL)
		*keep = json_pack("{s:s, s:I}", "refusal", info->refusal, "probe_timeout_ms",
		                  (json_int_t)pol->probe_timeout_ms);
	else
		*keep = info_from_child(info, cap.data ? cap.data : "", a);
	free(cap.data);
	return info;
}

struct plugin_info *
loader_probe(const char *path, const char *name, const struct loader_policy *pol, struct arena *a)
{
	json_t *keep = NULL;
	struct plugin_info *info = probe_capture(path, name, pol, a, &keep);

	json_decref(keep);
	return info;
}

/* ---- the probe cache ---------------------------------------------------- */

/*
 * state_dir/cache/NAME.json keeps one probe's outcome under the file's
 * identity, so a usable plugin costs no process and a plugin that hangs
 * while loading costs its probe_timeout once, not at every command.  An
 * entry is only a hint: one that does not match in every respect (file
 * identity, path, this caretaker) is ignored and replaced.  It holds what
 * the plugin file tells anyone who can read it, so it is readable by others
 * only when the file is.  The folder lies in state_dir, which only root
 * writes, but an entry is still opened as if someone had planted a FIFO or
 * a link there: without blocking and without following links.
 */

#define CACHE_MAX_BYTES (4u << 20)
#define CACHE_HOST "caretaker " PACKAGE_VERSION

/* The identity a cached probe must match. */
static char *
cache_key(const struct stat *st)
{
	return xasprintf("%llu:%llu:%lld:%lld.%09ld:%lld.%09ld", (unsigned long long)st->st_dev,
	                 (unsigned long long)st->st_ino, (long long)st->st_size,
	                 (long long)st->st_mtim.tv_sec, st->st_mtim.tv_nsec,
	                 (long long)st->st_ctim.tv_sec, st->st_ctim.tv_nsec);
}

/* One read of the whole entry, then the parse: json_loadfd reads a byte
 * per system call. */
static json_t *
cache_parse_fd(int fd, size_t size)
{
	char *buf = xmalloc(size + 1);
	ssize_t n = pread(fd, buf, size + 1, 0);
	json_t *j = n > 0 && (size_t)n <= size ? json_loadb(buf, (size_t)n, 0, NULL) : NULL;

	free(buf);
	return j;
}

/* The entry as JSON, or NULL when there is none or it is not a regular
 * file (said once, naming it: the probe's new entry replaces it). */
static json_t *
cache_load(const char *cache_path)
{
	int fd = open(cache_path, O_RDONLY | O_NONBLOCK | O_NOFOLLOW | O_CLOEXEC);
	json_t *j = NULL;
	struct stat st;

	if (fd < 0) {
		if (errno == ELOOP)
			log_warn("probe cache %s is a symbolic link: ignored", cache_path);
		return NULL;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
		log_warn("probe cache %s is not a regular file: ignored", cache_path);
	else if (st.st_size <= CACHE_MAX_BYTES)
		j = cache_parse_fd(fd, (size_t)st.st_size);
	close(fd);
	return j;
}

static int
json_string_is(json_t *obj, const char *key, const char *want)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s != NULL && strcmp(s, want) == 0;
}

/* A kept hang stands only while the timeout is not longer than it had. */
static int
cache_probe_holds(json_t *probe, const struct loader_policy *pol)
{
	json_t *ms = json_object_get(probe, "probe_timeout_ms");

	return json_is_object(probe) &&
	       (ms == NULL || json_integer_value(ms) >= pol->probe_timeout_ms);
}

static struct plugin_info *
cache_read(const char *cache_path, const char *key, const char *path, const char *name,
           const struct loader_policy *pol, struct arena *a)
{
	json_t *j = cache_load(cache_path);
	json_t *probe = json_object_get(j, "probe");
	struct plugin_info *info = NULL;

	if (json_string_is(j, "host", CACHE_HOST) && json_string_is(j, "key", key) &&
	    json_string_is(j, "path", path) && cache_probe_holds(probe, pol)) {
		info = info_new(path, name, a);
		info_from_reply(info, probe, a);
		if (json_object_get(probe, "refusal") != NULL)
			info->refusal = arena_sprintf(a, "%s (remembered until the file changes)",
			                              info->refusal);
	}
	json_decref(j);
	return info;
}

/* Replace the entry atomically; a failure only costs a probe next time. */
static void
cache_write(const char *cache_dir, const char *cache_path, json_t *entry, int is_private)
{
	char *tmp = xasprintf("%s.%ld.tmp", cache_path, (long)getpid());
	int fd, is_written;

	if (mkdir(cache_dir, 0755) != 0 && errno != EEXIST)
		goto out;
	unlink(tmp);
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	          is_private ? 0600 : 0644);
	if (fd < 0)
		goto out;
	is_written = json_dumpfd(entry, fd, JSON_COMPACT) == 0;
	is_written &= close(fd) == 0;
	if (!is_written || rename(tmp, cache_path) != 0)
		unlink(tmp);
out:
	free(tmp);
}

static struct plugin_info *
find_cached(const struct loader_policy *pol, const char *path, const char *name, struct arena *a)
{
	char *cache_path = xasprintf("%s/%s.json", pol->cache_dir, name);
	struct plugin_info *info = NULL;
	json_t *keep = NULL, *entry = NULL;
	struct stat st;
	char *key = NULL;

	if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
		info = loader_probe(path, name, pol, a);
		goto out;
	}
	key = cache_key(&st);
	info = cache_read(cache_path, key, path, name, pol, a);
	if (info != NULL)
		goto out;
	info = probe_capture(path, name, pol, a, &keep);
	if (keep != NULL)
		entry = json_pack("{s:s, s:s, s:s, s:O}", "host", CACHE_HOST, "key", key, "path",
		                  path, "probe", keep);
	if (entry != NULL)
		cache_write(pol->cache_dir, cache_path, entry, !(st.st_mode & S_IROTH));
out:
	json_decref(entry);
	json_decref(keep);
	free(key);
	free(cache_path);
	return info;
}

/* Probe one file, through the cache when the policy has one. */
static struct plugin_info *
probe_file(const struct loader_policy *pol, const char *path, const char *name, struct arena *a)
{
	if (pol->cache_dir != NULL)
		return find_cached(pol, path, name, a);
	return loader_probe(path, name, pol, a);
}

/* ---- finding plugins in the folders -------------------------------------- */

static int
so_name_filter(const struct dirent *d)
{
	size_t len = strlen(d->d_name);

	return d->d_name[0] != '.' && len > 3 && strcmp(d->d_name + len - 3, ".so") == 0;
}

static struct plugin_info *
list_find(const struct plugin_list *l, const char *name)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->items[i]->name, name) == 0 && l->items[i]->shadowed_by == NULL)
			return l->items[i];
	return NULL;
}

static void
scan_entry(const struct loader_policy *pol, const char *dir, const char *file, struct arena *a,
           struct plugin_list *out)
{
	char *name = arena_strndup(a, file, strlen(file) - 3);
	char *path = arena_sprintf(a, "%s/%s", dir, file);
	struct plugin_info *winner = list_find(out, name), *info;

	if (winner != NULL) {
		info = info_new(path, name, a);
		info->shadowed_by = winner->path;
		info->refusal = arena_sprintf(a, "a plugin of the same name comes first: %s wins",
		                              winner->path);
	} else if (!loader_name_is_valid(name)) {
		info = info_new(path, name, a);
		info->refusal = "file name must be NAME.so with NAME of [a-z0-9_-]";
	} else {
		info = probe_file(pol, path, name, a);
	}
	xarray_push((void ***)&out->items, &out->n, info);
}

void
loader_scan(const struct loader_policy *pol, struct arena *a, struct plugin_list *out)
{
	for (size_t d = 0; d < pol->n_dirs; d++) {
		struct dirent **names = NULL;
		int n = scandir(pol->dirs[d], &names, so_name_filter, alphasort);

		if (n < 0)
			xarray_push(
			    (void ***)&out->warnings, &out->n_warnings,
			    xasprintf("plugin folder %s: %s", pol->dirs[d], strerror(errno)));
		for (int i = 0; i < n; i++) {
			scan_entry(pol, pol->dirs[d], names[i]->d_name, a, out);
			free(names[i]);
		}
		free(names);
	}
}

struct plugin_info *
loader_find(const struct loader_policy *pol, const char *name, struct arena *a)
{
	if (!loader_name_is_valid(name))
		return NULL;
	for (size_t d = 0; d < pol->n_dirs; d++) {
		char *path = arena_sprintf(a, "%s/%s.so", pol->dirs[d], name);
		struct stat st;

		if (lstat(path, &st) == 0)
			return probe_file(pol, path, name, a);
	}
	return NULL;
}

void
plugin_list_clear(struct plugin_list *l)
{
	for (size_t i = 0; i < l->n_warnings; i++)
		free(l->warnings[i]);
	free(l->warnings);
	free(l->items);
	memset(l, 0, sizeof(*l));
}
