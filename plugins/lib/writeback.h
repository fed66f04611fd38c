/*
 * writeback.h — starting the kernel's writeback of a file while it is being
 * written, on a thread of its own (internal to libctcompress).
 *
 * Why: a file written without it stays dirty in the page cache until the
 * writer's fsync, which then writes all of it at once (for a 170 MB backup,
 * 150 ms at the end of every run, and a burst of writes that can stall
 * other writers to the same disk, the database's among them).  Started
 * every few megabytes, the writes are spread over the run and the final
 * fsync waits for the last few.  sync_file_range() can block for
 * milliseconds while it queues the writes, so it runs here and not in the
 * thread that writes, which is the one keeping pg_dump's pipe empty.
 *
 * Best effort throughout: the caller's fsync is what makes the file
 * durable; a writeback that cannot start or fails just stops.
 */
#ifndef CARETAKER_PLUGINS_WRITEBACK_H
#define CARETAKER_PLUGINS_WRITEBACK_H

#include <stdint.h>

struct writeback;

/* Follows `fd` from its current offset on.  NULL (and nothing to do) when
 * it is not a regular file or no thread could start; every function below
 * accepts NULL. */
struct writeback *writeback_start(int fd);

/* `written` bytes have been written from the start offset on: queues their
 * writeback once enough has accumulated.  Cheap; never blocks on I/O. */
void writeback_note(struct writeback *wb, uint64_t written);

/* Waits for the thread and frees.  Writes still queued in the kernel go on
 * by themselves; the caller's fsync waits for them. */
void writeback_stop(struct writeback *wb);

#endif
