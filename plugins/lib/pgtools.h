/*
 * pgtools.h — running PostgreSQL's client programs (pg_dump, pg_restore,
 * psql) from a plugin; shared by `backup` and `verify`.
 *
 * Owns: finding the program that matches the server (Debian's
 * /usr/lib/postgresql/MAJOR/bin first, then PATH), reading and checking its
 * version, handing it the connection through libpq's environment variables
 * so that no password ever appears in its argv (where `ps` shows it to
 * every user), fork/exec without a shell, and recognising pg_dump's
 * completion trailer and error lines.
 * Not here: what the program is asked to do, and the plugins' reports.
 *
 * Errors are negative CT_* codes with one line in the caller's `err`.
 */
#ifndef CARETAKER_PLUGINS_PGTOOLS_H
#define CARETAKER_PLUGINS_PGTOOLS_H

#include <stddef.h>
#include <sys/types.h>

#include <libpq-fe.h>

/* ---- versions ---- */

struct pgtools_prog {
	char path[4096]; /* absolute */
	int version_num; /* as PQserverVersion(): 150018 for 15.18, 90624 for 9.6.24 */
	char
	    version[128]; /* its `--version` line, e.g. "pg_dump (PostgreSQL) 15.18 (Debian ...)" */
};

/* Reads the version from a `--version` line or a bare "15.18", "9.6.24",
 * "17beta1".  Returns 0 and sets *version_num, or CT_EINVAL. */
int pgtools_version_parse(const char *text, int *version_num);

/* The major version as people write it: "15" for 150018, "9.6" for 90624. */
void pgtools_major_name(int version_num, char *buf, size_t size);

/* Refuses a program older than the server's major version (pg_dump cannot
 * dump a newer server; pg_restore and psql may not read what it wrote).
 * Returns 0, or CT_EUNSUPPORTED with a message naming both versions and a
 * "hint: install postgresql-client-MAJOR" line. */
int pgtools_version_check(const char *prog, int prog_num, int server_num, char *err,
                          size_t err_size);

/* Finds `prog` ("pg_dump") for a server of version `server_num`: in
 * `bindir` when given (and only there), else in
 * /usr/lib/postgresql/MAJOR/bin, else on PATH; runs it with --version and
 * checks it with pgtools_version_check().  Fills *out on success.
 * Returns 0, CT_ENOENT (not found, with the package to install),
 * CT_EUNSUPPORTED (too old) or CT_ECHILD. */
int pgtools_find(const char *prog, const char *bindir, int server_num, struct pgtools_prog *out,
                 char *err, size_t err_size);

/* ---- the connection, as a child's environment ---- */

struct pgtools_env;

/*
 * Turns connection options (from PQconninfoParse() or PQconninfo(); read
 * only during the call) into an environment for a client program: the
 * current environment with PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD,
 * PGSERVICE, PGSSLMODE ... replaced by the options' values (each option's
 * variable is the one libpq documents, taken from the option's `envvar`).
 * `dbname`, when not NULL, replaces the options' database; `appname` is
 * PGAPPNAME unless the options name one.  Options that have no variable
 * (keepalives, tcp_user_timeout ...) go into a conninfo string for the
 * program's --dbname, see pgtools_env_dbname_arg().  A secret that has no
 * variable (sslpassword) cannot be passed safely: CT_EUNSUPPORTED.
 * Free with pgtools_env_free().
 */
int pgtools_env_new(const PQconninfoOption *opts, const char *dbname, const char *appname,
                    struct pgtools_env **out, char *err, size_t err_size);

/* The NULL-terminated environment, for pgtools_spawn().  Owned by `e`. */
char *const *pgtools_env_envp(const struct pgtools_env *e);

/* A conninfo string with the database and the options that have no
 * variable ("dbname='x' keepalives='1'"), never a secret: for programs that
 * need --dbname to connect at all (pg_restore).  Owned by `e`. */
const char *pgtools_env_dbname_arg(const struct pgtools_env *e);

/* NULL when the options set no variable-less option (the usual case). */
const char *pgtools_env_extra_arg(const struct pgtools_env *e);

