/*
 * timers_render.c — `caretaker timers`, step two: the unit text, every value escaped for systemd's
 * parser (see timers_int.h).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "timers.h"
#include "timers_int.h"
#include "xmalloc.h"

/* ---- render: escaping ---------------------------------------------------- */

/* A free-text value (Description=, a comment).  systemd expands specifiers
 * in Description=, so a literal % is %%; a trailing backslash would join
 * the next line to this one, and a control character has no place. */
static void
put_text(FILE *f, const char *s)
{
	size_t len = strlen(s);

	while (len > 0 && s[len - 1] == '\\')
		len--;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%')
			fputc('%', f);
		fputc(c < 0x20 || c == 0x7f ? ' ' : c, f);
	}
}

/* Inside one word of ExecStart= or ReadWritePaths= systemd expands
 * specifiers, unquotes "..." and undoes C escapes. */
static const struct {
	unsigned char c;
	const char *as;
} word_escapes[] = {
    {'%', "%%"},
    {'\\', "\\\\"},
    {'"', "\\\""},
    {'\'', "\\'"},
};

static void
put_word_char(FILE *f, unsigned char c, int is_command)
{
	for (size_t i = 0; i < ARRAY_SIZE(word_escapes); i++) {
		if (c == word_escapes[i].c) {
			fputs(word_escapes[i].as, f);
			return;
		}
	}
	if (c == '$' && is_command) /* ExecStart= expands $VAR when it runs */
		fputs("$$", f);
	else if (c < 0x20 || c == 0x7f)
		fprintf(f, "\\x%02x", c);
	else
		fputc(c, f);
}

/* One word; quoted when it holds a blank, which would split it. */
static void
put_word(FILE *f, const char *s, int is_command)
{
	int is_quoted = s[0] == '\0' || strchr(s, ' ') != NULL;

	if (is_quoted)
		fputc('"', f);
	for (; *s != '\0'; s++)
		put_word_char(f, (unsigned char)*s, is_command);
	if (is_quoted)
		fputc('"', f);
}

static void
put_timespan(FILE *f, const char *key, int64_t ms)
{
	char buf[64];

	if (ms == INT64_MAX) {
		fprintf(f, "%s=infinity\n", key);
		return;
	}
	value_format_duration(ms, buf, sizeof(buf));
	fprintf(f, "%s=%s\n", key, buf);
}

/* ---- render: the units ---------------------------------------------------- */

static void
render_head(FILE *f, const struct timers *t, const struct plan *p, const char *suffix)
{
	fputs(TIMERS_MARKER " timers from ", f);
	put_text(f, t->config_path);
	fprintf(f,
	        "; edits are lost when it\n# runs again: put them in a drop-in "
	        "(systemctl edit %s%s)\n[Unit]\nDescription=",
	        p->unit, suffix);
	put_text(f, p->description);
	fputs("\nDocumentation=man:caretaker(8)\n", f);
}

static void
render_exec(FILE *f, const struct timers *t, const struct plan *p)
{
	const char *argv[] = {t->exec_path, "-c", t->config_path, "run", p->run_arg};

	fputs("ExecStart=", f);
	for (size_t i = 0; i < ARRAY_SIZE(argv); i++) {
		if (i > 0)
			fputc(' ', f);
		put_word(f, argv[i], 1);
	}
	fputc('\n', f);
}

/*
 * TimeoutStartSec= is a backstop above caretaker's own deadlines: every job
 * the run may start gets its timeout, then SIGTERM, kill_grace, SIGKILL
 * from caretaker, which records "timed out" in history and runs the
 * on_failure handler.  Were systemd's limit to come first, its SIGTERM
 * would stop caretaker mid-chain.  KillMode=mixed sends systemd's SIGTERM
 * to caretaker alone, which passes it on to the job's process group and
 * records the stopped run; only the final SIGKILL goes to the whole
 * cgroup, and TimeoutStopSec= leaves room for caretaker's kill grace first.
 * When caretaker itself dies, systemd has no main process to wait for and
 * sends that SIGKILL to the whole cgroup at once: every process of the
 * job, whatever its process group or session (runner.c also ends the job
 * from its child when caretaker dies, for runs outside systemd).
 */
static void
render_timeouts(FILE *f, const struct timers *t, const struct plan *p)
{
	put_timespan(f, "TimeoutStartSec", p->scope.start_bound_ms);
	fputs("KillMode=mixed\n", f);
	put_timespan(f, "TimeoutStopSec",
	             timers_add_saturating(t->cfg->settings.kill_grace_ms, TIMERS_STOP_MARGIN_MS));
}

/*
 * Sandboxing only where it cannot break a job: when every plugin the run
 * may load declares CT_PLUGIN_STATE_ONLY (it writes nothing outside
 * state_dir).  Other plugins (exec, backup, prune...) write where the job
 * says, run commands that may use sudo or setuid helpers, or talk to
 * services through /tmp.  NoNewPrivileges= does not hinder `user =`: the
 * core drops from root with setgid/setuid, which gains nothing; it only
 * stops exec'ing setuid and file-capability programs.  PrivateTmp= also
 * waits for a run with no PostgreSQL client, whose server may keep its
 * socket in /tmp (connecting to a socket on a read-only mount still works).
 */
enum { NEEDS_STATE_ONLY = 1u, NEEDS_NO_PG = 2u };

static const struct {
	const char *line;
	unsigned needs;
} hardening_lines[] = {
    {"NoNewPrivileges=yes", NEEDS_STATE_ONLY},
    {"PrivateTmp=yes", NEEDS_STATE_ONLY | NEEDS_NO_PG},
    {"ProtectSystem=strict", NEEDS_STATE_ONLY},
    {"ProtectHome=read-only", NEEDS_STATE_ONLY},
};

