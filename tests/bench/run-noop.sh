#!/bin/bash
# run-noop.sh [BUILD_DIR] — start-up cost of `caretaker run` for a no-op job,
# with 50 job files in conf.d so configuration loading counts, against
# /bin/true (the floor: fork+exec) pair by pair: each round runs /bin/true
# and then caretaker, and the ratio of the two is taken per round, so load
# on the machine hits both sides alike.  Also an `exec /bin/true` job, and
# the start-up of the Python runbook it replaces (`python3 -c 'import
# django'` where Django is installed, else `python3 -c pass`).  Prints
# medians of the times and of the per-round ratios.
#
# Target: caretaker run of the no-op plugin job <= 3x /bin/true (median of
# the per-round ratios) on a 2-core machine.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$top/_build}
runs=${RUNS:-200}
ct="$build/caretaker"
[ -x "$ct" ] || { echo "build first: $ct is missing (tests/bootstrap.sh check builds it)" >&2; exit 1; }

dir=$(mktemp -d "${TMPDIR:-/tmp}/caretaker-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT
chmod 755 "$dir"
mkdir -p "$dir/plugins" "$dir/conf.d"
cp "$build"/plugins/*/.libs/*.so "$dir/plugins/"
chmod 644 "$dir"/plugins/*.so
printf '[caretaker]\nplugin_path = plugins\nstate_dir = state\n\n[noop]\nplugin = hello\n\n[true]\nplugin = exec\ncommand = /bin/true\n' \
	>"$dir/caretaker.ini"
for i in $(seq -w 1 50); do
	cat >"$dir/conf.d/$i-job.ini" <<INI
; filler job $i
[job-$i]
description = filler job $i
plugin = exec
schedule = daily
command = /bin/true --job $i
timeout = 5min
enabled = no
INI
done
chmod 644 "$dir"/caretaker.ini "$dir"/conf.d/*.ini
"$ct" -c "$dir/caretaker.ini" run noop true >/dev/null

if python3 -c 'import django' 2>/dev/null; then
	py=(python3 -c 'import django')
	py_label="python3 -c 'import django'"
else
	py=(python3 -c pass)
	py_label="python3 -c pass (Django not installed)"
fi

python3 - "$runs" "$py_label" "$dir" "$ct" "${py[@]}" <<'PY'
import statistics, subprocess, sys, time

runs, py_label, conf_dir, ct = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
py_cmd = sys.argv[5:]
anchor = ["/bin/true"]
rows = [
    ("caretaker run noop (hello; 52 jobs, 50 conf.d files)",
     [ct, "-q", "-c", conf_dir + "/caretaker.ini", "run", "noop"]),
    ("caretaker run true (exec /bin/true)",
     [ct, "-q", "-c", conf_dir + "/caretaker.ini", "run", "true"]),
    (py_label, py_cmd),
]

def once_ms(cmd):
    t0 = time.perf_counter()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return (time.perf_counter() - t0) * 1000

print(f"{runs} rounds; each round runs /bin/true, then the command (medians)")
print(f"{'command':<54} {'ms':>7} {'true ms':>8} {'ratio':>7}")
for label, cmd in rows:
    pairs = [(once_ms(anchor), once_ms(cmd)) for _ in range(runs)]
    t_ms = statistics.median(a for a, _ in pairs)
    c_ms = statistics.median(c for _, c in pairs)
    ratio = statistics.median(c / a for a, c in pairs)
    print(f"{label:<54} {c_ms:7.2f} {t_ms:8.2f} {ratio:7.2f}")
    if label.startswith("caretaker run noop"):
        noop_ratio = ratio
print(f"target: no-op job <= 3x /bin/true: {'met' if noop_ratio <= 3 else 'NOT met'} "
      f"({noop_ratio:.2f}x, median of per-round ratios)")
PY
