#!/bin/bash
# The logscan plugin on real files: counts per pattern equal grep -c on
# generated logs and on awkward ones (a match across the scan buffer's
# boundary, no final newline, CRLF, lines of megabytes, binary bytes); every
# line counted exactly once across runs and across rotations by
# rename+create, copytruncate, and compression with and without
# delaycompress; a traceback as one record; warn_at and fail_at; JIT and
# the interpreter, also where the kernel refuses executable memory; a
# damaged state file; dry runs; exclude and ignore_case; journal_unit.
. "$top_srcdir/tests/integration/lib.sh"

command -v gzip >/dev/null || skip_all "gzip is not installed"
command -v zstd >/dev/null || skip_all "zstd is not installed"

install_plugins
L=$T/logs
mkdir -p "$L"
PATTERNS=(ERROR CRITICAL Exception "Failed to")
NAMES=(error critical exception failed_to)

# A pool of realistic lines (gunicorn, Django, tracebacks) to append from.
"$top_srcdir/tests/harness/gen-logs.sh" --size 9M --seed 7 --now 1796000000 "$T/gen" >/dev/null
POOL=$T/gen/error.log
pool_pos=1

# job NAME KEY=VALUE...: a logscan job section on stdout.
job() {
	printf '[%s]\nplugin = logscan\n' "$1"
	shift
	printf '%s\n' "$@"
	printf '\n'
}

# metric JOB NAME: NAME's value in JOB's newest run ("" when absent).
metric() {
	report_json "$1" | python3 -c '
import json, sys
r = json.load(sys.stdin)["runs"][0]
print(next(("%d" % m["value"] for m in r["metrics"] if m["name"] == sys.argv[1]), ""))' "$2"
}
# status JOB / findings JOB: of JOB's newest run.
status() { report_json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["runs"][0]["status"])'; }
findings() {
	report_json "$1" | python3 -c '
import json, sys
for f in json.load(sys.stdin)["runs"][0].get("findings", []):
    print(f.get("severity"), f.get("object"), f.get("message").replace("\n", "\\n"))'
}
# has_finding JOB REGEX: a finding of JOB's newest run matches REGEX.
has_finding() { findings "$1" | grep -- "$2" >/dev/null; }

# lines_of JOB: "name=N ..." of every pattern's matching lines.
lines_of() {
	local out="" i
	for i in "${!NAMES[@]}"; do out+="${NAMES[$i]}=$(metric "$1" "lines_${NAMES[$i]}") "; done
	echo "$out"
}
# grep_of FILE...: the same, as grep -c counts them over the files.
grep_of() {
	local out="" i
	for i in "${!NAMES[@]}"; do
		out+="${NAMES[$i]}=$(cat "$@" | LC_ALL=C grep -a -c -- "${PATTERNS[$i]}") "
	done
	echo "$out"
}
# expect NAME EXPECTED CAME: one TAP line.
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else not_ok "$1" "expected: $2" "came:     $3"; fi
}

# take N FILE: appends the pool's next N lines to FILE and to $T/all.
take() {
	[ "$((pool_pos + $1))" -le "$(wc -l <"$POOL")" ] || { echo "Bail out! the pool of lines ran out"; exit 1; }
	sed -n "${pool_pos},$((pool_pos + $1 - 1))p" "$POOL" | tee -a "$T/all" >>"$2"
	pool_pos=$((pool_pos + $1))
}
# run_sum JOB: runs JOB and adds its line counts to $T/sum.
run_sum() {
	ct run "$1"
	lines_of "$1" >>"$T/sum.runs"
}
# summed: the per-pattern sums over the runs in $T/sum.runs.
summed() {
	python3 - "$T/sum.runs" <<'PY'
import sys
tot = {}
order = []
for line in open(sys.argv[1]):
    for kv in line.split():
        k, v = kv.split("=")
        if k not in tot:
            order.append(k); tot[k] = 0
        tot[k] += int(v or 0)
print("".join("%s=%d " % (k, tot[k]) for k in order))
PY
}
fresh_sum() { rm -f "$T/sum.runs" "$T/all"; : >"$T/sum.runs"; : >"$T/all"; }

# ---- full scans ----

cp "$POOL" "$L/full.log"
write_config <<EOF
$(job full "files = $L/full.log")
$(job full-pcre2 "files = $L/full.log" "engine = pcre2")
$(job full-nojit "files = $L/full.log" "engine = pcre2" "jit = off")
$(job full-1thread "files = $L/full.log" "threads = 1")
$(job full-mdwe "files = $L/full.log" "engine = pcre2")
EOF
ct run full
expect "a full scan counts the lines grep -c counts, per pattern" "$(grep_of "$L/full.log")" "$(lines_of full)"
if [ "$(metric full hyperscan)" = 1 ]; then
	ok "auto chooses the Hyperscan prefilter where it is built in"
