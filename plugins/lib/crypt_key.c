/*
 * crypt_key.c — key pairs and their files: generation, the text format, and
 * the permission check on secret keys.  The format is in crypt.h.
 *
 * Secret key bytes live only in sodium_malloc()ed memory and in the read
 * buffer, which is wiped as soon as the key is decoded.
 */
#include "crypt_format.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <caretaker/errors.h>

#define KEY_PUBLIC_TAG "caretaker-public-key-v1"
#define KEY_SECRET_TAG "caretaker-secret-key-v1"
/* Key files are one short line and a comment; more is not a key file. */
#define KEY_FILE_MAX_BYTES 4096
#define KEY_B64_SIZE sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)

/* What a key file must say, and how to talk about it. */
struct key_kind {
	const char *tag;
	const char *other_tag;
	const char *what;
	const char *hint;
};

static const struct key_kind key_public = {
    KEY_PUBLIC_TAG, KEY_SECRET_TAG, "public key",
    "this is a secret key: give the backup host the public one"};
static const struct key_kind key_secret = {
    KEY_SECRET_TAG, KEY_PUBLIC_TAG, "secret key",
    "this is a public key: decrypting needs the secret key of the pair"};

/* Reads a whole small file from an open descriptor into `buf` as a string. */
static int
key_read_fd(int fd, const char *path, char *buf, size_t size, char *err, size_t err_size)
{
	char io_err[128];
	size_t got = 0;
	int rc;

	rc = fdio_read_full(fd, buf, size - 1, &got, 0, io_err, sizeof(io_err));
	if (rc != 0) {
		fdio_errf(err, err_size, "%s: %s", path, io_err);
		return CT_ESYS;
	}
	if (got == size - 1) {
		fdio_errf(err, err_size, "%s: too long to be a caretaker key file", path);
		return CT_EINVAL;
	}
	buf[got] = '\0';
	return 0;
}

/* Finds the one key line: skips comments and blank lines, strips the line
 * end; NULL if there is none or more than one. */
