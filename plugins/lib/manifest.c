/*
 * manifest.c — building, reading and updating backup manifests on jansson
 * (see manifest.h).
 *
 * Reading is strict about what verification and retention depend on (the
 * file name, sizes, digests, blocks, the start time) and lenient about the
 * rest, so that a manifest written by a later version with more members
 * still reads.  Writing goes through durable_replace(): a crash leaves the
 * old manifest or the new one.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/errors.h>

#include "durable.h"
#include "manifest.h"

#define HISTORY_MAX 100

static const char *const check_outcome[2] = {"failed", "ok"};

void
manifest_time_format(time_t t, char out[MANIFEST_TIME_SIZE])
{
	struct tm tm;

	/* Past year 9999 the text does not fit: strftime() then leaves the
	 * buffer undefined, and an empty time reads as no time. */
	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, MANIFEST_TIME_SIZE, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		out[0] = '\0';
}

int
manifest_time_parse(const char *s, time_t *t)
{
	char again[MANIFEST_TIME_SIZE];
	struct tm tm = {0};
	time_t v;
	int n = 0;

	if (s == NULL ||
	    sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
	           &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &n) != 6 ||
	    s[n] != '\0')
		return CT_EINVAL;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	v = timegm(&tm);
	/* Only the form manifest_time_format() writes.  timegm() normalises a
	 * field out of range ("23:59:60" on 9999-12-31 is year 10000, a month
	 * 0 is December), and a time that formats differently would be written
	 * back into a manifest this function could not read. */
	manifest_time_format(v, again);
	if (strcmp(again, s) != 0)
		return CT_EINVAL;
	*t = v;
	return 0;
}

/* ---- building ---- */

static json_t *
time_json(time_t t)
{
	char buf[MANIFEST_TIME_SIZE];

	manifest_time_format(t, buf);
	return json_string(buf);
}

/*
 * The detail is made with snprintf() from server messages and paths: it may
 * end inside a UTF-8 sequence cut short ("%.300s"), or hold bytes that are
 * not UTF-8.  jansson refuses such text, and a refused detail would lose the
 * whole verification.  So drop a cut sequence (at most 3 bytes), and failing
 * that, write the bytes jansson refuses as '?'.
 */
static json_t *
detail_json(const char *detail)
{
	size_t len = strlen(detail);
	char safe[sizeof(((struct manifest_check *)NULL)->detail)];
	json_t *j = NULL;

	for (size_t cut = 0; j == NULL && cut < 4 && cut <= len; cut++)
		j = json_stringn(detail, len - cut);
	if (j != NULL)
		return j;
	snprintf(safe, sizeof(safe), "%s", detail);
	for (char *p = safe; *p != '\0'; p++)
		if ((unsigned char)*p >= 0x80)
			*p = '?';
	return json_string(safe);
}

static json_t *
check_json(const struct manifest_check *c)
{
	return json_pack("{s:i, s:s, s:o, s:o}", "level", c->level, "outcome",
	                 check_outcome[c->is_ok != 0], "at", time_json(c->at), "detail",
	                 detail_json(c->detail));
}

static json_t *
blocks_json(const struct manifest *m)
{
	json_t *a = json_array();
	char crc[9];

	for (size_t i = 0; a != NULL && i < m->n_blocks; i++) {
		const struct compress_block *b = &m->blocks[i];

		snprintf(crc, sizeof(crc), "%08" PRIx32, b->crc32);
		if (json_array_append_new(
		        a, json_pack("{s:I, s:I, s:I, s:s}", "offset", (json_int_t)b->offset,
		                     "stored", (json_int_t)b->stored_bytes, "raw",
		                     (json_int_t)b->raw_bytes, "crc32", crc)) != 0) {
			json_decref(a);
			return NULL;
		}
	}
	return a;
}

static json_t *
tables_json(const struct manifest *m)
{
	json_t *o = json_object();

	for (size_t i = 0; o != NULL && i < m->n_tables; i++)
		if (json_object_set_new(o, m->tables[i].name,
		                        json_integer((json_int_t)m->tables[i].rows)) != 0) {
			json_decref(o);
			return NULL;
		}
	return o;
}

