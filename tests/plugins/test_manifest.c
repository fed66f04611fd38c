/*
 * test_manifest.c — the backup manifest, an on-disk format
 * (plugins/lib/manifest.c): what is written reads back the same, an update
 * keeps what it does not know, and a damaged manifest (cut short, a member
 * missing or of the wrong type, numbers out of range) is refused with a
 * message naming the file and the member, never a crash or a wrong value.
 *
 * Files are real: each test writes into its own mkdtemp() folder.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include <caretaker/errors.h>

#include "manifest.h"

struct fixture {
	char dir[64];
	char path[128];
};

static const struct compress_block some_blocks[] = {
    {.offset = 0, .stored_bytes = 1000, .raw_bytes = 4194304, .crc32 = 0},
    {.offset = 1000, .stored_bytes = 2000, .raw_bytes = 4194304, .crc32 = 0xffffffffu},
    {.offset = 3000, .stored_bytes = 77, .raw_bytes = 12, .crc32 = 0x0badf00du},
};

/* Names as tables may be called: a quote, a newline, a dot, UTF-8. */
static const struct manifest_table some_tables[] = {
    {.name = "public.auth_user", .rows = 20},
    {.name = "Big Schema.Odd \"Name\".x", .rows = 0},
    {.name = "public.two\nlines", .rows = INT64_MAX},
    {.name = "public.caf\xc3\xa9", .rows = 1},
};

static const char *const some_paths[] = {"/srv/media", "/etc/app"};

