/*
 * prune_select.c — which files go and which stay, and the deletes.
 *
 * Per `paths` item, newest first: the keep_min newest stay whatever their
 * age and size; then, counting the bytes of the files that stay, the first
 * file that would pass max_total_size and every older one go; of the rest,
 * those older than older_than go.  Deletes go oldest first.
 *
 * A delete reopens the file's folder from the walked folder one component
 * at a time without following links (treewalk_open_dir), looks at the name
 * again with fstatat, and unlinks it relative to that folder's descriptor
 * only when it is still the regular file the walk saw (same device, inode
 * and modification time): a file replaced, or written to since, stays.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "prune.h"
#include "treewalk.h"

static int
newest_first(const void *a, const void *b)
{
	const struct prune_file *x = a, *y = b;

	if (x->set != y->set)
		return x->set < y->set ? -1 : 1;
	if (x->mtime_s != y->mtime_s)
		return x->mtime_s > y->mtime_s ? -1 : 1;
	if (x->mtime_ns != y->mtime_ns)
		return x->mtime_ns > y->mtime_ns ? -1 : 1;
	return strcmp(x->rel, y->rel);
}

/* The fates of one set's files, f[0] the newest. */
static void
select_set(const struct prune_opts *o, struct prune_file *f, size_t n, int64_t cutoff_s)
{
	int64_t total = 0;
	int is_over = 0;

	for (size_t i = 0; i < n; i++) {
		if ((int64_t)i < o->keep_min)
			f[i].fate = PRUNE_KEEP_NEWEST;
		else if (is_over ||
		         (o->max_total_bytes >= 0 && total + f[i].bytes > o->max_total_bytes))
			f[i].fate = PRUNE_REMOVE_OVERSIZE;
		else if (o->older_than_ms >= 0 && f[i].mtime_s < cutoff_s)
			f[i].fate = PRUNE_REMOVE_OLD;
		else
			f[i].fate = PRUNE_KEEP_YOUNG;
		is_over = f[i].fate == PRUNE_REMOVE_OVERSIZE;
		if (f[i].fate == PRUNE_KEEP_NEWEST || f[i].fate == PRUNE_KEEP_YOUNG)
			total += f[i].bytes;
	}
}

void
prune_select(const struct prune_opts *o, struct prune_found *f, int64_t now_s)
{
	int64_t cutoff_s = now_s - (o->older_than_ms < 0 ? 0 : o->older_than_ms / 1000);
	size_t start = 0;

	if (f->n_files == 0)
		return;
	qsort(f->files, f->n_files, sizeof(f->files[0]), newest_first);
	for (size_t i = 1; i <= f->n_files; i++)
		if (i == f->n_files || f->files[i].set != f->files[start].set) {
			select_set(o, f->files + start, i - start, cutoff_s);
			start = i;
		}
}

static int
is_removal(const struct prune_file *pf)
{
	return pf->fate == PRUNE_REMOVE_OLD || pf->fate == PRUNE_REMOVE_OVERSIZE;
}

/* The folder descriptor of the last delete, reused while the next file
 * is in the same folder. */
struct dir_cache {
	int fd;
	size_t set;
	char rel_dir[4096];
};

static int
dir_open(struct dir_cache *dc, const struct prune_set *s, size_t set, const char *rel_dir,
         char *err, size_t err_size)
{
	int fd = -1, rc;

	if (dc->fd >= 0 && dc->set == set && strcmp(dc->rel_dir, rel_dir) == 0)
		return 0;
	rc = treewalk_open_dir(s->root, rel_dir, &fd, err, err_size);
	if (rc != 0)
		return rc;
	if (dc->fd >= 0)
		close(dc->fd);
	dc->fd = fd;
	dc->set = set;
	snprintf(dc->rel_dir, sizeof(dc->rel_dir), "%s", rel_dir);
	return 0;
}

/* The file's path for people: escaped, so that a name with a newline or
 * bytes that are not UTF-8 stays on its line and can be found again. */
static void
path_words(const struct prune_set *s, const struct prune_file *pf, char *out, size_t size)
{
	char raw[8192];

	snprintf(raw, sizeof(raw), "%s/%s", s->root, pf->rel);
	treewalk_escape(raw, out, size);
}

/* Delete one file that is to go; its outcome says what happened. */
static void
remove_one(struct plugin_host *h, const struct prune_set *s, struct prune_file *pf,
           struct dir_cache *dc)
{
	char rel_dir[4096], err[512] = "", path[4 * 8192];
	const char *slash = strrchr(pf->rel, '/');
	const char *name = slash != NULL ? slash + 1 : pf->rel;
	struct stat st;