static json_t *
encryption_json(const struct manifest *m)
{
	if (m->encryption_key_id == NULL)
		return NULL;
	return json_pack("{s:s, s:s}", "kind", "caretaker-v1", "key_id", m->encryption_key_id);
}

static json_t *
archive_json(const struct manifest *m)
{
	json_t *paths;

	if (m->n_paths == 0)
		return NULL;
	paths = json_array();
	for (size_t i = 0; paths != NULL && i < m->n_paths; i++)
		json_array_append_new(paths, json_string(m->paths[i]));
	return json_pack("{s:o, s:I, s:I, s:I, s:I}", "paths", paths, "files",
	                 (json_int_t)m->n_files, "dirs", (json_int_t)m->n_dirs, "symlinks",
	                 (json_int_t)m->n_symlinks, "bytes", (json_int_t)m->file_bytes);
}

/* What was dumped and how. */
static json_t *
build_origin(const struct manifest *m)
{
	return json_pack(
	    "{s:i, s:s, s:s, s:s*, s:s*, s:s*, s:i, s:s*, s:s, s:{s:s, s:i, s:I}, "
	    "s:o*, s:o*, s:s*, s:s*, s:s*, s:s*}",
	    "caretaker_manifest", MANIFEST_FORMAT, "name", m->name, "file", m->file, "database",
	    m->database, "encoding", m->encoding, "server_version", m->server_version,
	    "server_version_num", m->server_version_num, "pg_dump_version", m->pg_dump_version,
	    "format", m->format, "compression", "kind", compress_kind_name(m->compress), "level",
	    m->level, "block_bytes", (json_int_t)m->block_bytes, "encryption", encryption_json(m),
	    "archive", archive_json(m), "snapshot", m->snapshot, "host", m->host,
	    "caretaker_version", m->caretaker_version, "plugin_version", m->plugin_version);
}

/* Sizes, digests, times, row counts, verification. */
static int
build_contents(json_t *root, const struct manifest *m)
{
	json_t *blocks = blocks_json(m), *tables = tables_json(m), *more = NULL;
	int rc = -1;

	if (blocks != NULL && tables != NULL)
		more = json_pack("{s:o, s:o, s:I, s:I, s:s, s:s, s:O, s:O}", "started_at",
		                 time_json(m->started_at), "finished_at", time_json(m->finished_at),
		                 "raw_bytes", (json_int_t)m->raw_bytes, "stored_bytes",
		                 (json_int_t)m->stored_bytes, "stored_sha256", m->stored_sha256,
		                 "raw_sha256", m->raw_sha256, "blocks", blocks, "tables", tables);
	if (more != NULL)
		rc = json_object_update(root, more);
	json_decref(more);
	json_decref(blocks);
	json_decref(tables);
	if (rc == 0 && m->verified.level > 0) {
		rc = json_object_set_new(root, "verified", check_json(&m->verified));
		if (rc == 0)
			rc = json_object_set_new(root, "verifications",
			                         json_pack("[o]", check_json(&m->verified)));
	}
	return rc == 0 ? 0 : CT_ENOMEM;
}

static int
append_newline(char **text)
{
	size_t len = strlen(*text);
	char *p = realloc(*text, len + 2);

	if (p == NULL)
		return CT_ENOMEM;
	p[len] = '\n';
	p[len + 1] = '\0';
	*text = p;
	return 0;
}

int
manifest_write(const char *path, const struct manifest *m, char *err, size_t err_size)
{
	json_t *root = m->json != NULL ? json_incref(m->json) : build_origin(m);
	char *text = NULL;
	int rc = root == NULL ? CT_ENOMEM : 0;

	if (rc == 0 && m->json == NULL)
		rc = build_contents(root, m);
	if (rc == 0) {
		text = json_dumps(root, JSON_INDENT(2) | JSON_ENSURE_ASCII);
		rc = text == NULL ? CT_ENOMEM : 0;
	}
	if (rc == 0)
		rc = append_newline(&text);
	if (rc == CT_ENOMEM)
		snprintf(err, err_size, "out of memory building manifest %s", path);
	if (rc == 0)
		rc = durable_replace(path, text, strlen(text), 0600, DURABLE_SYNC_ALL, err,
		                     err_size);
	free(text);
	json_decref(root);
	return rc;
}

