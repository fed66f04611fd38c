/*
 * audit_baseline.c — the runbook's audit_system_changes: the state of
 * baseline_paths compared with a baseline kept in the job's state_dir
 * (baseline.json, written with durable_replace: a crash leaves the old
 * baseline or the new one).
 *
 * The baseline changes only in three ways, each reported:
 *  - there is none: the current state becomes it (the first run);
 *  - `baseline_accept` names the current state's fingerprint (at least its
 *    first 16 hex digits, as the run's summary prints them): the operator
 *    reviewed exactly this state, so it becomes the baseline.  Left in the
 *    job, the option accepts nothing more, since any later change makes
 *    another fingerprint;
 *  - a path added to baseline_paths is taken in as it is, and a path
 *    removed from it leaves the baseline (a new folder to watch is not a
 *    thousand "added" findings).
 * Changes are never accepted by merely being seen: they are reported on
 * every run until accepted, as AIDE and Tripwire do.  A baseline that does
 * not read fails the run rather than being replaced, so that damaging it
 * cannot quietly reset what is compared.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include <caretaker/plugin.h>

#include "audit.h"
#include "durable.h"
#include "fdio.h"

#define BASELINE_FILE "baseline.json"
#define BASELINE_FORMAT 1
/* The shortest prefix of a fingerprint baseline_accept may give. */
#define ACCEPT_MIN_HEX 16

/* The baseline as stored. */
struct stored {
	struct audit_tree tree;
	json_t *paths; /* array of the configured paths it covers */
	time_t created, accepted;
};

static const char type_letters[] = "fdlo"; /* by enum audit_entry_type */

static const char *const type_words[] = {"file", "folder", "link", "special file"};

/* ---- reading and writing ---- */

static json_t *
entry_to_json(const struct audit_entry *e)
{
	char type[2] = {type_letters[e->type], '\0'};

	return json_pack("[s s i I I I s s?]", e->path, type, (int)e->mode, (json_int_t)e->uid,
	                 (json_int_t)e->gid, (json_int_t)e->size, e->content, e->error);
}

static int
entry_from_json(json_t *j, struct audit_entry *e)
{
	const char *path, *type, *content, *error, *at;
	json_int_t uid, gid, size;
	json_t *error_json;
	int mode;

	if (json_unpack(j, "[s s i I I I s o]", &path, &type, &mode, &uid, &gid, &size, &content,
	                &error_json) != 0)
		return CT_EINVAL;
	error = json_is_string(error_json) ? json_string_value(error_json) : NULL;
	at = type[0] ? strchr(type_letters, type[0]) : NULL;
	if (at == NULL)
		return CT_EINVAL;
	*e = (struct audit_entry){.type = (int)(at - type_letters),
	                          .mode = (mode_t)mode,
	                          .uid = (uid_t)uid,
	                          .gid = (gid_t)gid,
	                          .size = (uint64_t)size};
	e->path = strdup(path);
	e->content = strdup(content);
	e->error = error ? strdup(error) : NULL;
	return e->path && e->content && (!error || e->error) ? 0 : CT_ENOMEM;
}

static int
load_entries(json_t *entries, struct audit_tree *tree)
{
	size_t i;
	json_t *j;
	int rc = 0;

	json_array_foreach(entries, i, j)
	{
		struct audit_entry e = {0};

		rc = entry_from_json(j, &e);
		if (rc == 0)
			rc = audit_tree_add(tree, &e);
		if (rc != 0) {
			free(e.path);
			free(e.content);
			free(e.error);
			return rc;
		}
	}
	return audit_tree_finish(tree);
}

static int
parse_stored(json_t *root, struct stored *s)
{
	json_t *entries = NULL;
	json_int_t format = 0, created = 0, accepted = 0;

	if (json_unpack(root, "{s:I, s:I, s?I, s:o, s:o}", "format", &format, "created", &created,
	                "accepted", &accepted, "paths", &s->paths, "entries", &entries) != 0 ||
	    format != BASELINE_FORMAT || !json_is_array(s->paths) || !json_is_array(entries))
		return CT_EINVAL;
	json_incref(s->paths);
	s->created = (time_t)created;
	s->accepted = (time_t)accepted;
	return load_entries(entries, &s->tree);
}

