/*
 * perms_options.c — the perms plugin's option table (what `caretaker
 * describe perms` shows) and reading a job's values into struct
 * perms_opts once, in init: user and group names resolved, octal modes
 * parsed, with the checks the table cannot express.
 *
 * One job is one rule, as in the retention plugin: several rules are
 * several jobs (docs/perms.md, "One rule per job").
 */
#include <errno.h>
#include <stdarg.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "perms.h"
#include "treewalk.h"

const struct ct_option perms_options[] = {
    {.key = "paths",
     .type = CT_OPT_PATH_LIST,
     .help = "the rule's files and folders (absolute); a link among them is reported, never "
             "followed; unset: the job only scans"},
    {.key = "owner",
     .type = CT_OPT_STRING,
     .help = "the user that must own the rule's paths (a name or a number)"},
    {.key = "group",
     .type = CT_OPT_STRING,
     .help = "the group that must own the rule's paths (a name or a number)"},
    {.key = "mode",
     .type = CT_OPT_STRING,
     .help = "the exact mode of the rule's files, in octal (0640, or 640; symbolic "
             "forms as u=rw,g=r are refused)"},
    {.key = "max_mode",
     .type = CT_OPT_STRING,
     .help = "the most the rule's files may allow, in octal (0640: no execute bit, nothing "
             "for others, setuid/setgid/sticky not allowed); fewer bits are fine"},
    {.key = "dir_mode",
     .type = CT_OPT_STRING,
     .help = "the exact mode of the rule's folders (default: mode with the search bit added "
             "wherever it grants read)"},
    {.key = "dir_max_mode",
     .type = CT_OPT_STRING,
     .help = "the most the rule's folders may allow (default: max_mode with the search bit "
             "added wherever it grants read)"},
    {.key = "recursive",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "apply the rule to everything below the folders in paths too (links and "
             "special files are left alone)"},
    {.key = "fix",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "bring owner, group and mode of what the rule names in line (each change is "
             "listed; --dry-run lists only); scan findings are never changed"},
    {.key = "fix_hard_links",
     .type = CT_OPT_BOOL,
     .default_value = "no",
     .help = "with fix, change regular files that have other names (hard links) too; by "
             "default they are a warning and stay as they are, since another name may be "
             "outside the tree"},
    {.key = "scan",
     .type = CT_OPT_PATH_LIST,
     .help = "trees to scan for world-writable entries (folders with the sticky bit "
             "excepted), setuid/setgid files, and secret-looking files readable by group or "
             "others"},
    {.key = "secret_names",
     .type = CT_OPT_LIST,
     .default_value = "*.env, .env, .pgpass",
     .help = "names of files that hold secrets by their name alone (fnmatch patterns); files "
             "of 16 KiB or less starting a PEM private key are secrets whatever their name"},
    {.key = "settings_files",
     .type = CT_OPT_LIST,
     .default_value = "settings.py, settings_*.py, *_settings.py, local_settings.py",
     .help = "names of settings files that are secrets when they hold SECRET_KEY (read up "
             "to 1 MiB)"},
    {.key = "exclude",
     .type = CT_OPT_LIST,
     .help = "entries the scans and a recursive rule leave out (a glob against the path "
             "relative to its tree, or its name; a trailing / matches folders only)"},
    {.key = "max_depth",
     .type = CT_OPT_INT,
     .default_value = "32",
     .min_value = 1,
     .max_value = 256,
     .help = "how deep scans and recursive rules go below their folder"},
    {.key = "one_file_system",
     .type = CT_OPT_BOOL,
     .default_value = "yes",
     .help = "do not enter folders on another file system or mount than the tree's "
             "(find -xdev; bind mounts are left alone too)"},
    {.key = NULL},
};

static int fail(struct plugin_host *h, const char *fmt, ...) CT_PRINTF(2, 3);

