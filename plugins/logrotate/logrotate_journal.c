/*
 * logrotate_journal.c — the rotations under way, one line per log file, in
 * STATE_DIR/journal, rewritten whole through durable_replace() (fsync of
 * the file and of the folder) before each step of a rotation, so that a
 * crash leaves the old journal or the new one and the next run knows
 * exactly where each rotation stopped.
 *
 * Format: a header line "caretaker-logrotate-journal 1", then per entry
 *     STAGE DEV INO LENGTH<TAB>PATH<TAB>TARGET
 * Paths holding a tab or a newline are refused before they get here.
 *
 * A journal that does not parse is reported and set aside as
 * journal.damaged: it must never stop the rotation of a file (the bug class
 * of a logrotate whose state file is damaged).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "durable.h"
#include "logrotate.h"

#define JOURNAL_HEADER "caretaker-logrotate-journal 1\n"

static int
journal_parse_line(char *line, struct lr_entry *e)
{
	char *path = strchr(line, '\t'), *target;
	unsigned long long dev, ino, length;
	int stage;

	if (path == NULL)
		return CT_ECORRUPT;
	*path++ = '\0';
	target = strchr(path, '\t');
	if (target == NULL)
		return CT_ECORRUPT;
	*target++ = '\0';
	if (sscanf(line, "%d %llu %llu %llu", &stage, &dev, &ino, &length) != 4 ||
	    stage < LR_STAGE_BEGIN || stage > LR_STAGE_DONE || path[0] != '/' ||
	    strlen(path) >= sizeof(e->path) || strlen(target) >= sizeof(e->target))
		return CT_ECORRUPT;
	memset(e, 0, sizeof(*e));
	e->stage = stage;
	e->dev = dev;
	e->ino = ino;
	e->length = length;
	snprintf(e->path, sizeof(e->path), "%s", path);
	snprintf(e->target, sizeof(e->target), "%s", target);
	return 0;
}

static int
journal_parse(struct lr_journal *j, FILE *f)
{
	char line[2 * PATH_MAX + 128];

	if (fgets(line, sizeof(line), f) == NULL || strcmp(line, JOURNAL_HEADER) != 0)
		return CT_ECORRUPT;
	while (fgets(line, sizeof(line), f) != NULL) {
		struct lr_entry e, *grown;
		size_t n = strlen(line);

		if (n == 0 || line[n - 1] != '\n')
			return CT_ECORRUPT;
		line[n - 1] = '\0';
		if (journal_parse_line(line, &e) != 0)
			return CT_ECORRUPT;
		grown = realloc(j->entries, (j->n + 1) * sizeof(*grown));
		if (grown == NULL)
			return CT_ENOMEM;
		j->entries = grown;
		j->entries[j->n++] = e;
	}
	return ferror(f) ? CT_EIO : 0;
}

/* The damaged journal moves aside, for the operator to read. */
static void
journal_set_aside(struct lr_run *run, struct lr_journal *j, int rc)
{
	char aside[PATH_MAX + 16];

	free(j->entries);
	j->entries = NULL;
	j->n = 0;
	snprintf(aside, sizeof(aside), "%s.damaged", j->path);
	if (!run->is_dry_run)
		rename(j->path, aside);
	run->host.ct->add_finding(run->host.t, CT_SEV_WARNING, j->path,
	                          "logrotate: the journal of rotations under way is %s: %s as %s; "
	                          "every file is rotated from what its folder shows",
	                          rc == CT_ECORRUPT ? "damaged" : "unreadable",
	                          run->is_dry_run ? "would be set aside" : "set aside", aside);
	run->host.n_warnings++;
}

void
lr_journal_load(struct lr_run *run, const char *state_dir)
{
	struct lr_journal *j = &run->journal;
	FILE *f = NULL;
	int rc;

	snprintf(j->path, sizeof(j->path), "%s/journal", state_dir);
	f = fopen(j->path, "re");
	if (f == NULL) {
		if (errno != ENOENT)
			journal_set_aside(run, j, CT_EIO);
		return;
	}
	rc = journal_parse(j, f);
	fclose(f);
	if (rc != 0)
		journal_set_aside(run, j, rc);
}

struct lr_entry *
lr_journal_find(struct lr_journal *j, const char *path)
{
	for (size_t i = 0; i < j->n; i++)
		if (strcmp(j->entries[i].path, path) == 0)
			return &j->entries[i];
	return NULL;
}

static int
journal_write(struct lr_journal *j, char *err, size_t err_size)
{
	size_t cap = sizeof(JOURNAL_HEADER) + j->n * (2 * PATH_MAX + 96), len;
	char *buf = malloc(cap);
	int rc;

	if (buf == NULL)
		return CT_ENOMEM;
	len = (size_t)snprintf(buf, cap, "%s", JOURNAL_HEADER);
	for (size_t i = 0; i < j->n; i++) {
		const struct lr_entry *e = &j->entries[i];

		len +=
		    (size_t)snprintf(buf + len, cap - len, "%d %llu %llu %llu\t%s\t%s\n", e->stage,
		                     (unsigned long long)e->dev, (unsigned long long)e->ino,
		                     (unsigned long long)e->length, e->path, e->target);
	}
	rc = durable_replace(j->path, buf, len, 0600, DURABLE_SYNC_ALL, err, err_size);
	free(buf);
	return rc;
}

int
lr_journal_put(struct lr_journal *j, const struct lr_entry *e, char *err, size_t err_size)
{
	struct lr_entry *slot = lr_journal_find(j, e->path);

	if (slot == NULL) {
		struct lr_entry *grown = realloc(j->entries, (j->n + 1) * sizeof(*grown));

		if (grown == NULL)
			return CT_ENOMEM;
		j->entries = grown;
		slot = &j->entries[j->n++];
	}
	if (slot != e)
		*slot = *e;
	return journal_write(j, err, err_size);
}

int
lr_journal_drop(struct lr_journal *j, const char *path, char *err, size_t err_size)
{
	struct lr_entry *e = lr_journal_find(j, path);

	if (e == NULL)
		return 0;
	*e = j->entries[j->n - 1];
	j->n--;
	return journal_write(j, err, err_size);
}

/*
 * A journal that cannot be written (a full or read-only state folder) must
 * not stop the rotation either: logs filling the disk are the usual reason
 * the state folder is full too, and rotating and compressing them is what
 * frees the space.  The run goes on without the journal, said once.
 */
int
lr_journal_step(struct lr_run *run, struct lr_entry *e, int stage)
{
	char err[512];

	e->stage = stage;
	if (lr_journal_put(&run->journal, e, err, sizeof(err)) == 0 || run->is_journal_unwritable)
		return 0;
	run->is_journal_unwritable = 1;
	run->host.n_warnings++;
	run->host.ct->add_finding(run->host.t, CT_SEV_WARNING, run->journal.path,
	                          "logrotate: %s: rotating without the journal; a run killed now "
	                          "may leave a renamed log that is not recreated",
	                          err);
	return 0;
}

void
lr_journal_free(struct lr_journal *j)
{
	free(j->entries);
	j->entries = NULL;
	j->n = 0;
}