int
manifest_record_check(struct manifest *m, const struct manifest_check *c)
{
	json_t *history = json_object_get(m->json, "verifications");

	if (!json_is_array(history)) {
		history = json_array();
		if (history == NULL || json_object_set_new(m->json, "verifications", history) != 0)
			return CT_ENOMEM;
	}
	if (json_array_append_new(history, check_json(c)) != 0 ||
	    json_object_set_new(m->json, "verified", check_json(c)) != 0)
		return CT_ENOMEM;
	while (json_array_size(history) > HISTORY_MAX)
		json_array_remove(history, 0);
	m->verified = *c;
	return 0;
}

/* ---- reading ---- */

struct loader {
	const char *path;
	char *err;
	size_t err_size;
};

static int
bad(const struct loader *ld, const char *member, const char *what)
{
	snprintf(ld->err, ld->err_size, "manifest %s: %s %s", ld->path, member, what);
	return CT_ECORRUPT;
}

static int
get_string(const struct loader *ld, json_t *o, const char *key, int is_required, const char **out)
{
	json_t *v = json_object_get(o, key);

	if (v == NULL && !is_required)
		return 0;
	if (!json_is_string(v))
		return bad(ld, key, "is missing or not a string");
	*out = json_string_value(v);
	return 0;
}

static int
get_u64(const struct loader *ld, json_t *o, const char *key, uint64_t *out)
{
	json_t *v = json_object_get(o, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0)
		return bad(ld, key, "is missing or not a whole number");
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

/* An optional whole number from `min` to INT_MAX: a value an int cannot
 * hold would wrap (a level of 2^32 + 2 would read as a passed L2). */
static int
get_int(const struct loader *ld, json_t *o, const char *key, const char *name, int min, int *out)
{
	json_t *v = json_object_get(o, key);
	char what[80];

	if (v == NULL)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > INT_MAX) {
		snprintf(what, sizeof(what), "is not a whole number from %d to %d", min, INT_MAX);
		return bad(ld, name, what);
	}
	*out = (int)json_integer_value(v);
	return 0;
}

static int
get_time(const struct loader *ld, json_t *o, const char *key, time_t *out)
{
	const char *s = NULL;

	if (get_string(ld, o, key, 1, &s) != 0 || manifest_time_parse(s, out) != 0)
		return bad(ld, key, "is missing or not a UTC time like 2025-01-01T00:00:00Z");
	return 0;
}

static int
get_sha256(const struct loader *ld, json_t *o, const char *key, char out[COMPRESS_SHA256_HEX_SIZE])
{
	const char *s = NULL;

	if (get_string(ld, o, key, 1, &s) != 0 || strlen(s) != 64 ||
	    strspn(s, "0123456789abcdefABCDEF") != 64)
		return bad(ld, key, "is missing or not 64 hex digits");
	memcpy(out, s, COMPRESS_SHA256_HEX_SIZE);
	return 0;
}

static int
load_block(const struct loader *ld, json_t *b, struct compress_block *out)
{
	const char *crc = NULL;

	if (!json_is_object(b) || get_u64(ld, b, "offset", &out->offset) != 0 ||
	    get_u64(ld, b, "stored", &out->stored_bytes) != 0 ||
	    get_u64(ld, b, "raw", &out->raw_bytes) != 0 || get_string(ld, b, "crc32", 1, &crc) != 0)
		return bad(ld, "blocks", "has an entry without offset, stored, raw and crc32");
	if (strlen(crc) != 8 || strspn(crc, "0123456789abcdefABCDEF") != 8)
		return bad(ld, "blocks", "has a crc32 that is not 8 hex digits");
	out->crc32 = (uint32_t)strtoul(crc, NULL, 16);
	return 0;
}

static int
load_blocks(const struct loader *ld, struct manifest *m)
{
	json_t *a = json_object_get(m->json, "blocks");
	struct compress_block *blocks;
	int rc = 0;

	if (a == NULL)
		return 0; /* a file another tool made: checked as a whole */
	if (!json_is_array(a))
		return bad(ld, "blocks", "is not an array");
	blocks = calloc(json_array_size(a) + 1, sizeof(*blocks));
	if (blocks == NULL)
		return CT_ENOMEM;
	for (size_t i = 0; rc == 0 && i < json_array_size(a); i++)
		rc = load_block(ld, json_array_get(a, i), &blocks[i]);
	m->blocks = blocks;
	m->n_blocks = json_array_size(a);
	return rc;
}

