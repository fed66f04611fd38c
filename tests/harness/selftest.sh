#!/usr/bin/env bash
# tests/harness/selftest.sh: checks the harness itself (tiny data only, about
# a minute).  Run as root it repeats the cluster checks as `nobody`.
# Prints one line per check and "N passed, N failed" at the end; exit 1 if any
# check failed.

# Single quotes hand $VARS to the child shells on purpose.
# shellcheck disable=SC2016
set -euo pipefail

H=$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")
export PG_HARNESS_QUIET=1
PASS=0 FAIL=0
WORK=$(mktemp -d "${TMPDIR:-/tmp}/caretaker-harness-test.XXXXXX")
chmod 0755 "$WORK"
trap 'rm -rf -- "$WORK"' EXIT

# Runs one check in a subshell with errexit in force (an `if` around it would
# switch errexit off inside), so any failing step fails the check.
check() { # NAME CMD...
    local name=$1 rc
    shift
    set +e
    (set -e; "$@") >"$WORK/out" 2>&1
    rc=$?
    set -e
    if ((rc == 0)); then
        PASS=$((PASS + 1)); printf 'ok   %s\n' "$name"
    else
        FAIL=$((FAIL + 1)); printf 'FAIL %s\n' "$name"; sed 's/^/     /' "$WORK/out"
    fi
}

expect() { # WHAT EXPECTED ACTUAL
    [[ $2 == "$3" ]] || { printf '%s: expected [%s], got [%s]\n' "$1" "$2" "$3"; return 1; }
}

q() { "${PG_HARNESS_BINDIR}/psql" -X -A -t -v ON_ERROR_STOP=1 -c "$1"; }

t_start_query_stop() {
    local d=$WORK/c1
    eval "$("$H/pg.sh" start "$d")"
    expect user "$(id -un)" "$(q 'select current_user')"
    expect fsync off "$(q 'show fsync')"
    expect listen "" "$(q 'show listen_addresses')"
    expect superusers "$(printf '%s\n' postgres root "$(id -un)" | sort -u | wc -l)" \
        "$(q "select count(*) from pg_roles where rolsuper and rolname in ('postgres', 'root', current_user)")"
    [[ $PGPORT != 5432 && -S $d/.s.PGSQL.$PGPORT ]]
    "$H/pg.sh" stop "$d"
    [[ ! -e $d ]]
}

t_seed_tiny() {
    "$H/seed.sh" --quiet
    expect audit 3000 "$(q 'select count(*) from patient_input_auditlog')"
    expect old-audit 1500 "$(q "select count(*) from patient_input_auditlog where timestamp < now() - interval '90 days'")"
    expect sessions "500 or 501" "$(q "select case when count(*) in (500, 501) then '500 or 501' else count(*)::text end from django_session where expire_date < now()")"
    expect events 2000 "$(q 'select count(*) from patient_input_securityevent')"
    expect flagged "203.0.113.10:5 203.0.113.11:8 203.0.113.12:11 203.0.113.13:14 203.0.113.14:17" \
        "$(q "select string_agg(host(ip_address) || ':' || n, ' ' order by ip_address) from (
                select ip_address, count(*) n from patient_input_securityevent
                 where event_type = 'AUTH_FAILURE' and timestamp >= now() - interval '7 days'
                 group by 1 having count(*) >= 5) s")"
    expect fks 3 "$(q "select count(*) from pg_constraint where contype = 'f' and convalidated")"
}

t_seed_same_twice() {
    local a b
    "$H/seed.sh" --quiet --now '2025-01-01 00:00:00+00'
    a=$(q "select md5(string_agg(t::text, '' order by id)) from patient_input_auditlog t")
    "$H/seed.sh" --quiet --now '2025-01-01 00:00:00+00'
    b=$(q "select md5(string_agg(t::text, '' order by id)) from patient_input_auditlog t")
    expect "same data" "$a" "$b"
}

t_with_cluster_status() {
    local rc=0
    # shellcheck disable=SC1091
    (source "$H/pg.sh" && pg_with_cluster --seed tiny -- bash -c \
        'echo "$PG_HARNESS_DIR" >"$0"; exit 7' "$WORK/wc") || rc=$?
    expect status 7 "$rc"
    [[ ! -e $(cat "$WORK/wc") ]]
}

t_run_status() {
    local rc=0
    "$H/pg.sh" run -- bash -c 'echo "$PG_HARNESS_DIR" >"$0"; exit 3' "$WORK/rd" || rc=$?
    expect status 3 "$rc"
    [[ ! -e $(cat "$WORK/rd") ]]
}

