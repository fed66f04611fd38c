/*
 * result.c — assembling a run's result in the parent (see result.h).
 *
 * The child is not trusted: every message is parsed defensively, members
 * of the wrong type make a message malformed rather than a guess, text is
 * repaired and held to the same limits the child applies (task.h), and the
 * volume of output and the number of items kept are capped here whatever
 * the child sends.  What is not kept is counted and said.
 */
#include "autoconf.h"

#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "arena.h"
#include "log.h"
#include "result.h"
#include "task.h"
#include "utf8.h"
#include "xmalloc.h"

static const char *const status_words[] = {
    [CT_STATUS_OK] = "ok",
    [CT_STATUS_WARN] = "warn",
    [CT_STATUS_FAIL] = "failed",
    [CT_STATUS_SKIPPED] = "skipped",
};

const char *
result_status_word(int status)
{
	if (status < 0 || status >= CT_STATUS__LAST)
		return "failed";
	return status_words[status];
}

int
result_status_from_word(const char *word)
{
	for (int i = 0; i < CT_STATUS__LAST; i++)
		if (word != NULL && strcmp(word, status_words[i]) == 0)
			return i;
	return -1;
}

struct run_result *
result_new(const char *job, const char *plugin, size_t output_limit)
{
	struct arena *a = arena_new();
	struct run_result *r = arena_alloc(a, sizeof(*r));

	r->arena = a;
	r->job = arena_strdup(a, job);
	r->plugin = arena_strdup(a, plugin ? plugin : "");
	r->status = CT_STATUS_FAIL;
	r->output_limit = output_limit;
	return r;
}

void
result_free(struct run_result *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n_streams; i++)
		capbuf_free(&r->streams[i].buf);
	free(r->streams);
	free(r->metrics);
	free(r->findings);
	free(r->artifacts);
	free(r->logs);
	free(r->summary_owned);
	arena_free(r->arena);
}

void
result_set(struct run_result *r, int status, const char *reason_fmt, ...)
{
	va_list ap;

	r->status = status;
	if (reason_fmt == NULL)
		return;
	va_start(ap, reason_fmt);
	r->reason = arena_vsprintf(r->arena, reason_fmt, ap);
	va_end(ap);
}

/* ---- what the run keeps and says --------------------------------------- */

/* Print a log line for the plugin, escaped: it goes to a terminal or the
 * journal. */
static void
result_print_log(const struct run_result *r, int level, const char *text)
{
	char who[256];
	char *safe = utf8_escape(text, 0);

	snprintf(who, sizeof(who), "%s/%s", r->plugin, r->job);
	log_msg(level, who, "%s", safe);
	free(safe);
}

static void
result_keep_log(struct run_result *r, int level, const char *text)
{
	r->logs = xreallocarray(r->logs, r->n_logs + 1, sizeof(*r->logs));
	r->logs[r->n_logs].level = level;
	r->logs[r->n_logs++].msg = arena_strdup(r->arena, text);
}

/* A warning of the host's about this run: printed, and kept in the record
 * whatever the cap on log lines (there are only a few). */
