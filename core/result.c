/*
 * result.c — assembling a run's result in the parent (see result.h).
 *
 * The child is not trusted: every message is parsed defensively, unknown
 * message types are ignored (a newer plugin SDK may send more), and the
 * volume of output kept is capped here whatever the child sends.
 */
#include "autoconf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <caretaker/plugin.h>

#include "arena.h"
#include "log.h"
#include "result.h"
#include "utf8.h"
#include "xmalloc.h"

/* Findings and metrics kept per run; more are counted, not kept. */
#define RESULT_MAX_ITEMS 10000
/* Streams a plugin may name.  The host's own two ("protocol" for lines that
 * are not messages, "plugin-output" for what the child writes outside them)
 * always find room: a plugin naming many streams must not hide them. */
#define RESULT_MAX_STREAMS 16

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

static struct run_stream *
result_stream(struct run_result *r, const char *name)
{
	struct run_stream *s;

	for (size_t i = 0; i < r->n_streams; i++)
		if (strcmp(r->streams[i].name, name) == 0)
			return &r->streams[i];
	if (r->n_streams >= RESULT_MAX_STREAMS && strcmp(name, "protocol") != 0 &&
	    strcmp(name, "plugin-output") != 0)
		return NULL;
	r->streams = xreallocarray(r->streams, r->n_streams + 1, sizeof(*r->streams));
	s = &r->streams[r->n_streams++];
	s->name = arena_strdup(r->arena, name);
	capbuf_init(&s->buf, r->output_limit);
	return s;
}

void
result_add_stray_output(struct run_result *r, const void *data, size_t len)
{
	struct run_stream *s = result_stream(r, "plugin-output");

	if (s != NULL)
		capbuf_append(&s->buf, data, len);
}

static const char *
jstr(struct run_result *r, json_t *msg, const char *key)
{
	const char *s = json_string_value(json_object_get(msg, key));

	return s ? arena_strdup(r->arena, s) : NULL;
}

static void
apply_log(struct run_result *r, json_t *msg)
{
	int level = (int)json_integer_value(json_object_get(msg, "level"));
	const char *text = json_string_value(json_object_get(msg, "msg"));
	char who[256];

	if (text == NULL)
		return;
	if (level < LOG_LEVEL_ERR || level > LOG_LEVEL_DEBUG)
		level = LOG_LEVEL_ERR;
	snprintf(who, sizeof(who), "%s/%s", r->plugin, r->job);
	log_msg(level, who, "%s", text);
	if (level > LOG_LEVEL_WARNING || r->n_logs >= 1000)
		return;
	r->logs = xreallocarray(r->logs, r->n_logs + 1, sizeof(*r->logs));
	r->logs[r->n_logs].level = level;
	r->logs[r->n_logs++].msg = arena_strdup(r->arena, text);
}

static void
apply_status(struct run_result *r, json_t *msg)
{
	int status = (int)json_integer_value(json_object_get(msg, "status"));

	r->status = status >= 0 && status < CT_STATUS__LAST ? status : CT_STATUS_FAIL;
	r->summary = jstr(r, msg, "summary");
}

static void
apply_metric(struct run_result *r, json_t *msg)
{
	const char *name = jstr(r, msg, "name");

	if (name == NULL || r->n_metrics >= RESULT_MAX_ITEMS)
		return;
	r->metrics = xreallocarray(r->metrics, r->n_metrics + 1, sizeof(*r->metrics));
	r->metrics[r->n_metrics].name = name;
	r->metrics[r->n_metrics].value = json_number_value(json_object_get(msg, "value"));
	r->metrics[r->n_metrics++].unit = jstr(r, msg, "unit");
}

static void
apply_finding(struct run_result *r, json_t *msg)
{
	if (r->n_findings >= RESULT_MAX_ITEMS)
		return;
	r->findings = xreallocarray(r->findings, r->n_findings + 1, sizeof(*r->findings));
	r->findings[r->n_findings].severity =
		(int)json_integer_value(json_object_get(msg, "severity"));
	r->findings[r->n_findings].object = jstr(r, msg, "object");
	r->findings[r->n_findings++].msg = jstr(r, msg, "msg");
}

static void
apply_artifact(struct run_result *r, json_t *msg)
{
	if (r->n_artifacts >= RESULT_MAX_ITEMS)
		return;
	r->artifacts = xreallocarray(r->artifacts, r->n_artifacts + 1, sizeof(*r->artifacts));
	r->artifacts[r->n_artifacts].kind = jstr(r, msg, "kind");
	r->artifacts[r->n_artifacts++].path = jstr(r, msg, "path");
}

static void
apply_output(struct run_result *r, json_t *msg)
{
	const char *name = json_string_value(json_object_get(msg, "stream"));
	json_t *data = json_object_get(msg, "data");
	struct run_stream *s;

	if (name == NULL || !json_is_string(data))
		return;
	s = result_stream(r, name);
	if (s != NULL)
		capbuf_append(&s->buf, json_string_value(data), json_string_length(data));
}

static void
apply_end(struct run_result *r, json_t *msg)
{
	r->is_ended = 1;
	r->end_rc = (int)json_integer_value(json_object_get(msg, "rc"));
	r->end_phase = jstr(r, msg, "phase");
}

void
result_apply_line(struct run_result *r, const char *line, size_t len)
{
	static const struct {
		const char *type;
		void (*apply)(struct run_result *, json_t *);
	} handlers[] = {
		{"log", apply_log},         {"status", apply_status}, {"metric", apply_metric},
		{"finding", apply_finding}, {"artifact", apply_artifact}, {"output", apply_output},
		{"end", apply_end},
	};
	json_t *msg = json_loadb(line, len, 0, NULL);
	const char *type = json_string_value(json_object_get(msg, "t"));
	struct run_stream *s;

	if (type == NULL) {
		s = result_stream(r, "protocol");
		if (s != NULL)
			capbuf_append(&s->buf, line, len);
		json_decref(msg);
		return;
	}
	for (size_t i = 0; i < sizeof(handlers) / sizeof(handlers[0]); i++)
		if (strcmp(type, handlers[i].type) == 0)
			handlers[i].apply(r, msg);
	json_decref(msg);
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
		json_array_append_new(arr, json_pack("{s:o, s:o}", "kind",
						     jtext(r->artifacts[i].kind), "path",
						     jtext(r->artifacts[i].path)));
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
		json_array_append_new(arr, json_pack("{s:s, s:s}", "level",
						     r->logs[i].level <= LOG_LEVEL_ERR ? "error"
										      : "warning",
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
			 "format", 1, "job", r->job, "plugin", r->plugin, "host", host,
			 "start_us", (json_int_t)r->start_us, "end_us", (json_int_t)r->end_us,
			 "duration_s", (double)r->duration_ms / 1000.0, "status",
			 result_status_word(r->status), "summary", jtext(r->summary), "reason",
			 jtext(r->reason), "dry_run", r->is_dry_run, "metrics", metrics_json(r),
			 "findings", findings_json(r), "artifacts", artifacts_json(r), "output",
			 streams_json(r), "log", logs_json(r), "caretaker_version", PACKAGE_VERSION);
}
