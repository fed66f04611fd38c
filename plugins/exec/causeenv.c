/*
 * causeenv.c — the on_failure environment of an exec command (see
 * causeenv.h).  Built in init, before the fork, so the child only calls
 * putenv.
 */
#define _GNU_SOURCE /* asprintf */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "causeenv.h"

/* A growing NULL-terminated array of strings; on failure it stays whole. */
struct env_list {
	char **items;
	size_t n;
	int is_failed;
};

static void
env_add(struct env_list *l, const char *name, const char *value)
{
	char **grown, *item = NULL;

	if (l->is_failed)
		return;
	grown = realloc(l->items, (l->n + 2) * sizeof(*grown));
	if (grown == NULL || asprintf(&item, "%s=%s", name, value) < 0) {
		l->items = grown != NULL ? grown : l->items;
		l->is_failed = 1;
		return;
	}
	l->items = grown;
	l->items[l->n++] = item;
	l->items[l->n] = NULL;
}

static void
put_mangled(char *buf, size_t size, size_t *at, const char *s)
{
	for (; *s != '\0' && *at + 1 < size; s++)
		buf[(*at)++] = isalnum((unsigned char)*s) ? (char)toupper((unsigned char)*s) : '_';
	buf[*at] = '\0';
}

void
cause_env_artifact_name(const char *job, const char *kind, char *buf, size_t size)
{
	size_t at = 0;

	snprintf(buf, size, "CARETAKER_ARTIFACT_");
	at = strlen(buf);
	put_mangled(buf, size, &at, job);
	put_mangled(buf, size, &at, "_");
	put_mangled(buf, size, &at, kind);
}

static const char *
status_word(int status)
{
	static const char *const words[] = {"ok", "warn", "failed", "skipped"};

	return status >= 0 && status < CT_STATUS__LAST ? words[status] : "unknown";
}

static void
add_artifacts(struct ct_task *t, const struct ct_services *ct, struct env_list *l)
{
	const char *job, *kind, *path;
	char name[256], count[32];
	size_t i;

	for (i = 0; ct->chain_artifact(t, i, &job, &kind, &path) == CT_OK; i++) {
		snprintf(name, sizeof(name), "CARETAKER_CHAIN_%zu_JOB", i + 1);
		env_add(l, name, job);
		snprintf(name, sizeof(name), "CARETAKER_CHAIN_%zu_KIND", i + 1);
		env_add(l, name, kind);
		snprintf(name, sizeof(name), "CARETAKER_CHAIN_%zu_PATH", i + 1);
		env_add(l, name, path);
		cause_env_artifact_name(job, kind, name, sizeof(name));
		env_add(l, name, path);
	}
	snprintf(count, sizeof(count), "%zu", i);
	env_add(l, "CARETAKER_CHAIN_ARTIFACTS", count);
}

int
cause_env_build(struct ct_task *t, const struct ct_services *ct, char ***env)
{
	struct env_list l = {0};
	const char *job, *summary;
	int status;

	*env = NULL;
	if (!CT_HAS_SERVICE(ct, chain_artifact) ||
	    ct->failed_job(t, &job, &status, &summary) != CT_OK)
		return CT_OK;
	env_add(&l, "CARETAKER_FAILED_JOB", job);
	env_add(&l, "CARETAKER_FAILED_STATUS", status_word(status));
	env_add(&l, "CARETAKER_FAILED_SUMMARY", summary);
	add_artifacts(t, ct, &l);
	if (l.is_failed) {
		cause_env_free(l.items);
		return CT_ENOMEM;
	}
	*env = l.items;
	return CT_OK;
}

void
cause_env_free(char **env)
{
	if (env == NULL)
		return;
	for (size_t i = 0; env[i] != NULL; i++)
		free(env[i]);
	free(env);
}