	snprintf(rel_dir, sizeof(rel_dir), "%.*s", slash != NULL ? (int)(slash - pf->rel) : 0,
	         pf->rel);
	path_words(s, pf, path, sizeof(path));
	pf->outcome = PRUNE_FAILED;
	if (dir_open(dc, s, pf->set, rel_dir, err, sizeof(err)) != 0) {
		h->ct->add_finding(h->t, CT_SEV_ERROR, path, "cannot open its folder: %s", err);
		return;
	}
	if (fstatat(dc->fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_dev != pf->dev || st.st_ino != pf->ino || st.st_mtim.tv_sec != pf->mtime_s ||
	    st.st_mtim.tv_nsec != pf->mtime_ns) {
		pf->outcome = PRUNE_CHANGED;
		return;
	}
	if (h->ct->is_dry_run(h->t) || unlinkat(dc->fd, name, 0) == 0) {
		pf->outcome = PRUNE_REMOVED;
		return;
	}
	h->ct->add_finding(h->t, CT_SEV_ERROR, path, "cannot delete: %s", strerror(errno));
}

static const char *
line_words(const struct prune_file *pf, int is_dry_run)
{
	static const char *const kept[] = {
	    [PRUNE_KEEP_NEWEST] = "kept (keep_min: among the newest)",
	    [PRUNE_KEEP_YOUNG] = "kept (younger than older_than)",
	};

	if (pf->outcome == PRUNE_CHANGED)
		return "kept (changed since the walk)";
	if (pf->outcome == PRUNE_FAILED)
		return "not deleted (see findings)";
	if (pf->outcome == PRUNE_REMOVED)
		return pf->fate == PRUNE_REMOVE_OLD
		           ? (is_dry_run ? "would remove (older than older_than)"
		                         : "removed (older than older_than)")
		           : (is_dry_run ? "would remove (past max_total_size)"
		                         : "removed (past max_total_size)");
	return kept[pf->fate];
}

/* The two lists of the report's output (plughost.h: 64 KiB at a time,
 * each closed by its count). */
struct out_streams {
	struct plugin_host_list *removed, *kept;
};

/* One line per file in the report's output, and the tally. */
static void
list_one(struct plugin_host *h, const struct prune_found *f, const struct prune_file *pf,
         struct prune_tally *tally, struct out_streams *os)
{
	int is_dry_run = h->ct->is_dry_run(h->t);
	char line[4 * 8192 + 128], path[4 * 8192];
	int n;

	path_words(&f->sets[pf->set], pf, path, sizeof(path));
	n = snprintf(line, sizeof(line), "%s %s %lld bytes %.1f days\n", line_words(pf, is_dry_run),
	             path, (long long)pf->bytes, (double)(tally->now_s - pf->mtime_s) / 86400.0);
	plugin_host_list_add(pf->outcome == PRUNE_REMOVED ? os->removed : os->kept, line,
	                     n > 0 && (size_t)n < sizeof(line) ? (size_t)n : strlen(line));
	if (pf->outcome == PRUNE_REMOVED) {
		tally->removed++;
		tally->removed_bytes += pf->bytes;
		return;
	}
	tally->failed += pf->outcome == PRUNE_FAILED;
	tally->kept_changed += pf->outcome == PRUNE_CHANGED;
	tally->kept_newest += pf->fate == PRUNE_KEEP_NEWEST;
	tally->kept_young += pf->fate == PRUNE_KEEP_YOUNG;
	tally->kept_bytes += pf->bytes;
}

int
prune_apply(struct plugin_host *h, struct prune_found *f, struct prune_tally *tally)
{
	struct dir_cache dc = {.fd = -1};
	struct out_streams os = {NULL, NULL};
	int rc = plugin_host_list_begin(h, "removed", "file(s)", &os.removed);

	if (rc == 0)
		rc = plugin_host_list_begin(h, "kept", "file(s)", &os.kept);
	if (rc != 0)
		goto out;
	/* Oldest first: a run cut short has removed the oldest. */
	for (size_t i = f->n_files; i-- > 0;) {
		if (h->ct->should_stop(h->t)) {
			rc = CT_ECANCELED;
			break;
		}
		if (is_removal(&f->files[i]))
			remove_one(h, &f->sets[f->files[i].set], &f->files[i], &dc);
		list_one(h, f, &f->files[i], tally, &os);
	}
out:
	plugin_host_list_end(&os.removed);
	plugin_host_list_end(&os.kept);
	if (dc.fd >= 0)
		close(dc.fd);
	return rc;
}
