/*
 * test_result.c — core/result.c: the parent's reading of the child's
 * messages, which it does not trust, and the words a run ends with.
 */
#include "autoconf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include <caretaker/plugin.h>

#include "log.h"
#include "result.h"
#include "task.h"

static struct run_result *r;

static int
setup(void **state)
{
	(void)state;
	r = result_new("job", "plugin", 1024);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	result_free(r);
	r = NULL;
	return 0;
}

static void
feed(const char *line)
{
	result_apply_line(r, line, strlen(line));
}

/* Apply a message built by json_pack (which takes ownership of nothing). */
static void
feed_json(json_t *msg)
{
	char *line;

	assert_non_null(msg);
	line = json_dumps(msg, JSON_COMPACT | JSON_ENCODE_ANY);
	assert_non_null(line);
	feed(line);
	free(line);
	json_decref(msg);
}

static char *
text_of(size_t len, char c)
{
	char *s = malloc(len + 1);

	assert_non_null(s);
	memset(s, c, len);
	s[len] = '\0';
	return s;
}

/* The run's kept warnings and errors: does one contain `needle`? */
static int
logs_have(const char *needle)
{
	for (size_t i = 0; i < r->n_logs; i++)
		if (strstr(r->logs[i].msg, needle) != NULL)
			return 1;
	return 0;
}

/* The record's captured output of `stream`, as the history keeps it. */
static char *
record_output(const char *stream)
{
	json_t *rec = result_to_json(r);
	const char *s = json_string_value(json_object_get(json_object_get(rec, "output"), stream));
	char *copy = s ? strdup(s) : NULL;

	json_decref(rec);
	return copy;
}

/* ---- malformed lines and wrong types ----------------------------------- */

static void
test_result_keeps_a_line_that_is_not_json_as_protocol_output_and_says_so(void **state)
{
	char *protocol;

	(void)state;
	feed("this is not json");
	protocol = record_output("protocol");
	assert_non_null(protocol);
	assert_non_null(strstr(protocol, "this is not json"));
	assert_int_equal(r->n_bad_messages, 1);
	assert_true(logs_have("a line of 16 bytes from the plugin is not a message"));
	free(protocol);
}

static void
test_result_takes_json_without_a_type_for_no_message(void **state)
{
	(void)state;
	feed("{\"status\":0,\"summary\":\"fine\"}");
	feed("[1,2,3]");
	feed("{\"t\":7}");
	assert_int_equal(r->n_bad_messages, 3);
	assert_false(r->is_status_set);
	assert_null(r->summary);
}

static void
test_result_ignores_a_status_whose_status_is_a_string(void **state)
{
	(void)state;
	feed("{\"t\":\"status\",\"status\":\"ok\",\"summary\":\"a lie\"}");
	assert_int_equal(r->status, CT_STATUS_FAIL);
	assert_null(r->summary);
	assert_false(r->is_status_set);
	assert_true(logs_have("a \"status\" message from the plugin was ignored: \"status\" is "
	                      "not an integer"));
}

static void
test_result_ignores_a_status_whose_summary_is_not_a_string(void **state)
{
	(void)state;
	feed("{\"t\":\"status\",\"status\":0,\"summary\":[\"x\"]}");
	assert_false(r->is_status_set);
	assert_true(logs_have("\"summary\" is not a string"));
}

static void
test_result_ignores_items_with_members_of_the_wrong_type(void **state)
{
	(void)state;
	feed("{\"t\":\"finding\",\"severity\":1,\"object\":null,\"msg\":42}");
	feed("{\"t\":\"finding\",\"severity\":\"high\",\"msg\":\"m\"}");
	feed("{\"t\":\"metric\",\"name\":\"rows\",\"value\":\"12\",\"unit\":\"\"}");
	feed("{\"t\":\"metric\",\"name\":\"Bad-Name\",\"value\":1}");
	feed("{\"t\":\"artifact\",\"kind\":\"backup\",\"path\":{}}");
	feed("{\"t\":\"output\",\"stream\":\"stdout\",\"data\":7}");
	feed("{\"t\":\"log\",\"level\":4,\"msg\":true}");
	assert_int_equal(r->n_findings, 0);
	assert_int_equal(r->n_metrics, 0);
	assert_int_equal(r->n_artifacts, 0);
	assert_int_equal(r->n_streams, 0);
	assert_int_equal(r->n_bad_messages, 7);
}

static void
test_result_ignores_unknown_message_types_without_a_word(void **state)
{
	(void)state;
	feed("{\"t\":\"progress\",\"fraction\":0.5,\"what\":\"halfway\"}");
	feed("{\"t\":\"something-from-a-newer-sdk\",\"x\":1}");
	assert_int_equal(r->n_bad_messages, 0);
	assert_int_equal(r->n_logs, 0);
	assert_int_equal(r->n_streams, 0);
}

