#!/bin/bash
# Command line: usage errors, help, version, exit codes.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins
write_config <<'CONF'
[hello]
plugin = hello
CONF

ct --help
check "--help prints usage and exits 0" eval 'rc_is 0 && out_has "^usage: caretaker"'
for cmd in run report next status timers list plugins check describe; do
	ct "$cmd" --help
	check "caretaker $cmd --help prints usage and exits 0" eval 'rc_is 0 && out_has "^usage: caretaker"'
done
ct run hello -- --help
check "after --, --help is not a request for help (run: a job named --help)" eval '! rc_is 0'
ct --version
check "--version names the ABI" eval 'rc_is 0 && out_has "plugin ABI 1.1"'
ct
check "no command is a usage error (2)" eval 'rc_is 2 && err_has "no command given"'
ct frobnicate
check "an unknown command is a usage error (2)" eval 'rc_is 2 && err_has "unknown command .frobnicate."'
ct run
check "run without jobs is a usage error (2)" eval 'rc_is 2 && err_has "name a job"'
ct run no-such-job
check "run of an unknown job is a usage error (2)" eval 'rc_is 2 && err_has "no job named"'
"$CARETAKER" -c "$T/missing.ini" list >"$out" 2>"$err"; rc=$?
check "a missing config file exits 78 naming it" \
	eval 'rc_is 78 && err_has "missing.ini: error: cannot open: No such file"'
ct run hello
check "run of a good job exits 0" eval 'rc_is 0 && out_has "^ok .*hello .*greeted world 1 time"'
ct -q run hello
check "-q prints no job lines" eval 'rc_is 0 && [ ! -s "$out" ]'
ct report --format json
check "report --format json is JSON with the runs" \
	eval 'rc_is 0 && python3 -c "import json,sys; d=json.load(open(sys.argv[1])); assert d[\"format\"]==1 and len(d[\"runs\"])==2 and d[\"runs\"][0][\"status\"]==\"ok\"" "$out"'
ct report hello
check "report JOB shows the newest run's metrics" eval 'rc_is 0 && out_has "metric   greetings"'
ct report --format yaml
check "report with an unknown format is a usage error" rc_is 2
JOURNAL_STREAM=1:1 "$CARETAKER" -c "$T/caretaker.ini" -v run hello >"$out" 2>"$err"
check "without a matching journal stream, logs are plain" err_has "caretaker\[hello/hello\]: info: hello, world"
: >"$err"
JOURNAL_STREAM=$(stat -c %d:%i "$err") "$CARETAKER" -c "$T/caretaker.ini" -v run hello >"$out" 2>>"$err"
check "with stderr on the journal, lines carry <N> priorities" err_has "^<6>hello/hello: hello, world"

done_testing
