#!/usr/bin/env bash
# tests/harness/gen-logs.sh: writes synthetic logs of the seed application
# (Django behind gunicorn and nginx) for the logscan, logrotate and prune
# plugins' tests and benchmarks.
#
#   DIR/error.log    gunicorn and Django lines: INFO/WARNING/ERROR/CRITICAL,
#                    Python tracebacks, "Failed to ..." messages
#   DIR/access.log   nginx "combined" lines plus the request time
#   with --rotated N, also error.log.1 .. error.log.N and access.log.1 ..
#   access.log.N, as logrotate with `compress` + `delaycompress` leaves them:
#   .1 plain, .2 and older gzipped; file .K covers day K before today and has
#   that day's end as its mtime (so prune's age rules see K-day-old files).
#
# Output is the same for the same options (own random generator, times
# relative to --now).  On stdout, one line per file with what it contains, so a
# test can compare its findings against exact numbers:
#   file lines bytes ERROR CRITICAL WARNING INFO Exception Failed_to Traceback
# where each pattern column counts the lines that contain that literal string
# (bytes and counts are of the uncompressed text).
set -euo pipefail

usage() {
    cat <<'EOF'
usage: gen-logs.sh [--size SIZE] [--access-size SIZE] [--rotated N]
                   [--rotated-size SIZE] [--seed N] [--now EPOCH] DIR

  --size SIZE          error.log size (default 256K); K, M, G suffixes
  --access-size SIZE   access.log size (default: same as --size)
  --rotated N          also write N rotated generations of each (default 0)
  --rotated-size SIZE  size of each rotated file (default: same as live)
  --seed N             random seed (default 1)
  --now EPOCH          end of the newest entries (default: now)
EOF
}

die() {
    printf 'gen-logs.sh: error: %s\n' "$*" >&2
    exit 2
}

# Prints SIZE ("512", "64K", "10M", "1G") in bytes.
to_bytes() {
    local n=${1%[KkMmGg]} unit=${1##*[0-9]}
    [[ $n =~ ^[0-9]+$ && $unit =~ ^[KkMmGg]?$ ]] || die "bad size '$1'"
    case $unit in
    K | k) n=$((n * 1024)) ;;
    M | m) n=$((n * 1024 * 1024)) ;;
    G | g) n=$((n * 1024 * 1024 * 1024)) ;;
    esac
    printf '%s\n' "$n"
}

