#!/bin/bash
# metrics-bench.sh — one `metrics` run (host and database figures, stored
# in a table) against the runbook's psutil-based collect_system_metrics,
# in one run, on the harness's `bench` data (tests/harness/seed.sh --scale
# bench).
#
#   make bench-metrics                 (from the build folder)
#   tests/bench/metrics-bench.sh       (top_builddir defaults to ./_build)
#
# The anchor is the runbook's function as it stands (cpu_percent over
# INTERVAL, virtual_memory, disk_usage('/'), net_io_counters, and
# get_db_connections' GROUP BY state of pg_stat_activity), in a fresh
# python3 as a scheduler's job would start it, with psycopg2 for the
# database (the runbook used Django's connection, which is psycopg2
# underneath) and store_metrics, which the runbook does not show, as one
# INSERT of the figures as JSON.  caretaker runs
#   caretaker run m      (plugin = metrics, cpu_interval = INTERVAL,
#                         store = database)
# which collects far more (every file system, every interface, the
# database's connections, transactions, sizes, cache hits).  Both sample
# the CPU over the same INTERVAL (default 1s, the runbook's), so the wall
# times are close and the CPU time is what differs.
#
# Measured by a small runner: wall time, and user + system CPU time
# (getrusage of the children, in microseconds) of the process and every
# child it waited for (caretaker's job child; the
# server's own work is the same kind for both and not counted).  Each
# round runs the two once each, the order alternating; the table shows
# medians over the rounds and the median of each round's CPU ratio.
#
# Target: caretaker's CPU time <= 0.1x the anchor's.
#
# Two more lines, measured in the same rounds, show how much of that is
# caretaker's to cut:
#   caretaker run h      (plugin = hello: the core's start-up, the job's
#                         child, the history record and state.json; no
#                         libpq)
#   libpq-floor          (a C program that only dlopen()s libpq.so.5 and
#                         exits: what loading the system's libpq and its
#                         dependencies costs any process; built with $CC,
#                         left out when there is no compiler)
# and, for scale, the same program without the dlopen (an empty process).
#
# Environment: CC (default cc); PYTHON (default /usr/bin/python3); INTERVAL (seconds, default 1); ROUNDS (default 7); SCALE
# (seed.sh scale, default bench); BENCH_CLUSTER=DIR uses an already seeded
# harness cluster instead of starting one.
set -euo pipefail

