/*
 * backup_manifest.c — what the new backup's manifest says (manifest.h),
 * filled in by the steps that learn it: what the job makes and where,
 * before the stream starts (the check that follows the file needs its
 * format, compression and key); the database or the file trees once the
 * stream has ended; the stream's sizes, digests and blocks once the file
 * is synced.  backup_check.c adds the verification, backup_files.c writes
 * it.  The manifest borrows every string and list from the run: it lives
 * as long as the run does.
 */
#include <string.h>

#include "backup.h"

void
backup_manifest_begin(const struct backup_opts *o, const struct backup_files *f,
                      const char *host_name, const char *host_version, struct manifest *m)
{
	m->name = o->name;
	m->file = f->file_name;
	m->format = o->n_paths > 0 ? "tar" : o->format;
	m->compress = o->kind;
	m->level = o->level;
	m->block_bytes = COMPRESS_BLOCK_DEFAULT_BYTES;
	m->encryption_key_id = o->encrypt_to ? o->pk.id : NULL;
	m->started_at = f->started_at;
	m->host = host_name;
	m->caretaker_version = host_version;
	m->plugin_version = BACKUP_PLUGIN_VERSION;
}

/* The database dumped, in the dump's snapshot, and its row counts. */
void
backup_manifest_dump(const struct backup_session *s, const struct pgtools_prog *pg_dump,
                     struct manifest *m)
{
	m->database = s->database;
	m->encoding = s->encoding[0] ? s->encoding : NULL;
	m->server_version = s->server_version;
	m->server_version_num = s->server_version_num;
	m->pg_dump_version = pg_dump->version;
	m->tables = s->tables;
	m->n_tables = s->n_tables;
	m->snapshot = s->snapshot;
}

/* The trees archived and what went in. */
void
backup_manifest_tree(const struct backup_opts *o, const struct tartree_stats *tree,
                     struct manifest *m)
{
	m->paths = o->paths;
	m->n_paths = o->n_paths;
	m->n_files = tree->n_files;
	m->n_dirs = tree->n_dirs;
	m->n_symlinks = tree->n_symlinks;
	m->file_bytes = tree->bytes;
}

/* What the writer wrote.  Its digests are empty when it left them to the
 * check that followed the file (backup_check.c fills them then). */
void
backup_manifest_stream(const struct compress_stats *st, struct manifest *m)
{
	m->raw_bytes = st->raw_bytes;
	m->stored_bytes = st->stored_bytes;
	m->blocks = st->blocks;
	m->n_blocks = st->n_blocks;
	memcpy(m->raw_sha256, st->raw_sha256, sizeof(m->raw_sha256));
	memcpy(m->stored_sha256, st->stored_sha256, sizeof(m->stored_sha256));
}
