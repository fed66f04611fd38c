/*
 * fuzz_result.c — the parent reading a job child's report pipe
 * (core/result.c): the child is untrusted, so any bytes it writes must
 * leave a run result that becomes a history record.
 *
 * The input is what the child wrote on its report pipe.  It is cut at
 * newlines as supervise.c cuts it (a last line without one is applied too:
 * any bytes must do no harm); each line goes to result_apply_line() in
 * a buffer of exactly its length (no NUL after it, as supervise.c passes
 * it), so a read past the line is caught.  The record is then built and
 * serialised as history.c would write it.  Output may be shortened, never
 * silently lost: every line that is not a message must be counted in stream
 * "protocol", and the record must hold every stream the run kept.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "log.h"
#include "result.h"

/* Small enough that head-and-tail capping happens on fuzz-sized inputs. */
#define FUZZ_OUTPUT_LIMIT 64

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* The child's log messages go through log.c: keep the run quiet.  An
	 * error-level message is still printed, so nothing below error. */
	log_init(LOG_LEVEL_ERR - 1);
	return 0;
}

/* A message, as result.h defines it: a JSON object with a string "t",
 * parsed as result.c parses it (a \u0000 inside a string is allowed). */
static int
line_is_message(const char *line, size_t len)
{
	json_t *msg = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
	int is_message = json_is_string(json_object_get(msg, "t"));

	json_decref(msg);
	return is_message;
}

/* Apply one line; returns how many bytes of it belong to "protocol". */
static size_t
apply_line(struct run_result *r, const uint8_t *p, size_t len)
{
	char *line = malloc(len > 0 ? len : 1);
	size_t protocol_bytes;

	if (line == NULL)
		abort();
	if (len > 0)
		memcpy(line, p, len);
	protocol_bytes = line_is_message(line, len) ? 0 : len;
	result_apply_line(r, line, len);
	free(line);
	return protocol_bytes;
}

/* A line that is not a message is kept as output of stream "protocol"
 * (result.h): shortened perhaps, but never dropped unseen. */
static void
check_protocol(const struct run_result *r, uint64_t protocol_bytes)
{
	for (size_t i = 0; i < r->n_streams; i++)
		if (strcmp(r->streams[i].name, "protocol") == 0 &&
		    r->streams[i].buf.total >= protocol_bytes)
			return;
	if (protocol_bytes > 0) {
		fprintf(stderr, "fuzz_result: %llu bytes of lines that are not messages are lost\n",
		        (unsigned long long)protocol_bytes);
		abort();
	}
}

/* Every stream the result kept is in the record's "output". */
static void
check_record(const struct run_result *r, json_t *record)
{
	json_t *output = json_object_get(record, "output");
	char *text = NULL;

	if (record == NULL) {
		fprintf(stderr, "fuzz_result: result_to_json returned NULL\n");
		abort();
	}
	for (size_t i = 0; i < r->n_streams; i++)
		if (!json_is_string(json_object_get(output, r->streams[i].name))) {
			fprintf(stderr, "fuzz_result: stream '%s' is missing from the record\n",
			        r->streams[i].name);
			abort();
		}
	text = json_dumps(record, JSON_COMPACT);
	if (text == NULL) {
		fprintf(stderr, "fuzz_result: the record cannot be serialised\n");
		abort();
	}
	free(text);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run_result *r = result_new("fuzz-job", "fuzz", FUZZ_OUTPUT_LIMIT);
	const uint8_t *p = data, *end = data + size, *nl;
	uint64_t protocol_bytes = 0;
	json_t *record;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		protocol_bytes += apply_line(r, p, nl ? (size_t)(nl - p) : (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	check_protocol(r, protocol_bytes);
	result_set(r, r->status, "%s", r->is_ended ? "ended" : "no end message");
	record = result_to_json(r);
	check_record(r, record);
	json_decref(record);
	result_free(r);
	return 0;
}
