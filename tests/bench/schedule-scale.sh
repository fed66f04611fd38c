#!/bin/bash
# schedule-scale.sh [BUILD_DIR] — cost of `caretaker next` and of
# `caretaker run --due` when nothing is due, with 100, 1,000 and 5,000 job
# files in conf.d, beside /bin/true in the same run.
#
# Target (issue: schedules): <= 50 ms each with 1,000 jobs on a 2-core
# machine, growing linearly with the number of jobs.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
build=${1:-$top/_build}
runs=${RUNS:-30}
ct="$build/caretaker"
[ -x "$ct" ] || { echo "build first: $ct is missing" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/caretaker-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

# A mix of the three syntaxes, some with zones.
schedules=("daily" "Sun *-*-* 01:00:00 UTC" "*-*-01 02:00:00 Europe/Berlin" "0 1 * * 0"
	"*:0/15" "Mon..Fri 08:30" "*-*-* 03:00:00 America/New_York" "@hourly")

make_config() {
	local dir=$1 n=$2
	mkdir -p "$dir/plugins" "$dir/conf.d"
	cp "$build"/plugins/*/.libs/*.so "$dir/plugins/"
	chmod 644 "$dir"/plugins/*.so
	printf '[caretaker]\nplugin_path = plugins\nstate_dir = state\n' >"$dir/caretaker.ini"
	for i in $(seq 1 "$n"); do
		printf '[job-%05d]\nplugin = hello\nschedule = %s\ndescription = job %d\n' \
			"$i" "${schedules[$((i % ${#schedules[@]}))]}" "$i" >"$dir/conf.d/$(printf %05d "$i").ini"
	done
	chmod 644 "$dir"/caretaker.ini "$dir"/conf.d/*.ini
	# The first --due records each job's baseline; later ones find nothing due.
	"$ct" -q -c "$dir/caretaker.ini" run --due
}

for n in 100 1000 5000; do
	make_config "$work/$n" "$n"
done

python3 - "$runs" "$ct" "$work" <<'PY'
import subprocess, sys, time
runs, ct, work = int(sys.argv[1]), sys.argv[2], sys.argv[3]

def median_ms(cmd):
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
        times.append((time.perf_counter() - t0) * 1000)
    times.sort()
    return times[len(times) // 2]

anchor = median_ms(["/bin/true"])
print(f"median of {runs} runs; anchor /bin/true = {anchor:.2f} ms")
print(f"{'jobs':>6} {'next ms':>9} {'x true':>7} {'us/job':>7} {'due ms':>9} {'x true':>7} {'us/job':>7}")
rows = []
for n in (100, 1000, 5000):
    conf = f"{work}/{n}/caretaker.ini"
    nxt = median_ms([ct, "-q", "-c", conf, "next"])
    due = median_ms([ct, "-q", "-c", conf, "run", "--due"])
    rows.append((n, nxt, due))
    print(f"{n:>6} {nxt:9.2f} {nxt / anchor:7.1f} {(nxt - anchor) * 1000 / n:7.1f}"
          f" {due:9.2f} {due / anchor:7.1f} {(due - anchor) * 1000 / n:7.1f}")
n1000 = [r for r in rows if r[0] == 1000][0]
print(f"target <= 50 ms at 1,000 jobs: next {'met' if n1000[1] <= 50 else 'NOT met'}, "
      f"run --due {'met' if n1000[2] <= 50 else 'NOT met'}")
print("linear: per-job cost (us/job) should stay flat from 1,000 to 5,000 jobs")
PY
