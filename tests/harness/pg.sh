#!/usr/bin/env bash
# tests/harness/pg.sh: throwaway PostgreSQL clusters for caretaker's integration
# tests, benchmarks and the README demo.
#
# Owns: creating a private cluster in a directory (initdb as an unprivileged
# user), running it on a Unix socket inside that directory only, and removing it
# again however the run ends (normal exit, failure, signal, or SIGKILL of the
# run, through a watchdog).  It does not own the data model (schema.sql,
# seed.sh) or log fixtures (gen-logs.sh).
#
# It never touches the system's clusters: no TCP listener, never port 5432,
# never the system socket directory, and every client call names the cluster's
# own socket directory and port.
#
# CLI (run `pg.sh help`):
#   pg.sh start [--owner PID] [--db NAME] [--set NAME=VALUE]... [DIR]
#   pg.sh stop DIR...                pg.sh env|conninfo|status DIR
#   pg.sh psql DIR [PSQL-ARGS...]    pg.sh reap [--all] [PARENT]
#   pg.sh run [--seed SCALE] [--logs SIZE] [--db NAME] [--set N=V]... [--] CMD...
# Library (`source tests/harness/pg.sh`): pg_start, pg_stop, pg_with_cluster,
# pg_stop_on_exit, pg_conninfo.  Sourcing changes no shell option of the caller.

PGH_MARKER=.caretaker-pg-harness
PGH_SELF=$(realpath -- "${BASH_SOURCE[0]}")
PGH_HERE=$(dirname -- "$PGH_SELF")

# ---------------------------------------------------------------------------
# Messages

pgh_log() {
    [[ ${PG_HARNESS_QUIET:-0} == 1 ]] || printf 'pg.sh: %s\n' "$*" >&2
}

pgh_die() {
    printf 'pg.sh: error: %s\n' "$1" >&2
    [[ -z ${2:-} ]] || printf 'hint: %s\n' "$2" >&2
    exit 1
}

pgh_usage() {
    cat <<'EOF'
usage: pg.sh COMMAND [ARGS]

  start [--owner PID] [--db NAME] [--set NAME=VALUE]... [DIR]
        Create and start a throwaway cluster in DIR (default: a new
        ${TMPDIR:-/tmp}/caretaker-pg.XXXXXX).  Prints shell `export` lines for
        PGHOST, PGPORT, PGUSER, PGDATABASE, PG_HARNESS_DIR on stdout:
            eval "$(tests/harness/pg.sh start)"
        --owner PID  stop and remove the cluster as soon as process PID exits
                     (even by SIGKILL); without it the cluster lives until
                     `pg.sh stop DIR`.
        --db NAME    database to create (default patient_input).
        --set N=V    extra postgresql.conf setting (repeatable).
  stop DIR...   Stop (immediate) and remove the cluster(s); no-op if gone.
  env DIR       Print the export lines again.
  conninfo DIR  Print a libpq conninfo string for the cluster.
  status DIR    Say whether the cluster runs; exit 0 if it does, 3 if not.
  psql DIR [ARGS...]   Run the cluster's psql against it.
  reap [--all] [PARENT]
        Remove harness clusters under PARENT (default ${TMPDIR:-/tmp}) left by
        killed runs; --all removes every harness cluster there.
  run [--seed SCALE] [--logs SIZE] [--db NAME] [--set N=V]... [--] CMD [ARGS...]
        Start a cluster, optionally seed it (seed.sh --scale SCALE) and write
        synthetic logs (gen-logs.sh --size SIZE into $PG_HARNESS_DIR/logs),
        run CMD with the PG* variables exported, then always remove the cluster.
        Exits with CMD's status.

Environment: PG_BINDIR (server binaries; default /usr/lib/postgresql/15/bin),
PG_HARNESS_RUNAS (unprivileged user for the server when run as root; default
postgres), PG_HARNESS_QUIET=1 (no progress messages), PG_HARNESS_KEEP_FAILED=1
(keep the directory of a cluster that failed to start).
EOF
}

# ---------------------------------------------------------------------------
# Small helpers

