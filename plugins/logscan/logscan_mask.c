/*
 * logscan_mask.c — the key a message is grouped under: the line with what
 * changes from one occurrence to the next replaced by placeholders, so
 * "Internal Server Error: /patients/17/" and ".../patients/4022/" count as
 * one message.
 *
 * Replaced, at the start of a word: UUIDs (<id>), 0x-prefixed and long hex
 * strings with a digit in them (<hex>), IPv4 addresses with an optional
 * port (<ip>), absolute paths (<path>); anywhere: each run of digits (#).
 */
#include <string.h>

#include "logscan.h"

struct masker {
	const char *s;
	size_t len, i;
	char *out;
	size_t size, o;
};

static void
put(struct masker *k, const char *text)
{
	for (; *text != '\0' && k->o + 1 < k->size; text++)
		k->out[k->o++] = *text;
}

/* Character classes without the locale's table: the masks are the same
 * in every locale, and a plain comparison is several times faster than
 * the ctype call in the loop that runs over every reported line. */
static int
is_digit(int c)
{
	return c >= '0' && c <= '9';
}

static int
is_xdigit(int c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f');
}

static int
is_word(int c)
{
	return is_digit(c) || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z') || c == '_';
}

/* How many characters from k->i satisfy `pred`, at most `max`. */
static size_t
span(const struct masker *k, int (*pred)(int), size_t max)
{
	size_t n = 0;

	while (k->i + n < k->len && n < max && pred((unsigned char)k->s[k->i + n]))
		n++;
	return n;
}

static int
ends_word(const struct masker *k, size_t n)
{
	return k->i + n >= k->len || !is_word((unsigned char)k->s[k->i + n]);
}

static size_t
match_uuid(const struct masker *k)
{
	static const size_t groups[] = {8, 4, 4, 4, 12};
	size_t n = 0;

	for (size_t g = 0; g < 5; g++) {
		for (size_t c = 0; c < groups[g]; c++, n++)
			if (k->i + n >= k->len || !is_xdigit((unsigned char)k->s[k->i + n]))
				return 0;
		if (g < 4 && (k->i + n >= k->len || k->s[k->i + n++] != '-'))
			return 0;
	}
	return ends_word(k, n) ? n : 0;
}

static size_t
match_hex(const struct masker *k)
{
	size_t n;
	int has_digit = 0;

	if (k->i + 2 < k->len && k->s[k->i] == '0' && (k->s[k->i + 1] | 0x20) == 'x') {
		struct masker after = *k;

		after.i += 2;
		n = span(&after, is_xdigit, k->len);
		return n > 0 && ends_word(k, n + 2) ? n + 2 : 0;
	}
	n = span(k, is_xdigit, k->len);
	for (size_t j = 0; j < n; j++)
		has_digit |= is_digit((unsigned char)k->s[k->i + j]) != 0;
	return n >= 8 && has_digit && ends_word(k, n) ? n : 0;
}

static size_t
match_ipv4(const struct masker *k)
{
	size_t n = 0;

	for (int part = 0; part < 4; part++) {
		struct masker at = *k;
		size_t d;

		at.i += n;
		d = span(&at, is_digit, 3);
		if (d == 0)
			return 0;
		n += d;
		if (part < 3 && (k->i + n >= k->len || k->s[k->i + n++] != '.'))
			return 0;
	}
	if (k->i + n + 1 < k->len && k->s[k->i + n] == ':' &&
	    is_digit((unsigned char)k->s[k->i + n + 1])) {
		struct masker at = *k;

		at.i += n + 1;
		n += 1 + span(&at, is_digit, 5);
	}
	return ends_word(k, n) ? n : 0;
}

static int
is_path_char(int c)
{
	return c > ' ' && c != '"' && c != '\'' && c != ',' && c != ')' && c != ']' && c != ';';
}

/* "/a/b" or longer, starting after a space, quote, '(' or '=' (a URL's
 * path starts after its host and is left to the digit rule). */
static size_t
match_path(const struct masker *k)
{
	size_t n;
	const char *slash;

	if (k->s[k->i] != '/' || (k->i > 0 && strchr(" \t\"'(=:", k->s[k->i - 1]) == NULL))
		return 0;
	n = span(k, is_path_char, k->len);
	slash = memchr(k->s + k->i + 1, '/', n > 1 ? n - 1 : 0);
	return slash != NULL && (size_t)(slash - (k->s + k->i)) + 1 < n ? n : 0;
}

static const struct {
	size_t (*match)(const struct masker *k);
	const char *placeholder;
} word_rules[] = {
    {match_uuid, "<id>"},
    {match_hex, "<hex>"},
    {match_ipv4, "<ip>"},
    {match_path, "<path>"},
};

static size_t
try_word_rules(struct masker *k)
{
	int c = (unsigned char)k->s[k->i];

	/* Every rule starts with a hex digit or a '/'. */
	if ((!is_xdigit(c) && c != '/') || (k->i > 0 && is_word((unsigned char)k->s[k->i - 1])))
		return 0;
	for (size_t r = 0; r < sizeof(word_rules) / sizeof(word_rules[0]); r++) {
		size_t n = word_rules[r].match(k);

		if (n > 0) {
			put(k, word_rules[r].placeholder);
			return n;
		}
	}
	return 0;
}

void
logscan_mask(const char *line, size_t len, char *out, size_t size)
{
	struct masker k = {.s = line, .len = len, .out = out, .size = size};

	while (k.i < k.len && k.o + 1 < k.size) {
		size_t n = try_word_rules(&k);

		/* The rest of a word of letters goes over as it is. */
		while (n == 0 && k.i > 0 && k.i < k.len && k.o + 1 < k.size &&
		       is_word((unsigned char)line[k.i - 1]) &&
		       !is_digit((unsigned char)line[k.i]) && is_word((unsigned char)line[k.i])) {
			k.out[k.o++] = line[k.i++];
		}
		if (k.i >= k.len || k.o + 1 >= k.size)
			break;

		if (n == 0 && is_digit((unsigned char)line[k.i])) {
			n = span(&k, is_digit, k.len);
			put(&k, "#");
		} else if (n == 0) {
			char c[2] = {line[k.i] == '\r' || line[k.i] == '\t' ? ' ' : line[k.i],
			             '\0'};

			n = 1;
			put(&k, c);
		}
		k.i += n;
	}
	out[k.o] = '\0';
}
