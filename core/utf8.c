/*
 * utf8.c — UTF-8 repair for text headed into JSON (see utf8.h).  Overlong
 * forms and surrogates are not rejected here: jansson rejects them, and the
 * caller then falls back to dropping the text.
 */
#include "autoconf.h"

#include <string.h>

#include "utf8.h"
#include "xmalloc.h"

static size_t
utf8_sequence_length(unsigned char c)
{
	if (c < 0x80)
		return c == 0 ? 0 : 1;
	if ((c >> 5) == 6)
		return 2;
	if ((c >> 4) == 14)
		return 3;
	if ((c >> 3) == 30)
		return 4;
	return 0;
}

char *
utf8_repair(const char *s, size_t len, size_t *out_len)
{
	char *out = xmalloc(len * 3 + 1);
	size_t o = 0, i = 0;

	while (i < len) {
		size_t need = utf8_sequence_length((unsigned char)s[i]), k = 1;

		while (need > 1 && k < need && i + k < len && ((unsigned char)s[i + k] >> 6) == 2)
			k++;
		if (need == 0 || k != need) {
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