/* ProtectSystem=strict leaves writable only what caretaker itself writes:
 * state_dir (history, locks, plugin state) and the Prometheus textfile.
 * "-": a missing folder is caretaker's error to report, not a namespace
 * failure (status 226) with no word about which path. */
static void
render_writable_paths(FILE *f, const struct settings *set)
{
	const char *paths[] = {set->state_dir, set->prometheus_dir};

	fputs("ReadWritePaths=", f);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		char *word;

		if (paths[i] == NULL)
			continue;
		word = xasprintf("-%s", paths[i]);
		fputs(i > 0 ? " " : "", f);
		put_word(f, word, 0);
		free(word);
	}
	fputc('\n', f);
}

static void
render_hardening(FILE *f, const struct timers *t, const struct run_scope *s)
{
	unsigned have =
	    (s->is_state_only ? NEEDS_STATE_ONLY : 0) | (s->is_using_pg ? 0 : NEEDS_NO_PG);

	for (size_t i = 0; i < ARRAY_SIZE(hardening_lines); i++)
		if ((hardening_lines[i].needs & have) == hardening_lines[i].needs)
			fprintf(f, "%s\n", hardening_lines[i].line);
	if (s->is_state_only)
		render_writable_paths(f, &t->cfg->settings);
}

/*
 * Exit 75 means the job's lock was held: another run of it (a manual
 * `caretaker run`, a chain, run --due) is doing the work and records the
 * result, so the unit does not turn "failed" and page anyone.  Nice= only
 * when every job of the run shares it: the core sets each job's nice in
 * the child anyway, and a unit-wide value would leak into prerequisites.
 * No User=: caretaker needs root for its locks and history and switches to
 * the job's user itself.  No IOSchedulingClass=idle: on a busy database
 * host an idle-class backup or vacuum can starve until its timeout, holding
 * a snapshot all the while.
 */
static void
render_service(FILE *f, const struct timers *t, const struct plan *p)
{
	render_head(f, t, p, ".service");
	fputs("Wants=network-online.target\nAfter=network-online.target postgresql.service\n"
	      "\n[Service]\nType=oneshot\n",
	      f);
	render_exec(f, t, p);
	fputs("SuccessExitStatus=75\n", f);
	render_timeouts(f, t, p);
	if (p->scope.is_nice_shared)
		fprintf(f, "Nice=%d\n", p->scope.nice);
	render_hardening(f, t, &p->scope);
}

static void
render_calendar(FILE *f, const char *calendar)
{
	const char *line = calendar;

	while (*line != '\0') {
		size_t len = strcspn(line, "\n");
		char *one = xstrndup(line, len);

		fputs("OnCalendar=", f);
		put_text(f, one);
		fputc('\n', f);
		free(one);
		line += len + (line[len] == '\n');
	}
}

static void
render_timer(FILE *f, const struct timers *t, const struct plan *p)
{
	render_head(f, t, p, ".timer");
	fputs("\n[Timer]\n", f);
	render_calendar(f, p->calendar);
	fprintf(f, "Persistent=%s\n", p->is_persistent ? "true" : "false");
	if (p->jitter_ms > 0)
		put_timespan(f, "RandomizedDelaySec", p->jitter_ms);
	fprintf(f, "Unit=%s.service\n\n[Install]\nWantedBy=timers.target\n", p->unit);
}

typedef void render_fn(FILE *f, const struct timers *t, const struct plan *p);

static void
units_add(struct timers *t, const struct plan *p, const char *suffix, render_fn *render)
{
	struct unit_file *u;
	FILE *f;

	t->units = xreallocarray(t->units, t->n_units + 1, sizeof(*t->units));
	u = &t->units[t->n_units++];
	u->name = xasprintf("%s%s", p->unit, suffix);
	u->text = NULL;
	f = open_memstream(&u->text, &u->len);
	if (f == NULL) {
		fputs("caretaker: out of memory\n", stderr);
		abort();
	}
	render(f, t, p);
	if (fclose(f) != 0) {
		fputs("caretaker: out of memory\n", stderr);
		abort();
	}
}

static void
units_add_plan(struct timers *t, struct plan *p)
{
	t->is_any_hardened |= p->scope.is_state_only;
	units_add(t, p, ".service", render_service);
	units_add(t, p, ".timer", render_timer);
	timers_plan_clear(p);
}

/* The hardened units cannot create state_dir themselves. */
static void
warn_missing_state_dir(const struct timers *t)
{
	const char *dir = t->cfg->settings.state_dir;

	if (!t->is_any_hardened || t->opts->is_check || access(dir, F_OK) == 0)
		return;
	fprintf(stderr,
	        "caretaker: warning: state_dir %s does not exist, and ProtectSystem=strict keeps "
	        "the hardened units from creating it\n  hint: create it (caretaker run creates it "
	        "on its first run)\n",
	        dir);
}

void
timers_render_all(struct timers *t)
{
	struct plan p;

	if (t->opts->is_due_timer) {
		timers_plan_for_due(t->cfg, &p);
		units_add_plan(t, &p);
	}
	for (size_t i = 0; i < t->cfg->n_jobs && !t->opts->is_due_timer; i++) {
		if (!timers_job_has_timer(t->cfg->jobs[i]))
			continue;
		timers_plan_for_job(t->cfg, t->cfg->jobs[i], &p);
		units_add_plan(t, &p);
	}
	if (t->n_units == 0)
		fprintf(stderr, "caretaker: no enabled job has a schedule: no units to write\n");
	warn_missing_state_dir(t);
}