/* ---- status ------------------------------------------------------------ */

static void
test_result_takes_the_last_status(void **state)
{
	(void)state;
	feed("{\"t\":\"status\",\"status\":2,\"summary\":\"first\"}");
	feed("{\"t\":\"status\",\"status\":1,\"summary\":\"second\"}");
	assert_int_equal(r->status, CT_STATUS_WARN);
	assert_string_equal(r->summary, "second");
}

static void
test_result_takes_a_status_out_of_range_for_failed(void **state)
{
	static const char *const lines[] = {
	    "{\"t\":\"status\",\"status\":4,\"summary\":\"s\"}",
	    "{\"t\":\"status\",\"status\":-1,\"summary\":\"s\"}",
	    /* 2^32 would be 0, ok, if it were cut to an int. */
	    "{\"t\":\"status\",\"status\":4294967296,\"summary\":\"s\"}",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		feed("{\"t\":\"status\",\"status\":0,\"summary\":\"ok before\"}");
		feed(lines[i]);
		assert_int_equal(r->status, CT_STATUS_FAIL);
		assert_string_equal(r->summary, "s");
	}
}

/* ---- limits ------------------------------------------------------------ */

static void
test_result_shortens_an_oversize_summary_with_a_marker(void **state)
{
	char *big = text_of(100000, 's');
	char marker[64];

	(void)state;
	feed_json(json_pack("{s:s, s:i, s:s}", "t", "status", "status", 0, "summary", big));
	assert_int_equal(r->status, CT_STATUS_OK);
	assert_true(strlen(r->summary) <= TASK_TEXT_MAX);
	snprintf(marker, sizeof(marker), "... [%zu bytes cut]", 100000 - strspn(r->summary, "s"));
	assert_string_equal(r->summary + strspn(r->summary, "s"), marker);
	free(big);
}

static void
test_result_keeps_a_summary_at_the_limit_whole(void **state)
{
	char *exact = text_of(TASK_TEXT_MAX, 'e');

	(void)state;
	feed_json(json_pack("{s:s, s:i, s:s}", "t", "status", "status", 0, "summary", exact));
	assert_string_equal(r->summary, exact);
	free(exact);
}

static void
test_result_shortens_a_finding_message_and_object(void **state)
{
	char *big = text_of(3 * TASK_TEXT_MAX, 'f');

	(void)state;
	feed_json(json_pack("{s:s, s:i, s:s, s:s}", "t", "finding", "severity", 1, "object", big,
	                    "msg", big));
	assert_int_equal(r->n_findings, 1);
	assert_true(strlen(r->findings[0].object) <= TASK_TEXT_MAX);
	assert_true(strlen(r->findings[0].msg) <= TASK_TEXT_MAX);
	assert_non_null(strstr(r->findings[0].msg, " bytes cut]"));
	assert_non_null(strstr(r->findings[0].object, " bytes cut]"));
	free(big);
}

static void
test_result_shortens_a_warning_it_keeps(void **state)
{
	char *big = text_of(1 << 20, 'w');

	(void)state;
	feed_json(json_pack("{s:s, s:i, s:s}", "t", "log", "level", CT_LOG_WARNING, "msg", big));
	assert_int_equal(r->n_logs, 1);
	assert_true(strlen(r->logs[0].msg) <= TASK_TEXT_MAX);
	assert_non_null(strstr(r->logs[0].msg, " bytes cut]"));
	free(big);
}

static void
test_result_shortens_words_to_their_smaller_limit(void **state)
{
	char *big = text_of(1000, 'u');

	(void)state;
	feed_json(json_pack("{s:s, s:s, s:f, s:s}", "t", "metric", "name", "rows", "value", 3.0,
	                    "unit", big));
	feed_json(json_pack("{s:s, s:s, s:s}", "t", "artifact", "kind", big, "path", "/p"));
	feed_json(json_pack("{s:s, s:s, s:s}", "t", "output", "stream", big, "data", "d"));
	assert_true(strlen(r->metrics[0].unit) <= TASK_WORD_MAX);
	assert_true(strlen(r->artifacts[0].kind) <= TASK_WORD_MAX);
	assert_true(strlen(r->streams[0].name) <= TASK_WORD_MAX);
	assert_non_null(strstr(r->metrics[0].unit, " bytes cut]"));
	free(big);
}

/* ---- NUL and invalid UTF-8 --------------------------------------------- */

static void
test_result_turns_nul_in_a_summary_into_a_replacement_character(void **state)
{
	(void)state;
	feed("{\"t\":\"status\",\"status\":0,\"summary\":\"before\\u0000after\"}");
	assert_true(r->is_status_set);
	assert_string_equal(r->summary, "before\xef\xbf\xbd"
	                                "after");
}