else
	skip_test "auto chooses the Hyperscan prefilter where it is built in" "no Hyperscan in this build (libhyperscan-dev)"
fi
ct run full-pcre2
expect "the PCRE2 prefilter counts the same lines" "$(grep_of "$L/full.log")" "$(lines_of full-pcre2)"
check "the PCRE2 prefilter runs JIT code by default" [ "$(metric full-pcre2 pcre2_jit)" = 1 ]
ct run full-nojit
expect "the interpreter (jit = off) counts the same lines" "$(grep_of "$L/full.log")" "$(lines_of full-nojit)"
check "jit = off runs the interpreter" [ "$(metric full-nojit pcre2_jit)" = 0 ]
ct run full-1thread
# records_of JOB: every pattern's records, the distinct messages and the
# grouped messages themselves.
records_of() {
	local i
	for i in "${NAMES[@]}"; do printf '%s=%s ' "$i" "$(metric "$1" "records_$i")"; done
	metric "$1" messages_distinct
	findings "$1" | grep ' x \[' | md5sum
}
expect "one thread counts what two count" "$(lines_of full)" "$(lines_of full-1thread)"
expect "one thread finds the records and messages two find" "$(records_of full)" "$(records_of full-1thread)"

# The kernel refuses writable+executable memory to the process and its
# children (prctl PR_SET_MDWE, what MemoryDenyWriteExecute= asks systemd
# for): pcre2_jit_compile fails and the interpreter takes over.
mdwe_run() {
	python3 - "$CARETAKER" -c "$T/caretaker.ini" "$@" >"$out" 2>"$err" <<'PY'
import ctypes, os, sys
libc = ctypes.CDLL(None, use_errno=True)
PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN = 65, 1
if libc.prctl(PR_SET_MDWE, PR_MDWE_REFUSE_EXEC_GAIN, 0, 0, 0) != 0:
    sys.exit(77)
os.execv(sys.argv[1], sys.argv[1:])
PY
	rc=$?
}
mdwe_run run full-mdwe
if [ "$rc" = 77 ]; then
	skip_test_inapplicable "under MemoryDenyWriteExecute the interpreter counts the same lines" \
		"this kernel has no PR_SET_MDWE (Linux 6.3 or later)"
else
	expect "under MemoryDenyWriteExecute the interpreter counts the same lines" \
		"$(grep_of "$L/full.log") jit=0" "$(lines_of full-mdwe) jit=$(metric full-mdwe pcre2_jit)"
	check "the report says the JIT was refused" has_finding full-mdwe 'JIT refused'
fi

# ---- awkward bytes ----

python3 - "$L/odd.log" <<'PY'
import random, sys
r = random.Random(5)
out = bytearray()
def line(s):
    out.extend(s + b"\n")
# A match that straddles the 16 MiB scan buffer's boundary, and lines
# that end exactly there.
while len(out) < (16 << 20) - 40:
    line(b"2026-12-06 10:00:00,%03d INFO filler line %d" % (r.randrange(1000), r.randrange(10**6)))
pad = (16 << 20) - 3 - len(out)
line(b"x" * max(pad, 0) + b" ERROR straddles")
line(b"2026-12-06 10:00:01,000 ERROR CRLF line\r")
line(b"2026-12-06 10:00:02,000 \x00\xff\xfe binary ERROR bytes \x01")
line(b"2026-12-06 10:00:03,000 " + b"y" * (3 << 20) + b" CRITICAL at the end of a 3 MB line")
line(b"2026-12-06 10:00:04,000 " + b"z" * (20 << 20) + b" Failed to end a 20 MB line")
line(b"Exception at the very start of a line")
for i in range(2000):
    line(b"2026-12-06 10:00:05,000 INFO %d" % i + (b" ERROR" if i % 7 == 0 else b""))
out.extend(b"2026-12-06 10:00:06,000 ERROR no final newline")
open(sys.argv[1], "wb").write(out)
PY
write_config <<EOF
$(job odd "files = $L/odd.log")
$(job odd-pcre2 "files = $L/odd.log" "engine = pcre2")
EOF
ct run odd
python3 -c 'import sys; d = open(sys.argv[1], "rb").read(); open(sys.argv[2], "wb").write(d[:d.rindex(b"\n") + 1])' "$L/odd.log" "$T/odd-complete"
expect "buffer boundaries, CRLF, binary bytes and lines of megabytes count as grep -c (the unfinished last line waits)" \
	"$(grep_of "$T/odd-complete")" "$(lines_of odd)"