# The generator.  Park-Miller "minimal standard" random numbers stay exact in
# awk's doubles (16807 * 2^31 < 2^53) and are the same in mawk and gawk.
# Dates are formatted by hand (days-to-civil), since mawk has no strftime.
GEN_AWK='
function rnd(n) { seed = (seed * 16807) % 2147483647; return seed % n }
function pick(list, n) { return list[1 + rnd(n)] }
function civil(t,   z, era, doe, yoe, doy, mp) {
    z = int(t / 86400) + 719468
    era = int(z / 146097); doe = z - era * 146097
    yoe = int((doe - int(doe / 1460) + int(doe / 36524) - int(doe / 146096)) / 365)
    doy = doe - (365 * yoe + int(yoe / 4) - int(yoe / 100))
    mp = int((5 * doy + 2) / 153)
    D = doy - int((153 * mp + 2) / 5) + 1
    M = mp < 10 ? mp + 3 : mp - 9
    Y = yoe + era * 400 + (M <= 2)
    s = t % 86400; hh = int(s / 3600); mi = int((s % 3600) / 60); ss = s % 60
}
function stamp(t) {
    if (int(t) != last_t) {
        last_t = int(t); civil(last_t)
        iso = sprintf("%04d-%02d-%02d %02d:%02d:%02d", Y, M, D, hh, mi, ss)
        clf = sprintf("%02d/%s/%04d:%02d:%02d:%02d +0000", D, mon[M], Y, hh, mi, ss)
    }
}
function emit(line) {
    print line > out
    bytes += length(line) + 1; lines++
    if (index(line, "ERROR")) c_error++
    if (index(line, "CRITICAL")) c_critical++
    if (index(line, "WARNING")) c_warning++
    if (index(line, "INFO")) c_info++
    if (index(line, "Exception")) c_exception++
    if (index(line, "Failed to")) c_failed++
    if (index(line, "Traceback")) c_traceback++
}
function django(level, logger, msg) {
    emit(sprintf("%s,%03d %s %s %s", iso, rnd(1000), level, logger, msg))
}
function gunicorn(level, msg) {
    emit(sprintf("[%s +0000] [%d] [%s] %s", iso, 4100 + rnd(8), level, msg))
}
function traceback(kind,   i, n) {
    emit("Traceback (most recent call last):")
    n = 2 + rnd(4)
    for (i = 1; i <= n; i++) {
        emit(sprintf("  File \"%s\", line %d, in %s", pick(tb_file, 6), 20 + rnd(400), pick(tb_func, 6)))
        emit("    " pick(tb_code, 6))
    }
    emit(pick(exc, 8))
}
function error_event(   r, p) {
    r = rnd(1000); p = 1 + rnd(200000)
    if (r < 700) django("INFO", "django.server", sprintf("\"GET /patients/%d/ HTTP/1.1\" 200 %d", p, 900 + rnd(9000)))
    else if (r < 760) django("INFO", "patient_input.tasks", sprintf("Reminder email queued for patient %d", p))
    else if (r < 790) gunicorn("INFO", sprintf("Booting worker with pid: %d", 4100 + rnd(900)))
    else if (r < 850) django("WARNING", "django.request", sprintf("Not Found: /patients/%d/attachments/", p))
    else if (r < 880) django("WARNING", "django.security.DisallowedHost", "Invalid HTTP_HOST header: '\''203.0.113.9'\''. You may need to add it to ALLOWED_HOSTS.")
    else if (r < 900) django("WARNING", "patient_input.forms", sprintf("Failed to parse date_of_birth for patient MRN%08d", p))
    else if (r < 940) { django("ERROR", "django.request", sprintf("Internal Server Error: /patients/%d/", p)); traceback() }
    else if (r < 965) django("ERROR", "patient_input.tasks", sprintf("Failed to send reminder email to patient %d: SMTPServerDisconnected", p))
    else if (r < 980) { gunicorn("ERROR", "Exception in worker process"); traceback() }
    else if (r < 990) gunicorn("WARNING", sprintf("Worker with pid %d was terminated due to signal 9", 4100 + rnd(900)))
    else if (r < 996) gunicorn("CRITICAL", sprintf("WORKER TIMEOUT (pid:%d)", 4100 + rnd(900)))
    else django("CRITICAL", "patient_input.db", "Failed to connect to database after 3 retries")
}
function access_event(   r, st, path, p, i) {
    r = rnd(1000); p = 1 + rnd(200000)
    if (r < 820) st = 200; else if (r < 880) st = 302; else if (r < 930) st = 304
    else if (r < 965) st = 404; else if (r < 980) st = 403; else if (r < 994) st = 500
    else st = 502
    # Paths are split at "#", the record number (no sub(): it is pathologically
    # slow in Debian 12 mawk).
    i = 1 + rnd(8); path = path_pre[i] (i in path_post ? p path_post[i] : "")
    emit(sprintf("%s - %s [%s] \"%s %s HTTP/1.1\" %d %d \"%s\" \"%s\" %.3f",
        pick(ips, 8), rnd(4) ? "-" : pick(users, 4), clf, rnd(10) ? "GET" : "POST", path, st,
        st == 304 ? 0 : 300 + rnd(40000), rnd(3) ? "-" : "https://records.example.org/patients/",
        pick(agents, 5), (rnd(2000) + 1) / 1000))
}
BEGIN {
    split("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec", mon, " ")
    split("/srv/patient_input/venv/lib/python3.11/site-packages/django/core/handlers/exception.py|/srv/patient_input/venv/lib/python3.11/site-packages/django/core/handlers/base.py|/srv/patient_input/patient_input/views.py|/srv/patient_input/patient_input/models.py|/srv/patient_input/venv/lib/python3.11/site-packages/django/db/backends/utils.py|/srv/patient_input/patient_input/tasks.py", tb_file, "|")
    split("inner|_get_response|patient_detail|save|_execute|send_reminder", tb_func, "|")
    split("response = get_response(request)|response = wrapped_callback(request, *callback_args, **callback_kwargs)|patient = Patient.objects.get(pk=pk)|super().save(*args, **kwargs)|return self.cursor.execute(sql, params)|connection.send_messages([message])", tb_code, "|")
    split("django.db.utils.OperationalError: could not connect to server: Connection refused|patient_input.models.Patient.DoesNotExist: Patient matching query does not exist.|ValueError: invalid literal for int() with base 10: '\''abc'\''|KeyError: '\''date_of_birth'\''|Exception: Failed to render PDF export|smtplib.SMTPServerDisconnected: Connection unexpectedly closed|django.db.utils.IntegrityError: duplicate key value violates unique constraint \"patient_input_patient_mrn_key\"|TimeoutError: [Errno 110] Connection timed out", exc, "|")
    split("/patients/#/|/patients/#/edit/|/api/v1/patients/#/chart|/search/?q=#|/static/css/app.css|/accounts/login/|/reports/export/#/|/prescriptions/#/", paths, "|")
    for (i = 1; i <= 8; i++) {
        if (split(paths[i], part, "#") == 2) { path_pre[i] = part[1]; path_post[i] = part[2] }
        else path_pre[i] = paths[i]
    }
    split("10.20.1.15|10.20.1.16|10.20.4.2|172.16.0.44|172.16.3.7|192.0.2.10|198.51.100.23|203.0.113.77", ips, "|")
    split("alice|bob|dr.novak|nurse.kim", users, "|")
    split("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36|Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15|Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0|python-requests/2.31.0|kube-probe/1.28", agents, "|")
    for (i = 0; i < 3; i++) rnd(2)
    # Spread the entries evenly over [t_start, t_end): each step is the time
    # left over the number of lines still to come at the average so far.
    avg = kind == "error" ? 85 : 180
    last_t = -1
    for (t = t_start; bytes < target; ) {
        stamp(t)
        if (kind == "error") error_event(); else access_event()
        avg = bytes / lines
        t += (t_end - t) / ((target - bytes) / avg + 1)
    }
    close(out)
    printf "%s %d %d %d %d %d %d %d %d %d\n", name, lines, bytes, c_error, c_critical,
        c_warning, c_info, c_exception, c_failed, c_traceback
}'

