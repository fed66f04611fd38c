/*
 * backupset.c — listing the backups in a folder (see backupset.h).
 *
 * One readdir() pass collects the names; manifests are loaded first, so
 * that a backup file can be told apart from an orphan by whether some
 * manifest names it.  Nothing here deletes: retention's deletions are the
 * backup plugin's, after it has shown the user why.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "backupset.h"
#include "durable.h"

#define STAMP_LEN (BACKUPSET_STAMP_SIZE - 1)

void
backupset_stamp_format(time_t t, char out[BACKUPSET_STAMP_SIZE])
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(out, BACKUPSET_STAMP_SIZE, "%Y%m%dT%H%M%SZ", &tm);
}

static int
stamp_parse(const char *s, time_t *at)
{
	char iso[MANIFEST_TIME_SIZE];

	if (strspn(s, "0123456789") != 8 || s[8] != 'T' || strspn(s + 9, "0123456789") != 6 ||
	    s[15] != 'Z')
		return CT_EINVAL;
	snprintf(iso, sizeof(iso), "%.4s-%.2s-%.2sT%.2s:%.2s:%.2sZ", s, s + 4, s + 6, s + 9, s + 11,
	         s + 13);
	return manifest_time_parse(iso, at);
}

int
backupset_parse_name(const char *file, char *name, size_t name_size, time_t *at, const char **ext)
{
	const char *dot = strchr(file, '.');
	size_t name_len;

	/* NAME may hold dashes and dots; the stamp is the 16 characters before
	 * the first dot that follows a dash and a valid stamp. */
	for (; dot != NULL; dot = strchr(dot + 1, '.')) {
		if (dot - file < STAMP_LEN + 2 || dot[-STAMP_LEN - 1] != '-')
			continue;
		if (stamp_parse(dot - STAMP_LEN, at) != 0)
			continue;
		name_len = (size_t)(dot - file) - STAMP_LEN - 1;
		if (name_len >= name_size)
			return CT_EINVAL;
		memcpy(name, file, name_len);
		name[name_len] = '\0';
		*ext = dot + 1;
		return 0;
	}
	return CT_EINVAL;
}

static int
has_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), k = strlen(suffix);

	return n >= k && strcmp(s + n - k, suffix) == 0;
}

/* sql, sql.gz, dump.zst, tar.gz ... possibly with more suffixes after. */
static int
ext_is_backup(const char *ext)
{
	static const char *const kinds[] = {"sql", "dump", "tar", NULL};

	for (size_t i = 0; kinds[i] != NULL; i++) {
		size_t n = strlen(kinds[i]);

		if (strncmp(ext, kinds[i], n) == 0 && (ext[n] == '\0' || ext[n] == '.'))
			return 1;
	}
	return 0;
}

/* ---- collecting ---- */

struct names {
	char **v;
	size_t n, cap;
};

static int
names_add(struct names *ns, const char *s)
{
	if (ns->n == ns->cap) {
		size_t cap = ns->cap ? 2 * ns->cap : 32;
		char **v = realloc(ns->v, cap * sizeof(*v));

		if (v == NULL)
			return CT_ENOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n] = strdup(s);
	return ns->v[ns->n++] == NULL ? CT_ENOMEM : 0;
}

static void
names_free(struct names *ns)
{
	for (size_t i = 0; i < ns->n; i++)
		free(ns->v[i]);
	free(ns->v);
}