/* CT_ENOENT when there is no baseline yet. */
static int
load(struct plugin_host *h, const char *path, struct stored *s)
{
	char err[512], *data = NULL;
	json_error_t jerr;
	json_t *root = NULL;
	size_t len = 0;
	int fd = -1, rc;

	rc = fdio_open_regular(path, O_RDONLY, 0, &fd, err, sizeof(err));
	if (rc == CT_ENOENT)
		return rc;
	if (rc == 0)
		rc = fdio_read_regular(fd, path, &data, &len, err, sizeof(err));
	if (fd >= 0)
		close(fd);
	if (rc != 0)
		return plugin_host_fail(h, rc, "baseline: %s", err);
	root = json_loadb(data, len, 0, &jerr);
	rc = root != NULL ? parse_stored(root, s) : CT_EINVAL;
	json_decref(root);
	free(data);
	if (rc != 0)
		return plugin_host_fail(
		    h, rc,
		    "baseline: %s is damaged%s%s\nhint: nothing was compared; if you "
		    "trust the files as they are now, move it aside and run the job "
		    "to make a new baseline",
		    path, root == NULL ? ": " : "", root == NULL ? jerr.text : "");
	return 0;
}

static json_t *
stored_to_json(const struct audit_tree *tree, json_t *paths, time_t created, time_t accepted)
{
	json_t *entries = json_array();

	for (size_t i = 0; entries != NULL && i < tree->n; i++)
		if (json_array_append_new(entries, entry_to_json(&tree->items[i])) != 0) {
			json_decref(entries);
			entries = NULL;
		}
	if (entries == NULL)
		return NULL;
	return json_pack("{s:i, s:I, s:I, s:s, s:O, s:o}", "format", BASELINE_FORMAT, "created",
	                 (json_int_t)created, "accepted", (json_int_t)accepted, "fingerprint",
	                 tree->fingerprint, "paths", paths, "entries", entries);
}

static int
save(struct plugin_host *h, const char *path, const struct audit_tree *tree, json_t *paths,
     time_t created, time_t accepted)
{
	json_t *root = stored_to_json(tree, paths, created, accepted);
	char *text = root ? json_dumps(root, JSON_COMPACT) : NULL;
	char err[512];
	int rc;

	json_decref(root);
	if (text == NULL)
		return plugin_host_fail(h, CT_ENOMEM, "baseline: out of memory");
	rc = durable_replace(path, text, strlen(text), 0600, DURABLE_SYNC_ALL, err, sizeof(err));
	free(text);
	if (rc != 0)
		return plugin_host_fail(h, rc, "baseline: %s", err);
	return 0;
}

/* ---- which configured paths an entry belongs to ---- */

