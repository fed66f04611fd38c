/*
 * crypt.h — encryption of backups at rest, shared by the bundled `backup`
 * and `verify` plugins and by `caretaker decrypt` (libctcrypt, libsodium).
 *
 * Why public-key encryption: the host that makes backups holds only the
 * recipient's PUBLIC key.  Whoever steals the backup disk, or takes over the
 * host, can make new encrypted files but cannot read old ones; the secret
 * key lives off the host (an operator's vault) and comes out for a restore
 * or a deep verify.  Encryption is not a signature: anyone holding the
 * public key can make a file that decrypts.  What binds a file to the backup
 * that made it is the manifest's SHA-256 of the file on disk.
 *
 * File format, version 1 (all integers little-endian):
 *
 *   offset size  header (CRYPT_HEADER_BYTES = 128 bytes)
 *   0      8     magic 0x89 'C' 'T' 'E' 'N' 'C' '\r' '\n' (the high byte and
 *                the CR LF catch 7-bit and text-mode transfers)
 *   8      1     format version, 1
 *   9      1     flags, 0 (a reader refuses other values)
 *   10     2     zero
 *   12     4     chunk size: plaintext bytes per chunk, 1 KiB..16 MiB
 *                (the writer uses CRYPT_CHUNK_BYTES, 64 KiB)
 *   16     8     key id: the first 8 bytes of BLAKE2b-256 of the recipient's
 *                public key, so that a wrong key can be named; a hint only
 *   24     80    the file key (32 random bytes, new for every file) sealed to
 *                the recipient's public key with crypto_box_seal (X25519,
 *                XSalsa20-Poly1305, an ephemeral sender key)
 *   104    24    the crypto_secretstream_xchacha20poly1305 header
 *   then   chunks, each:
 *          4     n: ciphertext length (plaintext length + 17)
 *          n     crypto_secretstream_xchacha20poly1305_push() of the plaintext
 *
 * Chunk 0 carries the 128 header bytes as additional data, so a changed
 * header byte fails authentication even where it parses.  secretstream
 * chains its state from chunk to chunk, so chunks cannot be dropped,
 * repeated or reordered without failing.  Every chunk holds exactly `chunk
 * size` plaintext bytes except the last, which holds fewer (possibly none)
 * and is tagged FINAL; the file ends right after it.  A file cut anywhere
 * therefore fails: with the key, because FINAL is missing; without it,
 * because the last chunk is full or short of its length.
 *
 * Streams and failures.  Decryption hands on each chunk's plaintext only
 * after that chunk authenticated: a reader never sees an unauthenticated
 * byte.  A damaged chunk stops the stream there, so a consumer may have seen
 * the plaintext of the chunks before it; only the return value says that the
 * whole file was read, authenticated and complete.
 *
 * Key files are text, one key per file, one line (lines starting with '#'
 * and blank lines are ignored):
 *   caretaker-public-key-v1 <base64 of the 32-byte X25519 public key>
 *   caretaker-secret-key-v1 <base64 of the 32-byte X25519 secret key>
 * (base64: libsodium's original variant, with padding).  A secret key file
 * must be a regular file that only its owner can read or write (no group or
 * other bits, like ssh's private keys): it is refused otherwise.
 *
 * Threads: a writer or reader belongs to the thread that calls it.  Every
 * function that can fail returns 0 or a negative CT_* code of
 * <caretaker/errors.h> and writes one line of context (lowercase, the file
 * and chunk where there is one) into the caller's `err` (may be NULL).
 */
#ifndef CARETAKER_PLUGINS_CRYPT_H
#define CARETAKER_PLUGINS_CRYPT_H

#include <stddef.h>
#include <stdint.h>

#include "compress.h"

#define CRYPT_HEADER_BYTES 128
#define CRYPT_CHUNK_BYTES ((size_t)64 << 10)
#define CRYPT_CHUNK_MIN_BYTES ((size_t)1 << 10)
#define CRYPT_CHUNK_MAX_BYTES ((size_t)16 << 20)
/* Bytes each chunk adds: the length prefix and secretstream's tag and MAC. */
#define CRYPT_CHUNK_OVERHEAD_BYTES (4 + 17)
#define CRYPT_PUBLIC_KEY_BYTES 32
/* A key id as 16 lowercase hex digits and a NUL. */
#define CRYPT_KEY_ID_HEX_SIZE 17