static char *
key_find_line(char *text)
{
	char *line, *next, *found = NULL;
	size_t n;

	for (line = text; line != NULL && *line != '\0'; line = next) {
		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		n = strlen(line);
		while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
			line[--n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (found != NULL)
			return NULL;
		found = line;
	}
	return found;
}

/* Decodes "TAG BASE64" into 32 bytes. */
static int
key_parse_text(char *text, const struct key_kind *kind, const char *path, unsigned char *out,
               char *err, size_t err_size)
{
	char *line = key_find_line(text);
	size_t tag_len = strlen(kind->tag), bin_len = 0;
	const char *end = NULL;

	if (line != NULL && strncmp(line, kind->other_tag, tag_len) == 0) {
		fdio_errf(err, err_size, "%s: not a %s\nhint: %s", path, kind->what, kind->hint);
		return CT_EINVAL;
	}
	if (line == NULL || strncmp(line, kind->tag, tag_len) != 0 || line[tag_len] != ' ') {
		fdio_errf(err, err_size, "%s: not a caretaker %s file (want one line \"%s KEY\")",
		          path, kind->what, kind->tag);
		return CT_EINVAL;
	}
	if (sodium_base642bin(out, 32, line + tag_len + 1, strlen(line + tag_len + 1), NULL,
	                      &bin_len, &end, sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    bin_len != 32 || *end != '\0') {
		fdio_errf(err, err_size, "%s: the %s is not 32 bytes of base64", path, kind->what);
		return CT_EINVAL;
	}
	return 0;
}

/* Like ssh: a secret key others may read is refused, not used. */
static int
key_check_private(int fd, const char *path, char *err, size_t err_size)
{
	struct stat st;

	if (fstat(fd, &st) != 0) {
		fdio_errf(err, err_size, "%s: %s", path, strerror(errno));
		return CT_ESYS;
	}
	if (!S_ISREG(st.st_mode)) {
		fdio_errf(err, err_size, "%s: not a regular file", path);
		return CT_EINVAL;
	}
	if ((st.st_mode & 077) != 0) {
		fdio_errf(err, err_size,
		          "%s: secret key is accessible by others (mode %04o), refusing it\n"
		          "hint: chmod 600 %s",
		          path, (unsigned)(st.st_mode & 07777), path);
		return CT_EPERM;
	}
	return 0;
}

/* Opens, checks (for a secret key) and decodes a key file into `out`. */
static int
key_load(const char *path, const struct key_kind *kind, unsigned char *out, char *err,
         size_t err_size)
{
	char text[KEY_FILE_MAX_BYTES];
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		fdio_errf(err, err_size, "%s: %s", path, strerror(errno));
		return CT_ESYS;
	}
	/* Parse first: a public key given as the secret one is called that,
	 * not "too open". */
	rc = key_read_fd(fd, path, text, sizeof(text), err, err_size);
	if (rc == 0)
		rc = key_parse_text(text, kind, path, out, err, err_size);
	if (rc == 0 && kind == &key_secret)
		rc = key_check_private(fd, path, err, err_size);
	if (rc != 0)
		sodium_memzero(out, 32);
	sodium_memzero(text, sizeof(text));
	close(fd);
	return rc;
}

int
crypt_public_key_load(const char *path, struct crypt_public_key *pk, char *err, size_t err_size)
{
	struct crypt_public_key got;
	unsigned char id[CRYPT_KEY_ID_BYTES];
	int rc;

	rc = crypt_sodium_init(err, err_size);
	if (rc == 0)
		rc = key_load(path, &key_public, got.bytes, err, err_size);
	if (rc != 0)
		return rc;
	crypt_key_id(got.bytes, id);
	crypt_key_id_hex(id, got.id);
	*pk = got;
	return 0;
}

int
crypt_secret_key_load(const char *path, struct crypt_secret_key **out, char *err, size_t err_size)
{
	struct crypt_secret_key *sk;
	unsigned char id[CRYPT_KEY_ID_BYTES];
	int rc;

	rc = crypt_sodium_init(err, err_size);
	if (rc != 0)
		return rc;
	sk = sodium_malloc(sizeof(*sk));
	if (sk == NULL) {
		fdio_errf(err, err_size, "out of memory for a secret key");
		return CT_ENOMEM;
	}
	rc = key_load(path, &key_secret, sk->secret, err, err_size);
	if (rc != 0) {
		sodium_free(sk);
		return rc;
	}
	crypto_scalarmult_base(sk->public, sk->secret);
	crypt_key_id(sk->public, id);
	crypt_key_id_hex(id, sk->id);
	*out = sk;
	return 0;
}

const char *
crypt_secret_key_id(const struct crypt_secret_key *sk)
{
	return sk->id;
}

void
crypt_secret_key_free(struct crypt_secret_key *sk)
{
	if (sk != NULL)
		sodium_free(sk); /* wipes first */
}

/* Creates `path` with `mode`, never over an existing file or a link. */
static int
key_create(const char *path, mode_t mode, char *err, size_t err_size)
{
	int fd, e;

	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	e = errno;
	if (fd < 0 && e == EEXIST) {
		fdio_errf(err, err_size, "%s exists; refusing to overwrite a key file", path);
		return CT_EINVAL;
	}
	if (fd < 0) {
		fdio_errf(err, err_size, "%s: %s", path, strerror(e));
		return CT_ESYS;
	}
	/* The umask may only take bits away; make the mode exact anyway. */
	if (fchmod(fd, mode) != 0) {
		fdio_errf(err, err_size, "%s: chmod: %s", path, strerror(errno));
		close(fd);
		return CT_ESYS;
	}
	return fd;
}

/* Writes "# comment\nTAG BASE64\n" to `fd` and fsyncs it. */
static int
key_write(int fd, const char *path, const struct key_kind *kind, const unsigned char key[32],
          const char *id, char *err, size_t err_size)
{
	char text[256], b64[KEY_B64_SIZE], io_err[128];
	int n, rc;

	sodium_bin2base64(b64, sizeof(b64), key, 32, sodium_base64_VARIANT_ORIGINAL);
	n = snprintf(text, sizeof(text), "# caretaker %s, key id %s%s\n%s %s\n", kind->what, id,
	             kind == &key_secret ? ": keep it off the backup host" : "", kind->tag, b64);
	rc = fdio_write_all(fd, text, (size_t)n, FDIO_NO_OFFSET, io_err, sizeof(io_err));
	if (rc == 0 && fsync(fd) != 0) {
		fdio_errf(io_err, sizeof(io_err), "fsync: %s", strerror(errno));
		rc = CT_ESYS;
	}
	if (rc != 0)
		fdio_errf(err, err_size, "%s: %s", path, io_err);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(b64, sizeof(b64));
	return rc != 0 ? CT_ESYS : 0;
}

static int
key_close_failed(const char *path, char *err, size_t err_size)
{
	fdio_errf(err, err_size, "%s: close: %s", path, strerror(errno));
	return CT_ESYS;
}

/* Both files exist afterwards, or neither does. */
static int
key_write_pair(const char *public_path, const char *secret_path, const unsigned char *pk,
               const unsigned char *sk, const char *id, char *err, size_t err_size)
{
	int pub_fd = -1, sec_fd = -1, rc;

	pub_fd = key_create(public_path, 0644, err, err_size);
	if (pub_fd < 0)
		return pub_fd;
	sec_fd = key_create(secret_path, 0600, err, err_size);
	rc = sec_fd < 0 ? sec_fd : 0;
	if (rc == 0)
		rc = key_write(sec_fd, secret_path, &key_secret, sk, id, err, err_size);
	if (rc == 0)
		rc = key_write(pub_fd, public_path, &key_public, pk, id, err, err_size);
	if (sec_fd >= 0 && close(sec_fd) != 0 && rc == 0)
		rc = key_close_failed(secret_path, err, err_size);
	if (close(pub_fd) != 0 && rc == 0)
		rc = key_close_failed(public_path, err, err_size);
	if (rc != 0) {
		unlink(public_path);
		if (sec_fd >= 0)
			unlink(secret_path);
	}
	return rc;
}

int
crypt_keygen_files(const char *public_path, const char *secret_path, char id[CRYPT_KEY_ID_HEX_SIZE],
                   char *err, size_t err_size)
{
	unsigned char *keys = NULL; /* secret, then public */
	unsigned char raw_id[CRYPT_KEY_ID_BYTES];
	char hex[CRYPT_KEY_ID_HEX_SIZE];
	int rc;

	if (strcmp(public_path, secret_path) == 0) {
		fdio_errf(err, err_size, "public and secret key cannot both go to %s", public_path);
		return CT_EINVAL;
	}
	rc = crypt_sodium_init(err, err_size);
	if (rc != 0)
		return rc;
	keys = sodium_malloc(crypto_box_SECRETKEYBYTES + crypto_box_PUBLICKEYBYTES);
	if (keys == NULL) {
		fdio_errf(err, err_size, "out of memory for a key pair");
		return CT_ENOMEM;
	}
	crypto_box_keypair(keys + crypto_box_SECRETKEYBYTES, keys);
	crypt_key_id(keys + crypto_box_SECRETKEYBYTES, raw_id);
	crypt_key_id_hex(raw_id, hex);
	rc = key_write_pair(public_path, secret_path, keys + crypto_box_SECRETKEYBYTES, keys, hex,
	                    err, err_size);
	if (rc == 0 && id != NULL)
		memcpy(id, hex, sizeof(hex));
	sodium_free(keys);
	return rc;
}
