#!/bin/bash
# Fault plugins: the core survives each one with the right words and exit
# status, and still runs the other jobs.
. "$top_srcdir/tests/integration/lib.sh"

install_plugins segv abort exit3 hang flood wrongabi tiny unresolved ctorcrash misnamed \
	notelf
write_config <<'CONF'
[good-before]
plugin = hello

[segv]
plugin = segv

[abort]
plugin = abort

[exit3]
plugin = exit3

[hang]
plugin = hang
timeout = 1s

[flood]
plugin = flood

[wrongabi]
plugin = wrongabi

[tiny]
plugin = tiny

[unresolved]
plugin = unresolved

[ctorcrash]
plugin = ctorcrash

[notelf]
plugin = notelf

[good-after]
plugin = hello
CONF

ct plugins
check "plugins lists the good ones despite a crashing constructor" \
	eval 'rc_is 0 && out_has "^hello " && out_has "^exec "'
check "a crashing constructor is named" out_has "refused: crashed while loading (SIGSEGV)"
check "ABI mismatch says both versions" \
	out_has "ABI mismatch: caretaker is version 1.1, plugin is version 2.0"
check "a too-small descriptor is refused" out_has "descriptor too small: 16 bytes"
check "an unresolved symbol is refused at load time with dlerror's words" \
	out_has "undefined symbol: caretaker_fault_function_that_does_not_exist"
check "a file that is not ELF is refused with dlerror's words" \
	eval 'out_has "notelf.so" && grep -A1 "notelf.so" "$out" | grep -q "refused: cannot load: .*\(invalid ELF header\|file too short\)"'
check "a name that does not match the file is refused" \
	out_has "descriptor names the plugin 'somethingelse' but the file is misnamed.so"
check "a refusal names the plugin file, never /proc/self/fd" \
	eval 'out_has "refused: cannot load: $T/plugins/unresolved.so: undefined symbol" && out_lacks "/proc/self/fd"'

ct check
check "check exits 78 when a job's plugin is refused" rc_is 78
check "check names the job's file and line and the refusal" \
	eval 'err_has "caretaker.ini:[0-9]*: error: plugin .unresolved.: refused: .*undefined symbol"'
check "check names the plugin file in a refusal, never /proc/self/fd" \
	eval '! err_has "/proc/self/fd"'

ct run --all
check "run --all exits 1 when jobs fail" rc_is 1
check "a segfault is reported as crashed (SIGSEGV)" out_has "^failed .*segv .*crashed (SIGSEGV)"
check "abort is reported as crashed (SIGABRT)" out_has "^failed .*abort .*crashed (SIGABRT)"
check "exit(3) in a plugin is reported" out_has "^failed .*exit3 .*exited with status 3"
check "an endless loop is killed after its timeout" out_has "^failed .*hang .*timed out after 1s"
check "a refused plugin fails its job closed with the reason" \
	out_has "^failed .*wrongabi .*ABI mismatch"
check "jobs before the faults ran" out_has "^ok .*good-before"
check "jobs after the faults still ran" out_has "^ok .*good-after"
check "100 MB of output ends ok" out_has "^ok .*flood .*flooded 104857600 bytes"

flood_report=$(report_json flood)
size=${#flood_report}
check "the flood's report is capped (got $size bytes)" [ "$size" -lt 400000 ]
check "the cap keeps the head of the output" eval 'grep -q "FLOOD-HEAD" <<<"$flood_report"'
check "the cap keeps the tail of the output" eval 'grep -q "FLOOD-TAIL" <<<"$flood_report"'
check "the cap says how much it dropped" eval 'grep -q "bytes dropped" <<<"$flood_report"'

# A FIFO planted where a probe is remembered must not hang anything.
rm -f "$T/state/cache/hello.json"
mkfifo "$T/state/cache/hello.json"
timeout 30 "$CARETAKER" -c "$T/caretaker.ini" run good-before >"$out" 2>"$err"
rc=$?
check "a FIFO as a probe cache entry is named, replaced, and does not hang run" \
	eval 'rc_is 0 && err_has "probe cache $T/state/cache/hello.json is not a regular file" &&
	      [ -f "$T/state/cache/hello.json" ] && [ ! -p "$T/state/cache/hello.json" ]'

# A constructor that never returns: refused after probe_timeout, and the
# refusal is remembered until the file changes, so it costs that once.
ms() { date +%s%3N; }
cp "$top_builddir/tests/faults/.libs/ctorhang.so" "$T/plugins/"
chmod 644 "$T/plugins/ctorhang.so"
write_config <<'CONF'
probe_timeout = 1s

[ctorhang]
plugin = ctorhang
CONF
t0=$(ms)
ct plugins
took=$(($(ms) - t0))
check "a plugin that hangs while loading is refused after probe_timeout (took ${took} ms)" \
	eval 'rc_is 0 && out_has "refused: hung while loading: killed after 1s (probe_timeout)" &&
	      [ "$took" -ge 1000 ] && [ "$took" -lt 5000 ]'
t0=$(ms)
ct plugins
took=$(($(ms) - t0))
check "plugins remembers the hang and does not wait again (took ${took} ms)" \
	eval 'out_has "hung while loading: .*(remembered until the file changes)" && [ "$took" -lt 1000 ]'
t0=$(ms)
ct run ctorhang
took=$(($(ms) - t0))
check "run of a job whose plugin hangs fails at once with the reason (took ${took} ms)" \
	eval 'rc_is 78 && out_has "^failed .*ctorhang .*hung while loading" && [ "$took" -lt 1000 ]'
t0=$(ms)
ct check
took=$(($(ms) - t0))
check "check remembers the hang too (took ${took} ms)" \
	eval 'rc_is 78 && err_has "plugin .ctorhang.: refused: .*hung while loading" && [ "$took" -lt 1000 ]'
touch "$T/plugins/ctorhang.so"
t0=$(ms)
ct plugins
took=$(($(ms) - t0))
check "a changed file is probed again (took ${took} ms)" \
	eval 'out_has "refused: hung while loading: killed after 1s (probe_timeout)$" && [ "$took" -ge 1000 ]'

done_testing