ct run odd-pcre2
expect "the PCRE2 prefilter agrees on them" "$(grep_of "$T/odd-complete")" "$(lines_of odd-pcre2)"
printf '\n' >>"$L/odd.log"
ct run odd
expect "the last line counts once its newline is written" "error=1 critical=0 exception=0 failed_to=0 " "$(lines_of odd)"

# The same bytes in a rotated, gzipped file read from a saved offset: the
# decompressed stream arrives in pieces and is cut into 16 MiB buffers.
write_config <<EOF
$(job oddz "files = $L/oddz.log")
EOF
head -n 1 "$L/odd.log" >"$L/oddz.log"
ct run oddz
tail -n +2 "$T/odd-complete" | tee "$T/oddz-rest" >>"$L/oddz.log"
mv "$L/oddz.log" "$L/oddz.log.1" && gzip "$L/oddz.log.1" && : >"$L/oddz.log"
ct run oddz
expect "the awkward bytes, gzipped after rotation and read from the saved offset, count as grep -c" \
	"$(grep_of "$T/oddz-rest")" "$(lines_of oddz)"

# ---- incremental runs and rotations ----

write_config <<EOF
$(job inc "files = $L/app.log")
EOF
fresh_sum
take 5000 "$L/app.log"
run_sum inc
take 3000 "$L/app.log"
run_sum inc
tail -n 3000 "$T/all" >"$T/appended"
expect "the second run reads only what was appended" "$(grep_of "$T/appended")" "$(lines_of inc)"
run_sum inc
expect "a run with nothing new counts nothing" "error=0 critical=0 exception=0 failed_to=0 " "$(lines_of inc)"
expect "across runs each line counts once" "$(grep_of "$T/all")" "$(summed)"

# rotate_* LOG: the rotation styles of logrotate(8).
rotate_rename() {
	[ ! -f "$1.1" ] || mv "$1.1" "$1.2"
	mv "$1" "$1.1" && : >"$1"
}
rotate_copytruncate() {
	[ ! -f "$1.1" ] || mv "$1.1" "$1.2"
	cp "$1" "$1.1" && : >"$1"
}
rotate_compress() {
	[ ! -f "$1.1.gz" ] || mv "$1.1.gz" "$1.2.gz"
	mv "$1" "$1.1" && gzip "$1.1" && : >"$1"
}
rotate_zstd() {
	[ ! -f "$1.1.zst" ] || mv "$1.1.zst" "$1.2.zst"
	mv "$1" "$1.1" && zstd -q --rm "$1.1" && : >"$1"
}
# delaycompress: the previous .1 is compressed to .2.gz, the log moves to .1.
rotate_delaycompress() {
	[ ! -f "$1.1" ] || { mv "$1.1" "$1.2" && gzip -f "$1.2"; }
	mv "$1" "$1.1" && : >"$1"
}

# rotation_test STYLE: lines written before and after two rotations of
# STYLE, with runs between, each line counted exactly once.
rotation_test() {
	local log=$L/rot-$1.log
	write_config <<EOF
$(job "rot-$1" "files = $log")
EOF
	fresh_sum
	rm -f "$log"*
	take 4000 "$log"
	run_sum "rot-$1"
	take 1500 "$log"
	"rotate_$1" "$log"
	take 2000 "$log"
	run_sum "rot-$1"
	take 700 "$log"
	"rotate_$1" "$log"
	take 900 "$log"
	run_sum "rot-$1"
	run_sum "rot-$1"
	expect "$1: every line is counted exactly once across two rotations" "$(grep_of "$T/all")" "$(summed)"
}
for style in rename copytruncate compress zstd delaycompress; do rotation_test "$style"; done

# rotated_twice_test STYLE: two rotations between two runs; the generation
# in the middle is read whole after the rest of the one the state named.
rotated_twice_test() {
	local log=$L/twice-$1.log
	write_config <<EOF
$(job "twice-$1" "files = $log")
EOF
	fresh_sum
	rm -f "$log"*
	take 3000 "$log"
	run_sum "twice-$1"
	take 800 "$log"
	"rotate_$1" "$log"
	take 1200 "$log"
	"rotate_$1" "$log"
	take 500 "$log"
	run_sum "twice-$1"
	run_sum "twice-$1"
	expect "$1: rotated twice between runs, every line is counted exactly once" "$(grep_of "$T/all")" "$(summed)"
}
for style in rename copytruncate compress delaycompress; do rotated_twice_test "$style"; done