/* Accepts NULL. */
void pgtools_env_free(struct pgtools_env *e);

/* A conninfo string of every option that is set, secrets included, with
 * `dbname` (may be NULL) replacing the database: for connecting from this
 * process only, never for argv.  Returns 0 and sets *out (free()), or
 * CT_ENOMEM. */
int pgtools_conninfo_string(const PQconninfoOption *opts, const char *dbname, char **out);

/* ---- children ---- */

/* pgtools_spawn() flags */
#define PGTOOLS_STDIN 0x1u  /* in_fd: a socket to its stdin, see pgtools_feed() */
#define PGTOOLS_STDOUT 0x2u /* out_fd: a 1 MiB pipe from its stdout */
#define PGTOOLS_STDERR_BUFFER                                                                      \
	0x4u /* err_fd: a memory file read after it exits,                                         \
	        instead of a pipe (for children we feed) */

struct pgtools_child {
	pid_t pid;      /* 0 when none runs */
	int in_fd;      /* -1 unless PGTOOLS_STDIN */
	int out_fd;     /* -1 unless PGTOOLS_STDOUT; else its stdout is /dev/null */
	int err_fd;     /* its stderr: a pipe, or the memory file */
	unsigned flags; /* as given to pgtools_spawn() */
};

/*
 * Starts `path` with `argv` and `envp` (execve: no shell, no PATH search),
 * stdin from /dev/null unless asked.  The child stays in the caller's
 * process group, so the host's timeout reaches it, and gets SIGTERM if the
 * calling thread dies.  Safe to call while other threads run: the child
 * does only async-signal-safe work before exec.  Returns 0 and fills *c
 * (end with pgtools_wait() or pgtools_stop()), CT_ESYS, or CT_ECHILD when
 * the program could not be executed (with errno's words).
 */
int pgtools_spawn(const char *path, char *const argv[], char *const envp[], unsigned flags,
                  struct pgtools_child *c, char *err, size_t err_size);

/* Writes all `len` bytes to the child's stdin.  A child that has exited
 * gives CT_EIO (never SIGPIPE: stdin is a socket and this uses
 * MSG_NOSIGNAL). */
int pgtools_feed(struct pgtools_child *c, const void *buf, size_t len);

/* Closes stdin (the child sees EOF). */
void pgtools_close_stdin(struct pgtools_child *c);

/* Closes the pipes, waits for the child and sets *status (waitpid's).
 * Returns 0 or CT_ECHILD.  Leaves err_fd open when it is the memory file. */
int pgtools_wait(struct pgtools_child *c, int *status);

/* SIGTERM, then wait; closes everything.  Accepts a child that is gone. */
void pgtools_stop(struct pgtools_child *c);

/* Releases err_fd after pgtools_wait().  Accepts a closed child. */
void pgtools_child_close(struct pgtools_child *c);

/* Reads up to size-1 bytes of the memory file from its start, NUL
 * terminated.  Returns the length. */
size_t pgtools_read_stderr(const struct pgtools_child *c, char *buf, size_t size);

/* "exited with status 1", "killed by SIGTERM". */
void pgtools_status_text(int status, char *buf, size_t size);

/* ---- what pg_dump prints ---- */

/* The last bytes of a stream, to find pg_dump's completion trailer. */
#define PGTOOLS_TAIL_BYTES 256
struct pgtools_tail {
	char buf[PGTOOLS_TAIL_BYTES];
	size_t len;
};

void pgtools_tail_add(struct pgtools_tail *t, const void *buf, size_t len);

/* Non-zero when a plain-format dump ends with pg_dump's
 * "-- PostgreSQL database dump complete" block, followed only by blank
 * lines and (since 17.6, 16.10, 15.14 ...) its `\unrestrict KEY` line. */
int pgtools_tail_is_complete(const struct pgtools_tail *t);

/* Non-zero when a line pg_dump, pg_restore or psql wrote to stderr reports
 * an error ("pg_dump: error: ...", "ERROR:  ...", "FATAL:  ...") rather
 * than a warning or a notice. */
int pgtools_line_is_error(const char *line, size_t len);

#endif
