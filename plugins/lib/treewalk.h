/*
 * treewalk.h — a walk of a file tree that never leaves the tree it was
 * given, for the plugins that delete or change files in it (prune, perms).
 *
 * Every folder is opened relative to its parent's descriptor with
 * O_DIRECTORY | O_NOFOLLOW, and every entry is looked at with fstatat and
 * AT_SYMLINK_NOFOLLOW, so a symbolic link is reported as a link and never
 * entered, and a folder swapped for a link while the walk runs is not
 * entered either (the open refuses it, or the folder opened is not the one
 * looked at and the entry is reported with an error).  The callback gets
 * the parent folder's descriptor and the entry's name in it: what it
 * deletes or changes it does with unlinkat/fchownat/fchmodat relative to
 * that descriptor, never through a path that could be redirected.
 *
 * What cannot be read (a folder without permission) is reported to the
 * callback as an entry with an error, and the walk goes on: one locked
 * folder is a finding, not the end of the run.  An entry gone between
 * readdir and fstatat (or a folder gone before it is opened) below the
 * root is not visited at all: it no longer exists, and a log rotated
 * while the walk runs is no finding.  The walk is depth-first, depth bounded, and optionally stays
 * on the root's file system (as find -xdev).
 *
 * The folders above the root are resolved as the kernel does (a link
 * among them is followed: they are the administrator's choice); the root
 * itself and everything below it are never reached through a link.
 */
#ifndef CARETAKER_PLUGINS_TREEWALK_H
#define CARETAKER_PLUGINS_TREEWALK_H

#include <stddef.h>
#include <sys/stat.h>

/* Returned by a visit callback: go on, or do not enter this folder. */
#define TREEWALK_CONTINUE 0
#define TREEWALK_SKIP 1

/* The deepest walk allowed: bounds the open descriptors (one per level). */
#define TREEWALK_MAX_DEPTH 256

struct treewalk_entry {
	int dir_fd;            /* the parent folder, open; valid during the callback only;
	                          -1 for an error reading a folder (`what` is "read") */
	const char *name;      /* the entry's name in dir_fd */
	const char *path;      /* root + "/" + rel, for people: escaped (treewalk_escape) */
	const char *rel;       /* relative to the root; "" for the root itself */
	const struct stat *st; /* lstat-like; NULL when error != 0 and nothing was read */
	int depth;             /* 0 for the root, 1 for its entries... */
	int error;             /* 0, or the errno of what failed (see `what`) */
	const char *what;      /* the step that failed ("stat", "open", "read"), or NULL */
	int is_other_fs;       /* a folder on another file system: not entered */
	int is_too_deep;       /* a folder below the root at max_depth: not entered (what
	                          it holds is not visited; callers say so) */
};

/* Return TREEWALK_CONTINUE, TREEWALK_SKIP (folders: not entered), or a
 * negative CT_E* code, which ends the walk with that code. */
typedef int treewalk_visit_cb(const struct treewalk_entry *e, void *arg);

struct treewalk_params {
	const char *root;         /* a folder or a file; a link here is reported, not followed */
	int max_depth;            /* entries deeper than this are not visited (0: the root only;
	                             at most TREEWALK_MAX_DEPTH) */
	int is_one_file_system;   /* do not enter folders on another file system */
	treewalk_visit_cb *visit; /* called for every entry, a folder before what it holds */
	void *arg;
};

/* Walk p->root.  The root is visited first (depth 0, rel ""); a root that
 * does not exist is visited with error ENOENT.  Returns 0 once the walk is
 * done (entry errors went to the callback), or the callback's negative
 * code.  Nothing is allocated that outlives the call. */
int treewalk_run(const struct treewalk_params *p);

/* Open the folder `rel_dir` below `root` ("" for the root itself), one
 * component at a time with O_NOFOLLOW, so that no link on the way is
 * followed; `root` itself must not be a link.  On success *fd_out is an
 * O_DIRECTORY descriptor the caller closes.  Returns 0, or CT_ENOENT /
 * CT_EIO with the failing component in err. */
int treewalk_open_dir(const char *root, const char *rel_dir, int *fd_out, char *err,
                      size_t err_size);

/* Split a glob into the folder it walks (its leading components without a
 * glob character) and the pattern relative to it: "/var/log/app/x.log.*"
 * gives "/var/log/app" and "x.log.*"; a path without glob characters gives
 * itself and "".  Returns 0, or CT_EINVAL when `root` is too small or the
 * glob is not absolute. */
int treewalk_glob_split(const char *glob, char *root, size_t root_size, const char **pattern);

/* Why `path` cannot be a walk's root, as words for a message (with a
 * hint line), or NULL when it can: not absolute; a '.' or '..' component
 * ("/srv/app/.." is whatever /srv/app links to the parent of, and "/tmp/.."
 * is "/"); or, unless is_root_allowed, the root folder in any spelling
 * ("/", "//", and "/x/x" where x holds a glob character, since the walk
 * starts before the first such component). */
const char *treewalk_root_refusal(const char *path, int is_root_allowed);

/* How many components a relative pattern has ("app/x.log" has 2): the depth
 * a walk needs to match it. */
int treewalk_pattern_depth(const char *pattern);

/* A file name made safe to show and to find again, as the host's own
 * escapes in the journal: C0 controls and DEL become \n, \t, \r or \xHH,
 * the C1 controls and the characters that move or reorder lines (U+2028,
 * U+2029, the bidirectional embeddings, overrides and isolates) \uHHHH, and
 * a byte that is not part of valid UTF-8 \xHH (the host would turn it into
 * U+FFFD, and the name could not be found again).  A name with a newline
 * thus stays on its line of a report.  Backslashes stay as they are.  The
 * result is cut to fit `size` (at least 1) between escapes. */
void treewalk_escape(const char *name, char *out, size_t size);

#endif