static int
read_names(const char *dir, struct names *ns, char *err, size_t err_size)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int rc = 0;

	if (d == NULL && errno == ENOENT)
		return 0;
	if (d == NULL) {
		snprintf(err, err_size, "cannot read folder %s: %s", dir, strerror(errno));
		return CT_EIO;
	}
	/* Hidden names too: a crash can leave durable_replace's temporary
	 * manifest, ".NAME-STAMP.manifest.json.tmp-XXXXXX". */
	while (rc == 0 && (de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			rc = names_add(ns, de->d_name);
	closedir(d);
	if (rc != 0)
		snprintf(err, err_size, "out of memory listing %s", dir);
	return rc;
}

static char *
path_join(const char *dir, const char *file)
{
	size_t len = strlen(dir) + strlen(file) + 2;
	char *p = malloc(len);

	if (p != NULL)
		snprintf(p, len, "%s/%s", dir, file);
	return p;
}

/* Non-zero when `file` parses as a backup of `name` (any name when NULL). */
static int
is_named(const char *file, const char *name, const char **ext)
{
	char got[256];
	time_t at;

	if (backupset_parse_name(file, got, sizeof(got), &at, ext) != 0)
		return 0;
	return name == NULL || strcmp(got, name) == 0;
}

static int
add_stray(struct backupset *set, const char *dir, const char *file, int kind, const char *why)
{
	struct backupset_stray *v = realloc(set->strays, (set->n_strays + 1) * sizeof(*v));

	if (v == NULL)
		return CT_ENOMEM;
	set->strays = v;
	v += set->n_strays;
	v->path = path_join(dir, file);
	v->kind = kind;
	v->why = why ? strdup(why) : NULL;
	set->n_strays++;
	return v->path == NULL || (why && v->why == NULL) ? CT_ENOMEM : 0;
}

static int
add_entry(struct backupset *set, const char *dir, const char *file, struct manifest *m)
{
	struct backupset_entry *v = realloc(set->entries, (set->n_entries + 1) * sizeof(*v));

	if (v == NULL)
		return CT_ENOMEM;
	set->entries = v;
	v += set->n_entries++;
	v->m = *m;
	*m = (struct manifest){0};
	v->manifest_path = path_join(dir, file);
	v->file_path = path_join(dir, v->m.file);
	return v->manifest_path && v->file_path ? 0 : CT_ENOMEM;
}

static int
load_manifest(struct backupset *set, const char *dir, const char *file, const char *name)
{
	struct manifest m = {0};
	char *path = path_join(dir, file), why[512];
	int rc;

	if (path == NULL)
		return CT_ENOMEM;
	rc = manifest_load(path, &m, why, sizeof(why));
	free(path);
	if (rc == CT_ENOMEM)
		return rc;
	if (rc != 0)
		return add_stray(set, dir, file, BACKUPSET_BAD_MANIFEST, why);
	if (name != NULL && strcmp(m.name, name) != 0) {
		manifest_free(&m);
		return 0;
	}
	rc = add_entry(set, dir, file, &m);
	manifest_free(&m);
	return rc;
}

static int
is_referenced(const struct backupset *set, const char *file)
{
	for (size_t i = 0; i < set->n_entries; i++)
		if (strcmp(set->entries[i].m.file, file) == 0)
			return 1;
	return 0;
}

/* "NAME-STAMP.manifest.json.tmp-..." of this set's NAME. */
static int
is_temp_manifest(const char *file, const char *name)
{
	static const char infix[] = "manifest.json" DURABLE_TMP_INFIX;
	const char *ext;

	return is_named(file, name, &ext) && strncmp(ext, infix, sizeof(infix) - 1) == 0;
}

/* Backup-like files that no manifest of the set names. */
static int
classify_file(struct backupset *set, const char *dir, const char *file, const char *name)
{
	const char *ext;

	if (file[0] == '.')
		return is_temp_manifest(file + 1, name)
		           ? add_stray(set, dir, file, BACKUPSET_PARTIAL, NULL)
		           : 0;
	if (!is_named(file, name, &ext))
		return 0;
	/* "NAME-STAMP.manifest.json.tmp-PID": what earlier versions left. */
	if (has_suffix(file, BACKUPSET_PARTIAL_SUFFIX) || is_temp_manifest(file, name))
		return add_stray(set, dir, file, BACKUPSET_PARTIAL, NULL);
	if (ext_is_backup(ext) && !is_referenced(set, file))
		return add_stray(set, dir, file, BACKUPSET_ORPHAN, NULL);
	return 0;
}

static int
entry_newest_first(const void *a, const void *b)
{
	const struct backupset_entry *ea = a, *eb = b;

	if (ea->m.started_at != eb->m.started_at)
		return ea->m.started_at > eb->m.started_at ? -1 : 1;
	return -strcmp(ea->m.file, eb->m.file);
}

int
backupset_load(const char *dir, const char *name, struct backupset *set, char *err, size_t err_size)
{
	struct backupset got = {0};
	struct names ns = {0};
	const char *ext;
	int rc;

	rc = read_names(dir, &ns, err, err_size);
	for (size_t i = 0; rc == 0 && i < ns.n; i++)
		if (has_suffix(ns.v[i], MANIFEST_SUFFIX) && is_named(ns.v[i], name, &ext))
			rc = load_manifest(&got, dir, ns.v[i], name);
	for (size_t i = 0; rc == 0 && i < ns.n; i++)
		if (!has_suffix(ns.v[i], MANIFEST_SUFFIX))
			rc = classify_file(&got, dir, ns.v[i], name);
	names_free(&ns);
	if (rc == CT_ENOMEM)
		snprintf(err, err_size, "out of memory listing %s", dir);
	if (rc != 0) {
		backupset_free(&got);
		return rc;
	}
	if (got.n_entries > 1)
		qsort(got.entries, got.n_entries, sizeof(*got.entries), entry_newest_first);
	*set = got;
	return 0;
}

void
backupset_free(struct backupset *set)
{
	if (set == NULL)
		return;
	for (size_t i = 0; i < set->n_entries; i++) {
		free(set->entries[i].manifest_path);
		free(set->entries[i].file_path);
		manifest_free(&set->entries[i].m);
	}
	for (size_t i = 0; i < set->n_strays; i++) {
		free(set->strays[i].path);
		free(set->strays[i].why);
	}
	free(set->entries);
	free(set->strays);
	*set = (struct backupset){0};
}