# Prints PostgreSQL's server binary directory: $PG_BINDIR, else version 15 from
# the Debian layout, else any newer Debian version, else initdb on PATH.
pgh_bindir() {
    local v
    if [[ -n ${PG_BINDIR:-} ]]; then
        [[ -x $PG_BINDIR/initdb ]] || pgh_die "no initdb in PG_BINDIR=$PG_BINDIR"
        printf '%s\n' "$PG_BINDIR"
        return
    fi
    for v in 15 16 17 18 14 13; do
        if [[ -x /usr/lib/postgresql/$v/bin/initdb ]]; then
            printf '%s\n' "/usr/lib/postgresql/$v/bin"
            return
        fi
    done
    v=$(command -v initdb) ||
        pgh_die "no PostgreSQL server binaries found" "apt-get install postgresql-15"
    dirname -- "$v"
}

# Prints the start time (clock ticks since boot) of process $1; fails if the
# process does not exist or has exited (a zombie: where PID 1 is slow to reap,
# a stopped postmaster lingers as one).  A PID plus its start time names a
# process uniquely, so a recycled PID is never mistaken for the original.
# Sets PGH_PROC_START to the start time (field 22 of /proc/PID/stat) of
# process $1; fails when it is gone or a zombie.  No subshell and no child
# process: the watchdog calls it every second, on machines with two CPUs
# where every fork is taken from the test or the benchmark beside it.
pgh_proc_start_var() {
    local stat rest fields
    PGH_PROC_START=
    [[ $1 =~ ^[1-9][0-9]*$ ]] || return 1
    { read -r stat <"/proc/$1/stat"; } 2>/dev/null || return 1
    rest=${stat##*) }   # drop "pid (comm) "; comm may hold spaces and ')'
    read -r -a fields <<<"$rest"
    [[ ${fields[0]} != [ZX] ]] || return 1
    PGH_PROC_START=${fields[19]}
}

pgh_proc_start() {
    pgh_proc_start_var "$1" || return 1
    printf '%s\n' "$PGH_PROC_START"
}

pgh_proc_alive() { # PID START
    pgh_proc_start_var "$1" || return 1
    [[ -z ${2:-} || $PGH_PROC_START == "$2" ]]
}

# Reads KEY from the marker file of cluster directory $1.
pgh_marker_get() {
    local key val
    while IFS='=' read -r key val; do
        if [[ $key == "$2" ]]; then
            printf '%s\n' "$val"
            return 0
        fi
    done <"$1/$PGH_MARKER"
    return 1
}

# Runs "$@" as the user who owns the data directory (root runs the server as
# an unprivileged user), from inside the cluster directory so that the server
# tools never start in a directory that user cannot read.
pgh_as_owner() { # DIR CMD...
    local dir=$1 user
    shift
    user=$(stat -c %U -- "$dir/data" 2>/dev/null || stat -c %U -- "$dir")
    if ((EUID == 0)) && [[ $user != root ]]; then
        (cd -- "$dir" && runuser -u "$user" -- "$@")
    else
        (cd -- "$dir" && "$@")
    fi
}

# Prints a TCP port number that nothing listens on, in 20000-52767 (so never
# 5432).  The server opens no TCP socket; the number only names the Unix
# socket and seeds the shared-memory key, where distinct numbers keep
# concurrent clusters from probing each other's segments.
pgh_pick_port() {
    local -A busy=()
    local f addr st port i
    for f in /proc/net/tcp /proc/net/tcp6; do
        [[ -r $f ]] || continue
        while read -r _ addr _ st _; do
            [[ $st == 0A ]] && busy[$((16#${addr##*:}))]=1
        done < <(tail -n +2 "$f")
    done
    for ((i = 0; i < 200; i++)); do
        port=$((20000 + RANDOM))
        [[ -z ${busy[$port]:-} ]] && { printf '%s\n' "$port"; return 0; }
    done
    pgh_die "could not find a free port number"
}

pgh_sql_quote() {
    local s=${1//\'/\'\'}
    printf "'%s'" "$s"
}

# ---------------------------------------------------------------------------
# Stopping and removing

# Prints the PID of the postmaster running on cluster $1, if any.  The PID
# comes from postmaster.pid; it counts only if that process is alive and (when
# we may look) its working directory is the data directory, so a stale file
# left by a killed run whose PID was reused never names an unrelated process.
pgh_postmaster_pid() {
    local data=$1/data pid cwd
    [[ -f $data/postmaster.pid ]] || return 1
    pid=$(head -n 1 -- "$data/postmaster.pid" 2>/dev/null) || return 1
    pgh_proc_alive "$pid" || return 1
    if cwd=$(readlink "/proc/$pid/cwd" 2>/dev/null); then
        [[ $cwd == "$data" ]] || return 1
    fi
    printf '%s\n' "$pid"
}

pgh_stop_postmaster() { # DIR
    local dir=$1 pid bindir i
    pid=$(pgh_postmaster_pid "$dir") || return 0
    bindir=$(pgh_bindir)
    pgh_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -m immediate -w -t 30 \
        stop >/dev/null 2>&1 || true
    for ((i = 0; i < 100; i++)); do
        pgh_proc_alive "$pid" || return 0
        ((i == 50)) && kill -KILL "$pid" 2>/dev/null
        sleep 0.1
    done
    pgh_log "warning: postmaster $pid of $dir did not exit"
}

# Ends the watchdog of cluster $1 unless we are that watchdog.
pgh_stop_watchdog() {
    local pid
    pid=$(cat -- "$1/watchdog.pid" 2>/dev/null) || return 0
    [[ $pid == "$$" ]] && return 0
    if [[ -r /proc/$pid/cmdline ]] &&
        tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF -- "_watch $1"; then
        kill -TERM "$pid" 2>/dev/null || true
    fi
}

# Stops and removes one cluster directory.  Refuses any directory the harness
# did not create, so a mistyped path is never deleted.
pgh_stop_one() {
    local dir
    dir=$(realpath -m -- "$1")
    [[ -d $dir ]] || return 0
    [[ -e $dir/$PGH_MARKER ]] ||
        pgh_die "$dir is not a harness cluster (no $PGH_MARKER); not removing it"
    pgh_stop_postmaster "$dir"
    pgh_stop_watchdog "$dir"
    rm -rf -- "$dir"
    pgh_log "removed cluster $dir"
}

# A cluster is stale when the process that was creating it is gone and either
# its recorded owner is gone or, with no owner, its server no longer runs.
pgh_is_stale() { # DIR
    local dir=$1 spid sstart opid ostart
    spid=$(pgh_marker_get "$dir" starter_pid) || spid=
    sstart=$(pgh_marker_get "$dir" starter_start) || sstart=
    opid=$(pgh_marker_get "$dir" owner_pid) || opid=
    ostart=$(pgh_marker_get "$dir" owner_start) || ostart=
    [[ -n $spid ]] && pgh_proc_alive "$spid" "$sstart" &&
        [[ ! -e $dir/env ]] && return 1
    if [[ -n $opid ]]; then
        pgh_proc_alive "$opid" "$ostart" && return 1
    else
        pgh_postmaster_pid "$dir" >/dev/null && return 1
    fi
    return 0
}

pgh_reap() { # ALL PARENT [GLOB]
    local all=$1 parent=$2 glob=${3:-*} d n=0
    for d in "$parent"/$glob/; do
        d=${d%/}
        [[ -e $d/$PGH_MARKER ]] || continue
        # Only clusters we started (root may clean up anyone's).
        ((EUID == 0)) || [[ $(stat -c %u -- "$d/$PGH_MARKER") == "$EUID" ]] || continue
        if [[ $all == 1 ]] || pgh_is_stale "$d"; then
            pgh_stop_one "$d"
            n=$((n + 1))
        fi
    done
    ((n == 0)) || pgh_log "reaped $n cluster(s) under $parent"
}

# ---------------------------------------------------------------------------
# Starting

# Makes $1 an empty directory for a new cluster.  An earlier harness cluster
# there (running or left by a killed run) is stopped and wiped; anything else
# that is not empty is refused.
pgh_prepare_dir() {
    local dir=$1
    if [[ -e $dir/$PGH_MARKER ]]; then
        pgh_log "replacing earlier cluster in $dir"
        pgh_stop_postmaster "$dir"
        pgh_stop_watchdog "$dir"
        find "$dir" -mindepth 1 -delete 2>/dev/null || rm -rf -- "${dir:?}"/* "${dir:?}"/.[!.]*
    elif [[ -d $dir && -n $(ls -A -- "$dir") ]]; then
        pgh_die "$dir is not empty and holds no harness cluster" "give a new or empty directory"
    fi
    mkdir -p -- "$dir"
    [[ -d $dir ]] || pgh_die "cannot create $dir"
}

pgh_write_marker() { # DIR OWNER_PID
    local dir=$1 owner=$2 ostart=
    if [[ -n $owner ]]; then
        ostart=$(pgh_proc_start "$owner") || pgh_die "--owner $owner: no such process"
    fi
    printf 'starter_pid=%s\nstarter_start=%s\nowner_pid=%s\nowner_start=%s\n' \
        "$$" "$(pgh_proc_start "$$")" "$owner" "$ostart" >"$dir/$PGH_MARKER"
}

# As root, hands the directory to the unprivileged server user.
pgh_hand_over() { # DIR
    local dir=$1 user=${PG_HARNESS_RUNAS:-postgres}
    ((EUID == 0)) || return 0
    id -u "$user" >/dev/null 2>&1 ||
        pgh_die "user $user does not exist" "set PG_HARNESS_RUNAS to an unprivileged user"
    chown -- "$user:" "$dir"
    chmod 0755 -- "$dir"
    runuser -u "$user" -- test -w "$dir" -a -x "$dir" ||
        pgh_die "user $user cannot write $dir" \
            "put the cluster under a directory $user can reach, e.g. TMPDIR=/tmp"
}

pgh_initdb() { # DIR
    local dir=$1 bindir
    bindir=$(pgh_bindir)
    # UTF8 text with C collation: byte-wise comparisons sort and build
    # indexes several times faster than a libc locale, and need no locale
    # installed.  --no-sync: a throwaway cluster need not survive a power cut.
    pgh_as_owner "$dir" "$bindir/initdb" -D "$dir/data" -U postgres -E UTF8 \
        --no-locale --auth=trust --no-sync --no-instructions \
        >"$dir/initdb.log" 2>&1 || {
        cat -- "$dir/initdb.log" >&2
        return 1
    }
}

# Appends the harness settings, then the caller's --set ones, which win.
pgh_configure() { # DIR PORT SETTING...
    local dir=$1 port=$2 kv
    shift 2
    {
        printf '\n# caretaker test harness: throwaway, fast, socket-only\n'
        printf "listen_addresses = ''\n"
        printf 'port = %s\n' "$port"
        printf 'unix_socket_directories = %s\n' "$(pgh_sql_quote "$dir")"
        printf 'unix_socket_permissions = 0777\n'
        # Durability is worthless for a cluster deleted after the run.
        printf 'fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n'
        # minimal WAL: tables created and filled in one transaction skip WAL.
        printf 'wal_level = minimal\nmax_wal_senders = 0\n'
        printf "max_wal_size = '4GB'\ncheckpoint_timeout = '30min'\n"
        printf "shared_buffers = '128MB'\nwork_mem = '16MB'\n"
        printf "maintenance_work_mem = '256MB'\nmax_connections = 50\n"
        # Tests decide when tables are vacuumed; track_counts stays on so
        # pg_stat_user_tables still shows dead tuples.
        printf 'autovacuum = off\njit = off\nhuge_pages = off\n'
        printf "timezone = 'UTC'\nlog_timezone = 'UTC'\nlc_messages = 'C'\n"
        printf "log_line_prefix = '%%m [%%p] %%q%%u@%%d '\n"
        for kv in "$@"; do
            printf '%s = %s\n' "${kv%%=*}" "$(pgh_sql_quote "${kv#*=}")"
        done
    } >>"$dir/data/postgresql.conf"
    printf '# caretaker test harness: Unix socket only, no passwords\nlocal all all trust\n' \
        >"$dir/data/pg_hba.conf"
}

pgh_start_server() { # DIR
    local dir=$1 bindir
    bindir=$(pgh_bindir)
    pgh_as_owner "$dir" "$bindir/pg_ctl" -D "$dir/data" -l "$dir/postgres.log" \
        -w -t 60 start >/dev/null 2>&1 || {
        tail -n 30 -- "$dir/postgres.log" >&2 2>/dev/null
        return 1
    }
}

# Creates superuser roles for root and the invoking user (the bootstrap
# superuser is "postgres"), and the application database.
pgh_create_roles_and_db() { # DIR PORT DB USER
    local dir=$1 port=$2 db=$3 user=$4 bindir
    bindir=$(pgh_bindir)
    "$bindir/psql" -X -q -h "$dir" -p "$port" -U postgres -d postgres \
        -v ON_ERROR_STOP=1 -v user="$user" -v db="$db" >/dev/null <<'SQL'
SELECT format('CREATE ROLE %I SUPERUSER LOGIN', r)
  FROM unnest(ARRAY['root', :'user']) AS r
 WHERE NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r)
 GROUP BY r \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'db', :'user') \gexec
SQL
}

pgh_env_lines() { # DIR PORT USER DB
    printf 'export PGHOST=%q\n' "$1"
    printf 'export PGPORT=%q\n' "$2"
    printf 'export PGUSER=%q\n' "$3"
    printf 'export PGDATABASE=%q\n' "$4"
    printf 'export PG_HARNESS_DIR=%q\n' "$1"
    printf 'export PG_HARNESS_BINDIR=%q\n' "$(pgh_bindir)"
    # A host address or service from the environment would override PGHOST.
    printf 'unset PGHOSTADDR PGSERVICE\n'
}

pgh_spawn_watchdog() { # DIR
    # setsid: a kill of the owner's process group must not take the watchdog
    # along.  No inherited descriptors: `$(pg.sh start)` must not hang on it.
    # The shell runs without job control, so setsid(1) need not fork and $!
    # is the watchdog itself.
    setsid bash "$PGH_SELF" _watch "$1" </dev/null >/dev/null 2>&1 &
    printf '%s\n' "$!" >"$1/watchdog.pid"
}

# Removes a cluster whose start failed or was interrupted (kept on request),
# or the directory we made for it if no cluster was begun there.
pgh_abort_start() { # DIR AUTO
    if [[ ${PG_HARNESS_KEEP_FAILED:-0} == 1 ]]; then
        pgh_log "kept failed cluster in $1"
    elif [[ -e $1/$PGH_MARKER ]]; then
        pgh_stop_one "$1" || true
    elif [[ $2 == 1 ]]; then
        rm -rf -- "$1"
    fi
}

# start: prints the export lines on stdout; everything else goes to stderr.
pgh_cmd_start() {
    local owner="" db=patient_input dir="" settings=() port user auto=0
    while (($#)); do
        case $1 in
        --owner) owner=${2:?--owner needs a PID}; shift 2 ;;
        --db) db=${2:?--db needs a name}; shift 2 ;;
        --set)
            [[ ${2:-} == ?*=* ]] || pgh_die "--set needs NAME=VALUE"
            settings+=("$2"); shift 2 ;;
        -h | --help) pgh_usage; exit 0 ;;
        -*) pgh_die "start: unknown option $1" ;;
        *) [[ -z $dir ]] || pgh_die "start: one directory only"; dir=$1; shift ;;
        esac
    done
    [[ $owner == 0 ]] && owner=""
    if [[ -z $dir ]]; then
        dir=$(mktemp -d "${TMPDIR:-/tmp}/caretaker-pg.XXXXXX")
        auto=1
    fi
    dir=$(realpath -m -- "$dir")
    trap 'pgh_abort_start "$dir" "$auto"' EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    port=$(pgh_pick_port)
    # sun_path holds 107 bytes plus NUL; the server would refuse a longer one.
    ((${#dir} + 17 <= 107)) ||
        pgh_die "socket path $dir/.s.PGSQL.$port is too long" "use a shorter DIR or TMPDIR"
    ((auto)) && pgh_reap 0 "$(dirname -- "$dir")" 'caretaker-pg.*'
    user=$(id -un)

    pgh_prepare_dir "$dir"
    pgh_write_marker "$dir" "$owner"
    pgh_hand_over "$dir"
    pgh_initdb "$dir" || pgh_die "initdb failed in $dir"
    pgh_configure "$dir" "$port" "${settings[@]}"
    pgh_start_server "$dir" || pgh_die "the server did not start (log above)"
    pgh_create_roles_and_db "$dir" "$port" "$db" "$user" ||
        pgh_die "could not create roles or database $db"
    [[ -z $owner ]] || pgh_spawn_watchdog "$dir"
    pgh_env_lines "$dir" "$port" "$user" "$db" >"$dir/env"
    trap - EXIT INT TERM
    pgh_log "cluster ready: socket $dir port $port user $user database $db${owner:+ (bound to pid $owner)}"
    cat -- "$dir/env"
}

# ---------------------------------------------------------------------------
# Other commands

pgh_need_cluster() { # DIR
    [[ -n ${1:-} ]] || pgh_die "missing cluster directory"
    [[ -e $1/$PGH_MARKER ]] || pgh_die "$1 is not a harness cluster"
    [[ -r $1/env ]] || pgh_die "cluster in $1 did not finish starting"
}

# Prints VAR from cluster DIR's env file.
pgh_env_get() { # DIR VAR
    local line
    line=$(grep -m 1 "^export $2=" -- "$1/env") || return 1
    eval "printf '%s\n' ${line#export "$2"=}"
}

# Prints a conninfo value, quoted when libpq needs it.
pgh_conninfo_value() {
    local v=$1
    if [[ $v =~ ^[A-Za-z0-9_./:-]+$ ]]; then
        printf '%s' "$v"
    else
        v=${v//\\/\\\\}
        printf "'%s'" "${v//\'/\\\'}"
    fi
}

pgh_cmd_conninfo() {
    local dir port user db
    pgh_need_cluster "${1:-}"
    dir=$(pgh_env_get "$1" PGHOST)
    port=$(pgh_env_get "$1" PGPORT)
    user=$(pgh_env_get "$1" PGUSER)
    db=$(pgh_env_get "$1" PGDATABASE)
    printf 'host=%s port=%s user=%s dbname=%s\n' "$(pgh_conninfo_value "$dir")" \
        "$port" "$(pgh_conninfo_value "$user")" "$(pgh_conninfo_value "$db")"
}

pgh_cmd_status() {
    local dir pid
    [[ -n ${1:-} ]] || pgh_die "status: missing cluster directory"
    dir=$(realpath -m -- "$1")
    if [[ -e $dir/$PGH_MARKER ]] && pid=$(pgh_postmaster_pid "$dir"); then
        printf 'running: %s (postmaster %s)\n' "$dir" "$pid"
        return 0
    fi
    printf 'not running: %s\n' "$dir"
    return 3
}

pgh_cmd_psql() {
    local dir=${1:-}
    pgh_need_cluster "$dir"
    shift
    (
        eval "$(cat -- "$dir/env")"
        exec "$PG_HARNESS_BINDIR/psql" -X "$@"
    )
}

# _watch: the watchdog.  Polls the owner once a second; when it is gone,
# removes the cluster.  Ends by itself when the cluster directory goes away.
pgh_cmd_watch() {
    local dir=$1 opid ostart nap
    cd / || exit 1
    opid=$(pgh_marker_get "$dir" owner_pid) || exit 0
    ostart=$(pgh_marker_get "$dir" owner_start) || exit 0
    # The pause is a read with a timeout on a pipe nobody writes to: no
    # `sleep` process a second.
    exec {nap}<> <(:)
    while [[ -e $dir/$PGH_MARKER ]]; do
        if ! pgh_proc_alive "$opid" "$ostart"; then
            pgh_stop_one "$dir"
            exit 0
        fi
        read -r -t 1 -u "$nap" _ || true
    done
}

# run: one cluster around one command, removed whatever happens to it.
pgh_cmd_run() {
    local start_args=() seed="" logs="" out
    while (($#)); do
        case $1 in
        --seed) seed=${2:?--seed needs a scale}; shift 2 ;;
        --logs) logs=${2:?--logs needs a size}; shift 2 ;;
        --db | --set) start_args+=("$1" "${2:-}"); shift 2 ;;
        --) shift; break ;;
        -*) pgh_die "run: unknown option $1" ;;
        *) break ;;
        esac
    done
    (($#)) || pgh_die "run: missing command"
    PGH_RUN_DIR=""
    trap 'pgh_run_cleanup $?' EXIT
    pgh_trap_signals
    pgh_reap 0 "$(realpath -m -- "${TMPDIR:-/tmp}")" 'caretaker-pg.*'
    PGH_RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/caretaker-pg.XXXXXX")
    out=$(pgh_cmd_start --owner "$$" "${start_args[@]}" "$PGH_RUN_DIR")
    eval "$out"
    [[ -z $seed ]] || "$PGH_HERE/seed.sh" --scale "$seed" >&2
    [[ -z $logs ]] || "$PGH_HERE/gen-logs.sh" --size "$logs" "$PG_HARNESS_DIR/logs" >/dev/null
    set +e
    pgh_run_child "$@"
}

# INT, TERM and HUP end the run: the command gets SIGTERM, then the EXIT trap
# removes the cluster.  (SIGTERM even for INT: bash starts background
# commands with SIGINT ignored.)
pgh_trap_signals() {
    PGH_CHILD=""
    trap 'pgh_on_signal 130' INT
    trap 'pgh_on_signal 143' TERM
    trap 'pgh_on_signal 129' HUP
}

pgh_on_signal() { # STATUS
    trap '' INT TERM HUP
    if [[ -n $PGH_CHILD ]]; then
        # shellcheck disable=SC2046  # one PID per word
        kill -TERM $(pgh_descendants "$PGH_CHILD") "$PGH_CHILD" 2>/dev/null
        wait "$PGH_CHILD"
    fi
    exit "$1"
}

# Prints the PIDs of all descendants of process $1, so that a command that is
# a shell function or script loses its children too, not only its own shell.
pgh_descendants() {
    local kid
    for kid in $(ps -o pid= --ppid "$1" 2>/dev/null); do
        printf '%s\n' "$kid"
        pgh_descendants "$kid"
    done
}

# Runs "$@" in the background (stdin kept) and waits for it: bash runs a trap
# only after a foreground command ends, but interrupts `wait` at once.  Exits
# with the command's status.
pgh_run_child() {
    if { true <&0; } 2>/dev/null; then
        "$@" <&0 &
    else
        "$@" </dev/null &  # stdin closed (as under some CI runners)
    fi
    PGH_CHILD=$!
    wait "$PGH_CHILD"
    exit
}

pgh_run_cleanup() { # STATUS
    trap - EXIT
    if [[ -e $PGH_RUN_DIR/$PGH_MARKER ]]; then
        pgh_stop_one "$PGH_RUN_DIR" || true
    elif [[ -n $PGH_RUN_DIR ]]; then
        rm -rf -- "$PGH_RUN_DIR"
    fi
    exit "$1"
}

pgh_main() {
    set -euo pipefail
    local cmd=${1:-help} d
    shift || true
    case $cmd in
    start) pgh_cmd_start "$@" ;;
    stop)
        (($#)) || pgh_die "stop: missing cluster directory"
        for d in "$@"; do pgh_stop_one "$d"; done ;;
    env) pgh_need_cluster "${1:-}"; cat -- "$1/env" ;;
    conninfo) pgh_cmd_conninfo "$@" ;;
    status) pgh_cmd_status "$@" ;;
    psql) pgh_cmd_psql "$@" ;;
    reap)
        local all=0
        [[ ${1:-} == --all ]] && { all=1; shift; }
        pgh_reap "$all" "$(realpath -m -- "${1:-${TMPDIR:-/tmp}}")" ;;
    run) pgh_cmd_run "$@" ;;
    _watch) pgh_cmd_watch "$@" ;;
    help | -h | --help) pgh_usage ;;
    *) pgh_usage >&2; exit 2 ;;
    esac
}

# ---------------------------------------------------------------------------
# Library interface.  Each function runs the CLI in a child process, so the
# strict mode and traps above never leak into the caller's shell.

# pg_start [start options] [DIR]: starts a cluster and exports PGHOST, PGPORT,
# PGUSER, PGDATABASE, PG_HARNESS_DIR into the calling shell.  The cluster is
# bound to the calling shell ($$): it is removed when that shell exits, even
# by SIGKILL, unless `--owner 0` (or another PID) is given.
pg_start() {
    local out
    out=$(bash "$PGH_SELF" start --owner "$$" "$@") || return
    eval "$out"
}

# pg_stop [DIR]: stops and removes DIR (default $PG_HARNESS_DIR) and, when that
# was the exported cluster, unsets its variables.
pg_stop() {
    local dir=${1:-${PG_HARNESS_DIR:-}}
    [[ -n $dir ]] || { echo "pg_stop: no cluster" >&2; return 1; }
    bash "$PGH_SELF" stop "$dir" || return
    if [[ $dir == "${PG_HARNESS_DIR:-}" ]]; then
        unset PGHOST PGPORT PGUSER PGDATABASE PG_HARNESS_DIR PG_HARNESS_BINDIR
    fi
}

# pg_with_cluster [run options] [--] CMD...: the `run` command as a function;
# CMD may be a shell function of the caller.  Returns CMD's status.
pg_with_cluster() {
    local start_opts=() run_opts=()
    while (($#)); do
        case $1 in
        --db | --set) start_opts+=("$1" "${2:-}"); shift 2 ;;
        --seed | --logs) run_opts+=("$1" "${2:-}"); shift 2 ;;
        --) shift; break ;;
        *) break ;;
        esac
    done
    (($#)) || { echo "pg_with_cluster: missing command" >&2; return 2; }
    # The subshell keeps the cluster's variables and traps away from the caller.
    # shellcheck disable=SC2030
    (
        PG_HARNESS_DIR=""
        trap '_pgh_subshell_exit $?' EXIT
        pgh_trap_signals
        pg_start --owner "$BASHPID" "${start_opts[@]}" || exit
        _pgh_apply_run_options "${run_opts[@]}" || exit
        pgh_run_child "$@"
    )
}

_pgh_subshell_exit() { # STATUS
    trap - EXIT
    # shellcheck disable=SC2031
    [[ -z $PG_HARNESS_DIR ]] || bash "$PGH_SELF" stop "$PG_HARNESS_DIR"
    exit "$1"
}

# shellcheck disable=SC2031
_pgh_apply_run_options() {
    while (($#)); do
        case $1 in
        --seed) "$PGH_HERE/seed.sh" --scale "$2" >&2 || return ;;
        --logs) "$PGH_HERE/gen-logs.sh" --size "$2" "$PG_HARNESS_DIR/logs" >/dev/null || return ;;
        esac
        shift 2
    done
}

# pg_stop_on_exit: after pg_start in a script, makes the exported cluster go
# away on exit, Ctrl-C or TERM.  Call it once per cluster; an EXIT trap set
# before the first call still runs, after the clusters are removed.
# shellcheck disable=SC2031
pg_stop_on_exit() {
    _PGH_EXIT_DIRS+=("${PG_HARNESS_DIR:?pg_stop_on_exit: no cluster}")
    if [[ ${_PGH_EXIT_ARMED:-0} != 1 ]]; then
        eval "set -- $(trap -p EXIT)"
        _PGH_EXIT_OLD=${3:-}
        _PGH_EXIT_ARMED=1
        trap '_pgh_on_exit $?' EXIT
        trap 'exit 130' INT
        trap 'exit 143' TERM
    fi
}

_pgh_on_exit() { # STATUS
    local d
    trap - EXIT
    for d in "${_PGH_EXIT_DIRS[@]}"; do
        bash "$PGH_SELF" stop "$d" || true
    done
    eval "${_PGH_EXIT_OLD:-:}"
    exit "$1"
}

# pg_conninfo [DIR]: prints a libpq conninfo string for the cluster.
# shellcheck disable=SC2031
pg_conninfo() {
    bash "$PGH_SELF" conninfo "${1:-${PG_HARNESS_DIR:?no cluster}}"
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
    pgh_main "$@"
fi
