/*
 * keys.c — the helper commands `caretaker keygen` and `caretaker decrypt`
 * (programs caretaker-keygen and caretaker-decrypt, shipped with the backup
 * plugin) over libctcrypt.
 *
 * This file owns the command-line behaviour only: which arguments go
 * together, where output goes, what the operator reads when it fails.  The
 * format, the keys and every check live in plugins/lib/crypt*.c.
 *
 * Why decrypt refuses a terminal: the plaintext is a compressed stream, and
 * binary on a terminal is never what anyone meant (gzip refuses too).
 * Why --output goes through a temporary name: a restore script that tests
 * for the file must never find half a backup under the final name.
 */
#include "autoconf.h"

#include "keys.h"

#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypt.h"

/* Where decrypted bytes go, and the first write error's words. */
struct keys_sink {
	int fd;
	const char *name;           /* "stdout" or the final file name */
	unsigned long long n_bytes; /* written so far */
	char err[160];
};

static const char keygen_usage[] =
    "usage: caretaker keygen --public FILE --secret FILE [-q]\n"
    "Makes a key pair for encrypt_to: the public key for the backup hosts, the\n"
    "secret key (mode 0600) for a restore.  Exit status: 0, 1 failed, 2 usage.\n";
static const char decrypt_usage[] =
    "usage: caretaker decrypt --key SECRET_FILE [-o OUTPUT] BACKUP_FILE\n"
    "Decrypts an encrypted backup (still compressed) to OUTPUT or a pipe.\n"
    "Exit status: 0, 1 wrong key, damaged, truncated or I/O error, 2 usage.\n";

static int
keys_help(const char *text)
{
	fputs(text, stdout);
	return fflush(stdout) == 0 ? KEYS_EXIT_OK : KEYS_EXIT_FAILED;
}

static int
keys_usage(const char *what)
{
	fprintf(stderr, "caretaker: %s\nTry 'caretaker --help'.\n", what);
	return KEYS_EXIT_USAGE;
}

int
keys_generate(const struct keys_options *opts)
{
	char id[CRYPT_KEY_ID_HEX_SIZE], err[512];

	if (opts->is_help)
		return keys_help(keygen_usage);
	if (opts->public_path == NULL || opts->secret_path == NULL || opts->key_path != NULL ||
	    opts->output_path != NULL || opts->n_args != 0)
		return keys_usage("keygen: give --public FILE and --secret FILE, nothing else");
	if (crypt_keygen_files(opts->public_path, opts->secret_path, id, err, sizeof(err)) != 0) {
		fprintf(stderr, "caretaker: keygen: %s\n", err);
		return KEYS_EXIT_FAILED;
	}
	if (!opts->is_quiet)
		printf("key id %s\n"
		       "public key: %s (copy it to the backup hosts)\n"
		       "secret key: %s (mode 0600; keep it off the backup hosts, and a copy "
		       "in a safe place: without it no backup can be restored)\n",
		       id, opts->public_path, opts->secret_path);
	return KEYS_EXIT_OK;
}

static int
keys_sink_write_cb(void *ctx, const void *buf, size_t len)
{
	struct keys_sink *sink = ctx;
	const unsigned char *p = buf;
	ssize_t n;

	while (len > 0) {
		n = write(sink->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			snprintf(sink->err, sizeof(sink->err), "writing to %s: %s", sink->name,
			         strerror(n < 0 ? errno : EIO));
			return -1;
		}
		p += n;
		len -= (size_t)n;
		sink->n_bytes += (size_t)n;
	}
	return 0;
}

/* Opens "FILE.partial" next to FILE (mode 0600: it is plaintext), after
 * making sure FILE itself does not exist. */
static int
keys_open_partial(const char *final_path, char *tmp, size_t tmp_size)
{
	struct stat st;
	int fd;

	if (lstat(final_path, &st) == 0) {
		fprintf(stderr, "caretaker: decrypt: %s exists; refusing to overwrite it\n",
		        final_path);
		return -1;
	}
	if ((size_t)snprintf(tmp, tmp_size, "%s.partial", final_path) >= tmp_size) {
		fprintf(stderr, "caretaker: decrypt: output path too long: %s\n", final_path);
		return -1;
	}
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		fprintf(stderr, "caretaker: decrypt: %s: %s%s\n", tmp, strerror(errno),
		        errno == EEXIST ? " (left by an earlier decrypt? remove it)" : "");
	return fd;
}

/* Puts a complete output file in place, or takes the partial one away.
 * `rc` is the decryption's result (already reported). */
