#!/bin/bash
# The audit plugin against a throwaway cluster and real files: the seed's
# attackers flagged and nothing else; bursts, distributed guessing,
# credential stuffing, a login right after a burst and the allowlist on
# fixtures of our own, in a table whose names need quoting; the proxy and
# retention warnings; names and values that try to inject SQL; sshd's auth
# log with its rotated siblings; permission changes; and the baseline of
# files: created, changed, accepted, with a symbolic link out of the tree
# never followed.
. "$top_srcdir/tests/integration/lib.sh"
. "$top_srcdir/tests/integration/backuplib.sh"

# summary JOB: the newest run's summary.  metric JOB NAME: one metric.
summary() {
	report_json "$1" | python3 -c 'import json, sys; print(json.load(sys.stdin)["runs"][0]["summary"])'
}
metric() {
	report_json "$1" | python3 -c '
import json, sys
for m in json.load(sys.stdin)["runs"][0]["metrics"]:
    if m["name"] == sys.argv[1]:
        print("%g" % m["value"])' "$2"
}
# ip_findings JOB: "address failures" of each address at the threshold.
ip_findings() {
	findings "$1" | sed -n 's/^warning \([^ ]*\): \([0-9]*\) failed logins in .*/\1 \2/p' | sort
}
# kinds JOB WORDS: the objects of the findings whose message has WORDS.
objects_with() {
	findings "$1" | grep -F -- "$2" | sed 's/^[a-z]* \([^:]*\): .*/\1/' | sort | paste -sd' '
}
# same NAME EXPECTED GOT: a check that shows both on failure.
same() {
	if [ "$2" = "$3" ]; then
		ok "$1"
	else
		not_ok "$1" "expected: $2" "got:      $3"
	fi
}

# ---- the seed, as the runbook's audit_failed_logins sees it ----
config <<CONF
[seed-audit]
plugin = audit
CONF

ct run seed-audit
check "the seed's audit warns (its attackers are warnings) and does not fail" \
	eval 'rc_is 0 && grep -q "^warn .*seed-audit" "$out"'
# seed.sql: 203.0.113.10+j fails 5+3j times within 6 days (j = 0..4).
same "the seed's five attackers are exactly the addresses flagged, with 5, 8, 11, 14 and 17 failures" \
	"$(printf '203.0.113.10 5\n203.0.113.11 8\n203.0.113.12 11\n203.0.113.13 14\n203.0.113.14 17')" \
	"$(ip_findings seed-audit)"
same "the near-threshold addresses (4 failures) and the attackers of 8-20 days ago are in no finding" \
	"" "$(findings seed-audit | grep -F 198.51.100.)"
# Attacker j guesses names[(j+k) % 10] for k = 1..5+3j: from j = 2 on, all ten.
same "the attackers that tried all ten guessed names are credential stuffing" \
	"203.0.113.12 203.0.113.13 203.0.113.14" "$(objects_with seed-audit "credential stuffing")"
same "the seed has no burst, no distributed guessing and no login after a burst" \
	"0 0 0" "$(metric seed-audit burst_addresses) $(metric seed-audit targeted_users) $(metric seed-audit logins_after_burst)"
window_failures=$(sql "SELECT count(*) FROM patient_input_securityevent
	WHERE event_type = 'AUTH_FAILURE' AND \"timestamp\" >= now() - interval '7 days'")
same "every failed login of the window is counted" "$window_failures" "$(metric seed-audit failed_logins)"
same "the seed's permission changes of the window are each listed" \
	"$(sql "SELECT count(*) FROM patient_input_securityevent WHERE event_type = 'PERMISSION_CHANGE'
		AND \"timestamp\" >= now() - interval '7 days'")" \
	"$(findings seed-audit | grep -c '^info .*PERMISSION_CHANGE at ')"
ct report seed-audit
check "report shows the findings with their severity" \
	eval 'rc_is 0 && out_has "warning  *203.0.113.14: 17 failed logins in 7d" && out_has "5 address(es) at >= 5 failed logins"'

# ---- fixtures of our own, in a table whose names need quoting ----
sql 'CREATE SCHEMA "audit fixtures"' >/dev/null
sql 'CREATE TABLE "audit fixtures"."sec ""events""" (id serial, kind text, at timestamptz,
	"from ip" text, who text, what jsonb)' >/dev/null
