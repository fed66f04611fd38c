#!/bin/bash
# What a plugin says reaches the operator whole or visibly shortened, never
# lost, and never able to rewrite the terminal or forge a line: `run`,
# `report` (text and JSON) and `status` against the loud fault plugin.
. "$top_srcdir/tests/integration/lib.sh"

command -v python3 >/dev/null || skip_all "python3 is not installed"

install_plugins loud ansi
write_config <<'CONF'
[big]
plugin = loud
mode = big

[control]
plugin = loud
mode = control

[badutf8]
plugin = loud
mode = badutf8

[silent]
plugin = loud
mode = silent

[overlong]
plugin = loud
mode = overlong

[malformed]
plugin = loud
mode = malformed
CONF

# raw_controls FILE: the file holds a control character other than newline
# and tab (C0, DEL) or a C1 control (U+0080-U+009F, UTF-8 C2 80-9F).
raw_controls() {
	LC_ALL=C tr -d '\n\t' <"$1" | LC_ALL=C grep -q '[[:cntrl:]]' ||
		LC_ALL=C grep -q $'\xc2[\x80-\x9f]' "$1"
}
# json_check JOB PYTHON-EXPRESSION: true when the expression holds for the
# newest run of JOB (`r`, its record as a dict).
json_check() {
	report_json "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["runs"][-1]
sys.exit(0 if eval(sys.argv[1]) else 1)' "$2"
}
# line_bytes FILE PATTERN: the length of the longest line matching PATTERN.
line_bytes() { grep -- "$2" "$1" | awk '{ if (length($0) > n) n = length($0) } END { print n + 0 }'; }

ct run big
check "a 1 MiB summary ends ok, not failed" rc_is 0
check "the run line shows the head of a 1 MiB summary and says it was cut" \
	out_has "^ok  *big .*LOUD-SUMMARY xxx.*\.\.\. \[[0-9]* bytes cut\]$"
n=$(line_bytes "$out" "^ok  *big ")
check "the run line of a 1 MiB summary stays short (got $n bytes)" \
	eval '[ "$n" -gt 4000 ] && [ "$n" -lt 4400 ]'
check "a 1 MiB log line is printed shortened, with the marker" \
	err_has "LOUD-LOG xxx.*\.\.\. \[[0-9]* bytes cut\]"
check "the record keeps the summary shortened to at most 4096 bytes" \
	json_check big 'len(r["summary"].encode()) <= 4096 and r["summary"].startswith("LOUD-SUMMARY x") and r["summary"].endswith("bytes cut]")'
check "a 2 MiB finding is kept, shortened, with the marker" \
	json_check big 'len(r["findings"]) == 1 and r["findings"][0]["message"].startswith("LOUD-FINDING x") and len(r["findings"][0]["message"].encode()) <= 4096 and "bytes cut]" in r["findings"][0]["message"] and r["findings"][0]["object"] == "big-object"'
check "the marker counts the bytes cut from the finding" \
	json_check big 'r["findings"][0]["message"].endswith("... [%d bytes cut]" % ((2 << 20) - r["findings"][0]["message"].index("...")))'
check "a 1 MiB warning is kept in the record, shortened" \
	json_check big 'any(l["message"].startswith("LOUD-LOG x") and "bytes cut]" in l["message"] and len(l["message"].encode()) <= 4096 for l in r["log"])'

# What the control job says, and how each text must look once escaped.
summary='LOUD-SUMMARY\nok       forged   0.01s  FORGED-RUN\x1b[2J\x01\x7f\u009b\r end'
log_line='LOUD-LOG \x1b[31mred\nFORGED-LOG line'
out_text() { grep -qF -- "$1" "$out"; }
out_line() { grep -qxF -- "$1" "$out"; }

ct run control
check "a plugin's control characters reach the run line escaped" \
	eval 'rc_is 0 && out_has "^warn  *control " && out_text "$summary"'
