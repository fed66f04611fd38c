/*
 * logscan_journal.c — a systemd unit's journal (journal_unit =), read from
 * the cursor the last run saved (state_dir/journal.cursor) with
 * sd-journal, each entry's MESSAGE scanned as one line.
 *
 * Where this build has no libsystemd, or the machine keeps no journal
 * (no /run/log/journal and no /var/log/journal), the option gives a
 * finding that says so and the files are scanned as usual.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "logscan.h"

#ifdef HAVE_SD_JOURNAL
#include <systemd/sd-journal.h>

#include "durable.h"
#include "fdio.h"

#define CURSOR_FILE "journal.cursor"

static void
cursor_load(struct plugin_host *h, char *cursor, size_t size)
{
	char path[4200];
	FILE *f;

	cursor[0] = '\0';
	snprintf(path, sizeof(path), "%s/%s", h->ct->state_dir(h->t), CURSOR_FILE);
	f = fopen(path, "re");
	if (f == NULL)
		return;
	if (fgets(cursor, (int)size, f) == NULL)
		cursor[0] = '\0';
	cursor[strcspn(cursor, "\n")] = '\0';
	fclose(f);
}

static int
cursor_save(struct plugin_host *h, const char *cursor)
{
	char path[4200];

	snprintf(path, sizeof(path), "%s/%s", h->ct->state_dir(h->t), CURSOR_FILE);
	return durable_replace(path, cursor, strlen(cursor), 0600, DURABLE_SYNC_ALL, h->err,
	                       sizeof(h->err));
}

/* Each entry's message, one line, into the feed. */
static int
journal_feed(sd_journal *j, struct logscan_feed *f, uint64_t *entries, int *has_moved)
{
	int rc = 0;

	while (rc == 0 && sd_journal_next(j) > 0) {
		const void *data;
		size_t len;

		*has_moved = 1;
		if (sd_journal_get_data(j, "MESSAGE", &data, &len) < 0 || len < 8)
			continue;
		rc = logscan_feed_write(f, (const char *)data + 8, len - 8);
		if (rc == 0)
			rc = logscan_feed_write(f, "\n", 1);
		(*entries)++;
	}
	return rc;
}

static int
journal_open(struct plugin_host *h, const struct logscan_journal_params *p, sd_journal **j)
{
	char match[512], cursor[1024];
	int e;

	if (p->directory != NULL)
		e = sd_journal_open_directory(j, p->directory, 0);
	else
		e = sd_journal_open(j, SD_JOURNAL_LOCAL_ONLY);
	if (e < 0)
		return plugin_host_fail(
		    h, CT_ESYS, "journal: cannot open %s: %s",
		    p->directory != NULL ? p->directory : "the system's journal", strerror(-e));
	snprintf(match, sizeof(match), "_SYSTEMD_UNIT=%s", p->unit);
	sd_journal_add_match(*j, match, 0);
	cursor_load(h, cursor, sizeof(cursor));
	if (cursor[0] != '\0' && sd_journal_seek_cursor(*j, cursor) == 0) {
		/* The saved entry was counted: step onto it, then past it. */
		if (sd_journal_next(*j) > 0 && sd_journal_test_cursor(*j, cursor) <= 0)
			sd_journal_previous(*j);
	}
	return 0;
}

int
logscan_journal_scan(struct plugin_host *h, const struct logscan_journal_params *p,
                     uint64_t *entries)
{
	struct logscan_feed f;
	sd_journal *j = NULL;
	char *cursor = NULL;
	int rc, has_moved = 0;

	if (p->directory == NULL && access("/run/log/journal", F_OK) != 0 &&
	    access("/var/log/journal", F_OK) != 0) {
		h->ct->add_finding(
		    h->t, CT_SEV_WARNING, p->unit,
		    "journal_unit: this machine keeps no systemd journal "
		    "(/run/log/journal, /var/log/journal): the unit was not scanned");
		h->n_warnings++;
		return 0;
	}
	rc = journal_open(h, p, &j);
	if (rc == 0)
		rc = logscan_feed_init(&f, p->m, p->tally, 0, 0);
	if (rc != 0)
		goto out;
	p->tally->file = p->unit;
	rc = journal_feed(j, &f, entries, &has_moved);
	if (rc == 0)
		rc = logscan_feed_finish(&f, 1);
	logscan_feed_free(&f);
	/* At the end, the journal stays on the last entry read. */
	if (rc == 0 && !p->is_dry_run && has_moved && sd_journal_get_cursor(j, &cursor) >= 0)
		rc = cursor_save(h, cursor);
out:
	free(cursor);
	sd_journal_close(j);
	return rc;
}
#else
int
logscan_journal_scan(struct plugin_host *h, const struct logscan_journal_params *p,
                     uint64_t *entries)
{
	*entries = 0;
	h->ct->add_finding(h->t, CT_SEV_WARNING, p->unit,
	                   "journal_unit: this build has no libsystemd: the unit was not scanned\n"
	                   "hint: install libsystemd-dev and rebuild");
	h->n_warnings++;
	return 0;
}
#endif