fixtures() {
	sql "INSERT INTO \"audit fixtures\".$1 (kind, at, \"from ip\", who, what) $2" >/dev/null ||
		{ echo "Bail out! the fixtures of $1 could not be inserted"; exit 1; }
}
events='"sec ""events"""'
# A burst: six failures within five minutes, and a login 25 minutes after
# it, too late to be its success.
fixtures "$events" "SELECT 'AUTH_FAILURE', now() - interval '2 hours' + i * interval '1 minute',
	'192.0.2.50', 'root', '{}'::jsonb FROM generate_series(0, 5) i
	UNION ALL SELECT 'AUTH_SUCCESS', now() - interval '90 minutes', '192.0.2.50', 'root', '{}'::jsonb"
# Distributed guessing: alice fails once from each of ten addresses.
fixtures "$events" "SELECT 'AUTH_FAILURE', now() - interval '1 day' * (i % 6) - interval '3 hours',
	'198.18.1.' || i, 'alice', '{}'::jsonb FROM generate_series(1, 10) i"
# Credential stuffing: one address, ten user names, three hours apart.
fixtures "$events" "SELECT 'AUTH_FAILURE', now() - interval '3 hours' * i, '192.0.2.60',
	'user' || i, '{}'::jsonb FROM generate_series(1, 10) i"
# Five failures in 200 seconds, then carol logs in from the same address.
fixtures "$events" "SELECT 'AUTH_FAILURE', now() - interval '1 hour' + i * interval '50 seconds',
	'192.0.2.70', 'carol', '{}'::jsonb FROM generate_series(0, 4) i
	UNION ALL SELECT 'AUTH_SUCCESS', now() - interval '55 minutes', '192.0.2.70', 'carol', '{}'::jsonb"
# The monitoring host: twenty failures in twenty minutes.
fixtures "$events" "SELECT 'AUTH_FAILURE', now() - interval '5 hours' + i * interval '1 minute',
	'192.0.2.80', 'nagios', '{}'::jsonb FROM generate_series(1, 20) i"
# Not an address; permission changes (three in the window, one older); an
# old event, so that the table reaches back beyond the window.
fixtures "$events" "SELECT 'AUTH_FAILURE', now() - interval '1 hour', 'unknown', 'x', '{}'::jsonb
	UNION ALL SELECT 'PERMISSION_CHANGE', now() - interval '1 day' * i, '192.0.2.90', 'admin',
		jsonb_build_object('granted', 'export_patient', 'n', i) FROM generate_series(1, 3) i
	UNION ALL SELECT 'PERMISSION_CHANGE', now() - interval '40 days', '192.0.2.90', 'admin', '{}'::jsonb
	UNION ALL SELECT 'LOGOUT', now() - interval '60 days', '192.0.2.91', 'dave', '{}'::jsonb"

fixture_job() {
	printf '[%s]\nplugin = audit\nevent_schema = audit fixtures\nevent_table = %s\n' "$1" "$2"
	printf 'type_column = kind\ntime_column = at\nip_column = from ip\nuser_column = who\n'
	printf 'details_column = what\n'
}
config <<CONF
[seed-audit]
plugin = audit

$(fixture_job fixtures 'sec "events"')

$(fixture_job allowed 'sec "events"')
allow = 192.0.2.80, 198.18.1.0/28
fail_on = never
events_window = 60d

$(fixture_job inject-value 'sec "events"')
failure_events = AUTH_FAILURE'); DELETE FROM patient_input_securityevent; --
success_events = x' OR 1=1 --

[inject-table]
plugin = audit
event_table = patient_input_securityevent"; DROP TABLE patient_input_auditlog; --

[inject-column]
plugin = audit
type_column = event_type" FROM patient_input_securityevent; DROP TABLE patient_input_auditlog; --

[missing-column]
plugin = audit
ip_column = ipaddr

[not-a-time]
plugin = audit
time_column = username
CONF

ct run fixtures
check "a login right after a burst is critical: the job fails (fail_on = critical)" \
	eval 'rc_is 1 && grep -q "^failed .*fixtures .*1 critical" "$out"'
same "each address at the threshold is flagged, the monitoring host too" \
	"$(printf '192.0.2.50 6\n192.0.2.60 10\n192.0.2.70 5\n192.0.2.80 20')" "$(ip_findings fixtures)"
