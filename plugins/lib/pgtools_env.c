/*
 * pgtools_env.c — a libpq connection handed to a child program through its
 * environment (see pgtools.h).
 *
 * Why the environment: argv is world-readable in /proc, the environment of
 * a process only to its owner and root.  libpq documents one variable per
 * connection option and reports it in PQconninfoOption.envvar, so the
 * mapping comes from the library that reads it back, not from a list kept
 * here.  A `service=` stays a service (PGSERVICE) and ~/.pgpass keeps
 * working, because the child's libpq resolves both itself.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "pgtools.h"

extern char **environ;

struct pgtools_env {
	char **envp;  /* inherited entries (borrowed) and ours (owned) */
	char **owned; /* our "NAME=value" strings */
	size_t n_owned;
	char *dbname_arg; /* "dbname='x' key='v' ..." */
	char *extra_arg;  /* "key='v' ..." or NULL */
};

/* Appends " key='value'" with conninfo quoting (backslash before ' and \). */
static int
conninfo_append(char **s, size_t *len, const char *key, const char *value)
{
	size_t need = *len + strlen(key) + 2 * strlen(value) + 5;
	char *p = realloc(*s, need);

	if (p == NULL)
		return CT_ENOMEM;
	*s = p;
	p += *len;
	if (*len > 0)
		*p++ = ' ';
	p += snprintf(p, need - (size_t)(p - *s), "%s='", key);
	for (const char *v = value; *v != '\0'; v++) {
		if (*v == '\'' || *v == '\\')
			*p++ = '\\';
		*p++ = *v;
	}
	*p++ = '\'';
	*p = '\0';
	*len = (size_t)(p - *s);
	return 0;
}

static int
option_is_set(const PQconninfoOption *o)
{
	return o->val != NULL && o->val[0] != '\0';
}

static int
option_is_secret(const PQconninfoOption *o)
{
	return o->dispchar != NULL && strchr(o->dispchar, '*') != NULL;
}

int
pgtools_conninfo_string(const PQconninfoOption *opts, const char *dbname, char **out)
{
	char *s = NULL;
	size_t len = 0;
	int rc = 0;

	for (const PQconninfoOption *o = opts; rc == 0 && o->keyword != NULL; o++)
		if (option_is_set(o) && !(dbname != NULL && strcmp(o->keyword, "dbname") == 0))
			rc = conninfo_append(&s, &len, o->keyword, o->val);
	if (rc == 0 && dbname != NULL)
		rc = conninfo_append(&s, &len, "dbname", dbname);
	if (rc == 0 && s == NULL)
		s = strdup("");
	if (rc != 0 || s == NULL) {
		free(s);
		return CT_ENOMEM;
	}
	*out = s;
	return 0;
}

static int
env_add(struct pgtools_env *e, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 2;
	char *s = malloc(len);

	if (s == NULL)
		return CT_ENOMEM;
	snprintf(s, len, "%s=%s", name, value);
	e->owned[e->n_owned++] = s;
	return 0;
}

/* Sorts one option into a variable, the conninfo argument, or a refusal. */
static int
env_take_option(struct pgtools_env *e, const PQconninfoOption *o, const char *dbname,
                size_t *extra_len, char *err, size_t err_size)
{
	const char *value = o->val;

	if (strcmp(o->keyword, "dbname") == 0 && dbname != NULL)
		value = dbname;
	else if (!option_is_set(o))
		return 0;
	if (o->envvar != NULL)
		return env_add(e, o->envvar, value);
	if (option_is_secret(o)) {
		snprintf(err, err_size,
		         "connection option %s has no environment variable and would show in "
		         "the program's arguments\nhint: leave it out of conninfo (a key "
		         "without a passphrase, or a service file)",
		         o->keyword);
		return CT_EUNSUPPORTED;
	}
	/* Debug options (replication ...) are not for client programs, and
	 * each program sets its own fallback name. */
	if ((o->dispchar != NULL && strchr(o->dispchar, 'D') != NULL) ||
	    strcmp(o->keyword, "fallback_application_name") == 0)
		return 0;
	return conninfo_append(&e->extra_arg, extra_len, o->keyword, value);
}

