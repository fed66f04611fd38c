/*
 * utf8.c — UTF-8 repair for text headed into JSON (see utf8.h).
 *
 * What comes out must be valid UTF-8 as RFC 3629 and jansson define it:
 * jansson refuses a string holding an overlong form, a surrogate or a code
 * point past U+10FFFF, and a refused string is a lost summary, log line or
 * whole captured stream.  So those are replaced like any other bad byte.
 */
#include "autoconf.h"

#include <string.h>

#include "utf8.h"
#include "xmalloc.h"

/* Per lead byte: the sequence's length and the range its second byte must
 * fall in (RFC 3629, section 4).  The bytes after the second are 80..BF. */
struct utf8_lead {
	unsigned char first, last; /* lead bytes this entry covers */
	size_t len;
	unsigned char lo, hi;      /* the second byte's range */
};

static const struct utf8_lead utf8_leads[] = {
	{0x01, 0x7f, 1, 0, 0},
	{0xc2, 0xdf, 2, 0x80, 0xbf},
	{0xe0, 0xe0, 3, 0xa0, 0xbf}, /* no overlong forms */
	{0xe1, 0xec, 3, 0x80, 0xbf},
	{0xed, 0xed, 3, 0x80, 0x9f}, /* no surrogates */
	{0xee, 0xef, 3, 0x80, 0xbf},
	{0xf0, 0xf0, 4, 0x90, 0xbf}, /* no overlong forms */
	{0xf1, 0xf3, 4, 0x80, 0xbf},
	{0xf4, 0xf4, 4, 0x80, 0x8f}, /* nothing past U+10FFFF */
};

/* The length of the valid sequence at s (len bytes left), or 0. */
static size_t
utf8_valid_length(const unsigned char *s, size_t len)
{
	const struct utf8_lead *lead = NULL;

	for (size_t i = 0; i < sizeof(utf8_leads) / sizeof(utf8_leads[0]) && lead == NULL; i++)
		if (s[0] >= utf8_leads[i].first && s[0] <= utf8_leads[i].last)
			lead = &utf8_leads[i];
	if (lead == NULL || lead->len > len)
		return 0;
	if (lead->len > 1 && (s[1] < lead->lo || s[1] > lead->hi))
		return 0;
	for (size_t k = 2; k < lead->len; k++)
		if ((s[k] >> 6) != 2)
			return 0;
	return lead->len;
}

char *
utf8_repair(const char *s, size_t len, size_t *out_len)
{
	char *out = xmalloc(len * 3 + 1);
	size_t o = 0, i = 0;

	while (i < len) {
		size_t need = utf8_valid_length((const unsigned char *)s + i, len - i);

		if (need == 0) {
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
