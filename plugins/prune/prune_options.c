/*
 * prune_options.c — the prune plugin's option table (what `caretaker
 * describe prune` shows) and reading a job's values into struct
 * prune_opts once, in init, with the checks the table cannot express.
 */
#include <stdio.h>
#include <string.h>

#include <caretaker/plugin.h>

#include "prune.h"
#include "treewalk.h"

const struct ct_option prune_options[] = {
    {.key = "paths",
     .type = CT_OPT_PATH_LIST,
     .flags = CT_OPTF_REQUIRED,
     .help = "absolute globs of the files to prune (/var/log/app/*.log.*): the folder before "
             "the first glob character is walked and the rest matched against each path below "
             "it ('*' stops at '/'); a folder without a glob means every regular file below it "
             "(max_depth); keep_min and max_total_size count per item; '**', '.' and '..' are "
             "refused, and so is a glob that would walk /"},
    {.key = "older_than",
     .type = CT_OPT_DURATION,
     .help = "a file whose modification time is older than this goes (30d); unset: age alone "
             "removes nothing (max_total_size must then be set)"},
    {.key = "keep_min",
     .type = CT_OPT_INT,
     .default_value = "0",
     .min_value = 0,
     .max_value = 1000000,
     .help = "the newest N files of each paths item stay whatever their age and size"},
    {.key = "max_total_size",
     .type = CT_OPT_SIZE,
     .help = "the most the files of each paths item may hold together (10G): counting from the "
             "newest, every file past the limit goes, oldest first, keep_min still honoured"},
    {.key = "max_depth",
     .type = CT_OPT_INT,
     .default_value = "32",
     .min_value = 1,
     .max_value = 256,
     .help = "how deep below a folder given without a glob the walk goes (a glob's depth is "
             "its own)"},
    {.key = "one_file_system",
     .type = CT_OPT_BOOL,
     .default_value = "yes",
     .help = "do not enter folders on another file system or mount than the walked folder "
             "(find -xdev; bind mounts are left alone too)"},
    {.key = NULL},
};

/* Why a `paths` item cannot be walked safely, or NULL.  "//", "/." and
 * "/tmp/.." name the root folder as surely as "/" does, so the folder is
 * judged by its components, not by its spelling; "**" would silently
 * mean "*" to fnmatch. */
static const char *
path_refusal(const char *glob)
{
	if (glob[0] == '/' && strstr(glob, "**") != NULL)
		return "uses '**', which is not supported ('*' does not cross '/')\n"
		       "hint: name the folder without a glob to prune every file below it";
	return treewalk_root_refusal(glob, 0);
}

static int
check_paths(struct plugin_host *h, const struct prune_opts *o)
{
	/* The host requires the key, not a value: "paths =" gives no item,
	 * and a run that walks nothing would report ok every week. */
	if (o->n_paths == 0) {
		h->ct->set_status(h->t, CT_STATUS_FAIL,
		                  "paths is empty: nothing to prune\n"
		                  "hint: paths = /var/log/app/*.log.*");
		return CT_ECONFIG;
	}
	for (size_t i = 0; i < o->n_paths; i++) {
		const char *why = path_refusal(o->paths[i]);

		if (why != NULL) {
			h->ct->set_status(h->t, CT_STATUS_FAIL, "paths: '%s' %s", o->paths[i], why);
			return CT_ECONFIG;
		}
	}
	return 0;
}

int
prune_opts_read(struct plugin_host *h, struct prune_opts *o)
{
	uint64_t max_bytes = 0;
	int one_fs = 1;

	plugin_host_opt_list(h, "paths", &o->paths, &o->n_paths);
	o->older_than_ms = plugin_host_opt_ms(h, "older_than", -1);
	o->keep_min = plugin_host_opt_int(h, "keep_min", 0);
	o->max_depth = plugin_host_opt_int(h, "max_depth", 32);
	o->max_total_bytes = -1;
	if (h->ct->opt_size_bytes(h->t, "max_total_size", &max_bytes) == CT_OK)
		o->max_total_bytes = max_bytes > INT64_MAX ? INT64_MAX : (int64_t)max_bytes;
	(void)h->ct->opt_bool(h->t, "one_file_system", &one_fs);
	o->is_one_file_system = one_fs;
	plugin_host_duration_words(o->older_than_ms, o->older_than, sizeof(o->older_than));
	if (o->older_than_ms < 0 && o->max_total_bytes < 0) {
		h->ct->set_status(h->t, CT_STATUS_FAIL,
		                  "neither older_than nor max_total_size is set: nothing would go\n"
		                  "hint: older_than = 30d");
		return CT_ECONFIG;
	}
	return check_paths(h, o);
}
