#!/usr/bin/env bash
# tests/harness/seed.sh: (re)creates the seed's data model (schema.sql) in the
# current database and fills it with generated rows (seed.sql), then vacuums
# and analyzes it and prints what is there.
#
# Connects through the PG* variables that `pg.sh start` exports, or to the
# cluster in --dir DIR.  Owns nothing but the tables of schema.sql, which it
# drops first.
set -euo pipefail

HERE=$(dirname -- "$(realpath -- "${BASH_SOURCE[0]}")")

usage() {
    cat <<'EOF'
usage: seed.sh [--dir CLUSTER_DIR] [--scale SCALE] [--users N] [--patients N]
               [--audit N] [--sessions N] [--events N] [--attackers N]
               [--now TIMESTAMP] [--no-schema] [--no-vacuum] [--quiet]

SCALE is one of
  tiny   (default) 20 users, 500 patients, 3000 audit rows, 1000 sessions,
         2000 security events: for unit and integration tests, about a second
  small  5% of bench
  bench  500 users, 200 000 patients, 3 000 000 audit rows, 500 000 sessions,
         1 000 000 security events: about 1 GB
  F      a number: F times bench (0.1 is a tenth)
The row-count options override the scale.  --now fixes the reference time
(default: now); --no-schema fills the existing tables, which must be empty,
instead of recreating them (indexes then stay in place during the load);
--no-vacuum skips the final VACUUM ANALYZE.  Prints a summary of what the tests can expect unless
--quiet.
EOF
}

die() {
    printf 'seed.sh: error: %s\n' "$*" >&2
    exit 1
}

# Sets the row counts for a scale name or a factor of bench.
set_scale() {
    case $1 in
    tiny) users=20 patients=500 audit=3000 sessions=1000 events=2000 attackers=5 ;;
    small) set_scale 0.05 ;;
    bench) set_scale 1 ;;
    *)
        [[ $1 =~ ^[0-9]*\.?[0-9]+$ ]] || die "bad scale '$1' (tiny, small, bench or a number)"
        read -r users patients audit sessions events attackers < <(
            awk -v f="$1" 'BEGIN {
                n = split("500 200000 3000000 500000 1000000", base, " ")
                for (i = 1; i <= n; i++) {
                    v = int(base[i] * f + 0.5)
                    printf "%d ", (v < 10 ? 10 : v)
                }
                a = int(20 * f + 0.5)
                printf "%d\n", (a < 3 ? 3 : (a > 200 ? 200 : a))
            }')
        ;;
    esac
}

is_count() { [[ $1 =~ ^[0-9]+$ ]] || die "$2 needs a whole number, got '$1'"; }

parse_args() {
    set_scale tiny
    schema=1 vacuum=1 quiet=0 now=now
    while (($#)); do
        case $1 in
        --dir) dir=${2:?}; shift 2 ;;
        --scale) set_scale "${2:?}"; shift 2 ;;
        --users | --patients | --audit | --sessions | --events | --attackers)
            is_count "${2:-}" "$1"
            printf -v "${1#--}" '%s' "$2"
            shift 2 ;;
        --now) now=${2:?}; shift 2 ;;
        --no-schema) schema=0; shift ;;
        --no-vacuum) vacuum=0; shift ;;
        --quiet | -q) quiet=1; shift ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; exit 2 ;;
        esac
    done
    ((users >= 1)) || die "--users must be at least 1"
}

# With --dir, takes the connection from that cluster's env file.
connect() {
    if [[ -n ${dir:-} ]]; then
        [[ -r $dir/env ]] || die "$dir holds no running harness cluster"
        eval "$(cat -- "$dir/env")"
    fi
    [[ -n ${PGHOST:-} ]] || die "no cluster: set PGHOST etc. (eval \"\$(pg.sh start)\") or give --dir"
    PSQL=${PG_HARNESS_BINDIR:+$PG_HARNESS_BINDIR/}psql
}

TABLES="patient_input_securityevent, patient_input_auditlog, patient_input_patient,
        django_session, django_migrations, auth_user"

# One transaction: with wal_level=minimal (pg.sh's setting), tables created
# and filled in the same transaction are written without WAL.
load() {
    local pre=()
    ((schema)) && pre=(-c "SET client_min_messages = warning"
        -c "DROP TABLE IF EXISTS $TABLES CASCADE" -f "$HERE/schema.sql")
    "$PSQL" -X -q -1 -v ON_ERROR_STOP=1 \
        -v users="$users" -v patients="$patients" -v audit="$audit" \
        -v sessions="$sessions" -v events="$events" -v attackers="$attackers" \
        -v now="$now" -v defer_ddl="$( ((schema)) && echo true || echo false)" \
        "${pre[@]}" -f "$HERE/seed.sql" >/dev/null
}

summary() {
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -P footer=off <<'SQL'
SELECT 'auth_user' AS "table", count(*) AS "rows" FROM auth_user
UNION ALL SELECT 'patient_input_patient', count(*) FROM patient_input_patient
UNION ALL SELECT 'patient_input_auditlog', count(*) FROM patient_input_auditlog
UNION ALL SELECT 'django_session', count(*) FROM django_session
UNION ALL SELECT 'patient_input_securityevent', count(*) FROM patient_input_securityevent;

SELECT (SELECT count(*) FROM patient_input_auditlog
         WHERE "timestamp" < now() - interval '90 days') AS "audit rows older than 90 days",
       (SELECT count(*) FROM django_session WHERE expire_date < now()) AS "expired sessions",
       pg_size_pretty(pg_database_size(current_database())) AS "database size";

-- The runbook's audit_failed_logins(): >= 5 AUTH_FAILUREs per IP in 7 days.
SELECT ip_address AS "ip with >= 5 failed logins in 7 days", count(*) AS failures
  FROM patient_input_securityevent
 WHERE event_type = 'AUTH_FAILURE' AND "timestamp" >= now() - interval '7 days'
 GROUP BY ip_address HAVING count(*) >= 5
 ORDER BY ip_address;
SQL
}

main() {
    local t0 t1 t2
    parse_args "$@"
    connect
    t0=$EPOCHREALTIME
    load
    t1=$EPOCHREALTIME
    if ((vacuum)); then
        "$PSQL" -X -q -v ON_ERROR_STOP=1 -c "VACUUM ANALYZE $TABLES" >/dev/null
    fi
    t2=$EPOCHREALTIME
    ((quiet)) && return 0
    awk -v a="$t0" -v b="$t1" -v c="$t2" 'BEGIN {
        printf "seeded in %.1f s (load %.1f s, vacuum analyze %.1f s)\n", c - a, b - a, c - b }'
    summary
}

main "$@"