static void
test_result_turns_nul_in_output_into_a_replacement_character(void **state)
{
	static const char raw[] = "raw\0bytes";
	char *text;

	(void)state;
	feed("{\"t\":\"output\",\"stream\":\"stdout\",\"data\":\"head\\u0000tail\"}");
	result_add_stray_output(r, raw, sizeof(raw) - 1);
	text = record_output("stdout");
	assert_string_equal(text, "head\xef\xbf\xbdtail");
	free(text);
	text = record_output("plugin-output");
	assert_string_equal(text, "raw\xef\xbf\xbd"
	                          "bytes");
	free(text);
}

static void
test_result_takes_a_line_with_invalid_utf8_for_no_message_and_keeps_it_readable(void **state)
{
	json_t *rec;
	char *dumped, *protocol;

	(void)state;
	feed("{\"t\":\"status\",\"status\":0,\"summary\":\"bad \xff\xfe byte\"}");
	assert_false(r->is_status_set);
	assert_int_equal(r->n_bad_messages, 1);
	rec = result_to_json(r);
	assert_non_null(rec);
	dumped = json_dumps(rec, 0);
	assert_non_null(dumped);
	protocol = record_output("protocol");
	assert_non_null(strstr(protocol, "bad \xef\xbf\xbd\xef\xbf\xbd byte"));
	free(protocol);
	free(dumped);
	json_decref(rec);
}

/* ---- item caps --------------------------------------------------------- */

static void
test_result_keeps_at_most_max_items_findings_and_says_how_many_more(void **state)
{
	(void)state;
	for (int i = 0; i < RESULT_MAX_ITEMS + 3; i++)
		feed("{\"t\":\"finding\",\"severity\":0,\"object\":\"o\",\"msg\":\"m\"}");
	assert_int_equal(r->n_findings, RESULT_MAX_ITEMS);
	result_finish(r);
	assert_true(
	    logs_have("3 more findings from the plugin were not kept: at most 10000 a run"));
}

static void
test_result_keeps_at_most_max_logs_warnings_and_says_how_many_more(void **state)
{
	(void)state;
	log_init(LOG_LEVEL_ERR);
	for (int i = 0; i < RESULT_MAX_LOGS + 5; i++)
		feed("{\"t\":\"log\",\"level\":4,\"msg\":\"careful\"}");
	log_init(LOG_LEVEL_NOTICE);
	assert_int_equal(r->n_logs, RESULT_MAX_LOGS);
	result_finish(r);
	assert_true(logs_have("5 more warnings and errors from the plugin were not kept"));
}

static void
test_result_counts_output_to_streams_past_the_cap(void **state)
{
	char line[128];

	(void)state;
	for (int i = 0; i < RESULT_MAX_STREAMS + 2; i++) {
		snprintf(line, sizeof(line), "{\"t\":\"output\",\"stream\":\"s%d\",\"data\":\"x\"}",
		         i);
		feed(line);
	}
	assert_int_equal(r->n_streams, RESULT_MAX_STREAMS);
	result_finish(r);
	assert_true(logs_have("2 more pieces of output from the plugin were not kept: at most 16 "
	                      "streams a run"));
}

static void
test_result_names_only_the_first_few_unusable_messages(void **state)
{
	(void)state;
	log_init(LOG_LEVEL_ERR);
	for (int i = 0; i < RESULT_MAX_NOTES + 4; i++)
		feed("garbage");
	log_init(LOG_LEVEL_NOTICE);
	assert_int_equal(r->n_bad_messages, RESULT_MAX_NOTES + 4);
	assert_int_equal(r->n_logs, RESULT_MAX_NOTES);
	result_finish(r);
	assert_true(logs_have("4 more messages from the plugin were dropped or ignored"));
}

/* ---- the end message --------------------------------------------------- */

static void
test_result_records_the_end_message(void **state)
{
	(void)state;
	feed("{\"t\":\"end\",\"phase\":\"report\",\"rc\":-7}");
	assert_true(r->is_ended);
	assert_int_equal(r->end_rc, -7);
	assert_string_equal(r->end_phase, "report");
}

static void
test_result_does_not_take_an_end_without_rc_for_an_end(void **state)
{
	(void)state;
	feed("{\"t\":\"end\",\"phase\":\"run\"}");
	feed("{\"t\":\"end\",\"phase\":\"run\",\"rc\":\"0\"}");
	assert_false(r->is_ended);
	assert_int_equal(r->n_bad_messages, 2);
}

/* ---- a failure always has words ---------------------------------------- */