static int
load_tables(const struct loader *ld, struct manifest *m)
{
	json_t *o = json_object_get(m->json, "tables"), *v;
	struct manifest_table *tables;
	const char *key;
	size_t n = 0;

	if (o == NULL)
		return 0;
	if (!json_is_object(o))
		return bad(ld, "tables", "is not an object of row counts");
	tables = calloc(json_object_size(o) + 1, sizeof(*tables));
	if (tables == NULL)
		return CT_ENOMEM;
	m->tables = tables;
	json_object_foreach(o, key, v)
	{
		if (!json_is_integer(v) || json_integer_value(v) < 0)
			return bad(ld, "tables", "has a row count that is not a whole number");
		tables[n].name = key;
		tables[n++].rows = json_integer_value(v);
	}
	m->n_tables = n;
	return 0;
}

/* A detail longer than the buffer is cut before the character that does not
 * fit whole, so that it stays UTF-8 when it is written back. */
static void
detail_copy(char *out, size_t size, const char *detail)
{
	size_t len = strlen(detail);

	if (len >= size) {
		len = size - 1;
		while (len > 0 && ((unsigned char)detail[len] & 0xc0) == 0x80)
			len--;
	}
	memcpy(out, detail, len);
	out[len] = '\0';
}

static int
load_check(const struct loader *ld, struct manifest *m)
{
	json_t *v = json_object_get(m->json, "verified");
	const char *outcome = NULL, *detail = NULL;

	if (v == NULL)
		return 0;
	if (!json_is_object(v) || !json_is_integer(json_object_get(v, "level")) ||
	    get_string(ld, v, "outcome", 1, &outcome) != 0 ||
	    get_time(ld, v, "at", &m->verified.at) != 0)
		return bad(ld, "verified", "is not a record of level, outcome and at");
	if (get_int(ld, v, "level", "verified level", 0, &m->verified.level) != 0)
		return CT_ECORRUPT;
	(void)get_string(ld, v, "detail", 0, &detail);
	m->verified.is_ok = strcmp(outcome, "ok") == 0;
	detail_copy(m->verified.detail, sizeof(m->verified.detail), detail ? detail : "");
	return 0;
}

static int
load_compression(const struct loader *ld, struct manifest *m)
{
	json_t *c = json_object_get(m->json, "compression");
	const char *kind = NULL;
	uint64_t block_bytes = 0;

	if (!json_is_object(c) || get_string(ld, c, "kind", 1, &kind) != 0 ||
	    compress_kind_parse(kind, &m->compress, NULL, 0) != 0)
		return bad(ld, "compression", "is missing or names no known kind");
	if (get_int(ld, c, "level", "compression level", INT_MIN, &m->level) != 0)
		return CT_ECORRUPT;
	if (json_object_get(c, "block_bytes") != NULL &&
	    get_u64(ld, c, "block_bytes", &block_bytes) != 0)
		return CT_ECORRUPT;
	m->block_bytes = block_bytes;
	return 0;
}