/* Every member set, none to its zero value. */
static struct manifest
full_manifest(void)
{
	struct manifest m = {
	    .name = "nightly",
	    .file = "nightly-20250102T030405Z.sql.zst.enc",
	    .database = "patient_input",
	    .encoding = "UTF8",
	    .server_version = "15.18 (Debian 15.18-0+deb12u1)",
	    .server_version_num = 150018,
	    .pg_dump_version = "pg_dump (PostgreSQL) 15.18",
	    .format = "plain",
	    .compress = COMPRESS_ZSTD,
	    .level = 19,
	    .block_bytes = 8u << 20,
	    .encryption_key_id = "0123456789abcdef",
	    .started_at = 1735787045,
	    .finished_at = 1735790645,
	    .raw_bytes = (uint64_t)1 << 62,
	    .stored_bytes = ((uint64_t)1 << 40) + 3,
	    .blocks = some_blocks,
	    .n_blocks = 3,
	    .tables = some_tables,
	    .n_tables = 4,
	    .snapshot = "00000003-0000001B-1",
	    .paths = some_paths,
	    .n_paths = 2,
	    .n_files = 10,
	    .n_dirs = 3,
	    .n_symlinks = 1,
	    .file_bytes = 123456789,
	    .host = "db1.example",
	    .caretaker_version = "1.0.0",
	    .plugin_version = "1.0.0-backup",
	    .verified = {.level = MANIFEST_L3, .is_ok = 1, .at = 1735790700},
	};

	memset(m.raw_sha256, 'a', 64);
	memcpy(m.stored_sha256, "0123456789abcdef0123456789ABCDEF0123456789abcdef0123456789abcdef",
	       64);
	snprintf(m.verified.detail, sizeof(m.verified.detail),
	         "restored: 4 tables, \"rows\" match\n");
	return m;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/ct-test-manifest-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	snprintf(fx->path, sizeof(fx->path), "%s/nightly" MANIFEST_SUFFIX, fx->dir);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

static void
write_ok(const char *path, const struct manifest *m)
{
	char err[512] = "";

	if (manifest_write(path, m, err, sizeof(err)) != 0)
		fail_msg("manifest_write %s: expected 0, got an error: %s", path, err);
}

static void
load_ok(const char *path, struct manifest *m)
{
	char err[512] = "";
	int rc = manifest_load(path, m, err, sizeof(err));

	if (rc != 0)
		fail_msg("manifest_load %s: expected 0, got %d: %s", path, rc, err);
}

static void
write_text(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

/* A string member equal, both NULL included. */
static void
assert_same_string(const char *member, const char *want, const char *got)
{
	if (want == NULL && got == NULL)
		return;
	if (want == NULL || got == NULL || strcmp(want, got) != 0)
		fail_msg("%s: expected \"%s\", got \"%s\"", member, want ? want : "(null)",
		         got ? got : "(null)");
}

static void
assert_same_origin(const struct manifest *a, const struct manifest *b)
{
	assert_same_string("name", a->name, b->name);
	assert_same_string("file", a->file, b->file);
	assert_same_string("database", a->database, b->database);
	assert_same_string("encoding", a->encoding, b->encoding);
	assert_same_string("server_version", a->server_version, b->server_version);
	assert_int_equal(a->server_version_num, b->server_version_num);
	assert_same_string("pg_dump_version", a->pg_dump_version, b->pg_dump_version);
	assert_same_string("format", a->format, b->format);
	assert_int_equal(a->compress, b->compress);
	assert_int_equal(a->level, b->level);
	assert_int_equal(a->block_bytes, b->block_bytes);
	assert_same_string("encryption key_id", a->encryption_key_id, b->encryption_key_id);
	assert_same_string("snapshot", a->snapshot, b->snapshot);
	assert_same_string("host", a->host, b->host);
	assert_same_string("caretaker_version", a->caretaker_version, b->caretaker_version);
	assert_same_string("plugin_version", a->plugin_version, b->plugin_version);
}

static void
assert_same_contents(const struct manifest *a, const struct manifest *b)
{
	assert_int_equal(a->started_at, b->started_at);
	assert_int_equal(a->finished_at, b->finished_at);
	assert_int_equal(a->raw_bytes, b->raw_bytes);
	assert_int_equal(a->stored_bytes, b->stored_bytes);
	assert_string_equal(a->raw_sha256, b->raw_sha256);
	assert_string_equal(a->stored_sha256, b->stored_sha256);
	assert_int_equal(a->n_blocks, b->n_blocks);
	for (size_t i = 0; i < a->n_blocks; i++)
		assert_memory_equal(&a->blocks[i], &b->blocks[i], sizeof(a->blocks[i]));
	assert_int_equal(a->n_tables, b->n_tables);
	for (size_t i = 0; i < a->n_tables; i++)
		assert_int_equal(manifest_table_rows(b, a->tables[i].name), a->tables[i].rows);
	assert_int_equal(a->verified.level, b->verified.level);
	assert_int_equal(a->verified.is_ok, b->verified.is_ok);
	assert_int_equal(a->verified.at, b->verified.at);
	assert_string_equal(a->verified.detail, b->verified.detail);
}

/* ---- round trips ---- */

static void
test_every_member_reads_back_as_written(void **state)
{
	struct fixture *fx = *state;
	struct manifest m = full_manifest(), got = {0};

	write_ok(fx->path, &m);
	load_ok(fx->path, &got);
	assert_same_origin(&m, &got);
	assert_same_contents(&m, &got);
	manifest_free(&got);
}

/* The trees of a tar backup are written for people and tools, not read
 * back (manifest.h): they are in the file as written. */
static void
test_the_archived_trees_are_in_the_file(void **state)
{
	struct fixture *fx = *state;
	struct manifest m = full_manifest(), got = {0};
	json_t *a;

	write_ok(fx->path, &m);
	load_ok(fx->path, &got);
	a = json_object_get(got.json, "archive");
	assert_true(json_is_object(a));
	assert_string_equal(json_string_value(json_array_get(json_object_get(a, "paths"), 1)),
	                    "/etc/app");
	assert_int_equal(json_integer_value(json_object_get(a, "files")), 10);
	assert_int_equal(json_integer_value(json_object_get(a, "dirs")), 3);
	assert_int_equal(json_integer_value(json_object_get(a, "symlinks")), 1);
	assert_int_equal(json_integer_value(json_object_get(a, "bytes")), 123456789);
	manifest_free(&got);
}

/* The optional members absent: no encryption, no blocks, no tables, never
 * verified, no versions. */
static void
test_a_minimal_manifest_reads_back_as_written(void **state)
{
	struct fixture *fx = *state;
	struct manifest m = {.name = "files",
	                     .file = "files-20250102T030405Z.tar",
	                     .format = "tar",
	                     .compress = COMPRESS_NONE,
	                     .started_at = 0,
	                     .finished_at = 1},
	                got = {0};

	memset(m.raw_sha256, '0', 64);
	memset(m.stored_sha256, 'f', 64);
	write_ok(fx->path, &m);
	load_ok(fx->path, &got);
	assert_same_origin(&m, &got);
	assert_same_contents(&m, &got);
	assert_false(manifest_is_counted(&got));
	manifest_free(&got);
}

static void
test_the_file_is_private_and_ends_with_a_newline(void **state)
{
	struct fixture *fx = *state;
	struct manifest m = full_manifest();
	struct stat st;
	char last = 0;
	FILE *f;

	write_ok(fx->path, &m);
	assert_int_equal(stat(fx->path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	f = fopen(fx->path, "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, -1, SEEK_END), 0);
	assert_int_equal(fread(&last, 1, 1, f), 1);
	fclose(f);
	assert_int_equal(last, '\n');
}

/* A verification recorded, written and read again: the latest is the
 * verified member, the history keeps the last 100, and a member this
 * version does not know survives. */
static void
test_recorded_checks_read_back_and_keep_unknown_members(void **state)
{
	struct fixture *fx = *state;
	struct manifest m = full_manifest(), got = {0};
	struct manifest_check c = {.level = MANIFEST_L2, .is_ok = 0, .at = 1736000000};

	write_ok(fx->path, &m);
	load_ok(fx->path, &got);
	assert_int_equal(json_object_set_new(got.json, "from_a_later_version", json_true()), 0);
	for (int i = 0; i < 105; i++) {
		c.at++;
		snprintf(c.detail, sizeof(c.detail), "check %d", i);
		assert_int_equal(manifest_record_check(&got, &c), 0);
	}
	write_ok(fx->path, &got);
	manifest_free(&got);
	load_ok(fx->path, &got);
	assert_int_equal(got.verified.level, MANIFEST_L2);
	assert_false(got.verified.is_ok);
	assert_int_equal(got.verified.at, c.at);
	assert_string_equal(got.verified.detail, "check 104");
	assert_false(manifest_is_counted(&got));
	assert_int_equal(json_array_size(json_object_get(got.json, "verifications")), 100);
	assert_true(json_is_true(json_object_get(got.json, "from_a_later_version")));
	assert_same_origin(&m, &got);
	manifest_free(&got);
}

/* ---- damaged manifests ---- */

/* Loads `path` expecting CT_ECORRUPT with a message naming the file and
 * holding `words`; returns 0, or 1 after printing what came instead. */
static int
is_not_refused(const char *path, const char *words, const char *what)
{
	struct manifest got = {0};
	char err[512] = "";
	int rc = manifest_load(path, &got, err, sizeof(err));

	if (rc == CT_ECORRUPT && strstr(err, path) != NULL && strstr(err, words) != NULL &&
	    got.json == NULL)
		return 0;
	print_error("%s: expected CT_ECORRUPT (%d) and a message naming the file and saying "
	            "\"%s\", got %d: \"%s\"\n",
	            what, CT_ECORRUPT, words, rc, err);
	manifest_free(&got);
	return 1;
}

static void
assert_refused(const char *path, const char *words, const char *what)
{
	if (is_not_refused(path, words, what))
		fail();
}

/* Every cut of a good manifest (a disk full, a crash of another tool) is
 * refused as not JSON. */
static void
test_a_manifest_cut_short_anywhere_is_refused(void **state)
{
	struct fixture *fx = *state;
	struct manifest m = full_manifest();
	char *text, what[64];
	long len;
	FILE *f;

	write_ok(fx->path, &m);
	f = fopen(fx->path, "r");
	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	len = ftell(f);
	rewind(f);
	text = malloc((size_t)len);
	assert_non_null(text);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_int_equal(text[len - 2], '}');
	for (long cut = 0; cut < len - 2; cut++) {
		snprintf(what, sizeof(what), "cut to %ld of %ld bytes", cut, len);
		write_text(fx->path, text, (size_t)cut);
		assert_refused(fx->path, "not JSON", what);
	}
	free(text);
}

/* One change to a good manifest's JSON, and the words the refusal must
 * hold.  `value` NULL deletes the member. */
struct damage {
	const char *object; /* NULL: the top level */
	const char *member;
	const char *value; /* JSON text */
	const char *words;
};

static const struct damage damages[] = {
    {NULL, "caretaker_manifest", NULL, "caretaker_manifest"},
    {NULL, "caretaker_manifest", "2", "caretaker_manifest is missing or not format 1"},
    {NULL, "caretaker_manifest", "\"1\"", "caretaker_manifest"},
    {NULL, "file", NULL, "file is missing or not a string"},
    {NULL, "file", "7", "file is missing or not a string"},
    {NULL, "file", "\"../etc/passwd\"", "file is not a plain file name"},
    {NULL, "file", "\"\"", "file is not a plain file name"},
    {NULL, "name", NULL, "name is missing"},
    {NULL, "name", "[]", "name is missing or not a string"},
    {NULL, "format", "\"zip\"", "format is not plain, custom or tar"},
    {NULL, "format", "null", "format is missing or not a string"},
    {NULL, "compression", NULL, "compression is missing"},
    {NULL, "compression", "\"zstd\"", "compression is missing"},
    {"compression", "kind", "\"lz4\"", "compression is missing or names no known kind"},
    {"compression", "block_bytes", "-1", "block_bytes"},
    {"compression", "level", "\"high\"", "level"},
    {"compression", "level", "4294967298", "level"},
    {NULL, "server_version_num", "\"15\"", "server_version_num"},
    {NULL, "server_version_num", "99999999999", "server_version_num"},
    {NULL, "started_at", NULL, "started_at is missing or not a UTC time"},
    {NULL, "started_at", "1735787045", "started_at"},
    {NULL, "started_at", "\"2025-13-01T00:00:00Z\"", "started_at"},
    {NULL, "finished_at", "\"2025-01-02T03:04:05\"", "finished_at"},
    {NULL, "raw_bytes", NULL, "raw_bytes is missing or not a whole number"},
    {NULL, "raw_bytes", "-1", "raw_bytes is missing or not a whole number"},
    {NULL, "raw_bytes", "1e30", "raw_bytes is missing or not a whole number"},
    {NULL, "raw_bytes", "18446744073709551616", "not JSON"},
    {NULL, "stored_bytes", "\"12\"", "stored_bytes"},
    {NULL, "raw_sha256", NULL, "raw_sha256 is missing or not 64 hex digits"},
    {NULL, "raw_sha256", "\"abc\"", "raw_sha256 is missing or not 64 hex digits"},
    {NULL, "stored_sha256", "\"g123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef\"",
     "stored_sha256"},
    {NULL, "blocks", "{}", "blocks is not an array"},
    {NULL, "blocks", "[1]", "blocks has an entry without"},
    {NULL, "blocks", "[{\"offset\": 0, \"stored\": 1, \"raw\": 1}]", "blocks has an entry without"},
    {NULL, "blocks", "[{\"offset\": 0, \"stored\": 1, \"raw\": 1, \"crc32\": \"1234\"}]",
     "crc32 that is not 8 hex digits"},
    {NULL, "blocks", "[{\"offset\": 0, \"stored\": 1, \"raw\": 1, \"crc32\": \"-0000001\"}]",
     "crc32 that is not 8 hex digits"},
    {NULL, "blocks", "[{\"offset\": 0, \"stored\": 1, \"raw\": 1, \"crc32\": \" 1234567\"}]",
     "crc32 that is not 8 hex digits"},
    {NULL, "blocks", "[{\"offset\": -5, \"stored\": 1, \"raw\": 1, \"crc32\": \"00000000\"}]",
     "blocks has an entry without"},
    {NULL, "tables", "[]", "tables is not an object of row counts"},
    {"tables", "public.auth_user", "\"20\"", "tables has a row count that is not"},
    {"tables", "public.auth_user", "-1", "tables has a row count that is not"},
    {"tables", "public.auth_user", "2.5", "tables has a row count that is not"},
    {NULL, "verified", "\"ok\"", "verified is not a record of level, outcome and at"},
    {"verified", "at", NULL, "verified is not a record"},
    {"verified", "level", "\"3\"", "verified is not a record"},
    {"verified", "level", "4294967298", "verified"},
    {"verified", "level", "-2", "verified"},
    {"verified", "outcome", "true", "verified is not a record"},
    {"encryption", "key_id", NULL, "encryption has no key_id"},
    {NULL, "encryption", "\"caretaker-v1\"", "encryption has no key_id"},
};

#define PLACEHOLDER "\"@VALUE@\""

/* Writes `text` with PLACEHOLDER replaced by `value` (JSON text), so that
 * numbers jansson cannot hold reach the reader. */
static void
write_replaced(const char *path, const char *text, const char *value)
{
	const char *at = strstr(text, PLACEHOLDER);
	size_t size = strlen(text) + strlen(value) + 1;
	char *out = malloc(size);

	assert_non_null(at);
	assert_non_null(out);
	snprintf(out, size, "%.*s%s%s", (int)(at - text), text, value, at + strlen(PLACEHOLDER));
	write_text(path, out, strlen(out));
	free(out);
}

static void
write_damaged(const char *path, const struct damage *d)
{
	json_error_t jerr;
	json_t *root = json_load_file(path, 0, &jerr), *o;
	char *text;

	assert_non_null(root);
	o = d->object ? json_object_get(root, d->object) : root;
	assert_non_null(o);
	if (d->value == NULL)
		assert_int_equal(json_object_del(o, d->member), 0);
	else
		assert_int_equal(json_object_set_new(o, d->member, json_string("@VALUE@")), 0);
	text = json_dumps(root, 0);
	assert_non_null(text);
	if (d->value == NULL)
		write_text(path, text, strlen(text));
	else
		write_replaced(path, text, d->value);
	free(text);
	json_decref(root);
}

static void
test_damaged_members_are_refused_by_name(void **state)
{
	struct fixture *fx = *state;
	struct manifest m = full_manifest();
	char what[256];
	size_t n_wrong = 0;

	for (size_t i = 0; i < sizeof(damages) / sizeof(damages[0]); i++) {
		const struct damage *d = &damages[i];

		snprintf(what, sizeof(what), "%s%s%s set to %s", d->object ? d->object : "",
		         d->object ? "." : "", d->member, d->value ? d->value : "nothing");
		write_ok(fx->path, &m);
		write_damaged(fx->path, d);
		n_wrong += is_not_refused(fx->path, d->words, what);
	}
	if (n_wrong > 0)
		fail_msg("%zu of %zu damaged manifests were not refused as expected", n_wrong,
		         sizeof(damages) / sizeof(damages[0]));
}

static void
test_what_is_not_a_manifest_object_is_refused(void **state)
{
	static const struct {
		const char *text, *words;
	} cases[] = {
	    {"", "not JSON"},
	    {"[]", "top level is not an object"},
	    {"\"manifest\"", "not JSON"},
	    {"{\"caretaker_manifest\": 1, \"caretaker_manifest\": 1}", "not JSON"},
	    {"{\"name\": \"\xff\xfe\"}", "not JSON"},
	    {"{}", "caretaker_manifest is missing"},
	};
	struct fixture *fx = *state;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		write_text(fx->path, cases[i].text, strlen(cases[i].text));
		assert_refused(fx->path, cases[i].words, cases[i].text);
	}
}

static void
test_a_missing_manifest_is_told_apart(void **state)
{
	struct fixture *fx = *state;
	struct manifest got = {0};
	char err[512] = "";

	assert_int_equal(manifest_load(fx->path, &got, err, sizeof(err)), CT_ENOENT);
	assert_non_null(strstr(err, fx->path));
	assert_non_null(strstr(err, "does not exist"));
}

/* ---- times ---- */

static void
test_times_format_and_parse_back(void **unused)
{
	static const time_t times[] = {0, 951782400 /* 2000-02-29 */, 1735787045, 4102444799};
	char buf[MANIFEST_TIME_SIZE];
	time_t t;

	(void)unused;
	for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
		manifest_time_format(times[i], buf);
		assert_int_equal(manifest_time_parse(buf, &t), 0);
		assert_int_equal(t, times[i]);
	}
	manifest_time_format(1735787045, buf);
	assert_string_equal(buf, "2025-01-02T03:04:05Z");
	assert_int_equal(manifest_time_parse("2025-01-02T03:04:05Z trailing", &t), CT_EINVAL);
	assert_int_equal(manifest_time_parse("2025-00-02T03:04:05Z", &t), CT_EINVAL);
	assert_int_equal(manifest_time_parse(NULL, &t), CT_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_every_member_reads_back_as_written, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_the_archived_trees_are_in_the_file, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_a_minimal_manifest_reads_back_as_written, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_the_file_is_private_and_ends_with_a_newline, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_recorded_checks_read_back_and_keep_unknown_members,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_a_manifest_cut_short_anywhere_is_refused, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_damaged_members_are_refused_by_name, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_what_is_not_a_manifest_object_is_refused, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_a_missing_manifest_is_told_apart, setup, teardown),
	    cmocka_unit_test(test_times_format_and_parse_back),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