# The run is SIGKILLed: its watchdog removes the cluster.
t_sigkill_run() {
    local pid d i child
    "$H/pg.sh" run -- bash -c 'echo "$PG_HARNESS_DIR $$" >"$0"; exec sleep 60' "$WORK/kd" &
    pid=$!
    for ((i = 0; i < 300; i++)); do [[ -s $WORK/kd ]] && break; sleep 0.1; done
    read -r d child <"$WORK/kd"
    kill -KILL "$pid"
    for ((i = 0; i < 100; i++)); do [[ -e $d ]] || break; sleep 0.1; done
    kill "$child"   # the orphaned command, by its PID
    [[ ! -e $d ]] || { echo "still there: $d"; return 1; }
    wait "$pid" 2>/dev/null || true
    "$H/pg.sh" run -- true
}

# The postmaster is SIGKILLed (a stale postmaster.pid is left): starting in the
# same directory still works.
t_stale_pid_restart() {
    local d=$WORK/c2
    eval "$("$H/pg.sh" start "$d")"
    kill -KILL "$(head -n 1 "$d/data/postmaster.pid")"
    sleep 0.5
    [[ -f $d/data/postmaster.pid ]]
    eval "$("$H/pg.sh" start "$d")"
    expect query 1 "$(q 'select 1')"
    "$H/pg.sh" stop "$d"
}

t_refuses_foreign_dir() {
    mkdir -p "$WORK/foreign" && touch "$WORK/foreign/keep"
    if "$H/pg.sh" start "$WORK/foreign"; then return 1; fi
    if "$H/pg.sh" stop "$WORK/foreign"; then return 1; fi
    [[ -e $WORK/foreign/keep ]]
}

t_logs_counts() {
    local d=$WORK/logs line f n
    "$H/gen-logs.sh" --size 128K --rotated 2 --now 1767225600 "$d" >"$WORK/summary"
    [[ -f $d/error.log && -f $d/error.log.1 && -f $d/error.log.2.gz && -f $d/access.log.2.gz ]]
    line=$(grep '^error.log ' "$WORK/summary")
    read -r f _ _ n _ <<<"$line"
    expect "ERROR lines" "$n" "$(grep -c ERROR "$d/$f")"
    n=$(awk '$1 == "error.log.2.gz" { print $9 }' "$WORK/summary")
    expect "Failed to lines" "$n" "$(zcat "$d/error.log.2.gz" | grep -c 'Failed to')"
    "$H/gen-logs.sh" --size 128K --rotated 2 --now 1767225600 "$WORK/logs2" >/dev/null
    cmp "$d/error.log.1" "$WORK/logs2/error.log.1"
}

main() {
    check "start, query, stop as $(id -un)" t_start_query_stop
    eval "$("$H/pg.sh" start --owner $$ "$WORK/main")"
    check "seed tiny: counts and fixtures" t_seed_tiny
    check "seed is deterministic for a fixed --now" t_seed_same_twice
    "$H/pg.sh" stop "$WORK/main"
    check "pg_with_cluster returns the status and cleans up" t_with_cluster_status
    check "run returns the status and cleans up" t_run_status
    check "SIGKILLed run: watchdog removes the cluster" t_sigkill_run
    check "stale postmaster.pid: start again in the same dir" t_stale_pid_restart
    check "refuses to use or remove a foreign directory" t_refuses_foreign_dir
    check "gen-logs counts match grep; output repeatable" t_logs_counts
    if ((EUID == 0)) && id nobody >/dev/null 2>&1 &&
        runuser -u nobody -- test -r "$H/pg.sh" -a -x "$H"; then
        mkdir "$WORK/nobody" && chown nobody "$WORK/nobody"
        check "the same cluster checks as nobody" runuser -u nobody -- \
            env TMPDIR="$WORK/nobody" PG_HARNESS_QUIET=1 bash "$H/selftest.sh" --clusters-only
    fi
    printf '%d passed, %d failed\n' "$PASS" "$FAIL"
    ((FAIL == 0))
}

if [[ ${1:-} == --clusters-only ]]; then
    # As another user: the cluster checks only, in our own scratch directory.
    check "start, query, stop as $(id -un)" t_start_query_stop
    eval "$("$H/pg.sh" start --owner $$ "$WORK/main")"
    check "seed tiny as $(id -un)" t_seed_tiny
    "$H/pg.sh" stop "$WORK/main"
    check "run as $(id -un)" t_run_status
    check "SIGKILLed run as $(id -un)" t_sigkill_run
    ((FAIL == 0))
else
    main
fi