same "bursts: the three addresses with five failures within ten minutes" \
	"192.0.2.50 192.0.2.70 192.0.2.80" "$(objects_with fixtures "burst: ")"
check "a burst finding counts the most failures within the window" \
	eval 'findings fixtures | grep -q "^warning 192.0.2.80: burst: 11 failed logins within 10min"'
same "credential stuffing: the address that tried ten user names" \
	"192.0.2.60" "$(objects_with fixtures "credential stuffing")"
same "distributed guessing: alice, failing once from each of ten addresses" \
	"alice" "$(objects_with fixtures "distributed guessing")"
check "the login after the burst names the account, critical" \
	eval 'findings fixtures | grep -q "^critical 192.0.2.70: login as .carol. at .* right after 5 failed logins"'
same "a login long after a burst is no finding" "192.0.2.70" "$(objects_with fixtures "right after")"
same "a value that is not an address counts as a failure, under no address" \
	"52 14" "$(metric fixtures failed_logins) $(metric fixtures failing_addresses)"
same "the permission changes of the window are listed, with their details" \
	"3" "$(findings fixtures | grep -c '^info admin: PERMISSION_CHANGE at .* from 192.0.2.90: {"n": [123], "granted": "export_patient"}$')"
same "no proxy or retention warning where there is none" "" \
	"$(findings fixtures | grep -E 'proxy|oldest event|no events')"

ct run allowed
check "with fail_on = never a critical finding makes the job warn" \
	eval 'rc_is 0 && grep -q "^warn .*allowed" "$out"'
same "allowlisted addresses and ranges are left out of every count" \
	"$(printf '192.0.2.50 6\n192.0.2.60 10\n192.0.2.70 5')" "$(ip_findings allowed)"
same "the allowlisted failures are counted apart" \
	"30 22" "$(metric allowed failed_logins_allowed) $(metric allowed failed_logins)"
same "no distributed guessing once alice's addresses are allowed" \
	"" "$(objects_with allowed "distributed guessing")"
same "events_window lists the older permission change too" \
	"4" "$(metric allowed permission_changes)"

