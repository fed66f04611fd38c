/*
 * proc.h — small process helpers shared by the loader's probe and the
 * runner: writing all of a buffer, signal names, reading a child's pipe with
 * a deadline, and a capped capture buffer that keeps head and tail.
 */
#ifndef CT_PROC_H
#define CT_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Write all `len` bytes, retrying on EINTR and short writes.  0 or CT_EIO. */
int proc_write_all(int fd, const void *buf, size_t len);
/* fsync a folder, making renames and new names in it durable.  0 or CT_EIO. */
int proc_fsync_dir(const char *dir);
/* proc_write_file_atomic's flags. */
#define PROC_SYNC_FILE 0x1u /* fsync the new file before the rename */
#define PROC_SYNC_DIR 0x2u  /* and fsync the folder after it */
/* Replace `path` with `len` bytes so that a reader sees the old file or the
 * new one, never half of one: a hidden temporary file beside it
 * (".NAME.XXXXXX", which globs such as *.prom or *.timer do not match),
 * mode `mode`, written, renamed over `path`.  With PROC_SYNC_FILE a crash
 * also leaves the old file or the new one (without it, an empty file is
 * possible); with PROC_SYNC_DIR the new one is there after a crash.  0, or
 * CT_EIO/CT_ESYS with errno saying why; the temporary file never outlives
 * a failure. */
int proc_write_file_atomic(const char *path, const void *buf, size_t len, mode_t mode,
                           unsigned flags);
/*
 * Open `path` (O_CLOEXEC, O_NOFOLLOW added to `flags`; `mode` for O_CREAT)
 * and refuse what fstat(2) does not call a regular file: a FIFO or a device
 * planted where a state file belongs would otherwise block the open or the
 * read forever.  The open itself is non-blocking for that reason; the flag
 * is cleared again before the descriptor is returned.  0 with *fd_out set;
 * CT_ENOENT when `path` does not exist, CT_EIO for a file that is not
 * regular, CT_ESYS otherwise (errno kept), with "PATH: why" in err.
 */
int proc_open_regular(const char *path, int flags, mode_t mode, int *fd_out, char *err,
                      size_t err_size);
/* Read the rest of the regular file open on `fd` (up to its size at the
 * start) into a new NUL-terminated buffer: *data (caller frees) and *len
 * are set on success only.  0, or CT_EIO with "PATH: why" in err. */
int proc_read_regular(int fd, const char *path, char **data, size_t *len, char *err,
                      size_t err_size);
/* "SIGSEGV", "SIGKILL", ... or "signal N".  Static storage. */
const char *proc_signal_name(int sig);
/* In a fresh child: stdin and stdout to /dev/null, default signal handling. */
void proc_child_quiet(void);
/* Reset every signal disposition and the mask to defaults (before running
 * plugin code or exec). */
void proc_signals_reset(void);
/* In a fresh child: if code running there calls exit(), end the process at
 * once with that status, without the parent's atexit handlers (stdio
 * buffers copied by fork would be written twice; a sanitizer's leak check
 * would report the parent's memory). */
void proc_child_exit_guard(void);
/* End a forked child now with `status`, as _exit() does, without the
 * parent's atexit handlers; in a coverage build (configure
 * --enable-coverage) gcov's counts are written first. */
void proc_child_exit(int status) __attribute__((noreturn));
/* Create `path` and missing parents with `mode`.  0 or CT_ESYS with errno
 * set. */
int proc_mkdir_p(const char *path, unsigned mode);
/* Monotonic clock in milliseconds. */
int64_t proc_now_ms(void);
/* Wall clock in microseconds since the epoch. */
int64_t proc_wall_us(void);

/* Text kept from a stream: everything up to `limit` bytes; past that the
 * first limit/2 bytes and the last limit/2, with the count of dropped bytes. */
struct capbuf {
	size_t limit;
	char *head;
	size_t head_len;
	char *tail; /* ring of limit/2 bytes */
	size_t tail_len;
	size_t tail_pos;
	uint64_t total; /* every byte seen */
};

void capbuf_init(struct capbuf *c, size_t limit);
void capbuf_append(struct capbuf *c, const void *data, size_t len);
/* The kept text, with "[... N bytes dropped ...]" between head and tail
 * when bytes were dropped.  Caller frees. */
char *capbuf_text(const struct capbuf *c);
void capbuf_free(struct capbuf *c);

/* Plain growable capture (probe replies): data is NUL-terminated. */
struct proc_capture {
	char *data;
	size_t len;
};

/*
 * Read `fd` until EOF and reap `pid`, keeping at most max_bytes.  After
 * timeout_ms the child's process group gets SIGKILL and *is_timed_out is
 * set.  *status is waitpid()'s.
 */
void proc_read_until_exit(int fd, pid_t pid, int64_t timeout_ms, size_t max_bytes,
                          struct proc_capture *out, int *status, int *is_timed_out);

#endif
