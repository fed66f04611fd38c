/*
 * argv.c — shell-style word splitting without a shell (see argv.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <caretaker/errors.h>

#include "argv.h"

struct words {
	char **v;
	size_t n;
	char *cur; /* the word being built */
	size_t len;
	int is_started; /* a word is open (even an empty "" one) */
	int is_quoted;  /* some of it was quoted */
};

static int
word_putc(struct words *w, char c)
{
	char *p = realloc(w->cur, w->len + 2);

	if (p == NULL)
		return CT_ENOMEM;
	w->cur = p;
	w->cur[w->len++] = c;
	w->cur[w->len] = '\0';
	w->is_started = 1;
	return 0;
}

static int
is_shell_syntax(const char *word)
{
	static const char *const ops[] = {"|",  "||", "&",   "&&",   ";",   ";;", ">",  ">>", "<",
	                                  "<<", "2>", "2>>", "2>&1", ">&2", "&>", "$(", "`",  NULL};

	for (size_t i = 0; ops[i] != NULL; i++)
		if (strcmp(word, ops[i]) == 0)
			return 1;
	return 0;
}

static int
word_end(struct words *w, char *err, size_t err_size)
{
	char **v;

	if (!w->is_started)
		return 0;
	if (w->cur == NULL) {
		w->cur = calloc(1, 1); /* an empty quoted word: "" */
		if (w->cur == NULL)
			return CT_ENOMEM;
	}
	if (!w->is_quoted && is_shell_syntax(w->cur)) {
		snprintf(err, err_size,
		         "'%s' is shell syntax, but the command is not run by a "
		         "shell (write sh -c '...' if you need one)",
		         w->cur);
		return CT_EINVAL;
	}
	v = realloc(w->v, (w->n + 2) * sizeof(*v));
	if (v == NULL)
		return CT_ENOMEM;
	w->v = v;
	w->v[w->n++] = w->cur;
	w->v[w->n] = NULL;
	w->cur = NULL;
	w->len = 0;
	w->is_started = 0;
	w->is_quoted = 0;
	return 0;
}

/* Inside "...": returns the index after the closing quote, or 0. */
static size_t
scan_double(struct words *w, const char *s, size_t i, int *rc)
{
	for (; s[i] != '\0'; i++) {
		if (s[i] == '"')
			return i + 1;
		if (s[i] == '\\' && s[i + 1] != '\0' && strchr("\\\"$`", s[i + 1]) != NULL)
			i++;
		*rc = word_putc(w, s[i]);
		if (*rc != 0)
			return 0;
	}
	return 0;
}

static size_t
scan_single(struct words *w, const char *s, size_t i, int *rc)
{
	for (; s[i] != '\0'; i++) {
		if (s[i] == '\'')
			return i + 1;
		*rc = word_putc(w, s[i]);
		if (*rc != 0)
			return 0;
	}
	return 0;
}

static int
scan(struct words *w, const char *s, char *err, size_t err_size)
{
	size_t i = 0, next;
	int rc = 0;

	while (s[i] != '\0' && rc == 0) {
		char c = s[i];

		if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
			rc = word_end(w, err, err_size);
			i++;
		} else if (c == '\'' || c == '"') {
			w->is_started = w->is_quoted = 1;
			next = c == '\'' ? scan_single(w, s, i + 1, &rc)
			                 : scan_double(w, s, i + 1, &rc);
			if (next == 0 && rc == 0) {
				snprintf(err, err_size, "unterminated %s quote",
				         c == '\'' ? "single" : "double");
				rc = CT_EINVAL;
			}
			i = next;
		} else if (c == '\\') {
			if (s[i + 1] == '\0') {
				snprintf(err, err_size, "a backslash ends the command");
				return CT_EINVAL;
			}
			w->is_quoted = 1;
			rc = word_putc(w, s[i + 1]);
			i += 2;
		} else {
			rc = word_putc(w, c);
			i++;
		}
	}
	return rc != 0 ? rc : word_end(w, err, err_size);
}

int
argv_split(const char *line, char ***argv_out, size_t *argc_out, char *err, size_t err_size)
{
	struct words w = {0};
	int rc = scan(&w, line, err, err_size);

	if (rc == 0 && w.n == 0) {
		snprintf(err, err_size, "the command is empty");
		rc = CT_EINVAL;
	}
	if (rc != 0) {
		if (rc == CT_ENOMEM)
			snprintf(err, err_size, "out of memory");
		free(w.cur);
		argv_free(w.v);
		return rc;
	}
	*argv_out = w.v;
	*argc_out = w.n;
	return 0;
}

void
argv_free(char **argv)
{
	if (argv == NULL)
		return;
	for (size_t i = 0; argv[i] != NULL; i++)
		free(argv[i]);
	free(argv);
}