static void
test_result_finish_names_a_dropped_line_in_the_reason(void **state)
{
	(void)state;
	result_drop_line(r, 2000000, 1u << 20);
	feed("{\"t\":\"end\",\"phase\":\"run\",\"rc\":0}");
	result_finish(r);
	assert_int_equal(r->status, CT_STATUS_FAIL);
	assert_non_null(r->reason);
	assert_string_equal(r->reason, "a message of 2000000 bytes from the plugin was dropped: "
	                               "over the limit of 1048576 bytes");
}

static void
test_result_finish_counts_further_unusable_messages_in_the_reason(void **state)
{
	(void)state;
	result_drop_line(r, 2000000, 1u << 20);
	feed("nonsense");
	result_finish(r);
	assert_non_null(strstr(r->reason, "2000000 bytes"));
	assert_non_null(strstr(r->reason, "(and 1 more unusable messages)"));
}

static void
test_result_finish_gives_a_failure_without_a_summary_a_reason(void **state)
{
	(void)state;
	feed("{\"t\":\"status\",\"status\":2,\"summary\":\"\"}");
	result_finish(r);
	assert_string_equal(r->reason, "the plugin reported failure without a summary");
}

static void
test_result_finish_gives_a_run_without_any_status_a_reason(void **state)
{
	(void)state;
	feed("{\"t\":\"end\",\"phase\":\"run\",\"rc\":0}");
	result_finish(r);
	assert_string_equal(r->reason, "the plugin ended without reporting a status");
}

static void
test_result_finish_leaves_a_failure_with_a_summary_alone(void **state)
{
	(void)state;
	feed("{\"t\":\"status\",\"status\":2,\"summary\":\"disk full\"}");
	result_drop_line(r, 2000000, 1u << 20);
	result_finish(r);
	assert_null(r->reason);
	assert_true(logs_have("2000000 bytes"));
}

static void
test_result_finish_leaves_a_host_reason_alone(void **state)
{
	(void)state;
	result_set(r, CT_STATUS_FAIL, "crashed (%s)", "SIGSEGV");
	result_finish(r);
	assert_string_equal(r->reason, "crashed (SIGSEGV)");
}

static void
test_result_finish_leaves_an_ok_run_without_a_reason_but_keeps_the_warning(void **state)
{
	(void)state;
	feed("{\"t\":\"status\",\"status\":0,\"summary\":\"\"}");
	result_drop_line(r, 3000000, 1u << 20);
	result_finish(r);
	assert_int_equal(r->status, CT_STATUS_OK);
	assert_null(r->reason);
	assert_true(logs_have("3000000 bytes"));
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_result_keeps_a_line_that_is_not_json_as_protocol_output_and_says_so),
	    T(test_result_takes_json_without_a_type_for_no_message),
	    T(test_result_ignores_a_status_whose_status_is_a_string),
	    T(test_result_ignores_a_status_whose_summary_is_not_a_string),
	    T(test_result_ignores_items_with_members_of_the_wrong_type),
	    T(test_result_ignores_unknown_message_types_without_a_word),
	    T(test_result_takes_the_last_status),
	    T(test_result_takes_a_status_out_of_range_for_failed),
	    T(test_result_shortens_an_oversize_summary_with_a_marker),
	    T(test_result_keeps_a_summary_at_the_limit_whole),
	    T(test_result_shortens_a_finding_message_and_object),
	    T(test_result_shortens_a_warning_it_keeps),
	    T(test_result_shortens_words_to_their_smaller_limit),
	    T(test_result_turns_nul_in_a_summary_into_a_replacement_character),
	    T(test_result_turns_nul_in_output_into_a_replacement_character),
	    T(test_result_takes_a_line_with_invalid_utf8_for_no_message_and_keeps_it_readable),
	    T(test_result_keeps_at_most_max_items_findings_and_says_how_many_more),
	    T(test_result_keeps_at_most_max_logs_warnings_and_says_how_many_more),
	    T(test_result_counts_output_to_streams_past_the_cap),
	    T(test_result_names_only_the_first_few_unusable_messages),
	    T(test_result_records_the_end_message),
	    T(test_result_does_not_take_an_end_without_rc_for_an_end),
	    T(test_result_finish_names_a_dropped_line_in_the_reason),
	    T(test_result_finish_counts_further_unusable_messages_in_the_reason),
	    T(test_result_finish_gives_a_failure_without_a_summary_a_reason),
	    T(test_result_finish_gives_a_run_without_any_status_a_reason),
	    T(test_result_finish_leaves_a_failure_with_a_summary_alone),
	    T(test_result_finish_leaves_a_host_reason_alone),
	    T(test_result_finish_leaves_an_ok_run_without_a_reason_but_keeps_the_warning),
	};

	log_init(LOG_LEVEL_NOTICE);
	return cmocka_run_group_tests_name("result", tests, NULL, NULL);
}
