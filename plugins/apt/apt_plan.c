/*
 * apt_plan.c — what an upgrade would do, from `apt-get -s upgrade` (see
 * apt.h).
 *
 * apt-get -s prints one line per package it would install:
 *
 *   Inst NAME [OLD] (NEW ORIGIN, ORIGIN... [ARCH])
 *
 * where [OLD] is missing for a new package and each ORIGIN names a
 * release that has the new version, LABEL:VERSION/SUITE as apt knows it
 * ("Debian-Security:12/stable-security").  These lines are apt's own word
 * on where each candidate comes from, whatever the sources look like
 * (one-line or deb822, mirrors, a proxy), so a security upgrade is chosen
 * from them rather than by rewriting the sources.
 */
#include <stdlib.h>
#include <string.h>

#include "apt.h"

static char *
dup_span(const char *s, size_t n)
{
	char *d = malloc(n + 1);

	if (d != NULL) {
		memcpy(d, s, n);
		d[n] = '\0';
	}
	return d;
}

/* Splits the inside of "(NEW ORIGIN, ORIGIN [ARCH])" in place. */
static void
split_candidate(char *inside, char **version, char **origins)
{
	char *sp = strchr(inside, ' '), *arch = strrchr(inside, '[');

	*version = inside;
	*origins = "";
	if (sp == NULL)
		return;
	*sp = '\0';
	*origins = sp + 1;
	if (arch != NULL && arch > sp) {
		while (arch > sp + 1 && arch[-1] == ' ')
			arch--;
		*arch = '\0';
	}
}

/* Fills p from a copy of the line after "Inst " (changed in place);
 * CT_EINVAL when it has another shape. */
static int
parse_inst(char *line, struct apt_pkg *p)
{
	char *sp = strchr(line, ' '), *open = strchr(line, '('), *close = strrchr(line, ')');
	char *old_end, *version, *origins;

	memset(p, 0, sizeof(*p));
	if (sp == NULL || open == NULL || close == NULL || close < open)
		return CT_EINVAL;
	*sp = '\0';
	*close = '\0';
	old_end = sp[1] == '[' ? strchr(sp + 2, ']') : NULL;
	if (old_end != NULL && old_end < open)
		p->old_version = dup_span(sp + 2, (size_t)(old_end - sp - 2));
	split_candidate(open + 1, &version, &origins);
	p->name = strdup(line);
	p->new_version = strdup(version);
	p->origins = strdup(origins);
	if (p->name == NULL || p->new_version == NULL || p->origins == NULL)
		return CT_ENOMEM;
	return CT_OK;
}

static int
plan_add(struct apt_plan *plan, const char *s, size_t len)
{
	struct apt_pkg *grown = realloc(plan->pkgs, (plan->n_pkgs + 1) * sizeof(*grown));
	char *line = NULL;
	int rc;

	if (grown == NULL)
		return CT_ENOMEM;
	plan->pkgs = grown;
	line = dup_span(s, len);
	if (line == NULL)
		return CT_ENOMEM;
	rc = parse_inst(line, &plan->pkgs[plan->n_pkgs]);
	free(line);
	if (rc == CT_EINVAL)
		return CT_OK; /* a line of another shape is not ours */
	plan->n_pkgs++;
	return rc;
}

static int
list_add(char ***items, size_t *n, const char *s, size_t len)
{
	char **grown = realloc(*items, (*n + 1) * sizeof(*grown));

	if (grown == NULL)
		return CT_ENOMEM;
	*items = grown;
	(*items)[*n] = dup_span(s, len);
	if ((*items)[*n] == NULL)
		return CT_ENOMEM;
	(*n)++;
	return CT_OK;
}

/* The words of an indented line ("  pkg1 pkg2") into the list. */
static int
add_words(char ***items, size_t *n, const char *s, size_t len)
{
	const char *end = s + len;
	int rc = CT_OK;

	while (s < end && rc == CT_OK) {
		size_t w;

		while (s < end && *s == ' ')
			s++;
		w = 0;
		while (s + w < end && s[w] != ' ')
			w++;
		if (w > 0)
			rc = list_add(items, n, s, w);
		s += w;
	}
	return rc;
}

int
apt_plan_parse(const char *text, struct apt_plan *plan)
{
	int is_kept_section = 0, rc = CT_OK;

	for (const char *line = text; *line != '\0' && rc == CT_OK;) {
		size_t len = strcspn(line, "\n");

		if (strncmp(line, "Inst ", 5) == 0)
			rc = plan_add(plan, line + 5, len - 5);
		else if (is_kept_section && line[0] == ' ')
			rc = add_words(&plan->kept_back, &plan->n_kept_back, line, len);
		if (line[0] != ' ')
			is_kept_section =
			    strncmp(line, "The following packages have been kept back:", 43) == 0;
		line += len + (line[len] == '\n');
	}
	return rc;
}

static int
is_security(const struct apt_opts *o, const struct apt_pkg *p)
{
	for (size_t i = 0; i < o->n_security_words; i++)
		if (o->security_words[i][0] != '\0' && strstr(p->origins, o->security_words[i]))
			return 1;
	return 0;
}

void
apt_plan_choose(const struct apt_opts *o, struct apt_plan *plan)
{
	plan->n_chosen = 0;
	for (size_t i = 0; i < plan->n_pkgs; i++) {
		struct apt_pkg *p = &plan->pkgs[i];

		if (p->name == NULL)
			continue;
		p->is_security = is_security(o, p);
		p->is_chosen = o->upgrade == APT_UPGRADE_ALL ||
		               (o->upgrade == APT_UPGRADE_SECURITY && p->is_security);
		plan->n_chosen += (size_t)p->is_chosen;
	}
}

int
apt_plan_lines(const char *text, char ***items, size_t *n)
{
	int rc = CT_OK;

	for (const char *line = text; *line != '\0' && rc == CT_OK;) {
		size_t len = strcspn(line, "\n");

		if (len > 0 && strncmp(line, "W: ", 3) != 0 && strncmp(line, "E: ", 3) != 0)
			rc = list_add(items, n, line, len);
		line += len + (line[len] == '\n');
	}
	return rc;
}

static void
list_free(char **items, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(items[i]);
	free(items);
}

void
apt_plan_free(struct apt_plan *plan)
{
	for (size_t i = 0; i < plan->n_pkgs; i++) {
		free(plan->pkgs[i].name);
		free(plan->pkgs[i].old_version);
		free(plan->pkgs[i].new_version);
		free(plan->pkgs[i].origins);
		free(plan->pkgs[i].now);
	}
	free(plan->pkgs);
	list_free(plan->held, plan->n_held);
	list_free(plan->kept_back, plan->n_kept_back);
	memset(plan, 0, sizeof(*plan));
}