static int
is_under(const char *path, const char *root)
{
	size_t n = strlen(root);

	while (n > 1 && root[n - 1] == '/')
		n--;
	if (n == 1 && root[0] == '/')
		return 1;
	return strncmp(path, root, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int
json_has_path(json_t *paths, const char *root)
{
	size_t i;
	json_t *j;

	json_array_foreach(paths, i, j)
	{
		if (json_is_string(j) && strcmp(json_string_value(j), root) == 0)
			return 1;
	}
	return 0;
}

/* Under a path both the job and the baseline have: compared. */
static int
is_compared(const struct audit_opts *o, json_t *stored_paths, const char *path)
{
	for (size_t i = 0; i < o->baseline_paths.n; i++)
		if (is_under(path, o->baseline_paths.items[i]) &&
		    json_has_path(stored_paths, o->baseline_paths.items[i]))
			return 1;
	return 0;
}

/* ---- comparing ---- */

/* What a comparison reads, and what it counts. */
struct compare {
	const struct audit_opts *o;
	struct audit_findings *f;
	struct audit_baseline_result *r;
	char since[64]; /* "since the baseline of 2024-05-01 02:00:00Z" */
	size_t n_listed;
};

static void
describe(const struct audit_entry *e, char *buf, size_t size)
{
	snprintf(buf, size, "%s, mode %04o, owner %lu:%lu%s%.12s%s%.200s%s", type_words[e->type],
	         (unsigned)e->mode, (unsigned long)e->uid, (unsigned long)e->gid,
	         e->type == AUDIT_ENTRY_FILE && !e->error ? ", sha256 " : "",
	         e->type == AUDIT_ENTRY_FILE ? e->content : "",
	         e->type == AUDIT_ENTRY_LINK ? ", -> " : "",
	         e->type == AUDIT_ENTRY_LINK ? e->content : "", e->error ? ", unreadable" : "");
}

/* Appends to a fixed buffer, keeping it terminated. */
static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
append(char *buf, size_t size, const char *fmt, ...)
{
	size_t n = strlen(buf);
	va_list ap;

	if (n + 1 >= size)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + n, size - n, fmt, ap);
	va_end(ap);
}

/* "content sha256 ab12... -> cd34..., mode 0644 -> 0666". */
static void
describe_change(const struct audit_entry *a, const struct audit_entry *b, char *buf, size_t size)
{
	size_t n;

	buf[0] = '\0';
	if (a->type != b->type)
		append(buf, size, "%s -> %s, ", type_words[a->type], type_words[b->type]);
	else if (strcmp(a->content, b->content) != 0 && a->type == AUDIT_ENTRY_LINK)
		append(buf, size, "target %.200s -> %.200s, ", a->content, b->content);
	else if (strcmp(a->content, b->content) != 0)
		append(buf, size, "content sha256 %.12s... -> %.12s..., ", a->content, b->content);
	if (a->mode != b->mode)
		append(buf, size, "mode %04o -> %04o, ", (unsigned)a->mode, (unsigned)b->mode);
	if (a->uid != b->uid || a->gid != b->gid)
		append(buf, size, "owner %lu:%lu -> %lu:%lu, ", (unsigned long)a->uid,
		       (unsigned long)a->gid, (unsigned long)b->uid, (unsigned long)b->gid);
	if ((a->error == NULL) != (b->error == NULL))
		append(buf, size, "%s, ", b->error ? "now unreadable" : "readable again");
	n = strlen(buf);
	if (n >= 2)
		buf[n - 2] = '\0';
}

/* "VERB since the baseline of DATE: WORDS" (or "(was WORDS)"). */
static void
finding(struct compare *c, const char *path, const char *verb, const char *words, int is_was)
{
	if (c->n_listed++ < (size_t)c->o->list_limit)
		audit_findings_add(c->f, CT_SEV_WARNING, path, "%s %s%s%s%s", verb, c->since,
		                   is_was ? " (was " : ": ", words, is_was ? ")" : "");
}

static void
compare_pair(struct compare *c, const struct audit_entry *a, const struct audit_entry *b)
{
	char words[1024];

	if (b == NULL) {
		describe(a, words, sizeof(words));
		c->r->n_removed++;
		finding(c, a->path, "removed", words, 1);
	} else if (a == NULL) {
		describe(b, words, sizeof(words));
		c->r->n_added++;
		finding(c, b->path, "added", words, 0);
	} else if (audit_entry_differs(a, b)) {
		describe_change(a, b, words, sizeof(words));
		c->r->n_changed++;
		finding(c, b->path, "changed", words, 0);
	}
}

/* Merges the two sorted lists under the paths both have. */
static void
compare_trees(struct compare *c, const struct stored *s, const struct audit_tree *now)
{
	size_t i = 0, j = 0;

	while (i < s->tree.n || j < now->n) {
		const struct audit_entry *a = i < s->tree.n ? &s->tree.items[i] : NULL;
		const struct audit_entry *b = j < now->n ? &now->items[j] : NULL;
		int cmp = a == NULL ? 1 : b == NULL ? -1 : strcmp(a->path, b->path);

		if (cmp <= 0)
			i++;
		if (cmp >= 0)
			j++;
		if (cmp < 0 && !is_compared(c->o, s->paths, a->path))
			continue;
		if (cmp > 0 && !is_compared(c->o, s->paths, b->path))
			continue;
		compare_pair(c, cmp > 0 ? NULL : a, cmp < 0 ? NULL : b);
	}
	if (c->n_listed > (size_t)c->o->list_limit)
		audit_findings_add(c->f, CT_SEV_WARNING, "baseline",
		                   "%zu more changes %s, not listed (list_limit = %lld)",
		                   c->n_listed - (size_t)c->o->list_limit, c->since,
		                   (long long)c->o->list_limit);
}

/* ---- a new baseline ---- */

static int
copy_entry(struct audit_tree *tree, const struct audit_entry *e)
{
	struct audit_entry c = *e;

	c.path = strdup(e->path);
	c.content = strdup(e->content);
	c.error = e->error ? strdup(e->error) : NULL;
	if (c.path && c.content && (!e->error || c.error) && audit_tree_add(tree, &c) == 0)
		return 0;
	free(c.path);
	free(c.content);
	free(c.error);
	return CT_ENOMEM;
}

static json_t *
config_paths(const struct audit_opts *o)
{
	json_t *a = json_array();

	for (size_t i = 0; a != NULL && i < o->baseline_paths.n; i++)
		if (json_array_append_new(a, json_string(o->baseline_paths.items[i])) != 0) {
			json_decref(a);
			a = NULL;
		}
	return a;
}

static int
is_dry_run(const struct plugin_host *h)
{
	return h->ct->is_dry_run(h->t);
}

/* The first run: the current state is the baseline. */
static int
create(struct plugin_host *h, const struct audit_opts *o, const char *path,
       const struct audit_tree *now, struct audit_findings *f, struct audit_baseline_result *r)
{
	json_t *paths = config_paths(o);
	int rc = 0;

	r->is_created = 1;
	if (paths == NULL)
		return plugin_host_fail(h, CT_ENOMEM, "baseline: out of memory");
	if (!is_dry_run(h))
		rc = save(h, path, now, paths, time(NULL), 0);
	r->is_written = rc == 0 && !is_dry_run(h);
	json_decref(paths);
	if (rc == 0)
		audit_findings_add(f, CT_SEV_INFO, "baseline",
		                   "%s: %zu entries, fingerprint %.16s; later runs report every "
		                   "change against it",
		                   is_dry_run(h) ? "would be created (dry run)" : "created", now->n,
		                   now->fingerprint);
	return rc;
}

/* baseline_accept names the current state: it becomes the baseline. */
static int
accept(struct plugin_host *h, const struct audit_opts *o, const char *path, const struct stored *s,
       const struct audit_tree *now, struct audit_findings *f, struct audit_baseline_result *r)
{
	struct audit_findings scratch = {0};
	struct compare c = {.o = o, .f = &scratch, .r = r};
	json_t *paths = config_paths(o);
	int rc = 0;

	compare_trees(&c, s, now);
	audit_findings_free(&scratch);
	if (paths == NULL)
		return plugin_host_fail(h, CT_ENOMEM, "baseline: out of memory");
	if (!is_dry_run(h))
		rc = save(h, path, now, paths, s->created, time(NULL));
	json_decref(paths);
	r->is_accepted = 1;
	r->is_written = rc == 0 && !is_dry_run(h);
	if (rc == 0)
		audit_findings_add(f, CT_SEV_INFO, "baseline",
		                   "%s the state %.16s named by baseline_accept: %zu changed, %zu "
		                   "added, %zu removed since the baseline %.16s",
		                   is_dry_run(h) ? "would accept (dry run)" : "accepted",
		                   now->fingerprint, r->n_changed, r->n_added, r->n_removed,
		                   s->tree.fingerprint);
	r->n_changed = r->n_added = r->n_removed = 0;
	return rc;
}

static int
is_same_paths(const struct audit_opts *o, json_t *stored_paths)
{
	if (json_array_size(stored_paths) != o->baseline_paths.n)
		return 0;
	for (size_t i = 0; i < o->baseline_paths.n; i++)
		if (!json_has_path(stored_paths, o->baseline_paths.items[i]))
			return 0;
	return 1;
}

static void
note_paths(const struct audit_opts *o, const struct stored *s, struct audit_findings *f)
{
	size_t i;
	json_t *j;

	for (i = 0; i < o->baseline_paths.n; i++)
		if (!json_has_path(s->paths, o->baseline_paths.items[i]))
			audit_findings_add(
			    f, CT_SEV_INFO, o->baseline_paths.items[i],
			    "new in baseline_paths: taken into the baseline as it is");
	json_array_foreach(s->paths, i, j)
	{
		int is_kept = 0;

		for (size_t k = 0; k < o->baseline_paths.n; k++)
			is_kept |= strcmp(json_string_value(j), o->baseline_paths.items[k]) == 0;
		if (!is_kept)
			audit_findings_add(f, CT_SEV_INFO, json_string_value(j),
			                   "no longer in baseline_paths: left the baseline");
	}
}

/* baseline_paths changed: the stored entries of the paths both have, the
 * current ones of the new paths. */
static int
merge_paths(struct plugin_host *h, const struct audit_opts *o, const char *path,
            const struct stored *s, const struct audit_tree *now, struct audit_findings *f,
            struct audit_baseline_result *r)
{
	struct audit_tree merged = {0};
	json_t *paths = config_paths(o);
	int rc = paths ? 0 : CT_ENOMEM;

	for (size_t i = 0; rc == 0 && i < s->tree.n; i++)
		if (is_compared(o, s->paths, s->tree.items[i].path))
			rc = copy_entry(&merged, &s->tree.items[i]);
	for (size_t i = 0; rc == 0 && i < now->n; i++)
		if (!is_compared(o, s->paths, now->items[i].path))
			rc = copy_entry(&merged, &now->items[i]);
	if (rc == 0)
		rc = audit_tree_finish(&merged);
	if (rc != 0)
		rc = plugin_host_fail(h, rc, "baseline: out of memory");
	if (rc == 0 && !is_dry_run(h))
		rc = save(h, path, &merged, paths, s->created, s->accepted);
	r->is_written = rc == 0 && !is_dry_run(h);
	if (rc == 0)
		note_paths(o, s, f);
	audit_tree_free(&merged);
	json_decref(paths);
	return rc;
}

static void
note_unreadable(const struct audit_opts *o, const struct audit_tree *now, struct audit_findings *f)
{
	int64_t n = 0;

	for (size_t i = 0; i < now->n; i++)
		if (now->items[i].error != NULL && n++ < o->list_limit)
			audit_findings_add(f, CT_SEV_WARNING, now->items[i].path,
			                   "cannot be read, so its changes cannot be seen: %s",
			                   now->items[i].error);
}

static int
accept_matches(const char *accept, const char *fingerprint)
{
	size_t n = accept ? strlen(accept) : 0;

	return n >= ACCEPT_MIN_HEX && strncmp(accept, fingerprint, n) == 0;
}

static void
compare_stored(const struct audit_opts *o, const struct stored *s, const struct audit_tree *now,
               struct audit_findings *f, struct audit_baseline_result *r)
{
	struct compare c = {.o = o, .f = f, .r = r};
	char when[32];

	audit_format_time(r->baseline_time, when, sizeof(when));
	snprintf(c.since, sizeof(c.since), "since the baseline of %s", when);
	compare_trees(&c, s, now);
	if (o->baseline_accept != NULL && !accept_matches(o->baseline_accept, now->fingerprint) &&
	    !accept_matches(o->baseline_accept, s->tree.fingerprint))
		audit_findings_add(
		    f, CT_SEV_WARNING, "baseline",
		    "baseline_accept = %s names neither the baseline (%.16s) nor the "
		    "current state (%.16s): nothing was accepted\nhint: the paths "
		    "changed again after that state was reviewed; review the changes "
		    "listed and accept the state this run reports",
		    o->baseline_accept, s->tree.fingerprint, now->fingerprint);
}

static void
stored_free(struct stored *s)
{
	audit_tree_free(&s->tree);
	json_decref(s->paths);
}

int
audit_baseline_check(struct plugin_host *h, const struct audit_opts *o,
                     const struct audit_tree *now, struct audit_findings *f,
                     struct audit_baseline_result *r)
{
	struct stored s = {0};
	char path[4096];
	int rc;

	snprintf(path, sizeof(path), "%s/" BASELINE_FILE, h->ct->state_dir(h->t));
	r->n_files = now->n;
	snprintf(r->fingerprint, sizeof(r->fingerprint), "%s", now->fingerprint);
	note_unreadable(o, now, f);
	rc = load(h, path, &s);
	if (rc == CT_ENOENT)
		return create(h, o, path, now, f, r);
	if (rc != 0)
		return rc;
	r->baseline_time = s.accepted ? s.accepted : s.created;
	if (accept_matches(o->baseline_accept, now->fingerprint) &&
	    strcmp(now->fingerprint, s.tree.fingerprint) != 0)
		rc = accept(h, o, path, &s, now, f, r);
	else
		compare_stored(o, &s, now, f, r);
	if (rc == 0 && !r->is_accepted && !is_same_paths(o, s.paths))
		rc = merge_paths(h, o, path, &s, now, f, r);
	stored_free(&s);
	return rc;
}
