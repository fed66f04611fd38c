#!/bin/bash
# logscan-bench.sh — the logscan plugin against grep, ripgrep and the
# runbook's Python loop, side by side in one run, on a generated 500 MB
# gunicorn/Django error log (about 1% of the lines are errors, most of
# them with a Python traceback).
#
#   make bench-logscan                 (from the build folder)
#   tests/bench/logscan-bench.sh       (top_builddir defaults to ./_build)
#
# Needs python3 and, for the ripgrep anchor, Debian's ripgrep
# (apt-get install ripgrep; without it that line says so).  The log lives
# in a temporary folder (TMPDIR) that is removed at the end.
#
# Printed, as medians of ROUNDS rounds with the page cache warm:
#   cat > /dev/null                 reading the file (the floor)
#   LC_ALL=C grep -cE 'ERROR|CRITICAL|Exception|Failed to'
#   rg -c 'ERROR|CRITICAL|Exception|Failed to'
#   the runbook's analyze_logs loop (one round: it is slow)
#   caretaker run of a logscan job, first run (a full scan), with the
#     Hyperscan prefilter and with the PCRE2 one
#   caretaker run after 1 MB was appended (the incremental run), and
#     caretaker run of the hello plugin beside it: what every run costs
#     (start, configuration, history), whatever the plugin does
# and each figure's ratio to ripgrep and to grep.
# Targets (2 cores): full scan <= 1.5x ripgrep; incremental <= 20 ms.
#
# Environment: SIZE_MB (default 500); ROUNDS (default 5).
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/_build}
CARETAKER=${CARETAKER:-$top_builddir/caretaker}
SIZE_MB=${SIZE_MB:-500}
ROUNDS=${ROUNDS:-5}
PATTERNS='ERROR|CRITICAL|Exception|Failed to'
[ -x "$CARETAKER" ] || { echo "logscan-bench: build caretaker first ($CARETAKER)" >&2; exit 1; }
[ -f "$top_builddir/plugins/logscan/.libs/logscan.so" ] ||
	{ echo "logscan-bench: build the logscan plugin first" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/logscan-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/plugins" "$work/logs"
cp "$top_builddir"/plugins/logscan/.libs/logscan.so "$top_builddir"/plugins/hello/.libs/hello.so \
	"$work/plugins/"
log=$work/logs/error.log

# The log: 50 MB of gunicorn and Django lines, written SIZE_MB/50 times
# (the scan does not care that the timestamps repeat).
gen_block() {
	python3 - "$1" <<'PY'
import random, sys
r = random.Random(1)
target = 50 * 1024 * 1024
files = ["/srv/patient_input/venv/lib/python3.11/site-packages/django/core/handlers/exception.py",
         "/srv/patient_input/venv/lib/python3.11/site-packages/django/core/handlers/base.py",
         "/srv/patient_input/patient_input/views.py", "/srv/patient_input/patient_input/models.py"]
code = ["response = get_response(request)", "patient = Patient.objects.get(pk=pk)",
        "return self.cursor.execute(sql, params)", "super().save(*args, **kwargs)"]
exc = ["django.db.utils.OperationalError: could not connect to server: Connection refused",
       "patient_input.models.Patient.DoesNotExist: Patient matching query does not exist.",
       "ValueError: invalid literal for int() with base 10: 'abc'",
       "Exception: Failed to render PDF export"]
out, size, t = [], 0, 1796000000
while size < target:
    t += r.random() * 0.05
    ts = "2026-12-06 %02d:%02d:%02d,%03d" % (t // 3600 % 24, t // 60 % 60, t % 60, r.randrange(1000))
    k = r.randrange(1000)
    if k < 990:
        p = r.randrange(1, 200000)
        if k < 700:
            lines = ['%s INFO django.server "GET /patients/%d/ HTTP/1.1" 200 %d' % (ts, p, r.randrange(900, 9900))]
        elif k < 850:
            lines = ["%s INFO patient_input.tasks Reminder email queued for patient %d" % (ts, p)]
        else:
            lines = ["%s WARNING django.request Not Found: /patients/%d/attachments/" % (ts, p)]
    elif k < 996:
        lines = ["%s ERROR django.request Internal Server Error: /patients/%d/" % (ts, r.randrange(1, 200000)),
                 "Traceback (most recent call last):"]
        for _ in range(r.randrange(2, 5)):
            lines += ['  File "%s", line %d, in inner' % (r.choice(files), r.randrange(20, 400)),
                      "    " + r.choice(code)]
        lines.append(r.choice(exc))
    elif k < 998:
        lines = ["%s ERROR patient_input.tasks Failed to send reminder email to patient %d" % (ts, r.randrange(200000))]
    else:
        lines = ["[%s +0000] [%d] [CRITICAL] WORKER TIMEOUT (pid:%d)" % (ts[:19], r.randrange(4100, 4108), r.randrange(4100, 5000))]
    s = "\n".join(lines) + "\n"
    out.append(s)
    size += len(s)
open(sys.argv[1], "w").write("".join(out))
PY
}
echo "generating a ${SIZE_MB} MB log in $work ..."
gen_block "$work/block"
: >"$log"
for ((i = 0; i < SIZE_MB / 50; i++)); do cat "$work/block" >>"$log"; done
head -c $((1024 * 1024)) "$work/block" | sed '$d' >"$work/append"
rm -f "$work/block"

cat >"$work/caretaker.ini" <<EOF
[caretaker]
plugin_path = plugins
state_dir = state
timeout = 10min

[scan]
plugin = logscan
files = $log

[scan-pcre2]
plugin = logscan
files = $log
engine = pcre2

[hello]
plugin = hello
EOF
ct() { "$CARETAKER" -c "$work/caretaker.ini" "$@" >/dev/null; }

# seconds CMD...: the wall time of one run of CMD, in seconds.
seconds() {
	local a b
	# Not >/dev/null: GNU grep stops at the first match when it sees that.
	a=$EPOCHREALTIME
	"$@" >"$work/out"
	b=$EPOCHREALTIME
	awk -v a="$a" -v b="$b" 'BEGIN { printf "%.4f\n", b - a }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
# full JOB: a first run of JOB (its offsets removed first).
full() {
	rm -f "$work"/state/jobs/"$1"/file-*.state
	ct run "$1"
}

# The runbook's analyze_logs (maintenance/logging.py), log_issue counting.
cat >"$work/seed.py" <<'PY'
import re, sys
issues = 0
def log_issue(line):
    global issues
    issues += 1
def analyze_logs():
    """Analyze application logs for issues."""
    error_patterns = [
        r'ERROR',
        r'CRITICAL',
        r'Exception',
        r'Failed to'
    ]
    with open(sys.argv[1], 'r') as f:
        for line in f:
            for pattern in error_patterns:
                if re.search(pattern, line):
                    log_issue(line)
analyze_logs()
print(issues)
PY

has_rg=0
command -v rg >/dev/null && has_rg=1
cat "$log" >/dev/null
ct run scan # creates the state folders
declare -A t
for ((r = 0; r < ROUNDS; r++)); do
	t[cat]+="$(seconds sh -c 'cat "$1" >/dev/null' cat "$log") "
	t[grep]+="$(seconds env LC_ALL=C grep -cE "$PATTERNS" "$log") "
	[ "$has_rg" = 0 ] || t[rg]+="$(seconds rg -c "$PATTERNS" "$log") "
	t[full]+="$(seconds full scan) "
	t[full_pcre2]+="$(seconds full scan-pcre2) "
done
for ((r = 0; r < ROUNDS; r++)); do
	cat "$work/append" >>"$log"
	t[incr]+="$(seconds ct run scan) "
	t[hello]+="$(seconds ct run hello) "
done
t[python]=$(seconds python3 "$work/seed.py" "$log")

m() { printf '%s\n' ${t[$1]} | median; }
rg_s=$([ "$has_rg" = 1 ] && m rg || echo "")
grep_s=$(m grep)
row() {
	local name=$1 s=$2
	printf '  %-58s %9.3f s' "$name" "$s"
	[ -z "$rg_s" ] || printf '  %6.2fx rg' "$(awk -v a="$s" -v b="$rg_s" 'BEGIN { print a / b }')"
	printf '  %6.2fx grep\n' "$(awk -v a="$s" -v b="$grep_s" 'BEGIN { print a / b }')"
}
lines=$(wc -l <"$log")
errors=$(LC_ALL=C grep -c -E "$PATTERNS" "$log")
echo
echo "logscan-bench: $(du -m "$log" | cut -f1) MB, $lines lines, $errors matching lines, $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "medians of $ROUNDS rounds (the Python loop: 1 round)"
row "cat > /dev/null (page cache)" "$(m cat)"
row "LC_ALL=C grep -cE '$PATTERNS'" "$grep_s"
if [ "$has_rg" = 1 ]; then row "rg -c '$PATTERNS'" "$rg_s"; else echo "  rg: not installed (apt-get install ripgrep)"; fi
row "runbook's Python loop (analyze_logs)" "${t[python]}"
row "logscan full scan (Hyperscan prefilter)" "$(m full)"
row "logscan full scan (PCRE2 prefilter)" "$(m full_pcre2)"
row "logscan incremental run after 1 MB appended" "$(m incr)"
row "caretaker run of hello (the host's own floor)" "$(m hello)"
echo "targets: full scan <= 1.5x rg; incremental <= 0.020 s"