/* Receives bytes in order: ciphertext from a writer, plaintext from a
 * decryption.  The bytes are valid during the call only.  Returns 0, or a
 * non-zero value that stops the work and is returned by the function that
 * called it. */
typedef int crypt_data_cb(void *ctx, const void *buf, size_t len);

/* ---- keys ---- */

/* A recipient's public key: plain data, the caller's to keep anywhere. */
struct crypt_public_key {
	unsigned char bytes[CRYPT_PUBLIC_KEY_BYTES];
	char id[CRYPT_KEY_ID_HEX_SIZE]; /* key id, as in the file header */
};

/* A secret key, held in guarded memory that is never swapped out and is
 * wiped when freed. */
struct crypt_secret_key;

/*
 * Makes a new key pair and writes it to `public_path` (mode 0644) and
 * `secret_path` (mode 0600), creating both: an existing file is never
 * overwritten (CT_EINVAL naming it), and on any failure neither file is
 * left behind.  Both files are fsynced.  If `id` is not NULL the new key id
 * is written there.
 *
 * Returns 0, CT_EINVAL (a file exists, same path twice), CT_ESYS (open,
 * write, fsync; the message names the file) or CT_ENOMEM.
 */
int crypt_keygen_files(const char *public_path, const char *secret_path,
                       char id[CRYPT_KEY_ID_HEX_SIZE], char *err, size_t err_size);

/* Reads a public key file into *pk (set on success only).  Returns 0;
 * CT_ESYS (cannot open or read); CT_EINVAL (not a public key file, naming
 * the file and what is wrong: a secret key there is called out). */
int crypt_public_key_load(const char *path, struct crypt_public_key *pk, char *err,
                          size_t err_size);

/* Reads a secret key file.  The file must be regular and have no group or
 * other permission bits (checked on the open descriptor): otherwise
 * CT_EPERM with a hint to chmod 600.  Returns 0 and sets *out (free with
 * crypt_secret_key_free()); CT_ESYS; CT_EINVAL (not a secret key file);
 * CT_ENOMEM. */
int crypt_secret_key_load(const char *path, struct crypt_secret_key **out, char *err,
                          size_t err_size);

/* The id of the key pair `sk` belongs to (static storage inside `sk`). */
const char *crypt_secret_key_id(const struct crypt_secret_key *sk);

/* Wipes and frees.  Accepts NULL. */
void crypt_secret_key_free(struct crypt_secret_key *sk);

/* ---- encrypting ---- */

struct crypt_writer;

/*
 * Starts an encryption to `pk` (copied; the caller keeps its struct) with a
 * new random file key.  Returns 0 and sets *out (free with
 * crypt_writer_free()), or CT_ENOMEM / CT_ESYS (libsodium failed to start).
 */
int crypt_writer_new(const struct crypt_public_key *pk, struct crypt_writer **out, char *err,
                     size_t err_size);

/*
 * Encrypts `len` bytes of plaintext (`buf` stays the caller's) and passes
 * the file's bytes to to->emit as they are ready: first the header, then
 * whole chunks, batched into pieces of up to 1 MiB.  With `is_end` set, the
 * call also encrypts what is buffered as the FINAL chunk and flushes
 * everything; the writer then takes no more bytes.  `to` must name the same
 * function and context on every call.
 *
 * Returns 0, the first non-zero value of to->emit, CT_EINVAL (after the
 * end), or CT_ENOMEM.  After an error every later call returns CT_EINVAL.
 */
int crypt_writer_push(struct crypt_writer *w, const void *buf, size_t len, int is_end,
                      const struct compress_sink *to, char *err, size_t err_size);

/*
 * Makes `w` the output stage of a compression writer (compress.h): pass
 * stage as compress_writer_params.stage to compress_writer_new(), which
 * then writes ciphertext to its file and reports the SHA-256 and length of
 * that ciphertext file.  `w` must outlive the compression writer.
 */
void crypt_writer_out_stage(struct crypt_writer *w, struct compress_out_stage *stage);

/* Frees the writer and wipes its keys.  Accepts NULL. */
void crypt_writer_free(struct crypt_writer *w);

/* Encrypts everything readable from `in_fd` to `pk` and writes the file to
 * `out_fd` (neither is closed; no fsync).  Returns 0, CT_EIO, CT_ENOSPC or
 * CT_ENOMEM. */
int crypt_encrypt_fd(int in_fd, int out_fd, const struct crypt_public_key *pk, char *err,
                     size_t err_size);

