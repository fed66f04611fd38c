/*
 * pathmatch.h — the exclude rule of the plugins that walk file trees (the
 * backup plugin's `exclude`, the audit plugin's `baseline_exclude`), so
 * that one pattern means the same thing in every job.
 *
 * A pattern matches an entry when fnmatch(3) matches it against the
 * entry's path relative to its root (with FNM_PATHNAME: '*' stops at '/')
 * or against its base name alone; a pattern ending in '/' matches folders
 * only.  Header-only, like monotonic.h: a plugin uses it without linking
 * one more library for one function.
 */
#ifndef CARETAKER_PLUGINS_PATHMATCH_H
#define CARETAKER_PLUGINS_PATHMATCH_H

#include <fnmatch.h>
#include <stddef.h>
#include <string.h>

/* Non-zero when `pattern` matches the entry `rel` (relative to its root,
 * never empty), whose base name is `base`. */
static inline int
pathmatch_matches(const char *pattern, const char *rel, const char *base, int is_dir)
{
	char dir_pattern[1024];
	size_t n = strlen(pattern);

	if (n > 1 && pattern[n - 1] == '/') {
		if (!is_dir || n >= sizeof(dir_pattern))
			return 0;
		memcpy(dir_pattern, pattern, n - 1);
		dir_pattern[n - 1] = '\0';
		pattern = dir_pattern;
	}
	return fnmatch(pattern, rel, FNM_PATHNAME) == 0 || fnmatch(pattern, base, 0) == 0;
}

/* Non-zero when one of the `n` patterns matches `rel` ("" is the root,
 * which is never excluded). */
static inline int
pathmatch_is_excluded(const char *const *patterns, size_t n, const char *rel, int is_dir)
{
	const char *slash = strrchr(rel, '/');
	const char *base = slash != NULL ? slash + 1 : rel;

	if (rel[0] == '\0')
		return 0;
	for (size_t i = 0; i < n; i++)
		if (pathmatch_matches(patterns[i], rel, base, is_dir))
			return 1;
	return 0;
}

#endif