# The log is gone (rotated, not yet recreated): the rotated file is
# finished, and the new log read from its start when it comes.
write_config <<EOF
$(job gone "files = $L/gone.log")
EOF
fresh_sum
take 1000 "$L/gone.log"
run_sum gone
take 800 "$L/gone.log"
mv "$L/gone.log" "$L/gone.log.1"
run_sum gone
take 600 "$L/gone.log"
run_sum gone
expect "a log rotated away and recreated later: each line once" "$(grep_of "$T/all")" "$(summed)"

# Rotated into another folder (logrotate's olddir), compressed there.
mkdir -p "$L/old"
write_config <<EOF
$(job olddir "files = $L/od.log" "olddir = $L/old")
EOF
fresh_sum
take 1000 "$L/od.log"
run_sum olddir
take 700 "$L/od.log"
mv "$L/od.log" "$L/old/od.log.1" && gzip "$L/old/od.log.1" && : >"$L/od.log"
take 300 "$L/od.log"
run_sum olddir
expect "olddir: a log rotated into another folder, each line once" "$(grep_of "$T/all")" "$(summed)"

# Rotated, and the rotated file deleted: a warning says lines were lost.
write_config <<EOF
$(job lost "files = $L/lost.log")
EOF
take 100 "$L/lost.log"
ct run lost
take 100 "$L/lost.log"
mv "$L/lost.log" "$T/elsewhere.log"
take 100 "$L/lost.log"
ct run lost
check "a rotated file that cannot be found is a warning" [ "$(status lost)" = warn ]

# ---- records, groups, thresholds ----

cat >"$L/tb.log" <<'EOF'
2026-12-06 10:00:00,001 ERROR django.request Internal Server Error: /patients/17/
Traceback (most recent call last):
  File "/srv/app/views.py", line 12, in detail
    patient = Patient.objects.get(pk=pk)
patient_input.models.Patient.DoesNotExist: Patient matching query does not exist.
2026-12-06 10:00:01,002 INFO django.server "GET / HTTP/1.1" 200 12
2026-12-06 10:00:02,003 ERROR django.request Internal Server Error: /patients/4022/
Traceback (most recent call last):
  File "/srv/app/views.py", line 12, in detail
    patient = Patient.objects.get(pk=pk)
patient_input.models.Patient.DoesNotExist: Patient matching query does not exist.
2026-12-06 10:00:03,004 ERROR django.request Internal Server Error: /patients/9/
Traceback (most recent call last):
  File "/srv/app/views.py", line 12, in detail
    raise Exception("Failed to load 0x7f3a2c10 from 10.20.1.15:5432")
Exception: Failed to load 0x7f3a2c10 from 10.20.1.15:5432
[2026-12-06 10:00:04 +0000] [4101] [CRITICAL] WORKER TIMEOUT (pid:4999)
EOF
write_config <<EOF
$(job tb "files = $L/tb.log")
$(job tb-lines "files = $L/tb.log" "record_start =")
$(job tb-warn "files = $L/tb.log" "warn_at = 2")
$(job tb-fail "files = $L/tb.log" "warn_at = 1" "fail_at = error:3")
EOF
ct run tb
expect "a traceback is one record: 3 error records, 1 of them with 2 Exception lines" \
	"3 1 2" "$(metric tb records_error) $(metric tb records_exception) $(metric tb lines_exception)"
check "two tracebacks that differ only in numbers and paths are one message counted twice" \
	has_finding tb 'tb.log 2 x \[error\] #-#-# #:#:#,# ERROR django.request Internal Server Error: <path> \.\.\. patient_input.models.Patient.DoesNotExist'
check "hex and addresses are masked in the group's key, the sample keeps them" \
	has_finding tb 'Exception: Failed to load <hex> from <ip>.*sample: .*0x7f3a2c10'
ct run tb-lines
expect "record_start empty: every line is a record" "3 2" "$(metric tb-lines records_error) $(metric tb-lines records_exception)"
ct run tb-warn
check "warn_at = 2 with 3 error records warns" [ "$(status tb-warn)" = warn ]
ct run tb-fail
check "fail_at = error:3 with 3 error records fails" eval '! rc_is 0 && [ "$(status tb-fail)" = failed ]'

# ---- exclude, case, patterns ----

