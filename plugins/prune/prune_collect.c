/*
 * prune_collect.c — the walk of each `paths` item: the regular files its
 * glob matches below the folder it names, with their size and
 * modification time.  Links, folders and other files are counted, never
 * collected: prune deletes regular files only.  The walk is treewalk.h's,
 * so no link leads it out of the folder it was given; what it cannot read
 * becomes a warning naming the entry.  A file two items match belongs to
 * the first.
 */
#include <errno.h>
#include <fnmatch.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <caretaker/plugin.h>

#include "prune.h"
#include "treewalk.h"

/* What the visit callback needs. */
struct collect {
	struct plugin_host *h;
	struct prune_found *f;
	size_t set;
};

static int
add_file(struct prune_found *f, const struct treewalk_entry *e, size_t set)
{
	struct prune_file *pf;

	if (f->n_files == f->cap_files) {
		size_t cap = f->cap_files ? f->cap_files * 2 : 256;
		struct prune_file *files = realloc(f->files, cap * sizeof(*files));

		if (files == NULL)
			return CT_ENOMEM;
		f->files = files;
		f->cap_files = cap;
	}
	pf = &f->files[f->n_files];
	memset(pf, 0, sizeof(*pf));
	pf->rel = strdup(e->rel);
	if (pf->rel == NULL)
		return CT_ENOMEM;
	pf->set = set;
	pf->dev = e->st->st_dev;
	pf->ino = e->st->st_ino;
	pf->bytes = (int64_t)e->st->st_size;
	pf->mtime_s = (int64_t)e->st->st_mtim.tv_sec;
	pf->mtime_ns = e->st->st_mtim.tv_nsec;
	f->n_files++;
	return 0;
}

/* The root must be a folder, and is never followed when it is a link. */
static int
visit_root(struct collect *c, const struct treewalk_entry *e)
{
	const struct ct_services *ct = c->h->ct;

	if (e->error != 0) {
		c->f->n_errors++;
		ct->add_finding(c->h->t, CT_SEV_WARNING, e->path, "cannot %s the folder: %s",
		                e->what, strerror(e->error));
		return TREEWALK_SKIP;
	}
	if (S_ISDIR(e->st->st_mode))
		return TREEWALK_CONTINUE;
	c->f->n_errors++;
	ct->add_finding(c->h->t, CT_SEV_WARNING, e->path, "%s",
	                S_ISLNK(e->st->st_mode) ? "is a symbolic link: not followed, nothing pruned"
	                                        : "is not a folder: nothing pruned");
	return TREEWALK_SKIP;
}

/* A folder given without a glob is pruned down to max_depth: a folder
 * there is not entered, and the files below it would stay unseen. */
static void
too_deep(struct collect *c, const struct treewalk_entry *e)
{
	c->f->n_too_deep++;
	c->h->ct->add_finding(c->h->t, CT_SEV_WARNING, e->path,
	                      "not entered: max_depth (%d) reached, nothing below it pruned\n"
	                      "hint: raise max_depth (at most %d)",
	                      e->depth, TREEWALK_MAX_DEPTH);
}

static int
visit_cb(const struct treewalk_entry *e, void *arg)
{
	struct collect *c = arg;
	const struct prune_set *s = &c->f->sets[c->set];

	if (c->h->ct->should_stop(c->h->t))
		return CT_ECANCELED;
	if (e->depth == 0)
		return visit_root(c, e);
	if (e->error != 0) {
		c->f->n_errors++;
		c->h->ct->add_finding(c->h->t, CT_SEV_WARNING, e->path, "cannot %s: %s", e->what,
		                      strerror(e->error));
		return TREEWALK_SKIP;
	}
	if (s->pattern[0] == '\0' && e->is_too_deep)
		too_deep(c, e);
	if (s->pattern[0] != '\0' && fnmatch(s->pattern, e->rel, FNM_PATHNAME) != 0)
		return TREEWALK_CONTINUE;
	if (S_ISREG(e->st->st_mode))
		return add_file(c->f, e, c->set);
	if (!S_ISDIR(e->st->st_mode) || s->pattern[0] != '\0')
		c->f->n_not_regular++;
	return TREEWALK_CONTINUE;
}

static int
walk_set(struct plugin_host *h, const struct prune_opts *o, struct prune_found *f, size_t i)
{
	struct collect c = {.h = h, .f = f, .set = i};
	struct prune_set *s = &f->sets[i];
	struct treewalk_params p = {.root = s->root,
	                            .is_one_file_system = o->is_one_file_system,
	                            .visit = visit_cb,
	                            .arg = &c};

	if (treewalk_glob_split(s->glob, s->root, sizeof(s->root), &s->pattern) != 0)
		return plugin_host_fail(h, CT_ECONFIG, "paths: '%s' is too long", s->glob);
	p.max_depth =
	    s->pattern[0] != '\0' ? treewalk_pattern_depth(s->pattern) : (int)o->max_depth;
	return treewalk_run(&p);
}

static int
by_inode(const void *a, const void *b)
{
	const struct prune_file *x = a, *y = b;

	if (x->dev != y->dev)
		return x->dev < y->dev ? -1 : 1;
	if (x->ino != y->ino)
		return x->ino < y->ino ? -1 : 1;
	return x->set < y->set ? -1 : x->set > y->set;
}

/* A file two items (or two names) reach is one file: the first item keeps
 * it, so it is neither counted twice nor deleted twice. */
static void
drop_duplicates(struct prune_found *f)
{
	size_t out = 0;

	if (f->n_files == 0)
		return;
	qsort(f->files, f->n_files, sizeof(f->files[0]), by_inode);
	for (size_t i = 0; i < f->n_files; i++) {
		if (out > 0 && f->files[out - 1].dev == f->files[i].dev &&
		    f->files[out - 1].ino == f->files[i].ino) {
			free(f->files[i].rel);
			continue;
		}
		f->files[out++] = f->files[i];
	}
	f->n_files = out;
}

int
prune_collect(struct plugin_host *h, const struct prune_opts *o, struct prune_found *f)
{
	int rc = 0;

	f->sets = calloc(o->n_paths, sizeof(*f->sets));
	if (o->n_paths > 0 && f->sets == NULL)
		return CT_ENOMEM;
	f->n_sets = o->n_paths;
	for (size_t i = 0; i < o->n_paths && rc == 0; i++) {
		f->sets[i].glob = o->paths[i];
		h->ct->progress(h->t, -1.0, "walking");
		rc = walk_set(h, o, f, i);
	}
	if (rc == 0)
		drop_duplicates(f);
	return rc;
}

void
prune_found_free(struct prune_found *f)
{
	for (size_t i = 0; i < f->n_files; i++)
		free(f->files[i].rel);
	free(f->files);
	free(f->sets);
	memset(f, 0, sizeof(*f));
}
