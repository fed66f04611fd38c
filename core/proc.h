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
