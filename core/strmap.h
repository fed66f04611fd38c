/*
 * strmap.h — a small string-keyed hash map (open addressing).
 *
 * Config lookups by job name happen for every section, every `requires`
 * and every job a command names; with thousands of job files a linear scan
 * made loading quadratic.  Keys are not copied: they must outlive the map.
 */
#ifndef CT_STRMAP_H
#define CT_STRMAP_H

struct strmap;

struct strmap *strmap_new(void);
/* Accepts NULL.  Frees the map only, not keys or values. */
void strmap_free(struct strmap *m);
/* The value for `key`, or NULL. */
void *strmap_get(const struct strmap *m, const char *key);
/* Set `key` to `value` (replacing an earlier value). */
void strmap_put(struct strmap *m, const char *key, void *value);

#endif
