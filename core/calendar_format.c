/*
 * calendar_format.c — a parsed calendar expression as systemd's normalized
 * text, e.g. "Mon..Fri *-*-01/2 08..16/4:00:00 Europe/Berlin".
 *
 * Owns: the printing rules of systemd 252's calendar_spec_to_string(), so
 * the text is what `systemd-analyze calendar` calls the normalized form and
 * can go into OnCalendar= as it is.  The text is built by hand rather than
 * with printf: formatting dominated the cost of a parse.
 *
 * Does not own: parsing (calendar.c).
 */
#include "autoconf.h"

#include <stdbool.h>
#include <string.h>

#include "calendar.h"
#include "tzfile.h"
#include "xmalloc.h"

#define USEC_PER_SEC 1000000
#define CAL_BITS_WEEKDAYS 127

/* Growable text. */
struct cal_buf {
	char *s;
	size_t len;
	size_t cap;
};

/* Digits each field is padded to. */
static const int field_width[CALENDAR_FIELD_COUNT] = {4, 2, 2, 2, 2, 2};

/* Append N bytes of S to B. */
static void
buf_put(struct cal_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = xreallocarray(b->s, b->cap, 1);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void
buf_str(struct cal_buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* V (>= 0) in decimal, zero-padded to WIDTH digits. */
static void
buf_num(struct cal_buf *b, int v, int width)
{
	char digits[16];
	int n = 0;

	do {
		digits[sizeof(digits) - 1 - n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0 && n < (int)sizeof(digits));
	while (n < width && n < (int)sizeof(digits))
		digits[sizeof(digits) - 1 - n++] = '0';
	buf_put(b, digits + sizeof(digits) - n, (size_t)n);
}

/* "Mon..Fri", "Mon,Tue", "Sat,Sun": runs of three or more with "..". */
static void
cal_format_weekdays(struct cal_buf *b, int bits)
{
	static const char *const names[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	int x, run = -1;
	bool need_comma = false;

	for (x = 0; x <= 7; x++) {
		bool is_set = x < 7 && (bits & (1 << x));

		if (is_set && run < 0) {
			buf_str(b, need_comma ? "," : "");
			buf_str(b, names[x]);
			need_comma = true;
			run = x;
		} else if (!is_set && run >= 0) {
			if (x > run + 1) {
				buf_str(b, x > run + 2 ? ".." : ",");
				buf_str(b, names[x - 1]);
			}
			run = -1;
		}
	}
}

/* Microseconds as systemd prints them: ".%06d", nothing for none.  (It
 * prints stops and steps the same way.) */
static void
cal_format_fraction(struct cal_buf *b, int usec)
{
	if (usec > 0) {
		buf_str(b, ".");
		buf_num(b, usec, 6);
	}
}

static bool
cal_chain_is_star(const struct calendar_chain *ch, bool is_usec)
{
	if (ch->n == 0)
		return true;
	for (size_t i = 0; is_usec && i < ch->n; i++) {
		if (ch->items[i].start == 0 && ch->items[i].stop < 0 &&
		    ch->items[i].repeat == USEC_PER_SEC)
			return true;
	}
	return false;
}

static void
cal_format_chain(struct cal_buf *b, int width, const struct calendar_chain *ch, bool is_usec)
{
	int d = is_usec ? USEC_PER_SEC : 1;

	if (cal_chain_is_star(ch, is_usec)) {
		buf_str(b, "*");
		return;
	}
	for (size_t i = 0; i < ch->n; i++) {
		const struct calendar_component *c = &ch->items[i];

		buf_str(b, i > 0 ? "," : "");
		buf_num(b, c->start / d, width);
		cal_format_fraction(b, c->start % d);
		if (c->stop > 0) {
			buf_str(b, "..");
			buf_num(b, c->stop / d, width);
		}
		cal_format_fraction(b, c->stop % d);
		if (c->repeat > 0 && !(c->stop > 0 && c->repeat == d)) {
			buf_str(b, "/");
			buf_num(b, c->repeat / d, 0);
		}
		cal_format_fraction(b, c->repeat % d);
	}
}

char *
calendar_spec_format(const struct calendar_spec *spec)
{
	struct cal_buf b = {0};
	const char *abbr;

	/* What follows each field: "YYYY-MM-DD HH:MM:SS". */
	const char *after[CALENDAR_FIELD_COUNT] = {
	    "-", spec->end_of_month ? "~" : "-", " ", ":", ":", ""};

	if (spec->weekdays_bits > 0 && spec->weekdays_bits <= CAL_BITS_WEEKDAYS) {
		cal_format_weekdays(&b, spec->weekdays_bits);
		buf_str(&b, " ");
	}
	for (int f = 0; f < CALENDAR_FIELD_COUNT; f++) {
		cal_format_chain(&b, field_width[f], &spec->chain[f], f == CALENDAR_USEC);
		buf_str(&b, after[f]);
	}
	if (spec->utc) {
		buf_str(&b, " UTC");
	} else if (spec->timezone != NULL) {
		buf_str(&b, " ");
		buf_str(&b, spec->timezone);
	} else if (spec->dst == 0 || spec->dst == 1) {
		abbr = tzfile_zone_abbr(tzfile_zone_local(), spec->dst);
		if (*abbr != '\0') {
			buf_str(&b, " ");
			buf_str(&b, abbr);
		}
	}
	return b.s;
}