check "a newline in a summary cannot forge a run line" out_lacks "^ok  *forged"
check "run prints no raw control character on stdout" eval '! raw_controls "$out"'
check "a plugin's log line is printed escaped" grep -qF -- "$log_line" "$err"
check "a plugin's log line cannot forge a line on stderr" eval '! err_has "^FORGED-LOG"'
check "run prints no raw control character on stderr" eval '! raw_controls "$err"'

ct report control
check "report prints the summary escaped" out_text "$summary"
check "report escapes a finding" out_text 'object\x1b]0;title\x07: LOUD-FINDING\nFORGED-FINDING'
check "report escapes a metric's unit" out_text 'unit\x1b[5m\nforged_metric 1'
check "report escapes an artifact" out_text 'artifact kind\x01 /tmp/path\x1b[8m'
check "report escapes a log line" out_text "$log_line"
check "report escapes the name of an output stream" out_line 'stream\x1b[1m:'
check "report keeps the lines of captured output and escapes the rest" \
	eval 'out_line "LOUD-OUTPUT \\x1b[2Jmore" && out_line "second line\\r"'
check "no forged line starts a line of the report" \
	eval 'out_lacks "^ok  *forged" && out_lacks "^FORGED"'
check "report prints no raw control character" eval '! raw_controls "$out"'

ct report control --format json
check "report --format json keeps the plugin's text exact" \
	json_check control 'r["summary"] == "LOUD-SUMMARY\nok       forged   0.01s  FORGED-RUN\x1b[2J\x01\x7f\x9b\r end" and r["findings"][0]["object"] == "object\x1b]0;title\x07"'

ct report --format prometheus
check "a newline in a metric's unit cannot forge a Prometheus sample" \
	eval 'rc_is 0 && out_has "^caretaker_loud_loud{job=\"control\"} 1$" && out_lacks "^forged_metric"'
check "the unit is in the metric's help, escaped, then escaped again for Prometheus" \
	out_has '^# HELP caretaker_loud_loud .*(unit\\\\x1b\[5m\\\\nforged_metric 1) reported'
check "report --format prometheus prints no raw control character" eval '! raw_controls "$out"'

ct status
check "status shows the summary escaped" eval 'out_has "^control " && out_text "$summary"'
check "status prints no raw control character" eval '! raw_controls "$out"'

ct run badutf8
check "a summary with an overlong encoding and a surrogate is kept, repaired" \
	eval 'rc_is 0 && out_has "^ok  *badutf8 .*LOUD-BADUTF8 overlong �� surrogate ��� end$"'

ct run silent
check "a failure without a summary says so" \
	eval 'rc_is 1 && out_has "^failed  *silent .*the plugin reported failure without a summary"'

ct run overlong
check "a message over the pipe's line limit fails the run with a reason that names it" \
	eval 'rc_is 1 && out_has "^failed  *overlong .*a message of 2097152 bytes from the plugin was dropped"'
check "the dropped message is in the record's reason" \
	json_check overlong 'r["status"] == "failed" and "2097152 bytes" in r["reason"]'

ct run malformed
check "a status message of the wrong type is not taken for ok" \
	eval 'rc_is 1 && out_has "^failed  *malformed .*\"status\" message from the plugin"'
check "the malformed message is in the record's log" \
	json_check malformed 'any("\"status\" message" in l["message"] for l in r["log"])'

ct status
check "status names why a silent run failed" \
	eval 'out_has "^silent .*FAIL .*without a summary" && out_has "^overlong .*FAIL .*was dropped"'

# A plugin file's own words (summary, version, help) reach the terminal
# escaped too: `plugins` and `describe` print them.
esc=$(printf '\033')
ct plugins
check "plugins shows a summary's escape sequence as text" \
	eval 'rc_is 0 && ! grep -q "$esc" "$out" && out_has "summary \\\\x1b\[31mred"'
ct describe ansi
check "describe shows the help's and an option's escapes as text, lines kept" \
	eval 'rc_is 0 && ! grep -q "$esc" "$out" && out_has "^first line$" &&
		out_has "title\\\\x07 line" && out_has "option help \\\\x1b\[2J"'

done_testing
