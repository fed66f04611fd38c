/*
 * progress.h — what a job is doing while it runs, for the operator who
 * asks: the plugin's progress calls, thinned out in the job's child; the
 * newest one kept by the parent; the live line `run` draws on a terminal;
 * and a small running file per run that `status` reads from any shell.
 *
 * A progress report is a fraction and a few words ("dumping", 0.42).  A
 * fraction below 0 (or NaN) means "unknown": the words and the time spent
 * are still shown, a percentage and an estimate of the time left are not.
 */
#ifndef CT_PROGRESS_H
#define CT_PROGRESS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Bytes kept of a report's words, with the terminating NUL; longer words
 * are cut at a character boundary. */
#define PROGRESS_WHAT_SIZE 128
/* How often the parent's watch loop calls progress_run_tick_cb. */
#define PROGRESS_TICK_MS 250
/* A run gets its file under state_dir/running/ once it has run this long:
 * shorter runs (most) cost no file. */
#define PROGRESS_RUNNING_AFTER_MS 1000

/* The fraction as kept and sent: NaN and negatives become -1 (unknown),
 * more than 1 becomes 1. */
double progress_fraction_clean(double fraction);

/* ---- the child: at most about ten messages a second ------------------- */

struct progress_throttle {
	int is_started;
	int64_t sent_ms;               /* when the last message went */
	int64_t step_tat_ms;           /* step changes: their bucket's clock */
	double fraction;               /* of the last message */
	char what[PROGRESS_WHAT_SIZE]; /* of the last message */
};

/*
 * Decide whether a plugin's progress call at now_ms becomes a message.
 * Passes the first call, a change of the words or a first 1.0 (in bursts
 * of up to ten, then ten a second), and otherwise one call per 100 ms; a
 * call that repeats the last message is never sent.  When it returns
 * non-zero, pt->fraction and pt->what hold what to send (cleaned and cut).
 * Zero-initialise the struct before the first call.
 */
int progress_throttle_pass(struct progress_throttle *pt, int64_t now_ms, double fraction,
                           const char *what);

/* ---- the parent: the newest report --------------------------------------- */

struct progress_sample {
	double fraction;               /* 0..1, or -1: unknown */
	char what[PROGRESS_WHAT_SIZE]; /* control characters replaced by '?' */
	int64_t at_ms;                 /* monotonic clock when it came */
	uint64_t n;                    /* reports so far; 0: none yet */
};

/* Keep a report from the child (what may be NULL).  Fixed size, whatever
 * the child sends and however often. */
void progress_sample_set(struct progress_sample *s, double fraction, const char *what,
                         int64_t now_ms);

/* ---- words and estimates ------------------------------------------------- */

/*
 * Milliseconds left for a step that was at fraction f0 at t0_ms and is at
 * f1 now (the newest report), at the pace from t0_ms to now_ms; -1 when it
 * cannot be derived: an unknown fraction, no advance, or less than three
 * seconds of the step seen.
 */
int64_t progress_eta_ms(double f0, int64_t t0_ms, double f1, int64_t now_ms);

/* A span for people: "42s", "3min12s", "2h5min" (writes at most `size`). */
void progress_format_span(int64_t ms, char *buf, size_t size);

/* "dumping 42%, about 3min12s left" ("almost done" under a second);
 * "running pg_repack" when the fraction is unknown; "running" when there
 * are no words.  eta_ms < 0: no estimate. */
void progress_format_state(char *buf, size_t size, const char *what, double fraction,
                           int64_t eta_ms);

/* ---- one run, seen from the parent -------------------------------------- */

struct progress_run_params {
	const char *state_dir;
	const char *job;
	pid_t child_pid;
	const struct progress_sample *sample; /* the run's newest report; outlives the run */
	int is_quiet;                         /* run -q: no live line */
};

struct progress_run {
	struct progress_run_params p;
	char *running_path;           /* state_dir/running/JOB.PID.json once written, else NULL */
	int is_running_broken;        /* a write failed: no more tries */
	int is_running_started;       /* running_start done (after its first second) */
	unsigned long long pid_start; /* caretaker's own, for the running file */
	int64_t start_ms;
	int64_t start_us;
	int is_live; /* draw the live line on stderr */
	int is_line_shown;
	char line[512];     /* the live line last drawn */
	int64_t written_ms; /* the running file last written */
	uint64_t written_n;
	char base_what[PROGRESS_WHAT_SIZE]; /* the estimate's first point in this step */
	double base_fraction;
	int64_t base_ms;
	uint64_t seen_n;
};

/*
 * Before the child is watched: the running file (cleaning stale ones), and
 * the live line when stderr is a terminal (not "dumb"), not the journal,
 * and not -q.  Never fails: a running file that cannot be written is
 * logged once and the run goes on.
 */
void progress_run_begin(struct progress_run *pr, const struct progress_run_params *p);
/* The watch loop's tick (supervise.h; ctx is the struct progress_run):
 * redraws the live line (when it changed) and rewrites the running file
 * (when the report changed, at most once a second). */
void progress_run_tick_cb(void *ctx);
/* After the child is gone, before the result line: clears the live line
 * and removes the running file. */
void progress_run_end(struct progress_run *pr);

/* ---- running files, read from any shell ---------------------------------- */

struct progress_running {
	char job[256];
	pid_t pid;                    /* caretaker's */
	unsigned long long pid_start; /* its start time, /proc/PID/stat field 22 */
	pid_t child_pid;
	int64_t start_us; /* the run's start, wall clock */
	char step[PROGRESS_WHAT_SIZE];
	double fraction;      /* -1: unknown */
	double base_fraction; /* the estimate's first point in this step, */
	int64_t base_us;      /*   0 when there is none */
	int64_t updated_us;   /* the newest report (or the start) */
	int64_t written_us;
};

/* The start time of process `pid` in clock ticks after boot (field 22 of
 * /proc/PID/stat), 0 when /proc does not say.  CT_ENOENT when there is no
 * such process or it is a zombie. */
int progress_pid_start(pid_t pid, unsigned long long *start);
/* Non-zero when the run that wrote `r` is still alive: its caretaker
 * exists, is no zombie, and started when the file says (a pid reused by
 * another process is not taken for it). */
int progress_running_is_alive(const struct progress_running *r);
/* Read one running file.  0, or CT_ENOENT / CT_EIO / CT_ECORRUPT with the
 * reason in err. */
int progress_running_read(const char *path, struct progress_running *r, char *err, size_t err_size);
/* The runs alive now under state_dir/running, oldest first, into a new
 * array (caller frees).  Stale files are removed when is_cleaning and the
 * user may; unreadable ones are skipped. */
int progress_running_list(const char *state_dir, int is_cleaning, struct progress_running **out,
                          size_t *n);
/* `status`: a RUNNING section under the job table when runs are alive. */
void progress_show_running(const char *state_dir, int64_t now_us);

#endif