static int
load_identity(const struct loader *ld, struct manifest *m)
{
	json_t *r = m->json;
	json_t *fmt = json_object_get(r, "caretaker_manifest");
	int rc;

	if (!json_is_integer(fmt) || json_integer_value(fmt) != MANIFEST_FORMAT)
		return bad(ld, "caretaker_manifest", "is missing or not format 1");
	rc = get_string(ld, r, "file", 1, &m->file);
	if (rc == 0 && (strchr(m->file, '/') != NULL || m->file[0] == '.' || m->file[0] == '\0'))
		return bad(ld, "file", "is not a plain file name");
	if (rc == 0)
		rc = get_string(ld, r, "name", 1, &m->name);
	if (rc == 0)
		rc = get_string(ld, r, "format", 1, &m->format);
	if (rc == 0 && strcmp(m->format, "plain") != 0 && strcmp(m->format, "custom") != 0 &&
	    strcmp(m->format, "tar") != 0)
		return bad(ld, "format", "is not plain, custom or tar");
	(void)get_string(ld, r, "database", 0, &m->database);
	(void)get_string(ld, r, "encoding", 0, &m->encoding);
	(void)get_string(ld, r, "server_version", 0, &m->server_version);
	(void)get_string(ld, r, "pg_dump_version", 0, &m->pg_dump_version);
	if (json_object_get(r, "encryption") != NULL &&
	    get_string(ld, json_object_get(r, "encryption"), "key_id", 1, &m->encryption_key_id) !=
	        0)
		return bad(ld, "encryption", "has no key_id");
	(void)get_string(ld, r, "snapshot", 0, &m->snapshot);
	(void)get_string(ld, r, "host", 0, &m->host);
	(void)get_string(ld, r, "caretaker_version", 0, &m->caretaker_version);
	(void)get_string(ld, r, "plugin_version", 0, &m->plugin_version);
	if (rc == 0)
		rc = get_int(ld, r, "server_version_num", "server_version_num", 0,
		             &m->server_version_num);
	return rc;
}

static int
load_contents(const struct loader *ld, struct manifest *m)
{
	json_t *r = m->json;
	int rc;

	rc = load_identity(ld, m);
	if (rc == 0)
		rc = load_compression(ld, m);
	if (rc == 0)
		rc = get_time(ld, r, "started_at", &m->started_at);
	if (rc == 0)
		rc = get_time(ld, r, "finished_at", &m->finished_at);
	if (rc == 0)
		rc = get_u64(ld, r, "raw_bytes", &m->raw_bytes);
	if (rc == 0)
		rc = get_u64(ld, r, "stored_bytes", &m->stored_bytes);
	if (rc == 0)
		rc = get_sha256(ld, r, "raw_sha256", m->raw_sha256);
	if (rc == 0)
		rc = get_sha256(ld, r, "stored_sha256", m->stored_sha256);
	if (rc == 0)
		rc = load_blocks(ld, m);
	if (rc == 0)
		rc = load_tables(ld, m);
	if (rc == 0)
		rc = load_check(ld, m);
	return rc;
}

int
manifest_load(const char *path, struct manifest *m, char *err, size_t err_size)
{
	struct loader ld = {path, err, err_size};
	struct manifest got = {0};
	json_error_t jerr;
	int rc;

	if (access(path, F_OK) != 0 && errno == ENOENT) {
		snprintf(err, err_size, "manifest %s does not exist", path);
		return CT_ENOENT;
	}
	got.json = json_load_file(path, JSON_REJECT_DUPLICATES, &jerr);
	if (got.json == NULL) {
		snprintf(err, err_size, "manifest %s: not JSON: %s (line %d)", path, jerr.text,
		         jerr.line);
		return CT_ECORRUPT;
	}
	rc = json_is_object(got.json) ? load_contents(&ld, &got)
	                              : bad(&ld, "top level", "is not an object");
	if (rc == CT_ENOMEM)
		snprintf(err, err_size, "manifest %s: out of memory", path);
	if (rc != 0) {
		manifest_free(&got);
		return rc;
	}
	*m = got;
	return 0;
}

int
manifest_is_counted(const struct manifest *m)
{
	return m->verified.level >= MANIFEST_L2 && m->verified.is_ok;
}

void
manifest_expect(const struct manifest *m, struct compress_expect *e)
{
	e->raw_sha256 = m->raw_sha256[0] ? m->raw_sha256 : NULL;
	e->stored_sha256 = m->stored_sha256[0] ? m->stored_sha256 : NULL;
	e->blocks = m->blocks;
	e->n_blocks = m->n_blocks;
}

int64_t
manifest_table_rows(const struct manifest *m, const char *table)
{
	for (size_t i = 0; i < m->n_tables; i++)
		if (strcmp(m->tables[i].name, table) == 0)
			return m->tables[i].rows;
	return -1;
}

void
manifest_free(struct manifest *m)
{
	if (m == NULL || m->json == NULL)
		return;
	free((void *)m->blocks);
	free((void *)m->tables);
	json_decref(m->json);
	*m = (struct manifest){0};
}
