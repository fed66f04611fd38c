/*
 * utf8.c — text made safe (see utf8.h): repaired and shortened for JSON,
 * escaped for a terminal or the journal.
 *
 * Decoding is strict: overlong forms, surrogates and code points past
 * U+10FFFF are not UTF-8.  jansson rejects them, so a repair that let them
 * through would make the whole message fail to encode and be lost; and a
 * terminal could read an overlong form of ESC as ESC.
 */
#include "autoconf.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"
#include "xmalloc.h"

/* The lead bytes of UTF-8: mask and bits that recognise one, the length of
 * its sequence and the smallest code point that length may encode. */
static const struct {
	unsigned char mask, bits;
	size_t len;
	unsigned long min;
} utf8_leads[] = {
    {0x80, 0x00, 1, 0x0},
    {0xe0, 0xc0, 2, 0x80},
    {0xf0, 0xe0, 3, 0x800},
    {0xf8, 0xf0, 4, 0x10000},
};

/* The length of the valid sequence at s[0..len), or 0 when none starts
 * there; *cp gets its code point. */
static size_t
utf8_decode(const unsigned char *s, size_t len, unsigned long *cp)
{
	for (size_t k = 0; k < sizeof(utf8_leads) / sizeof(utf8_leads[0]); k++) {
		size_t need = utf8_leads[k].len;
		unsigned long c = s[0] & (unsigned char)~utf8_leads[k].mask;

		if ((s[0] & utf8_leads[k].mask) != utf8_leads[k].bits)
			continue;
		if (need > len)
			return 0;
		for (size_t i = 1; i < need; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return 0;
			c = c << 6 | (s[i] & 0x3fu);
		}
		if (c < utf8_leads[k].min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
		*cp = c;
		return need;
	}
	return 0;
}

char *
utf8_repair(const char *s, size_t len, size_t *out_len)
{
	const unsigned char *u = (const unsigned char *)s;
	char *out = xmalloc(len * 3 + 1);
	size_t o = 0, i = 0;
	unsigned long cp = 0;

	while (i < len) {
		size_t need = utf8_decode(u + i, len - i, &cp);

		if (need == 0 || cp == 0) {
			memcpy(out + o, "\xef\xbf\xbd", 3);
			o += 3;
			i++;
			continue;
		}
		memcpy(out + o, s + i, need);
		o += need;
		i += need;
	}
	out[o] = '\0';
	*out_len = o;
	return out;
}

char *
utf8_shorten(const char *s, size_t len, size_t max, size_t *out_len)
{
	char marker[UTF8_MARKER_MAX + 1];
	size_t n, keep;
	char *text = utf8_repair(s, len, &n);

	if (n <= max) {
		*out_len = n;
		return text;
	}
	/* The marker for cutting everything is the longest it can be: make
	 * room for that one, then write the true count. */
	snprintf(marker, sizeof(marker), "... [%zu bytes cut]", n);
	keep = strlen(marker) < max ? max - strlen(marker) : 0;
	while (keep > 0 && ((unsigned char)text[keep] & 0xc0) == 0x80)
		keep--;
	snprintf(marker, sizeof(marker), "... [%zu bytes cut]", n - keep);
	memcpy(text + keep, marker, strlen(marker) + 1);
	*out_len = keep + strlen(marker);
	return text;
}

/* Code points escaped for a terminal: controls, and what moves or
 * reorders lines (line and paragraph separators, bidirectional
 * embeddings, overrides and isolates). */
static const struct {
	unsigned long first, last;
} utf8_unsafe[] = {
    {0x00, 0x1f},
    {0x7f, 0x9f},
    {0x2028, 0x202e},
    {0x2066, 0x2069},
};

static int
utf8_is_unsafe(unsigned long cp, unsigned flags)
{
	if ((flags & UTF8_ESCAPE_KEEP_LINES) && (cp == '\n' || cp == '\t'))
		return 0;
	for (size_t k = 0; k < sizeof(utf8_unsafe) / sizeof(utf8_unsafe[0]); k++)
		if (cp >= utf8_unsafe[k].first && cp <= utf8_unsafe[k].last)
			return 1;
	return 0;
}

/* Write the escape of `cp` at `out` (room for 7 bytes); its length. */
static size_t
utf8_escape_one(char *out, unsigned long cp)
{
	static const char *const named[] = {['\n'] = "\\n", ['\t'] = "\\t", ['\r'] = "\\r"};

	if (cp < sizeof(named) / sizeof(named[0]) && named[cp] != NULL) {
		memcpy(out, named[cp], 3);
		return 2;
	}
	if (cp < 0x80)
		return (size_t)snprintf(out, 7, "\\x%02lx", cp);
	return (size_t)snprintf(out, 7, "\\u%04lx", cp);
}

char *
utf8_escape(const char *s, unsigned flags)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), o = 0, i = 0;
	/* At most 4 bytes out per byte in: \xHH for one byte, \uHHHH for two
	 * or three. */
	char *out = xmalloc(len * 4 + 8);
	unsigned long cp = 0;

	while (i < len) {
		size_t need = utf8_decode(u + i, len - i, &cp);

		if (need == 0) {
			o += (size_t)snprintf(out + o, 5, "\\x%02x", u[i]);
			i++;
		} else if (utf8_is_unsafe(cp, flags)) {
			o += utf8_escape_one(out + o, cp);
			i += need;
		} else {
			memcpy(out + o, s + i, need);
			o += need;
			i += need;
		}
	}
	out[o] = '\0';
	return out;
}