/* ---- decrypting ---- */

/* What a decryption or a framing check read. */
struct crypt_stats {
	uint64_t file_bytes;                        /* bytes of the encrypted file */
	uint64_t plain_bytes;                       /* plaintext bytes it holds */
	uint64_t n_chunks;                          /* chunks, the final one included */
	uint32_t chunk_bytes;                       /* the chunk size the header gives */
	char key_id[CRYPT_KEY_ID_HEX_SIZE];         /* the header's recipient key id */
	char file_sha256[COMPRESS_SHA256_HEX_SIZE]; /* framing check only: "" otherwise */
};

struct crypt_reader;

/*
 * Starts a decryption with `sk` (borrowed: it must outlive the reader).
 * The reader pulls the encrypted file from a source (crypt_reader_pull) or
 * serves as the input stage of compress_file_verify().  Returns 0
 * and sets *out (free with crypt_reader_free()), or CT_ENOMEM.
 */
int crypt_reader_new(const struct crypt_secret_key *sk, struct crypt_reader **out, char *err,
                     size_t err_size);

/*
 * Fills `buf` with up to `len` bytes of authenticated plaintext, reading the
 * encrypted file from `from` (which reads the file's bytes in order; *got
 * less than asked only at its end).  *got is less than `len` only at the end
 * of the plaintext, which comes only after the FINAL chunk authenticated and
 * the file ended right behind it.
 *
 * Returns 0; CT_ECORRUPT (not an encrypted file, unsupported version, wrong
 * key, a damaged or missing chunk, truncation, bytes after the end: the
 * message names the chunk and its offset in the file); CT_EPERM (the file
 * is for another key: both ids are named); the source's error; CT_ENOMEM.
 * After an error every later call returns it again.
 */
int crypt_reader_pull(struct crypt_reader *r, void *buf, size_t len, size_t *got,
                      const struct compress_source *from, char *err, size_t err_size);

/* Makes `r` the input stage of compress_file_verify() (as
 * compress_verify_params.stage): the verifier
 * then hashes the encrypted file as it is on disk and checks the decrypted,
 * still compressed stream block by block.  `r` must outlive the verify. */
void crypt_reader_in_stage(struct crypt_reader *r, struct compress_in_stage *stage);

/* Fills *st with what the reader read so far (file_sha256 stays ""). */
void crypt_reader_stats(const struct crypt_reader *r, struct crypt_stats *st);

/* Frees the reader and wipes its keys.  Accepts NULL. */
void crypt_reader_free(struct crypt_reader *r);

/*
 * Decrypts `in_fd` from its current position to EOF with the secret key in
 * `secret_key_path` and passes the plaintext to `cb` one authenticated chunk
 * at a time (in pieces of up to 64 KiB).  On failure `cb` may already have
 * had the chunks before the damaged one: the return value is the only
 * signal that the stream is whole.
 *
 * Returns 0; the key loading errors of crypt_secret_key_load(); the errors
 * of crypt_reader_pull() (CT_EIO for a failed read); or `cb`'s non-zero
 * value.  `err` names the chunk and the offset in the file, not the file.
 */
int crypt_decrypt_fd(int in_fd, const char *secret_key_path, crypt_data_cb *cb, void *ctx,
                     char *err, size_t err_size);

/* crypt_decrypt_fd() with a key already loaded (borrowed), so that a caller
 * can tell the key file's errors from the encrypted file's. */
int crypt_decrypt_fd_key(int in_fd, const struct crypt_secret_key *sk, crypt_data_cb *cb, void *ctx,
                         char *err, size_t err_size);

/*
 * Checks an encrypted file without the key: the header parses, every chunk
 * but the last carries exactly the header's chunk size, the last one less,
 * and the file ends right after it.  That catches truncation and most
 * damage to lengths, but nothing else: no chunk can be authenticated and
 * the FINAL tag cannot be seen without the key, so a flipped byte inside a
 * chunk passes.  Pair it with the manifest's SHA-256 of the file, which *st
 * carries (libsodium's SHA-256, about 0.4 GB/s).
 *
 * st: may be NULL; filled on success.
 * Returns 0, CT_ECORRUPT (naming the chunk and offset), CT_EIO, CT_ENOMEM.
 */
int crypt_check_framing(int in_fd, struct crypt_stats *st, char *err, size_t err_size);

#endif
