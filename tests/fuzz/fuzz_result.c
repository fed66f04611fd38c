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
 * serialised as history.c would write it, and must hold every stream the
 * run kept: output may be shortened, never silently lost.
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

static void
apply_line(struct run_result *r, const uint8_t *p, size_t len)
{
	char *line = malloc(len > 0 ? len : 1);

	if (line == NULL)
		abort();
	if (len > 0)
		memcpy(line, p, len);
	result_apply_line(r, line, len);
	free(line);
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
	json_t *record;

	while (p < end) {
		nl = memchr(p, '\n', (size_t)(end - p));
		apply_line(r, p, nl ? (size_t)(nl - p) : (size_t)(end - p));
		p = nl ? nl + 1 : end;
	}
	result_set(r, r->status, "%s", r->is_ended ? "ended" : "no end message");
	record = result_to_json(r);
	check_record(r, record);
	json_decref(record);
	result_free(r);
	return 0;
}