# ---- names and values that try to inject SQL ----
before=$(sql "SELECT (SELECT count(*) FROM patient_input_securityevent) || ' ' ||
	(SELECT count(*) FROM patient_input_auditlog)")
ct run inject-value
check "event types are values: an injection in them matches nothing and runs nothing" \
	eval 'rc_is 0 && [ "$(metric inject-value failed_logins)" = 0 ]'
ct run inject-table
check "a table name with an injection is a missing table: the job fails naming it" \
	eval 'rc_is 1 && out_has "event_table: no table \"patient_input_securityevent\"; DROP TABLE patient_input_auditlog; --\" in the search path"'
ct run inject-column
check "a column name with an injection is a missing column: the job fails naming it" \
	eval 'rc_is 1 && out_has "type_column: table patient_input_securityevent has no column"'
same "nothing was deleted or dropped by any of them" "$before" \
	"$(sql "SELECT (SELECT count(*) FROM patient_input_securityevent) || ' ' ||
		(SELECT count(*) FROM patient_input_auditlog)")"
ct run missing-column
check "a missing column fails the job naming the option and the column" \
	eval 'rc_is 1 && out_has "ip_column: table patient_input_securityevent has no column \"ipaddr\""'
ct run not-a-time
check "a time column that holds no time fails the job" \
	eval 'rc_is 1 && out_has "time_column: column \"username\" of patient_input_securityevent is character varying"'

# ---- can the counts be trusted: the proxy, the retention ----
sql 'CREATE TABLE "audit fixtures".proxied (LIKE "audit fixtures"."sec ""events""" INCLUDING DEFAULTS)' >/dev/null
sql 'CREATE TABLE "audit fixtures".young (LIKE "audit fixtures"."sec ""events""" INCLUDING DEFAULTS)' >/dev/null
sql 'CREATE TABLE "audit fixtures".empty (LIKE "audit fixtures"."sec ""events""" INCLUDING DEFAULTS)' >/dev/null
# The application logs its proxy: 50 of 60 events come from 127.0.0.1.
fixtures proxied "SELECT CASE WHEN i % 5 = 0 THEN 'AUTH_FAILURE' ELSE 'AUTH_SUCCESS' END,
	now() - interval '1 hour' * i, '127.0.0.1', 'u' || i % 7, '{}'::jsonb FROM generate_series(1, 50) i
	UNION ALL SELECT 'AUTH_SUCCESS', now() - interval '1 hour' * i, '192.0.2.' || i, 'v', '{}'::jsonb
		FROM generate_series(1, 10) i
	UNION ALL SELECT 'LOGOUT', now() - interval '30 days', '192.0.2.1', 'v', '{}'::jsonb"
# A young table, and a public proxy: 30 of 40 events from 192.0.2.200, 24 of
# 34 within a day.
fixtures young "SELECT 'AUTH_SUCCESS', now() - interval '1 hour' * i + interval '30 minutes',
	'192.0.2.200', 'w', '{}'::jsonb FROM generate_series(1, 30) i
	UNION ALL SELECT 'AUTH_FAILURE', now() - interval '1 hour' * i + interval '30 minutes',
		'192.0.2.' || i, 'w', '{}'::jsonb FROM generate_series(1, 10) i"
config <<CONF
$(fixture_job proxied proxied)

$(fixture_job proxied-allowed proxied)
allow = 127.0.0.1

$(fixture_job young young)

$(fixture_job young-proxy young)
proxies = 192.0.2.200
window = 1d

$(fixture_job empty empty)
CONF
ct run proxied
check "one private address with most events is a warning: the application logs its proxy" \
	eval 'rc_is 0 && findings proxied | grep -q "^warning 127.0.0.1: 50 of 60 events (83%) in 7d come from this private or proxy address"'
ct run proxied-allowed
check "allowlisting the proxy hides its failures, not the proxy warning" \
	eval 'findings proxied-allowed | grep -q "^warning 127.0.0.1: 50 of 60 events" && [ "$(metric proxied-allowed failed_logins)" = 0 ]'
ct run young
check "a public address with most events is no proxy warning unless it is listed" \
	eval '! findings young | grep -q "proxy address"'
check "events that reach back less than the window are a warning (a shorter retention)" \
	eval 'findings young | grep -q "^warning table young: the oldest event is from .*, 29h ago, inside the 7d window"'
ct run young-proxy
check "a listed proxy with most events is the proxy warning; within a 1d window no retention one" \
	eval 'findings young-proxy | grep -q "^warning 192.0.2.200: 24 of 34 events (70%) in 1d" &&
		! findings young-proxy | grep -q "oldest event"'
ct run empty
check "a table without a single event is a warning" \
	eval 'rc_is 0 && findings empty | grep -q "^warning table empty: no events at all"'

# ---- sshd's auth log and its rotated siblings ----
mkdir -p "$T/log"
python3 - "$T/log" <<'PY'
import gzip, os, sys, time
d = sys.argv[1]; now = int(time.time())
def bsd(t): return time.strftime("%b %e %H:%M:%S", time.localtime(t))
def iso(t): return time.strftime("%Y-%m-%dT%H:%M:%S.000123+00:00", time.gmtime(t))
def write(name, lines, mtime, gz=False):
    path = os.path.join(d, name)
    data = "".join(l + "\n" for l in lines)
    if gz:
        with gzip.open(path, "wt") as f: f.write(data)
    else:
        open(path, "w").write(data)
    os.utime(path, (mtime, mtime))
t = now - 3600
log = ["%s web1 sshd[%d]: Failed password for root from 192.0.2.9 port %d ssh2" % (bsd(t + 20 * i), 100 + i, 5000 + i) for i in range(6)]
log += ["%s web1 sshd[200]: Accepted password for root from 192.0.2.9 port 6000 ssh2" % bsd(t + 150),
        "%s web1 sshd[300]: Invalid user john smith from 2001:db8::7 port 4242" % iso(t + 200),
        "%s web1 sshd[300]: Failed password for invalid user john smith from 2001:db8::7 port 4242 ssh2" % iso(t + 201),
        "%s web1 sshd[300]: Failed password for invalid user john smith from 2001:db8::7 port 4242 ssh2" % iso(t + 205),
        "%s web1 sshd[301]: message repeated 3 times: [ Failed password for admin from ::ffff:198.51.100.77 port 22 ssh2]" % bsd(t + 300),
        "%s web1 CRON[1]: pam_unix(cron:session): session opened for user root" % bsd(t + 301),
        "%s web1 sshd[302]: pam_unix(sshd:auth): authentication failure; rhost=192.0.2.9 user=root" % bsd(t + 302)]
write("auth.log", log, now)
write("auth.log.1", ["%s web1 sshd[400]: Invalid user x from 203.0.113.200 port 2" % bsd(now - 86400)] +
      ["%s web1 sshd[401]: Failed password for root from 192.0.2.9 port 3 ssh2" % bsd(now - 86400)] * 2, now - 86400)
write("auth.log.2.gz", ["%s web1 sshd[402]: Failed password for root from 192.0.2.9 port 4 ssh2" % bsd(now - 2 * 86400)] * 3,
      now - 2 * 86400, gz=True)
write("auth.log.3.gz", ["%s web1 sshd[403]: Failed password for guest from 203.0.113.99 port 5 ssh2" % bsd(now - 10 * 86400)] * 50,
      now - 10 * 86400, gz=True)
PY
config <<CONF
[ssh]
plugin = audit
database = no
auth_log = $T/log/auth.log

[ssh-12d]
plugin = audit
database = no
auth_log = $T/log/auth.log
window = 12d

[ssh-missing]
plugin = audit
database = no
auth_log = $T/log/nothing.log
CONF
ct run ssh
check "sshd's log: a login right after a burst fails the job" \
	eval 'rc_is 1 && findings ssh | grep -q "^critical 192.0.2.9: login as .root. .* right after 6 failed logins"'
same "sshd's log: 192.0.2.9's failures over the log, .1 and .2.gz are counted, 11 in all" \
	"192.0.2.9 11" "$(ip_findings ssh)"
same "sshd's log: every failure counted once (IPv6, names with spaces, repeats; Invalid user then Failed password is one)" \
	"17 4 3" "$(metric ssh sshd_failed_logins) $(metric ssh sshd_failing_addresses) $(metric ssh sshd_log_files)"
same "sshd's log: the burst of six" "192.0.2.9" "$(objects_with ssh "burst: 6 failed logins within 10min")"
same "sshd's log: a sibling last written before the window is not read" "" "$(findings ssh | grep 203.0.113.99)"
ct run ssh-12d
same "sshd's log: with a longer window the older .3.gz is read too" "203.0.113.99 50" \
	"$(ip_findings ssh-12d | grep 203.0.113.99)"
ct run ssh-missing
check "a missing auth log fails the job naming it" \
	eval 'rc_is 1 && out_has "auth_log: $T/log/nothing.log: No such file or directory"'

# ---- the baseline of files ----
mkdir -p "$T/etc/nginx/conf.d" "$T/etc/nginx/sites-available" "$T/etc/nginx/sites-enabled" "$T/outside"
echo 'worker_processes 2;' >"$T/etc/nginx/nginx.conf"
echo 'server {}' >"$T/etc/nginx/sites-available/app"
ln -s ../sites-available/app "$T/etc/nginx/sites-enabled/app"
echo 'secret' >"$T/outside/secret"
ln -s "$T/outside/secret" "$T/etc/nginx/secret-link"
echo 'DEBUG = False' >"$T/etc/settings.py"
chmod 644 "$T/etc/settings.py"
baseline_job() {
	printf '[%s]\nplugin = audit\ndatabase = no\nbaseline_paths = %s/etc/nginx, %s/etc/settings.py\n' \
		"$1" "$T" "$T"
	printf 'baseline_exclude = *.swp\n'
}
config <<<"$(baseline_job files)"
ct run files
check "the first run creates the baseline and is ok" \
	eval 'rc_is 0 && grep -q "^ok .*files .*baseline created: 9 entries, state [0-9a-f]\{16\}" "$out"'
check "the baseline is private to the job (0600 in its state folder)" \
	eval '[ "$(stat -c %a "$T/state/jobs/files/baseline.json")" = 600 ]'
ct run files
check "an unchanged tree: no changes" eval 'rc_is 0 && grep -q "baseline: no changes in 9 entries" "$out"'

echo 'worker_processes 4;' >"$T/etc/nginx/nginx.conf"
chmod 666 "$T/etc/settings.py"
echo 'listen 8080;' >"$T/etc/nginx/conf.d/new.conf"
echo 'swap' >"$T/etc/nginx/.nginx.conf.swp"
rm "$T/etc/nginx/sites-available/app"
echo 'changed too' >"$T/outside/secret"
ct run files
check "changes make the job warn, and the summary says how to accept them" \
	eval 'rc_is 0 && grep -q "^warn .*baseline: 2 changed, 1 added, 1 removed in 9 entries; after review, accept this state with baseline_accept = [0-9a-f]\{16\}" "$out"'
same "exactly the changed, added and removed files are findings" \
	"$(printf '%s\n' "warning $T/etc/nginx/conf.d/new.conf: added" "warning $T/etc/nginx/nginx.conf: changed" \
		"warning $T/etc/nginx/sites-available/app: removed" "warning $T/etc/settings.py: changed")" \
	"$(findings files | sed 's/ since the baseline.*//' | sort)"
check "a changed file says what changed: content, or mode" \
	eval 'findings files | grep -q "nginx.conf: changed since .*: content sha256 [0-9a-f]\{12\}... -> [0-9a-f]\{12\}...$" &&
		findings files | grep -q "settings.py: changed since .*: mode 0644 -> 0666$"'
same "a symbolic link out of the tree is not followed: its target's change is no finding" \
	"" "$(findings files | grep -e secret -e outside)"
accept=$(summary files | sed -n 's/.*baseline_accept = \([0-9a-f]*\).*/\1/p')
ct run files
check "until accepted, the changes are reported on every run" \
	eval 'rc_is 0 && grep -q "2 changed, 1 added, 1 removed" "$out"'

config <<<"$(baseline_job files)
baseline_accept = $accept"
ct run files
check "baseline_accept naming the reviewed state makes it the baseline" \
	eval 'rc_is 0 && grep -q "^ok .*baseline accepted: 9 entries, state $accept" "$out" &&
		findings files | grep -q "^info baseline: accepted the state $accept named by baseline_accept: 2 changed, 1 added, 1 removed"'
ct run files
check "left in the job, baseline_accept accepts nothing more: no changes now" \
	eval 'rc_is 0 && grep -q "baseline: no changes in 9 entries (state $accept)" "$out"'
ln -sfn /etc/shadow "$T/etc/nginx/secret-link"
ct run files
check "a link pointed elsewhere is a change, still reported with the old accept left in" \
	eval 'rc_is 0 && findings files | grep -q "secret-link: changed since .*: target $T/outside/secret -> /etc/shadow$" &&
		! findings files | grep -q "names neither"'

config <<<"$(baseline_job files)
baseline_accept = 00000000000000000000"
ct run files
check "baseline_accept naming neither the baseline nor the current state is a warning" \
	eval 'rc_is 0 && findings files | grep -q "^warning baseline: baseline_accept = 00000000000000000000 names neither the baseline"'

config <<<"$(baseline_job files)

$(baseline_job dry)"
ct run --dry-run dry
check "a dry run reports the baseline it would make and writes none" \
	eval 'rc_is 0 && findings dry | grep -q "would be created (dry run)" && [ ! -e "$T/state/jobs/dry/baseline.json" ]'

printf 'not json' >"$T/state/jobs/files/baseline.json"
ct run files
check "a damaged baseline fails the job and stays as it is" \
	eval 'rc_is 1 && out_has "baseline.json is damaged" && [ "$(cat "$T/state/jobs/files/baseline.json")" = "not json" ]'

# ---- the shipped jobs and the documentation ----
awk '/^\[/ { keep = ($0 == "[failed-logins]") } keep' "$top_srcdir/conf.d/10-daily.ini" >"$T/shipped.ini"
config <"$T/shipped.ini"
ct run failed-logins
same "the shipped daily failed-login job flags the seed's five attackers" \
	"203.0.113.10 203.0.113.11 203.0.113.12 203.0.113.13 203.0.113.14" \
	"$(ip_findings failed-logins | cut -d' ' -f1 | paste -sd' ')"

ct describe audit
undocumented=$(sed -n '/^Options:/,/^Keys every job/s/^  \([a-z_][a-z_]*\)  .*/\1/p' "$out" | while read -r key; do
	grep -q "\`$key\`" "$top_srcdir/docs/audit.md" || echo "$key"
done)
check "every option of describe audit is in docs/audit.md" \
	eval 'rc_is 0 && [ -z "$undocumented" ] || { echo "# undocumented: $undocumented"; false; }'

done_testing
