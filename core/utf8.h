/*
 * utf8.h — making arbitrary bytes safe: as JSON text (repaired UTF-8, and
 * shortened to a limit with a visible marker) and for a terminal or the
 * journal (control characters escaped).
 */
#ifndef CT_UTF8_H
#define CT_UTF8_H

#include <stddef.h>

/* Copy `len` bytes of `s`, replacing every byte that does not start a valid
 * UTF-8 sequence (NUL, stray continuation bytes, overlong forms, surrogates,
 * code points past U+10FFFF) with U+FFFD, so that jansson accepts the
 * result.  Returns a NUL-terminated string the caller frees; *out_len gets
 * its length. */
char *utf8_repair(const char *s, size_t len, size_t *out_len);

/* The longest marker utf8_shorten appends; a `max` below this keeps only
 * (part of) the marker. */
#define UTF8_MARKER_MAX 40

/*
 * utf8_repair, then at most `max` bytes: a longer text keeps its longest
 * head that ends on a character boundary and still fits with the marker
 * "... [N bytes cut]", N counting the repaired bytes left out.  A text that
 * fits comes back unchanged, so shortening twice to the same `max` changes
 * nothing.  Returns a NUL-terminated string the caller frees; *out_len gets
 * its length.
 */
char *utf8_shorten(const char *s, size_t len, size_t max, size_t *out_len);

/* utf8_escape flags */
#define UTF8_ESCAPE_KEEP_LINES 0x1u /* keep newlines and tabs (captured output) */

/*
 * Text made safe for a terminal or the journal: every control character
 * (C0, DEL, the C1 controls U+0080-U+009F) and the characters that move
 * lines or reorder them (U+2028, U+2029, the bidirectional embeddings,
 * overrides and isolates) become visible escapes: \n, \t, \r, \xHH for the
 * other C0 controls and DEL, \uHHHH for the rest.  A byte that is not part
 * of valid UTF-8 becomes \xHH.  Backslashes stay as they are: the escapes
 * are for reading, not for decoding.  Returns a string the caller frees.
 */
char *utf8_escape(const char *s, unsigned flags);

#endif
