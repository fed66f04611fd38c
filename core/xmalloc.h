/*
 * xmalloc.h — allocation wrappers for the core.  They never return NULL: on
 * out-of-memory they print one line and abort, because the core has no
 * sensible way to go on (plugins get CT_ENOMEM from SDK calls instead).
 */
#ifndef CT_XMALLOC_H
#define CT_XMALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t size);
void *xcalloc(size_t n, size_t size);
/* realloc of n * size bytes with overflow check. */
void *xreallocarray(void *ptr, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Append `item` to a growable array of pointers; *n is the count. */
void xarray_push(void ***array, size_t *n, void *item);

#endif