static int
keys_close_output(int fd, const char *tmp, const char *final_path, int rc)
{
	int e = 0;

	if (rc == 0 && fsync(fd) != 0)
		e = errno;
	if (close(fd) != 0 && rc == 0 && e == 0)
		e = errno;
	if (rc == 0 && e == 0 && rename(tmp, final_path) != 0)
		e = errno;
	if (e != 0)
		fprintf(stderr, "caretaker: decrypt: %s: %s\n", final_path, strerror(e));
	if (rc != 0 || e != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* Runs the decryption into `sink` and prints why it failed. */
static int
keys_decrypt_into(const struct keys_options *opts, const struct crypt_secret_key *sk, int in_fd,
                  struct keys_sink *sink)
{
	char err[512];
	int rc;

	rc = crypt_decrypt_fd_key(in_fd, sk, keys_sink_write_cb, sink, err, sizeof(err));
	if (rc == 0)
		return 0;
	if (sink->err[0] != '\0')
		fprintf(stderr, "caretaker: decrypt: %s\n", sink->err);
	else
		fprintf(stderr, "caretaker: decrypt: %s: %s\n", opts->input_path, err);
	if (sink->fd == STDOUT_FILENO && sink->n_bytes > 0)
		fprintf(stderr,
		        "hint: %llu bytes that authenticated went to stdout before the failure; "
		        "the stream is incomplete: discard it\n",
		        sink->n_bytes);
	return -1;
}

/* Opens the input and the key; the key file's errors name it. */
static int
keys_open_inputs(const struct keys_options *opts, int *in_fd, struct crypt_secret_key **sk)
{
	char err[512];

	if (crypt_secret_key_load(opts->key_path, sk, err, sizeof(err)) != 0) {
		fprintf(stderr, "caretaker: decrypt: %s\n", err);
		return -1;
	}
	*in_fd = open(opts->input_path, O_RDONLY | O_CLOEXEC);
	if (*in_fd < 0) {
		fprintf(stderr, "caretaker: decrypt: %s: %s\n", opts->input_path, strerror(errno));
		crypt_secret_key_free(*sk);
		*sk = NULL;
		return -1;
	}
	return 0;
}

static int
keys_check_decrypt_args(const struct keys_options *opts, int is_stdout)
{
	if (opts->key_path == NULL || opts->n_args != 1 || opts->public_path != NULL ||
	    opts->secret_path != NULL)
		return keys_usage("decrypt: give --key SECRET_FILE and one BACKUP_FILE");
	if (is_stdout && isatty(STDOUT_FILENO)) {
		fprintf(stderr, "caretaker: decrypt: not writing a backup to a terminal\n"
		                "hint: pipe it (| gunzip | psql) or give --output FILE\n");
		return KEYS_EXIT_USAGE;
	}
	return 0;
}

int
keys_decrypt(const struct keys_options *opts)
{
	int is_stdout = opts->output_path == NULL || strcmp(opts->output_path, "-") == 0;
	struct keys_sink sink = {STDOUT_FILENO, "stdout", 0, ""};
	struct crypt_secret_key *sk = NULL;
	char tmp[4096];
	int in_fd = -1, rc;

	if (opts->is_help)
		return keys_help(decrypt_usage);
	rc = keys_check_decrypt_args(opts, is_stdout);
	if (rc != 0)
		return rc;
	/* A reader that goes away (`| head`) is an error to report, not a
	 * signal to die of. */
	signal(SIGPIPE, SIG_IGN);
	if (keys_open_inputs(opts, &in_fd, &sk) != 0)
		return KEYS_EXIT_FAILED;
	if (!is_stdout) {
		sink.name = opts->output_path;
		sink.fd = keys_open_partial(opts->output_path, tmp, sizeof(tmp));
	}
	rc = sink.fd < 0 ? -1 : keys_decrypt_into(opts, sk, in_fd, &sink);
	if (!is_stdout && sink.fd >= 0)
		rc = keys_close_output(sink.fd, tmp, opts->output_path, rc);
	close(in_fd);
	crypt_secret_key_free(sk);
	return rc == 0 ? KEYS_EXIT_OK : KEYS_EXIT_FAILED;
}

/* -q on the helper's own command line, or caretaker's -q passed down as
 * CARETAKER_VERBOSITY (helper.h in the core). */
static int
keys_is_quiet_env(void)
{
	const char *v = getenv("CARETAKER_VERBOSITY");

	return v != NULL && strtol(v, NULL, 10) < 0;
}

int
keys_parse_args(int argc, char **argv, struct keys_options *opts)
{
	static const struct option longopts[] = {
	    {"public", required_argument, NULL, 'p'},
	    {"secret", required_argument, NULL, 's'},
	    {"key", required_argument, NULL, 'k'},
	    {"output", required_argument, NULL, 'o'},
	    {"quiet", no_argument, NULL, 'q'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int c;

	memset(opts, 0, sizeof(*opts));
	opts->is_quiet = keys_is_quiet_env();
	while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
		if (c == 'p')
			opts->public_path = optarg;
		else if (c == 's')
			opts->secret_path = optarg;
		else if (c == 'k')
			opts->key_path = optarg;
		else if (c == 'o')
			opts->output_path = optarg;
		else if (c == 'q')
			opts->is_quiet = 1;
		else if (c == 'h')
			opts->is_help = 1;
		else
			return keys_usage("bad option");
	}
	opts->n_args = argc - optind;
	opts->input_path = opts->n_args > 0 ? argv[optind] : NULL;
	return 0;
}