static int
env_has_owned(const struct pgtools_env *e, const char *entry)
{
	size_t name_len = strcspn(entry, "=");

	for (size_t i = 0; i < e->n_owned; i++)
		if (strncmp(e->owned[i], entry, name_len + 1) == 0)
			return 1;
	return 0;
}

/* Inherited entries first, minus those we replace, then ours. */
static int
env_build_envp(struct pgtools_env *e)
{
	size_t n_env = 0, n = 0;

	while (environ != NULL && environ[n_env] != NULL)
		n_env++;
	e->envp = calloc(n_env + e->n_owned + 1, sizeof(*e->envp));
	if (e->envp == NULL)
		return CT_ENOMEM;
	for (size_t i = 0; i < n_env; i++)
		if (!env_has_owned(e, environ[i]))
			e->envp[n++] = environ[i];
	for (size_t i = 0; i < e->n_owned; i++)
		e->envp[n++] = e->owned[i];
	return 0;
}

static const char *
env_option_value(const PQconninfoOption *opts, const char *keyword)
{
	for (const PQconninfoOption *o = opts; o->keyword != NULL; o++)
		if (strcmp(o->keyword, keyword) == 0 && option_is_set(o))
			return o->val;
	return NULL;
}

/* "dbname='x'" followed by the variable-less options. */
static int
env_make_dbname_arg(struct pgtools_env *e, const char *dbname)
{
	size_t len = 0, extra_len = e->extra_arg ? strlen(e->extra_arg) : 0;
	char *p;

	if (dbname != NULL && conninfo_append(&e->dbname_arg, &len, "dbname", dbname) != 0)
		return CT_ENOMEM;
	if (extra_len == 0)
		return 0;
	p = realloc(e->dbname_arg, len + extra_len + 2);
	if (p == NULL)
		return CT_ENOMEM;
	e->dbname_arg = p;
	snprintf(p + len, extra_len + 2, "%s%s", len > 0 ? " " : "", e->extra_arg);
	return 0;
}

static int
env_fill(struct pgtools_env *e, const PQconninfoOption *opts, const char *dbname,
         const char *appname, char *err, size_t err_size)
{
	size_t n_opts = 0, extra_len = 0;
	int rc = 0;

	while (opts[n_opts].keyword != NULL)
		n_opts++;
	e->owned = calloc(n_opts + 2, sizeof(*e->owned));
	if (e->owned == NULL)
		return CT_ENOMEM;
	for (size_t i = 0; rc == 0 && i < n_opts; i++)
		rc = env_take_option(e, &opts[i], dbname, &extra_len, err, err_size);
	if (rc == 0 && appname != NULL && env_option_value(opts, "application_name") == NULL)
		rc = env_add(e, "PGAPPNAME", appname);
	if (rc == 0)
		rc = env_make_dbname_arg(e, dbname ? dbname : env_option_value(opts, "dbname"));
	return rc;
}

int
pgtools_env_new(const PQconninfoOption *opts, const char *dbname, const char *appname,
                struct pgtools_env **out, char *err, size_t err_size)
{
	struct pgtools_env *e = calloc(1, sizeof(*e));
	int rc;

	if (e == NULL)
		return CT_ENOMEM;
	rc = env_fill(e, opts, dbname, appname, err, err_size);
	if (rc == 0)
		rc = env_build_envp(e);
	if (rc == CT_ENOMEM)
		snprintf(err, err_size, "out of memory for the child's environment");
	if (rc != 0) {
		pgtools_env_free(e);
		return rc;
	}
	*out = e;
	return 0;
}

char *const *
pgtools_env_envp(const struct pgtools_env *e)
{
	return e->envp;
}

const char *
pgtools_env_dbname_arg(const struct pgtools_env *e)
{
	return e->dbname_arg != NULL ? e->dbname_arg : "";
}

const char *
pgtools_env_extra_arg(const struct pgtools_env *e)
{
	return e->extra_arg;
}

void
pgtools_env_free(struct pgtools_env *e)
{
	if (e == NULL)
		return;
	for (size_t i = 0; i < e->n_owned; i++)
		free(e->owned[i]);
	free(e->owned);
	free(e->envp);
	free(e->dbname_arg);
	free(e->extra_arg);
	free(e);
}
