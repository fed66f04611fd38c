/*
 * logrotate_names.c — the names of rotated copies: where they go (beside
 * the log or in olddir), log.N and log.N.gz, log-DATE, and the hidden
 * temporary files a killed compression leaves behind.  Names only: no file
 * is touched here.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "durable.h"
#include "logrotate.h"

const char *
lr_names_base(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash != NULL ? slash + 1 : path;
}

int
lr_names_dir(const struct lr_config *cfg, const char *log, char *dir, size_t size)
{
	char log_dir[PATH_MAX];
	int n;

	if (durable_dirname(log, log_dir, sizeof(log_dir)) != 0)
		return CT_EINVAL;
	if (cfg->olddir == NULL)
		n = snprintf(dir, size, "%s", log_dir);
	else if (cfg->olddir[0] == '/')
		n = snprintf(dir, size, "%s", cfg->olddir);
	else
		n = snprintf(dir, size, "%s/%s", log_dir, cfg->olddir);
	return n < 0 || (size_t)n >= size ? CT_EINVAL : 0;
}

int
lr_names_numbered(const char *dir, const char *base, long index, const char *suffix, char *out,
                  size_t size)
{
	int n = snprintf(out, size, "%s/%s.%ld%s", dir, base, index, suffix);

	return n < 0 || (size_t)n >= size ? CT_EINVAL : 0;
}

/* Length of `name` without a known compression suffix; sets
 * *is_compressed. */
static size_t
names_strip_suffix(const char *name, int *is_compressed)
{
	static const char *const suffixes[] = {".gz", ".zst", NULL};
	size_t n = strlen(name);

	*is_compressed = 0;
	for (size_t i = 0; suffixes[i] != NULL; i++) {
		size_t k = strlen(suffixes[i]);

		if (n > k && strcmp(name + n - k, suffixes[i]) == 0) {
			*is_compressed = 1;
			return n - k;
		}
	}
	return n;
}

long
lr_names_index(const char *name, const char *base, int *is_compressed)
{
	size_t nb = strlen(base), n = names_strip_suffix(name, is_compressed);
	long index = 0;

	if (n <= nb + 1 || strncmp(name, base, nb) != 0 || name[nb] != '.')
		return 0;
	for (size_t i = nb + 1; i < n; i++) {
		if (!isdigit((unsigned char)name[i]) || index > 100000000)
			return 0;
		index = index * 10 + (name[i] - '0');
	}
	return index;
}

/* The operator's dateformat is the format: a run-time string by design
 * (strftime reads nothing but the struct tm, whatever the format says). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
size_t
lr_names_date(const char *format, const struct tm *tm, char *out, size_t size)
{
	return strftime(out, size, format, tm);
}
#pragma GCC diagnostic pop

/*
 * A dated name has the shape of the format: the same length as a date it
 * makes, digits where the date has digits and the same characters
 * elsewhere.  Good enough for the numeric formats dateformat allows, and
 * it never takes the log itself or another file for a rotated copy.
 */
int
lr_names_is_dated(const char *name, const char *base, const char *format, int *is_compressed)
{
	struct tm tm = {.tm_year = 126, .tm_mon = 0, .tm_mday = 1};
	char sample[128];
	size_t nb = strlen(base), n = names_strip_suffix(name, is_compressed);
	size_t ns = lr_names_date(format, &tm, sample, sizeof(sample));

	if (ns == 0 || n != nb + ns || strncmp(name, base, nb) != 0)
		return 0;
	for (size_t i = 0; i < ns; i++) {
		int is_digit = isdigit((unsigned char)sample[i]) != 0;

		if (is_digit ? !isdigit((unsigned char)name[nb + i]) : name[nb + i] != sample[i])
			return 0;
	}
	return 1;
}

int
lr_names_is_temporary(const char *name, const char *base)
{
	size_t nb = strlen(base);

	/* After the base comes ".N" or dateext's separator. */
	return name[0] == '.' && strncmp(name + 1, base, nb) == 0 &&
	       strchr(".-_", name[nb + 1]) != NULL && name[nb + 1] != '\0' &&
	       strstr(name + nb + 1, DURABLE_TMP_INFIX) != NULL;
}
