/*
 * perms_rule.c — the job's rule: each of its paths (and with `recursive`
 * everything below) checked against owner, group and mode, one finding per
 * mismatch; with `fix = yes` the owner, group and mode the rule names are
 * applied, and only those, each change listed.
 *
 * Changes go through the parent folder's descriptor the walk holds
 * (fchownat, fchmodat with AT_SYMLINK_NOFOLLOW), after looking at the name
 * once more: an entry replaced by a link since the walk saw it is left
 * alone, and no link is ever followed.  Only regular files and folders are
 * checked; links and special files are counted and left alone.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* O_PATH, AT_EMPTY_PATH */
#endif
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "pathmatch.h"
#include "perms.h"
#include "treewalk.h"

struct rule_walk {
	struct plugin_host *h;
	const struct perms_opts *o;
	struct perms_tally *y;
	struct plugin_host_list *changes; /* the "changes" stream, closed by its count */
};

/* What an entry should be, and what it is. */
struct want {
	uid_t uid;
	gid_t gid;
	int mode;
	char words[512]; /* "owner root -> www-data, mode 0644 -> 0640" */
};

/* A folder's mode from a file mode: the search bit wherever read is. */
static int
with_search(int mode)
{
	return mode < 0 ? -1 : mode | ((mode & 0444) >> 2);
}

static int
target_mode(const struct perms_rule *r, int is_dir, int cur)
{
	int exact = is_dir ? (r->dir_mode >= 0 ? r->dir_mode : with_search(r->mode)) : r->mode;
	int max = is_dir ? (r->dir_max_mode >= 0 ? r->dir_max_mode : with_search(r->max_mode))
	                 : r->max_mode;

	if (exact >= 0)
		return exact;
	return max >= 0 ? cur & max : cur;
}

static void
user_words(uid_t uid, char *out, size_t size)
{
	struct passwd *pw = getpwuid(uid);

	if (pw != NULL)
		snprintf(out, size, "%s", pw->pw_name);
	else
		snprintf(out, size, "%u", (unsigned)uid);
}

static void
group_words(gid_t gid, char *out, size_t size)
{
	struct group *gr = getgrgid(gid);

	if (gr != NULL)
		snprintf(out, size, "%s", gr->gr_name);
	else
		snprintf(out, size, "%u", (unsigned)gid);
}

static void
append(char *words, size_t size, const char *what, const char *from, const char *to)
{
	size_t len = strlen(words);

	snprintf(words + len, size - len, "%s%s %s -> %s", len > 0 ? ", " : "", what, from, to);
}

/* Fill `w`; non-zero when the entry differs from the rule. */
static int
want_of(const struct perms_rule *r, const struct stat *st, struct want *w)
{
	char from[64], to[64];
	int cur = (int)(st->st_mode & 07777);

	w->words[0] = '\0';
	w->uid = r->owner != NULL ? r->uid : st->st_uid;
	w->gid = r->group != NULL ? r->gid : st->st_gid;
	w->mode = target_mode(r, S_ISDIR(st->st_mode), cur);
	if (w->uid != st->st_uid) {
		user_words(st->st_uid, from, sizeof(from));
		user_words(w->uid, to, sizeof(to));
		append(w->words, sizeof(w->words), "owner", from, to);
	}
	if (w->gid != st->st_gid) {
		group_words(st->st_gid, from, sizeof(from));
		group_words(w->gid, to, sizeof(to));
		append(w->words, sizeof(w->words), "group", from, to);
	}
	if (w->mode != cur) {
		perms_mode_words(cur, from);
		perms_mode_words(w->mode, to);
		append(w->words, sizeof(w->words), "mode", from, to);
	}
	return w->words[0] != '\0';
}

/* The mode change through the descriptor: an O_PATH descriptor takes no
 * fchmod, so it goes through its /proc/self/fd name, as glibc's own
 * fchmodat(AT_SYMLINK_NOFOLLOW) does; the name is the inode the
 * descriptor holds, whatever happened to the entry's name since. */
static int
fd_chmod(int fd, mode_t mode)
{
	char proc[64];

	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	return chmod(proc, mode) == 0 ? 0 : errno;
}

/* Apply `w` to the entry, if it is still the one the walk saw.  The entry
 * is opened once (O_PATH, never following a link) and everything after
 * goes through that descriptor: the name cannot be swapped between the
 * check and the change.  A regular file with other names (hard links)
 * is refused unless the job allows it: one of them may be outside the
 * tree, and it would change too. */
static int
apply(const struct treewalk_entry *e, const struct want *w, int allow_hard_links)
{
	struct stat now;
	int fd = openat(e->dir_fd, e->name, O_PATH | O_NOFOLLOW | O_CLOEXEC), rc = 0;

	if (fd < 0)
		return errno;
	if (fstat(fd, &now) != 0)
		rc = errno;
	else if (now.st_dev != e->st->st_dev || now.st_ino != e->st->st_ino ||
	         (now.st_mode & S_IFMT) != (e->st->st_mode & S_IFMT))
		rc = ESTALE;
	else if (S_ISREG(now.st_mode) && now.st_nlink > 1 && !allow_hard_links)
		rc = EMLINK;
	/* chown first: it clears setuid and setgid, which the chmod then sets
	 * as the rule says. */
	else if ((w->uid != now.st_uid || w->gid != now.st_gid) &&
	         fchownat(fd, "", w->uid, w->gid, AT_EMPTY_PATH) != 0)
		rc = errno;
	else
		rc = fd_chmod(fd, (mode_t)w->mode);
	close(fd);
	return rc;
}

