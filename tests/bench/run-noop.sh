#!/bin/bash
# run-noop.sh [BUILD_DIR] — start-up cost of `caretaker run` for a no-op job,
# with 50 job files in conf.d so configuration loading counts, side by side
# in one run with /bin/true (the floor: fork+exec) and with the start-up of
# the Python runbook it replaces (`python3 -c 'import django'` where Django
# is installed, else `python3 -c pass`).  Prints medians and ratios.
#
# Target (issue: core host): caretaker median <= 5 ms on a 2-core machine.
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
printf '[caretaker]\nplugin_path = plugins\nstate_dir = state\n\n[noop]\nplugin = hello\n' \
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
"$ct" -c "$dir/caretaker.ini" run noop >/dev/null

if python3 -c 'import django' 2>/dev/null; then
	py=(python3 -c 'import django')
	py_label="python3 -c 'import django'"
else
	py=(python3 -c pass)
	py_label="python3 -c pass (Django not installed)"
fi

python3 - "$runs" "$py_label" "$dir" "$ct" "${py[@]}" <<'PY'
import subprocess, sys, time

runs, py_label, conf_dir, ct = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
py_cmd = sys.argv[5:]

def median_ms(cmd):
    """Median wall time of `runs` runs; every command pays the same spawn cost."""
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]

rows = [
    ("/bin/true", ["/bin/true"]),
    ("caretaker run noop (51 jobs, 50 conf.d files)",
     [ct, "-q", "-c", conf_dir + "/caretaker.ini", "run", "noop"]),
    (py_label, py_cmd),
]
results = [(label, median_ms(cmd)) for label, cmd in rows]
anchor = results[0][1]
print(f"{'command (' + str(runs) + ' runs each, median)':<54} {'ms':>8} {'x true':>8}")
for label, ms in results:
    print(f"{label:<54} {ms:8.2f} {ms / anchor:8.2f}")
ct_ms = results[1][1]
print(f"target: caretaker <= 5 ms: {'met' if ct_ms <= 5 else 'NOT met'} ({ct_ms:.2f} ms); "
      f"caretaker / python start-up = {ct_ms / results[2][1]:.2f}")
PY