# gen_file KIND PATH NAME BYTES SEED T_START T_END: writes one plain file and
# prints its summary line.
gen_file() {
    awk -v kind="$1" -v out="$2" -v name="$3" -v target="$4" -v seed="$5" \
        -v t_start="$6" -v t_end="$7" "$GEN_AWK" </dev/null
}

main() {
    local size=256K access_size="" rotated=0 rotated_size="" seed=1 now dir kind k
    local bytes rbytes abytes rabytes base t_end file
    now=$(date +%s)
    while (($#)); do
        case $1 in
        --size) size=${2:?}; shift 2 ;;
        --access-size) access_size=${2:?}; shift 2 ;;
        --rotated) rotated=${2:?}; shift 2 ;;
        --rotated-size) rotated_size=${2:?}; shift 2 ;;
        --seed) seed=${2:?}; shift 2 ;;
        --now) now=${2:?}; shift 2 ;;
        -h | --help) usage; exit 0 ;;
        -*) usage >&2; exit 2 ;;
        *) [[ -z ${dir:-} ]] || die "one directory only"; dir=$1; shift ;;
        esac
    done
    [[ -n ${dir:-} ]] || { usage >&2; exit 2; }
    [[ $rotated =~ ^[0-9]+$ && $seed =~ ^[1-9][0-9]*$ && $now =~ ^[0-9]+$ ]] ||
        die "--rotated, --seed and --now take whole numbers (--seed from 1)"
    bytes=$(to_bytes "$size")
    abytes=$(to_bytes "${access_size:-$size}")
    rbytes=$(to_bytes "${rotated_size:-$size}")
    rabytes=$(to_bytes "${rotated_size:-${access_size:-$size}}")
    mkdir -p -- "$dir"

    printf 'file lines bytes ERROR CRITICAL WARNING INFO Exception Failed_to Traceback\n'
    for kind in error access; do
        base=$dir/$kind.log
        # The live file holds the last day before --now.
        if [[ $kind == error ]]; then k=$bytes; else k=$abytes; fi
        gen_file "$kind" "$base" "$kind.log" "$k" "$seed" $((now - 86400)) "$now"
        touch -d "@$now" -- "$base"
        for ((k = 1; k <= rotated; k++)); do
            t_end=$((now - k * 86400))
            file=$base.$k
            gen_file "$kind" "$file" "$kind.log.$k$( ((k >= 2)) && echo .gz)" \
                "$([[ $kind == error ]] && echo "$rbytes" || echo "$rabytes")" \
                $((seed + k)) $((t_end - 86400)) "$t_end"
            if ((k >= 2)); then
                gzip -n -f -- "$file"
                file=$file.gz
            fi
            touch -d "@$t_end" -- "$file"
        done
    done
}

main "$@"
