#!/bin/bash
# Schedules in jobs: errors, `next`, `run --due` with catch-up, state.json,
# `status` and the Prometheus textfile.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins segv
mkdir -p "$T/prom"
write_config <<'CONF'
prometheus_dir = prom
overdue_slack = 10min

[hourly]
plugin = hello
schedule = hourly

[seed-weekly]
plugin = hello
schedule = Sun *-*-* 01:00:00 UTC

[cron-weekly]
plugin = hello
schedule = 0 1 * * 0

[metrics]
plugin = hello
schedule = *:0/15
catch_up = skip

[daily-skip]
plugin = hello
schedule = daily
catch_up = skip

[first]
plugin = hello
schedule = daily

[second]
plugin = hello
schedule = daily
requires = first

[crasher]
plugin = segv
schedule = daily
CONF

ct next seed-weekly -n 3 --base-time "2026-03-20 00:00 UTC"
check "next lists the elapses of a calendar expression in UTC" \
	eval 'rc_is 0 && out_has "2026-03-22 01:00:00 UTC" && out_has "2026-03-29 01:00:00 UTC" && out_has "2026-04-05 01:00:00 UTC"'
ct next cron-weekly -n 1 --base-time "2026-03-20 00:00 UTC"
check "cron 0 1 * * 0 means Sunday 01:00, shown as OnCalendar" \
	eval 'out_has "oncalendar: Sun \*-\*-\* 01:00:00" && out_has "2026-03-22 01:00:00 UTC"'
ct next --base-time "2026-03-20 00:00 UTC"
check "next without a job lists every scheduled job, soonest first" \
	eval 'rc_is 0 && [ "$(awk "NR==2 {print \$NF}" "$out")" = metrics ] && [ "$(awk "NR==3 {print \$NF}" "$out")" = hourly ]'

cat >"$T/conf.d/bad.ini" <<'CONF'
[bad]
plugin = hello
schedule = *-*-* 25:00
CONF
chmod 644 "$T/conf.d/bad.ini"
ct check
check "a bad schedule is a configuration error with file:line and a hint" \
	eval 'rc_is 78 && err_has "bad.ini:3: error: schedule: 25:00: hour must be 0-23" && err_has "hint: "'
rm "$T/conf.d/bad.ini"

runs_of() { grep -c "\"job\":\"$1\"" "$T/state/history.jsonl" 2>/dev/null || true; }

ct run --due --base-time "2026-03-20 10:07 UTC"
check "the first run --due only records a baseline" \
	eval 'rc_is 0 && [ ! -s "$out" ] && [ -f "$T/state/state.json" ]'
ct run --due --base-time "2026-03-20 10:30 UTC"
check "nothing hourly is due before its next elapse" eval '! out_has "hourly"'
ct run --due --base-time "2026-03-20 15:20 UTC"
check "five missed hourly elapses are caught up with one run" \
	eval 'rc_is 0 && [ "$(runs_of hourly)" -eq 1 ]'
check "catch_up = skip runs a recent elapse" eval 'out_has "^ok .*metrics"'
ct run --due --base-time "2026-03-20 15:50 UTC"
check "after the catch-up the job waits for its next elapse" \
	eval '[ "$(runs_of hourly)" -eq 1 ] && out_has "^ok .*metrics"'
ct -v run --due --base-time "2026-03-21 00:20 UTC"
check "due jobs run in requires order, once" \
	eval 'rc_is 1 && [ "$(grep -n -E " (first|second) " "$out" | cut -d: -f1 | tr "\n" " ")" = "$(grep -n " first " "$out" | cut -d: -f1) $(grep -n " second " "$out" | cut -d: -f1) " ] && [ "$(grep -c " first " "$out")" -eq 1 ]'
check "a failing due job fails the run (exit 1)" out_has "^failed .*crasher .*SIGSEGV"
check "catch_up = skip: an elapse older than due_window is skipped, not run" \
	eval 'err_has "daily-skip: skipping a missed elapse" && [ "$(runs_of daily-skip)" -eq 0 ]'

ct status
check "status says FAIL for the crashing job and exits 1" \
	eval 'rc_is 1 && grep -q "^crasher  *FAIL" "$out" && grep -q "^first  *OK" "$out"'

cp "$T/state/state.json" "$T/state.good"
printf '{"format":1,"jobs":{"tr' >"$T/state/state.json"
ct run first
check "a damaged state.json is moved aside with a warning, and the job still runs" \
	eval 'rc_is 0 && err_has "state.json is damaged" && ls "$T"/state/state.json.corrupt-* >/dev/null'
check "the rebuilt state comes from history" \
	eval 'python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert \"crasher\" in d[\"jobs\"] and \"hourly\" in d[\"jobs\"]" "$T/state/state.json"'

# An old success of an hourly job: overdue.
python3 - "$T/state/state.json" <<'PY'
import json, sys, time
path = sys.argv[1]
d = json.load(open(path))
old = int((time.time() - 3 * 3600) * 1e6)
d["jobs"]["hourly"]["last_success_us"] = old
d["jobs"]["hourly"]["last"]["start_us"] = old
d["jobs"]["hourly"]["last"]["status"] = "ok"
json.dump(d, open(path, "w"))
PY
ct status
check "status says OVERDUE when no success within the period plus slack" \
	eval 'rc_is 1 && grep -q "^hourly  *OVERDUE" "$out"'

ct run first
prom="$T/prom/caretaker.prom"
check "a run writes the Prometheus textfile" eval '[ -f "$prom" ] && ! ls "$T"/prom/.caretaker* 2>/dev/null'
check "it has the job gauges with HELP and TYPE" \
	eval 'grep -q "^# TYPE caretaker_job_last_success_timestamp_seconds gauge" "$prom" && grep -q "^caretaker_job_status{job=\"crasher\"} 2$" "$prom" && grep -q "^caretaker_job_duration_seconds{job=\"first\"} " "$prom"'
check "it has the plugins' metrics" grep -q '^caretaker_hello_greetings{job="first"} 1$' "$prom"
check "every family has one HELP and one TYPE, samples grouped" \
	python3 - "$prom" <<'PY'
import re, sys
seen, current = set(), None
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    m = re.match(r"# (HELP|TYPE) ([a-zA-Z_:][a-zA-Z0-9_:]*) ", line)
    if m:
        if m.group(1) == "TYPE":
            assert m.group(2) not in seen, "family twice: " + m.group(2)
            seen.add(m.group(2)); current = m.group(2)
        continue
    m = re.match(r'([a-zA-Z_:][a-zA-Z0-9_:]*)\{job="[^"\\]*"\} (-?[0-9.e+-]+|NaN)$', line)
    assert m and m.group(1) == current, "bad sample line: " + line
PY
if command -v promtool >/dev/null; then
	check "promtool check metrics accepts it" eval 'promtool check metrics <"$prom"'
fi
ct report --format prometheus
check "report --format prometheus prints the same" eval 'rc_is 0 && diff -q "$out" "$prom" >/dev/null'

done_testing
