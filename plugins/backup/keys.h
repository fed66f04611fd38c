/*
 * keys.h — the helper commands `caretaker keygen` and `caretaker decrypt`
 * (caretaker-keygen, caretaker-decrypt): the command-line side of encrypted
 * backups (the format and the keys are plugins/lib/crypt.h's;
 * docs/encryption.md tells the whole story).
 */
#ifndef CT_KEYS_H
#define CT_KEYS_H

/* Exit statuses, the same numbers as caretaker's own (caretaker(8)). */
enum keys_exit {
	KEYS_EXIT_OK = 0,
	KEYS_EXIT_FAILED = 1,
	KEYS_EXIT_USAGE = 2,
};

/* What keys_parse_args parsed; every member may be NULL. */
struct keys_options {
	const char *public_path; /* keygen --public */
	const char *secret_path; /* keygen --secret */
	const char *key_path;    /* decrypt --key */
	const char *output_path; /* decrypt --output; NULL or "-": stdout */
	const char *input_path;  /* decrypt's BACKUP_FILE */
	int n_args;              /* positional arguments given */
	int is_quiet;
	int is_help; /* -h/--help: print the usage, exit 0 */
};

/* Parse a helper's arguments (after its name) into *opts: --public,
 * --secret, --key, --output/-o, -q, -h/--help, and positional arguments.  0, or an
 * exit status after printing the usage error. */
int keys_parse_args(int argc, char **argv, struct keys_options *opts);

/*
 * Makes a key pair: the public key for the backup hosts, the secret key
 * (mode 0600) for a restore.  Refuses to overwrite either file.  Prints the
 * key id and what goes where on stdout, problems on stderr.
 * Returns an exit code: 0, 1 (the files could not be made), 2 (usage).
 */
int keys_generate(const struct keys_options *opts);

/*
 * Decrypts input_path with the secret key in key_path and writes the
 * plaintext (the backup, still compressed) to output_path or stdout.  A file
 * given with --output is made (mode 0600, never over an existing file) under
 * a temporary name and renamed only when the whole input authenticated;
 * stdout gets each chunk as it authenticates, so on failure it has had the
 * chunks before the damaged one and the exit status is the signal.
 * Returns an exit code: 0, 1 (wrong key, damaged, truncated, I/O; the
 * message names the file and the chunk and offset), 2 (usage).
 */
int keys_decrypt(const struct keys_options *opts);

#endif
