/*
 * fuzz_manifest.c — the backup manifest reader (plugins/lib/manifest.c).
 *
 * The input is a manifest file.  A manifest that loads must also survive
 * what `verify` does to it: a failed restore test quoting the manifest's
 * database name is recorded (manifest_record_check), then its latest
 * verification again, the manifest is written (manifest_write) and read
 * back, and the second reading must agree with the first on every member
 * verification and retention depend on.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "manifest.h"

static char fuzz_in[4200];
static char fuzz_out[4200];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	snprintf(fuzz_in, sizeof(fuzz_in), "%s/in" MANIFEST_SUFFIX, fuzz_tmpdir());
	snprintf(fuzz_out, sizeof(fuzz_out), "%s/out" MANIFEST_SUFFIX, fuzz_tmpdir());
	return 0;
}

static void
fail(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_manifest: %s: %s\n", what, detail);
	abort();
}

static int
same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

static void
compare_identity(const struct manifest *a, const struct manifest *b)
{
	if (!same_str(a->name, b->name) || !same_str(a->file, b->file) ||
	    !same_str(a->format, b->format) || !same_str(a->database, b->database) ||
	    !same_str(a->encryption_key_id, b->encryption_key_id) || a->compress != b->compress ||
	    a->level != b->level || a->block_bytes != b->block_bytes)
		fail("read back differently", "name, file, format, database, key or compression");
	if (a->started_at != b->started_at || a->finished_at != b->finished_at ||
	    a->raw_bytes != b->raw_bytes || a->stored_bytes != b->stored_bytes ||
	    strcmp(a->raw_sha256, b->raw_sha256) != 0 ||
	    strcmp(a->stored_sha256, b->stored_sha256) != 0)
		fail("read back differently", "times, sizes or digests");
}

static void
compare_contents(const struct manifest *a, const struct manifest *b)
{
	if (a->n_blocks != b->n_blocks ||
	    (a->n_blocks > 0 &&
	     memcmp(a->blocks, b->blocks, a->n_blocks * sizeof(*a->blocks)) != 0))
		fail("read back differently", "blocks");
	if (a->n_tables != b->n_tables)
		fail("read back differently", "the number of tables");
	for (size_t i = 0; i < a->n_tables; i++)
		if (manifest_table_rows(b, a->tables[i].name) !=
		    manifest_table_rows(a, a->tables[i].name))
			fail("read back differently", a->tables[i].name);
	if (a->verified.level != b->verified.level || a->verified.is_ok != b->verified.is_ok ||
	    a->verified.at != b->verified.at ||
	    strcmp(a->verified.detail, b->verified.detail) != 0 ||
	    manifest_is_counted(a) != manifest_is_counted(b))
		fail("read back differently", "the verification");
}

/* A failed restore test, its detail quoting the server's words cut short as
 * plugins/verify does ("%.300s"); here the words are the database's name. */
static void
record_failed_restore(struct manifest *m)
{
	struct manifest_check c = {MANIFEST_L3, 0, m->finished_at, ""};
	char err[64];
	int rc;

	snprintf(c.detail, sizeof(c.detail), "L3 failed: pg_restore exited with status 1: %.300s",
	         m->database ? m->database : "no database");
	rc = manifest_record_check(m, &c);
	if (rc != 0) {
		snprintf(err, sizeof(err), "error %d", rc);
		fail("cannot record a failed restore test", err);
	}
}

/* Record, write, read back, compare. */
static void
round_trip(struct manifest *m)
{
	struct manifest again = {0};
	struct manifest_check c = m->verified;
	char err[512] = "";
	int rc;

	record_failed_restore(m);

	if (c.level == 0) {
		c.level = MANIFEST_L2;
		c.is_ok = 1;
		c.at = m->finished_at;
		snprintf(c.detail, sizeof(c.detail), "L2 ok");
	}
	rc = manifest_record_check(m, &c);
	if (rc != 0) {
		snprintf(err, sizeof(err), "error %d", rc);
		fail("cannot record its own verification again", err);
	}
	rc = manifest_write(fuzz_out, m, err, sizeof(err));
	if (rc != 0)
		fail("cannot write a manifest it read", err);
	rc = manifest_load(fuzz_out, &again, err, sizeof(err));
	if (rc != 0)
		fail("cannot read a manifest it wrote", err);
	compare_identity(m, &again);
	compare_contents(m, &again);
	manifest_free(&again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct manifest m = {0};
	struct compress_expect e;
	char err[512] = "";

	fuzz_write_file(fuzz_in, data, size, 0600);
	if (manifest_load(fuzz_in, &m, err, sizeof(err)) != 0) {
		if (err[0] == '\0')
			fail("refused without a reason", fuzz_in);
		return 0;
	}
	manifest_expect(&m, &e);
	round_trip(&m);
	manifest_free(&m);
	return 0;
}