static int
fail(struct plugin_host *h, const char *fmt, ...)
{
	char words[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(words, sizeof(words), fmt, ap);
	va_end(ap);
	h->ct->set_status(h->t, CT_STATUS_FAIL, "%s", words);
	return CT_ECONFIG;
}

/* An octal mode option: -1 when unset, or 0..07777. */
static int
read_mode(struct plugin_host *h, const char *key, int *out)
{
	const char *text = plugin_host_opt_str(h, key);
	char *end = NULL;
	long v;

	*out = -1;
	if (text == NULL)
		return 0;
	errno = 0;
	v = strtol(text, &end, 8);
	if (text[0] == '\0' || *end != '\0' || errno != 0 || v < 0 || v > 07777)
		return fail(h, "%s: '%s' is not an octal mode\nhint: 0640", key, text);
	*out = (int)v;
	return 0;
}

/* A user or group number: digits only (strtoul alone would take "-1"),
 * and below (uid_t)-1, which fchownat takes as "leave unchanged": a rule
 * naming it would report a change on every run and make none.  1 when
 * `text` is a number, 0 when it is a name, -1 when it is a number out of
 * range. */
static int
id_number(const char *text, unsigned *id)
{
	unsigned long n;

	if (text[strspn(text, "0123456789")] != '\0')
		return 0;
	errno = 0;
	n = strtoul(text, NULL, 10);
	if (errno != 0 || n >= (unsigned long)(uid_t)-1)
		return -1;
	*id = (unsigned)n;
	return 1;
}

/* A user or group given by name or by number. */
static int
read_id(struct plugin_host *h, const char *key, int is_user, const char **name, unsigned *id)
{
	const char *what = is_user ? "user" : "group";
	const struct passwd *pw = NULL;
	const struct group *gr = NULL;
	int rc;

	*name = plugin_host_opt_str(h, key);
	if (*name == NULL)
		return 0;
	if ((*name)[0] == '\0')
		return fail(h, "%s is empty\nhint: name a %s, or remove the line", key, what);
	rc = id_number(*name, id);
	if (rc > 0)
		return 0;
	if (rc < 0)
		return fail(h, "%s: '%s' is not a %s number (0 to %u)", key, *name, what,
		            (unsigned)((uid_t)-1) - 1);
	if (is_user)
		pw = getpwnam(*name);
	else
		gr = getgrnam(*name);
	if (pw == NULL && gr == NULL)
		return fail(h, "%s: no such %s on this host: %s", key, what, *name);
	*id = pw != NULL ? pw->pw_uid : gr->gr_gid;
	return 0;
}

static int
read_rule(struct plugin_host *h, struct perms_rule *r)
{
	unsigned uid = 0, gid = 0;
	int rc = 0, on = 0;

	plugin_host_opt_list(h, "paths", &r->paths, &r->n_paths);
	(void)h->ct->opt_bool(h->t, "recursive", &on);
	r->is_recursive = on;
	rc = read_id(h, "owner", 1, &r->owner, &uid);
	if (rc == 0)
		rc = read_id(h, "group", 0, &r->group, &gid);
	r->uid = (uid_t)uid;
	r->gid = (gid_t)gid;
	if (rc == 0)
		rc = read_mode(h, "mode", &r->mode);
	if (rc == 0)
		rc = read_mode(h, "max_mode", &r->max_mode);
	if (rc == 0)
		rc = read_mode(h, "dir_mode", &r->dir_mode);
	if (rc == 0)
		rc = read_mode(h, "dir_max_mode", &r->dir_max_mode);
	return rc;
}

/* The rule's paths and the scan trees must be walkable roots: a
 * recursive fix of the root folder ("/", "//") would change the whole
 * system, so only it refuses the root; a scan of "/" is fine. */
static int
check_roots(struct plugin_host *h, const struct perms_opts *o)
{
	const struct perms_rule *r = &o->rule;
	int is_root_allowed = !(r->is_recursive && o->is_fix);
	const char *why;

	for (size_t i = 0; i < r->n_paths; i++) {
		why = treewalk_root_refusal(r->paths[i], is_root_allowed);
		if (why != NULL)
			return fail(h, "paths: '%s' %s%s", r->paths[i], why,
			            is_root_allowed ? "" : " (recursive fix)");
	}
	for (size_t i = 0; i < o->n_scan; i++) {
		why = treewalk_root_refusal(o->scan[i], 1);
		if (why != NULL)
			return fail(h, "scan: '%s' %s", o->scan[i], why);
	}
	return 0;
}

static int
check_rule(struct plugin_host *h, const struct perms_opts *o)
{
	const struct perms_rule *r = &o->rule;
	int has_expectation = r->owner != NULL || r->group != NULL || r->mode >= 0 ||
	                      r->max_mode >= 0 || r->dir_mode >= 0 || r->dir_max_mode >= 0;

	if (r->mode >= 0 && r->max_mode >= 0)
		return fail(h, "mode and max_mode are both set: a rule is exact or at most");
	if (r->n_paths == 0 && has_expectation)
		return fail(h, "owner, group or a mode is set but paths is empty: the rule checks "
		               "nothing\nhint: paths = /var/log/app");
	if (r->n_paths > 0 && !has_expectation)
		return fail(h, "paths is set but no owner, group or mode to check\n"
		               "hint: max_mode = 0640");
	if (r->n_paths == 0 && o->n_scan == 0)
		return fail(h, "neither paths nor scan is set: nothing to check");
	return check_roots(h, o);
}

int
perms_opts_read(struct plugin_host *h, struct perms_opts *o)
{
	int on = 0, rc;

	rc = read_rule(h, &o->rule);
	(void)h->ct->opt_bool(h->t, "fix", &on);
	o->is_fix = on;
	on = 0;
	(void)h->ct->opt_bool(h->t, "fix_hard_links", &on);
	o->is_fix_hard_links = on;
	plugin_host_opt_list(h, "scan", &o->scan, &o->n_scan);
	plugin_host_opt_list(h, "secret_names", &o->secret_names, &o->n_secret_names);
	plugin_host_opt_list(h, "settings_files", &o->settings_files, &o->n_settings_files);
	plugin_host_opt_list(h, "exclude", &o->exclude, &o->n_exclude);
	o->max_depth = plugin_host_opt_int(h, "max_depth", 32);
	on = 1;
	(void)h->ct->opt_bool(h->t, "one_file_system", &on);
	o->is_one_file_system = on;
	return rc != 0 ? rc : check_rule(h, o);
}