write_config <<EOF
$(job excl "files = $L/full.log" "exclude = patient_input\\.tasks")
$(job nocase "files = $L/full.log" "patterns = err: error" "ignore_case = yes")
$(job named "files = $L/full.log" "patterns = timeouts: WORKER TIMEOUT \\(pid:\\d{1,6}\\)")
EOF
ct run excl
expect "exclude drops the lines it matches" \
	"$(LC_ALL=C grep ERROR "$L/full.log" | grep -v -c 'patient_input\.tasks')" "$(metric excl lines_error)"
ct run nocase
expect "ignore_case matches regardless of case" "$(LC_ALL=C grep -c -i error "$L/full.log")" "$(metric nocase lines_err)"
ct run named
expect "a named pattern with a comma in its regex" \
	"$(LC_ALL=C grep -c -E 'WORKER TIMEOUT \(pid:[0-9]{1,6}\)' "$L/full.log")" "$(metric named lines_timeouts)"

# A glob that also matches the compressed generations reads the live log.
mkdir -p "$L/globbed"
head -n 500 "$POOL" >"$L/globbed/web.log"
head -n 500 "$POOL" | gzip >"$L/globbed/web.log.2.gz"
write_config <<EOF
$(job globbed "files = $L/globbed/*.log*")
EOF
ct run globbed
expect "a glob's compressed matches are left out" "1 $(grep -c ERROR "$L/globbed/web.log")" \
	"$(metric globbed files_scanned) $(metric globbed lines_error)"

# ---- state, dry run, journal, describe ----

write_config <<EOF
$(job dry "files = $L/app.log")
$(job dmg "files = $L/app.log")
$(job journal "journal_unit = caretaker-test-nonexistent.service")
EOF
ct run dry --dry-run
first=$(lines_of dry)
ct run dry --dry-run
expect "a dry run leaves the offsets where they were" "$first" "$(lines_of dry)"
ct run dmg
for f in "$T"/state/jobs/dmg/file-*.state; do printf 'logscan-state 1\npath garbage\n' >"$f"; done
ct run dmg
check "a damaged state file is a warning and a fresh start, not a failed job" \
	[ "$(status dmg) $(metric dmg lines_error)" = "warn $(LC_ALL=C grep -c ERROR "$L/app.log")" ]
ct run dmg
check "the next run after a fresh start saves a good state" [ "$(status dmg) $(metric dmg lines_error)" = "ok 0" ]
ct run journal
if [ -d /run/log/journal ] || [ -d /var/log/journal ]; then
	check "journal_unit reads the unit's journal (none of this unit's entries here)" \
		[ "$rc $(metric journal journal_entries)" = "0 0" ]
else
	check "journal_unit without a journal on the machine is a clear finding" \
		has_finding journal 'keeps no systemd journal'
fi
# A unit's journal in journal files written by systemd-journal-remote:
# each entry's message counts once, the next run starts after the cursor.
JREMOTE=/lib/systemd/systemd-journal-remote
# journal_add MESSAGE...: entries of demo.service appended to $T/journal.
journal_add() {
	local m
	for m in "$@"; do
		printf '__REALTIME_TIMESTAMP=%s\n__MONOTONIC_TIMESTAMP=%s\n' "${EPOCHREALTIME/./}" "${EPOCHREALTIME/./}"
		printf '_BOOT_ID=0123456789abcdef0123456789abcdef\n_SYSTEMD_UNIT=demo.service\n'
		printf 'MESSAGE=%s\n\n' "$m"
	done | "$JREMOTE" -o "$T/journal/demo.journal" - 2>/dev/null
}
if [ -x "$JREMOTE" ]; then
	mkdir -p "$T/journal"
	journal_add "ERROR one" "fine" "CRITICAL two" "Failed to three"
	write_config <<EOF
$(job jfiles "journal_unit = demo.service" "journal_directory = $T/journal" "record_start =")
EOF
	ct run jfiles
	expect "journal_unit: each entry's message is a line" "4 error=1 critical=1 exception=0 failed_to=1 " \
		"$(metric jfiles journal_entries) $(lines_of jfiles)"
	journal_add "ERROR four" "Exception five"
	ct run jfiles
	expect "journal_unit: the next run reads only the entries after the saved cursor" \
		"2 error=1 critical=0 exception=1 failed_to=0 " "$(metric jfiles journal_entries) $(lines_of jfiles)"
else
	skip_test "journal_unit reads journal files from the saved cursor" \
		"no $JREMOTE (apt-get install systemd-journal-remote)"
fi

ct describe logscan
described() {
	for o in files patterns exclude ignore_case record_start warn_at fail_at top \
		max_record_bytes olddir journal_unit journal_directory engine jit threads; do
		grep -q "^ *$o\b" "$out" || return 1
	done
}
check "describe lists every option" described

done_testing