static void
list_change(struct rule_walk *rw, const char *verb, const char *path, const char *words)
{
	char line[8192];
	int n = snprintf(line, sizeof(line), "%s %s: %s\n", verb, path, words);

	if (n > 0)
		plugin_host_list_add(rw->changes, line,
		                     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* A regular file with other names is not changed unless the job allows
 * it (apply says why); under --dry-run it is not listed as a change. */
static int
is_hard_link_refused(const struct rule_walk *rw, const struct treewalk_entry *e)
{
	return S_ISREG(e->st->st_mode) && e->st->st_nlink > 1 && !rw->o->is_fix_hard_links;
}

static void
refuse_hard_link(struct rule_walk *rw, const struct treewalk_entry *e, const struct want *w)
{
	rw->y->hard_links++;
	perms_finding(rw->h, rw->y, CT_SEV_WARNING, e->path,
	              "has %lu names (hard links), one may be outside the tree: not changed: "
	              "%s\nhint: fix_hard_links = yes changes such files too",
	              (unsigned long)e->st->st_nlink, w->words);
}

static void
mismatch(struct rule_walk *rw, const struct treewalk_entry *e, const struct want *w)
{
	int rc;

	rw->y->mismatched++;
	if (!rw->o->is_fix) {
		perms_finding(rw->h, rw->y, CT_SEV_WARNING, e->path, "does not match the rule: %s",
		              w->words);
		return;
	}
	if (is_hard_link_refused(rw, e)) {
		refuse_hard_link(rw, e, w);
		return;
	}
	if (rw->h->ct->is_dry_run(rw->h->t)) {
		rw->y->changed++;
		list_change(rw, "would change", e->path, w->words);
		perms_finding(rw->h, rw->y, CT_SEV_WARNING, e->path, "would change: %s", w->words);
		return;
	}
	rc = apply(e, w, rw->o->is_fix_hard_links);
	if (rc == EMLINK) {
		refuse_hard_link(rw, e, w);
		return;
	}
	if (rc != 0) {
		rw->y->fix_failed++;
		perms_finding(rw->h, rw->y, CT_SEV_ERROR, e->path, "cannot change (%s): %s",
		              rc == ESTALE ? "replaced during the run" : strerror(rc), w->words);
		return;
	}
	rw->y->changed++;
	list_change(rw, "changed", e->path, w->words);
	perms_finding(rw->h, rw->y, CT_SEV_INFO, e->path, "changed: %s", w->words);
}

static int
visit_error(struct rule_walk *rw, const struct treewalk_entry *e)
{
	if (e->error == ENOENT && e->depth == 0)
		perms_finding(rw->h, rw->y, CT_SEV_WARNING, e->path, "missing");
	else
		perms_finding(rw->h, rw->y, CT_SEV_WARNING, e->path, "cannot %s: %s", e->what,
		              strerror(e->error));
	rw->y->errors++;
	return TREEWALK_SKIP;
}

static int
visit_cb(const struct treewalk_entry *e, void *arg)
{
	struct rule_walk *rw = arg;
	struct want w;

	if (rw->h->ct->should_stop(rw->h->t))
		return CT_ECANCELED;
	if (e->error != 0)
		return visit_error(rw, e);
	if (e->depth > 0 && pathmatch_is_excluded(rw->o->exclude, rw->o->n_exclude, e->rel,
	                                          S_ISDIR(e->st->st_mode)))
		return TREEWALK_SKIP;
	if (e->is_too_deep)
		perms_too_deep(rw->h, rw->y, e->path, e->depth);
	if (!S_ISREG(e->st->st_mode) && !S_ISDIR(e->st->st_mode)) {
		rw->y->links += S_ISLNK(e->st->st_mode);
		if (e->depth == 0)
			perms_finding(
			    rw->h, rw->y, CT_SEV_WARNING, e->path,
			    "is not a file or a folder (a link is never followed): not checked");
		return TREEWALK_SKIP;
	}
	rw->y->checked++;
	if (want_of(&rw->o->rule, e->st, &w))
		mismatch(rw, e, &w);
	return TREEWALK_CONTINUE;
}

int
perms_rule_check(struct plugin_host *h, const struct perms_opts *o, struct perms_tally *y)
{
	struct rule_walk rw = {.h = h, .o = o, .y = y};
	int rc = plugin_host_list_begin(h, "changes", "change(s)", &rw.changes);

	for (size_t i = 0; i < o->rule.n_paths && rc == 0; i++) {
		struct treewalk_params p = {.root = o->rule.paths[i],
		                            .max_depth =
		                                o->rule.is_recursive ? (int)o->max_depth : 0,
		                            .is_one_file_system = o->is_one_file_system,
		                            .visit = visit_cb,
		                            .arg = &rw};

		rc = treewalk_run(&p);
	}
	plugin_host_list_end(&rw.changes);
	return rc;
}