static const char *result_vwarn(struct run_result *r, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

static const char *
result_vwarn(struct run_result *r, const char *fmt, va_list ap)
{
	const char *text = arena_vsprintf(r->arena, fmt, ap);

	result_print_log(r, LOG_LEVEL_WARNING, text);
	result_keep_log(r, LOG_LEVEL_WARNING, text);
	return text;
}

static void result_warn(struct run_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
result_warn(struct run_result *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	result_vwarn(r, fmt, ap);
	va_end(ap);
}

/* A message that could not be used: the first few are named in warnings,
 * all are counted. */
static void result_note_bad(struct run_result *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
result_note_bad(struct run_result *r, const char *fmt, ...)
{
	va_list ap;
	const char *text;

	if (r->n_bad_messages++ >= RESULT_MAX_NOTES)
		return;
	va_start(ap, fmt);
	text = result_vwarn(r, fmt, ap);
	va_end(ap);
	if (r->first_bad == NULL)
		r->first_bad = text;
}

void
result_drop_line(struct run_result *r, size_t len, size_t limit)
{
	result_note_bad(r,
	                "a message of %zu bytes from the plugin was dropped: over the limit "
	                "of %zu bytes",
	                len, limit);
}

static struct run_stream *
result_stream(struct run_result *r, const char *name)
{
	struct run_stream *s;

	for (size_t i = 0; i < r->n_streams; i++)
		if (strcmp(r->streams[i].name, name) == 0)
			return &r->streams[i];
	if (r->n_streams >= RESULT_MAX_STREAMS && strcmp(name, "protocol") != 0 &&
	    strcmp(name, "plugin-output") != 0) {
		r->n_outputs_unkept++;
		return NULL;
	}
	r->streams = xreallocarray(r->streams, r->n_streams + 1, sizeof(*r->streams));
	s = &r->streams[r->n_streams++];
	s->name = arena_strdup(r->arena, name);
	capbuf_init(&s->buf, r->output_limit);
	return s;
}

/* Append to a stream.  The kept text is rendered as a C string, where a
 * NUL would end it early: a NUL becomes U+FFFD, like any byte that is not
 * text. */
static void
result_stream_append(struct run_stream *s, const char *data, size_t len)
{
	for (;;) {
		const char *nul = memchr(data, '\0', len);
		size_t n = nul ? (size_t)(nul - data) : len;

		capbuf_append(&s->buf, data, n);
		if (nul == NULL)
			return;
		capbuf_append(&s->buf, "\xef\xbf\xbd", 3);
		data += n + 1;
		len -= n + 1;
	}
}

void
result_add_stray_output(struct run_result *r, const void *data, size_t len)
{
	struct run_stream *s = result_stream(r, "plugin-output");

	if (s != NULL)
		result_stream_append(s, data, len);
}

/* ---- reading members --------------------------------------------------- */

/* A text member, repaired and shortened to `max` bytes, into *out (caller
 * frees); NULL when absent or null.  CT_EINVAL when it is not a string. */
static int
field_text(json_t *msg, const char *key, size_t max, char **out)
{
	json_t *v = json_object_get(msg, key);
	size_t len;

	*out = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v))
		return CT_EINVAL;
	*out = utf8_shorten(json_string_value(v), json_string_length(v), max, &len);
	return 0;
}

/* field_text into the run's arena. */
static int
field_text_kept(struct run_result *r, json_t *msg, const char *key, size_t max, const char **out)
{
	char *text = NULL;
	int rc = field_text(msg, key, max, &text);

	*out = text ? arena_strdup(r->arena, text) : NULL;
	free(text);
	return rc;
}

/* An integer member, clamped to int (a huge status must not wrap to 0). */
static int
field_int(json_t *msg, const char *key, int *out)
{
	json_t *v = json_object_get(msg, key);
	json_int_t i;

	if (!json_is_integer(v))
		return CT_EINVAL;
	i = json_integer_value(v);
	*out = i < INT_MIN ? INT_MIN : i > INT_MAX ? INT_MAX : (int)i;
	return 0;
}

/* ---- one handler per message type -------------------------------------- */

static int
apply_log(struct run_result *r, json_t *msg, const char **why)
{
	char *text = NULL;
	int level = LOG_LEVEL_ERR;

	if (field_text(msg, "msg", TASK_TEXT_MAX, &text) != 0 || text == NULL) {
		*why = "\"msg\" is not a string";
		return CT_EINVAL;
	}
	if (field_int(msg, "level", &level) != 0 || level < LOG_LEVEL_ERR ||
	    level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_ERR;
	result_print_log(r, level, text);
	if (level <= LOG_LEVEL_WARNING && r->n_logs >= RESULT_MAX_LOGS)
		r->n_logs_unkept++;
	else if (level <= LOG_LEVEL_WARNING)
		result_keep_log(r, level, text);
	free(text);
	return 0;
}

static int
apply_status(struct run_result *r, json_t *msg, const char **why)
{
	char *summary = NULL;
	int status;

	if (field_int(msg, "status", &status) != 0) {
		*why = "\"status\" is not an integer";
		return CT_EINVAL;
	}
	if (field_text(msg, "summary", TASK_TEXT_MAX, &summary) != 0) {
		*why = "\"summary\" is not a string";
		return CT_EINVAL;
	}
	/* Owned here, not in the arena: a plugin may set its status often. */
	free(r->summary_owned);
	r->summary_owned = summary;
	r->summary = summary;
	r->status = status >= 0 && status < CT_STATUS__LAST ? status : CT_STATUS_FAIL;
	r->is_status_set = 1;
	return 0;
}

static int
apply_metric(struct run_result *r, json_t *msg, const char **why)
{
	const char *name = json_string_value(json_object_get(msg, "name"));
	json_t *value = json_object_get(msg, "value");
	const char *unit;

	if (r->n_metrics >= RESULT_MAX_ITEMS) {
		r->n_metrics_unkept++;
		return 0;
	}
	*why = "\"name\" is not [a-z0-9_], 1 to 99 characters";
	if (!task_metric_name_is_valid(name))
		return CT_EINVAL;
	*why = "\"value\" is not a number";
	if (!json_is_number(value))
		return CT_EINVAL;
	*why = "\"unit\" is not a string";
	if (field_text_kept(r, msg, "unit", TASK_WORD_MAX, &unit) != 0)
		return CT_EINVAL;
	r->metrics = xreallocarray(r->metrics, r->n_metrics + 1, sizeof(*r->metrics));
	r->metrics[r->n_metrics].name = arena_strdup(r->arena, name);
	r->metrics[r->n_metrics].value = json_number_value(value);
	r->metrics[r->n_metrics++].unit = unit;
	return 0;
}

static int
apply_finding(struct run_result *r, json_t *msg, const char **why)
{
	struct run_finding f = {0};

	if (r->n_findings >= RESULT_MAX_ITEMS) {
		r->n_findings_unkept++;
		return 0;
	}
	*why = "\"severity\" is not an integer";
	if (field_int(msg, "severity", &f.severity) != 0)
		return CT_EINVAL;
	*why = "\"object\" is not a string";
	if (field_text_kept(r, msg, "object", TASK_TEXT_MAX, &f.object) != 0)
		return CT_EINVAL;
	*why = "\"msg\" is not a string";
	if (field_text_kept(r, msg, "msg", TASK_TEXT_MAX, &f.msg) != 0 || f.msg == NULL)
		return CT_EINVAL;
	if (f.severity < 0 || f.severity >= CT_SEV__LAST)
		f.severity = CT_SEV_ERROR;
	r->findings = xreallocarray(r->findings, r->n_findings + 1, sizeof(*r->findings));
	r->findings[r->n_findings++] = f;
	return 0;
}

static int
apply_artifact(struct run_result *r, json_t *msg, const char **why)
{
	struct run_artifact a = {0};

	if (r->n_artifacts >= RESULT_MAX_ITEMS) {
		r->n_artifacts_unkept++;
		return 0;
	}
	*why = "\"kind\" is not a string";
	if (field_text_kept(r, msg, "kind", TASK_WORD_MAX, &a.kind) != 0)
		return CT_EINVAL;
	*why = "\"path\" is not a string";
	if (field_text_kept(r, msg, "path", TASK_TEXT_MAX, &a.path) != 0 || a.path == NULL)
		return CT_EINVAL;
	r->artifacts = xreallocarray(r->artifacts, r->n_artifacts + 1, sizeof(*r->artifacts));
	r->artifacts[r->n_artifacts++] = a;
	return 0;
}

static int
apply_output(struct run_result *r, json_t *msg, const char **why)
{
	json_t *data = json_object_get(msg, "data");
	char *name = NULL;
	struct run_stream *s;

	*why = "\"stream\" or \"data\" is not a string";
	if (field_text(msg, "stream", TASK_WORD_MAX, &name) != 0 || name == NULL ||
	    !json_is_string(data)) {
		free(name);
		return CT_EINVAL;
	}
	s = result_stream(r, name);
	if (s != NULL)
		result_stream_append(s, json_string_value(data), json_string_length(data));
	free(name);
	return 0;
}

/* Only the newest report is kept (progress.c shows it), in fixed space. */
static int
apply_progress(struct run_result *r, json_t *msg, const char **why)
{
	json_t *f = json_object_get(msg, "fraction");
	char *what = NULL;

	if (field_text(msg, "what", TASK_TEXT_MAX, &what) != 0) {
		*why = "\"what\" is not a string";
		return CT_EINVAL;
	}
	progress_sample_set(&r->progress, json_is_number(f) ? json_number_value(f) : -1, what,
	                    proc_now_ms());
	free(what);
	return 0;
}

static int
apply_end(struct run_result *r, json_t *msg, const char **why)
{
	int rc;
	const char *phase;

	*why = "\"rc\" is not an integer";
	if (field_int(msg, "rc", &rc) != 0)
		return CT_EINVAL;
	*why = "\"phase\" is not a string";
	if (field_text_kept(r, msg, "phase", TASK_WORD_MAX, &phase) != 0)
		return CT_EINVAL;
	r->is_ended = 1;
	r->end_rc = rc;
	r->end_phase = phase;
	return 0;
}

struct result_handler {
	const char *type;
	int (*apply)(struct run_result *r, json_t *msg, const char **why);
};

static const struct result_handler result_handlers[] = {
    {"log", apply_log},         {"status", apply_status},     {"metric", apply_metric},
    {"finding", apply_finding}, {"artifact", apply_artifact}, {"output", apply_output},
    {"end", apply_end},         {"progress", apply_progress},
};

static const struct result_handler *
result_handler_for(const char *type)
{
	for (size_t i = 0; i < sizeof(result_handlers) / sizeof(result_handlers[0]); i++)
		if (strcmp(type, result_handlers[i].type) == 0)
			return &result_handlers[i];
	return NULL;
}

/* A line that is no message at all: kept as output, so it can be read. */
static void
result_keep_protocol(struct run_result *r, const char *line, size_t len)
{
	struct run_stream *s = result_stream(r, "protocol");

	if (s == NULL)
		return;
	result_stream_append(s, line, len);
	result_stream_append(s, "\n", 1);
}

void
result_apply_line(struct run_result *r, const char *line, size_t len)
{
	/* NULs are allowed in strings; field_text turns them into U+FFFD. */
	json_t *msg = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
	const char *type = json_string_value(json_object_get(msg, "t"));
	const struct result_handler *h = type ? result_handler_for(type) : NULL;
	const char *why = "";

	if (type == NULL) {
		result_keep_protocol(r, line, len);
		result_note_bad(r,
		                "a line of %zu bytes from the plugin is not a message (JSON with "
		                "a type); kept as output \"protocol\"",
		                len);
	} else if (h != NULL && h->apply(r, msg, &why) != 0) {
		result_note_bad(r, "a \"%s\" message from the plugin was ignored: %s", h->type,
		                why);
	}
	json_decref(msg);
}

/* ---- the end of a run -------------------------------------------------- */

static void
result_warn_unkept(struct run_result *r)
{
	static const struct {
		size_t offset;
		const char *what;
		size_t max;
		const char *unit;
	} unkept[] = {
	    {offsetof(struct run_result, n_metrics_unkept), "metrics", RESULT_MAX_ITEMS, ""},
	    {offsetof(struct run_result, n_findings_unkept), "findings", RESULT_MAX_ITEMS, ""},
	    {offsetof(struct run_result, n_artifacts_unkept), "artifacts", RESULT_MAX_ITEMS, ""},
	    {offsetof(struct run_result, n_logs_unkept), "warnings and errors", RESULT_MAX_LOGS,
	     ""},
	    {offsetof(struct run_result, n_outputs_unkept), "pieces of output", RESULT_MAX_STREAMS,
	     " streams"},
	};

	for (size_t i = 0; i < sizeof(unkept) / sizeof(unkept[0]); i++) {
		size_t n = *(const size_t *)(const void *)((const char *)r + unkept[i].offset);

		if (n > 0)
			result_warn(
			    r, "%zu more %s from the plugin were not kept: at most %zu%s a run", n,
			    unkept[i].what, unkept[i].max, unkept[i].unit);
	}
	if (r->n_bad_messages > RESULT_MAX_NOTES)
		result_warn(r, "%zu more messages from the plugin were dropped or ignored",
		            r->n_bad_messages - RESULT_MAX_NOTES);
}

/* Why a failed run that says nothing failed. */
static const char *
result_silent_reason(struct run_result *r)
{
	if (r->first_bad != NULL && r->n_bad_messages > 1)
		return arena_sprintf(r->arena, "%s (and %zu more unusable messages)", r->first_bad,
		                     r->n_bad_messages - 1);
	if (r->first_bad != NULL)
		return r->first_bad;
	if (r->is_status_set)
		return "the plugin reported failure without a summary";
	return "the plugin ended without reporting a status";
}

void
result_finish(struct run_result *r)
{
	result_warn_unkept(r);
	if (r->status == CT_STATUS_FAIL && r->reason == NULL &&
	    (r->summary == NULL || r->summary[0] == '\0'))
		r->reason = result_silent_reason(r);
}

static json_t *
jtext(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *
metrics_json(const struct run_result *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->n_metrics; i++)
		json_array_append_new(arr, json_pack("{s:s, s:f, s:o}", "name", r->metrics[i].name,
		                                     "value", r->metrics[i].value, "unit",
		                                     jtext(r->metrics[i].unit)));
	return arr;
}

static json_t *
findings_json(const struct run_result *r)
{
	static const char *const sev[] = {"info", "warning", "error", "critical"};
	json_t *arr = json_array();

	for (size_t i = 0; i < r->n_findings; i++) {
		int s = r->findings[i].severity;

		json_array_append_new(arr, json_pack("{s:s, s:o, s:o}", "severity",
		                                     s >= 0 && s < 4 ? sev[s] : "error", "object",
		                                     jtext(r->findings[i].object), "message",
		                                     jtext(r->findings[i].msg)));
	}
	return arr;
}

static json_t *
artifacts_json(const struct run_result *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->n_artifacts; i++)
		json_array_append_new(arr,
		                      json_pack("{s:o, s:o}", "kind", jtext(r->artifacts[i].kind),
		                                "path", jtext(r->artifacts[i].path)));
	return arr;
}

static json_t *
streams_json(const struct run_result *r)
{
	json_t *obj = json_object();

	for (size_t i = 0; i < r->n_streams; i++) {
		char *text = capbuf_text(&r->streams[i].buf);
		size_t len;
		/* The cut between head and tail may split a UTF-8 sequence. */
		char *fixed = utf8_repair(text, strlen(text), &len);

		json_object_set_new(obj, r->streams[i].name, json_stringn(fixed, len));
		free(fixed);
		free(text);
	}
	return obj;
}

static json_t *
logs_json(const struct run_result *r)
{
	json_t *arr = json_array();

	for (size_t i = 0; i < r->n_logs; i++)
		json_array_append_new(
		    arr, json_pack("{s:s, s:s}", "level",
		                   r->logs[i].level <= LOG_LEVEL_ERR ? "error" : "warning",
		                   "message", r->logs[i].msg));
	return arr;
}

const char *
result_json_str(json_t *record, const char *key)
{
	const char *s = json_string_value(json_object_get(record, key));

	return s ? s : "";
}

json_t *
result_to_json(const struct run_result *r)
{
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	return json_pack("{s:i, s:s, s:s, s:s, s:I, s:I, s:f, s:s, s:o, s:o, s:b, s:o, s:o, "
	                 "s:o, s:o, s:o, s:s}",
	                 "format", 1, "job", r->job, "plugin", r->plugin, "host", host, "start_us",
	                 (json_int_t)r->start_us, "end_us", (json_int_t)r->end_us, "duration_s",
	                 (double)r->duration_ms / 1000.0, "status", result_status_word(r->status),
	                 "summary", jtext(r->summary), "reason", jtext(r->reason), "dry_run",
	                 r->is_dry_run, "metrics", metrics_json(r), "findings", findings_json(r),
	                 "artifacts", artifacts_json(r), "output", streams_json(r), "log",
	                 logs_json(r), "caretaker_version", PACKAGE_VERSION);
}