top_srcdir=${top_srcdir:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
top_builddir=${top_builddir:-$top_srcdir/_build}
CARETAKER=${CARETAKER:-$top_builddir/caretaker}
INTERVAL=${INTERVAL:-1}
ROUNDS=${ROUNDS:-7}
SCALE=${SCALE:-bench}
[ -x "$CARETAKER" ] || { echo "metrics-bench: build caretaker first ($CARETAKER)" >&2; exit 1; }
# Debian's python3, where python3-psutil and python3-psycopg2 install.
PYTHON=${PYTHON:-/usr/bin/python3}
"$PYTHON" -c 'import psutil, psycopg2' 2>/dev/null ||
	{ echo "metrics-bench: needs python3-psutil and python3-psycopg2 (apt-get install)" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/metrics-bench.XXXXXX")
chmod 755 "$work"
trap 'rm -rf "$work"' EXIT
export PG_HARNESS_QUIET=1

if [ -n "${BENCH_CLUSTER:-}" ]; then
	eval "$("$top_srcdir/tests/harness/pg.sh" env "$BENCH_CLUSTER")"
else
	eval "$("$top_srcdir/tests/harness/pg.sh" start --owner $$)"
	echo "seeding (seed.sh --scale $SCALE) ..."
	"$top_srcdir/tests/harness/seed.sh" --scale "$SCALE" --quiet
fi

mkdir -p "$work/plugins"
cp "$top_builddir"/plugins/*/.libs/*.so "$work/plugins/"
chmod 755 "$work/plugins"
chmod 644 "$work"/plugins/*.so
cat >"$work/caretaker.ini" <<CONF
[caretaker]
plugin_path = plugins
state_dir = state
conninfo = host=$PGHOST port=$PGPORT dbname=$PGDATABASE user=$PGUSER

[m]
plugin = metrics
cpu_interval = ${INTERVAL}s
store = database
table = bench_caretaker_metrics

[h]
plugin = hello
CONF
chmod 644 "$work/caretaker.ini"

# The runbook's maintenance/monitoring.py, with the database through
# psycopg2 and store_metrics as one INSERT.
cat >"$work/monitoring.py" <<'PY'
import json
import sys

import psutil
import psycopg2

connection = psycopg2.connect("")
INTERVAL = float(sys.argv[1])


def get_db_connections():
    """Get database connection statistics."""
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT state, count(*)
            FROM pg_stat_activity
            GROUP BY state;
        """)
        return dict(cursor.fetchall())


def store_metrics(metrics):
    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_seed_metrics "
                       "(collected_at timestamptz DEFAULT now(), metrics jsonb)")
        cursor.execute("INSERT INTO bench_seed_metrics (metrics) VALUES (%s)",
                       [json.dumps(metrics, default=str)])
    connection.commit()


def collect_system_metrics():
    """Collect system performance metrics."""
    metrics = {
        'cpu_usage': psutil.cpu_percent(interval=INTERVAL),
        'memory_usage': psutil.virtual_memory().percent,
        'disk_usage': psutil.disk_usage('/').percent,
        'network_io': psutil.net_io_counters(),
        'db_connections': get_db_connections()
    }

    store_metrics(metrics)


collect_system_metrics()
PY

# timed FILE CMD...: "wall cpu" (seconds) of CMD appended to FILE.
cat >"$work/timed.py" <<'PY'
import resource, subprocess, sys, time
before = resource.getrusage(resource.RUSAGE_CHILDREN)
t0 = time.monotonic()
rc = subprocess.run(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=open(sys.argv[1] + ".err", "w")).returncode
wall = time.monotonic() - t0
after = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
open(sys.argv[1], "a").write("%.4f %.4f\n" % (wall, cpu))
sys.exit(rc)
PY
timed() {
	python3 "$work/timed.py" "$@" || { echo "metrics-bench: failed: ${*:2}" >&2; cat "$1.err" >&2; exit 1; }
}

# The floor: dlopen("libpq.so.5") and exit, as the job's child does when
# it loads the plugin; with no argument, only start and exit.
cat >"$work/floor.c" <<'C'
#include <dlfcn.h>
#include <stdio.h>
int main(int argc, char **argv)
{
	if (argc > 1 && dlopen(argv[1], RTLD_NOW | RTLD_LOCAL) == NULL) {
		fprintf(stderr, "%s\n", dlerror());
		return 1;
	}
	return 0;
}
C
has_floor=0
"${CC:-cc}" -O2 -o "$work/dlopen-libpq" "$work/floor.c" -ldl 2>/dev/null && has_floor=1 ||
	echo "metrics-bench: no C compiler (${CC:-cc}): the libpq floor is left out" >&2

anchor() { timed "$work/anchor" "$PYTHON" "$work/monitoring.py" "$INTERVAL"; }
ours() { timed "$work/ours" "$CARETAKER" -c "$work/caretaker.ini" -q run m; }
references() {
	timed "$work/hello" "$CARETAKER" -c "$work/caretaker.ini" -q run h
	[ "$has_floor" = 0 ] || {
		timed "$work/floor" "$work/dlopen-libpq" libpq.so.5
		timed "$work/empty" "$work/dlopen-libpq"
	}
}

echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
ours # warm the page cache and create the table; not counted
references
: >"$work/ours"
: >"$work/hello"
: >"$work/floor"
: >"$work/empty"
for round in $(seq "$ROUNDS"); do
	if [ $((round % 2)) -eq 1 ]; then anchor; ours; else ours; anchor; fi
	references
done
echo "load after:  $(cut -d' ' -f1-3 /proc/loadavg)"
figures=$("$CARETAKER" -c "$work/caretaker.ini" report m --format json -n 1 |
	python3 -c 'import json, sys; print(len(json.load(sys.stdin)["runs"][0]["metrics"]))')

python3 - "$work/anchor" "$work/ours" "$INTERVAL" "$ROUNDS" "$figures" "$work/hello" "$work/floor" "$work/empty" <<'PY'
import statistics, sys
def runs(path):
    return [tuple(map(float, l.split())) for l in open(path)]
a, o = runs(sys.argv[1]), runs(sys.argv[2])
interval, rounds, figures = sys.argv[3], sys.argv[4], sys.argv[5]
hello, floor, empty = runs(sys.argv[6]), runs(sys.argv[7]), runs(sys.argv[8])
med = lambda xs: statistics.median(xs)
ratio = med([y[1] / x[1] for x, y in zip(a, o) if x[1] > 0])
print("metrics-bench: CPU sampled over %s s by both, %s rounds, medians" % (interval, rounds))
print("| what | wall s | CPU s (user+sys) |")
print("|---|---|---|")
print("| anchor: collect_system_metrics (psutil, psycopg2, 5 figures) | %.3f | %.4f |"
      % (med([x[0] for x in a]), med([x[1] for x in a])))
print("| caretaker run m (metrics, store = database, %s figures) | %.3f | %.4f |"
      % (figures, med([x[0] for x in o]), med([x[1] for x in o])))
print("CPU ratio caretaker/anchor (median of rounds): %.3fx, target <= 0.1x: %s"
      % (ratio, "met" if ratio <= 0.1 else "NOT met"))
anchor_cpu = med([x[1] for x in a])
print("references (same rounds; CPU as a share of the anchor's):")
print("| what | wall s | CPU s (user+sys) | x anchor |")
print("|---|---|---|---|")
refs = [("caretaker run h (hello: the core's start-up, child, history, state)", hello)]
if floor:
    refs += [("libpq-floor: a process that only dlopen()s libpq.so.5", floor),
             ("empty process (the same program, no dlopen)", empty)]
for what, xs in refs:
    cpu = med([x[1] for x in xs])
    print("| %s | %.3f | %.4f | %.3fx |" % (what, med([x[0] for x in xs]), cpu, cpu / anchor_cpu))
if floor:
    below = med([x[1] for x in floor]) - med([x[1] for x in empty])
    print("loading libpq costs any process %.4f s of CPU (floor - empty), %.3fx of the anchor"
          % (below, below / anchor_cpu))
PY
