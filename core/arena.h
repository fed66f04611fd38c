/*
 * arena.h — a region allocator: many small allocations, one release.
 *
 * Each job run, history read and report gets its own arena, passed
 * explicitly; everything allocated from it lives until arena_free().  There
 * is no "current arena".  Allocation aborts on out-of-memory like xmalloc.
 */
#ifndef CT_ARENA_H
#define CT_ARENA_H

#include <stdarg.h>
#include <stddef.h>

struct arena;

struct arena *arena_new(void);
/* Release everything allocated from `a`, and `a` itself.  Accepts NULL. */
void arena_free(struct arena *a);
/* Zeroed memory, aligned for any type. */
void *arena_alloc(struct arena *a, size_t size);
char *arena_strdup(struct arena *a, const char *s);
char *arena_strndup(struct arena *a, const char *s, size_t n);
char *arena_sprintf(struct arena *a, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
char *arena_vsprintf(struct arena *a, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

#endif
