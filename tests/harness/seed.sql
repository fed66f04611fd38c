-- tests/harness/seed.sql: fills the tables of schema.sql with generated rows.
-- Run through seed.sh, which sets the row counts as psql variables:
--   users patients audit sessions events attackers   row counts
--   now                  reference time (default: the transaction's start)
--   notes_len session_len   average text widths (bytes) of patient notes and
--                        session payloads; the bench size is tuned with them
--   defer_ddl            true: drop the tables' indexes and constraints before
--                        loading and rebuild them after (several times faster
--                        than maintaining them row by row; for fresh tables)
-- Every row comes from generate_series on the server, so a million rows cost
-- one statement.  Values derive from hashint8(row number), so a given set of
-- parameters always produces the same data, apart from times, which are
-- relative to `now`.
--
-- Spreads that tests rely on (seed.sh prints the resulting counts):
--   * audit log: evenly spaced over the 180 days before `now`, ids rising with
--     time: a 90-day retention deletes just under half;
--   * sessions: expire_date evenly spaced from now-14d to now+14d: half expired;
--   * security events: background spread over 180 days in which no IP has
--     more than 3 AUTH_FAILUREs in all; on top of that, fixed fixtures:
--       `attackers` IPs 203.0.113.10, .11, ... with 5, 8, 11, ... AUTH_FAILUREs
--         within the last 6 days (the ones a 7-day, >=5 audit must report),
--       198.51.100.1-3 with 4 recent failures each (just under the threshold),
--       198.51.100.101-103 with 12 failures each 8-20 days ago (outside the
--         window).

\set ON_ERROR_STOP on
\if :{?users}
\else
\set users 20
\endif
\if :{?patients}
\else
\set patients 500
\endif
\if :{?audit}
\else
\set audit 3000
\endif
\if :{?sessions}
\else
\set sessions 1000
\endif
\if :{?events}
\else
\set events 2000
\endif
\if :{?attackers}
\else
\set attackers 5
\endif
\if :{?now}
\else
\set now now
\endif
\if :{?defer_ddl}
\else
\set defer_ddl false
\endif
\if :{?notes_len}
\else
\set notes_len 120
\endif
\if :{?session_len}
\else
\set session_len 48
\endif

SELECT :'now'::timestamptz AS t0 \gset
\set seed_tables '{auth_user,django_migrations,django_session,patient_input_patient,patient_input_auditlog,patient_input_securityevent}'

\if :defer_ddl
-- Remember every index and constraint of the seeded tables, then drop them:
-- foreign keys first, since they depend on the referenced keys.
CREATE TEMP TABLE seed_deferred_ddl AS
SELECT CASE c.contype WHEN 'p' THEN 1 WHEN 'u' THEN 2 ELSE 4 END AS step,
       format('ALTER TABLE %s ADD CONSTRAINT %I %s', c.conrelid::regclass, c.conname,
              pg_get_constraintdef(c.oid)) AS create_ddl,
       format('ALTER TABLE %s DROP CONSTRAINT %I', c.conrelid::regclass, c.conname) AS drop_ddl
  FROM pg_constraint AS c
 WHERE c.contype IN ('p', 'u', 'f') AND c.conrelid = ANY (:'seed_tables'::regclass[])
UNION ALL
SELECT 3, pg_get_indexdef(i.indexrelid), format('DROP INDEX %s', i.indexrelid::regclass)
  FROM pg_index AS i
 WHERE i.indrelid = ANY (:'seed_tables'::regclass[])
   AND NOT EXISTS (SELECT 1 FROM pg_constraint AS c WHERE c.conindid = i.indexrelid);
SELECT drop_ddl FROM seed_deferred_ddl ORDER BY step DESC \gexec
\endif

-- Word lists, as array literals so that each is a constant in the plans.
\set first_names '{Anna,Ben,Chloe,David,Elena,Farid,Grace,Hiroshi,Ines,James,Kwame,Lena,Mateo,Nadia,Oscar,Priya,Quentin,Rosa,Samuel,Tamar,Umar,Vera,Wei,Ximena,Yusuf,Zoe,Amina,Lars,Olga,Mary}'
\set last_names '{Smith,Johnson,Garcia,Nguyen,Okafor,Kowalski,Yamamoto,Novak,Haddad,Silva,Petrov,Jensen,Mensah,Brown,Martin,Rossi,Muller,Dubois,Kim,Chen,Patel,Lopez,Andersen,Walsh,Moreau,Ivanova,Tanaka,Costa,Fischer,Ali}'
\set streets '{Oak,Maple,Cedar,Pine,Elm,Lake,Hill,Park,Main,River,Church,Mill,Station,Harbour,Orchard}'
\set street_kinds '{Street,Avenue,Road,Lane,Drive,Court,Way}'
\set cities '{Springfield,Riverton,Lakeside,Fairview,Greenville,Kingston,Ashford,Milton,Bristol,Dover,Salem,Franklin}'
\set phrases '{"Patient reports mild headache since Monday.","Blood pressure within normal range.","Allergic to penicillin; documented in chart.","Follow-up appointment in two weeks.","Prescribed ibuprofen 400 mg as needed.","No known drug allergies.","Referred to cardiology for further assessment.","Lab results pending, call patient when available.","Discussed diet and exercise plan.","Vaccination record updated.","Complains of lower back pain after lifting.","Patient prefers morning appointments.","Insurance details verified at reception.","Family history of type 2 diabetes.","Smoker, counselled on cessation options.","Wound healing well, sutures removed.","Requested copy of records for new provider.","Interpreter needed: Portuguese.","Sleep quality improved since last visit.","Medication adherence reviewed with caregiver."}'
\set agents '{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36","Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.2 Safari/605.1.15","Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0","Mozilla/5.0 (iPad; CPU OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148","python-requests/2.31.0"}'
\set guesses '{admin,root,administrator,test,guest,user,info,support,postgres,oracle}'
\set permissions '{patient_input.view_patient,patient_input.change_patient,patient_input.delete_patient,patient_input.export_patient,auth.change_user}'

-- h(g, salt): a non-negative pseudo-random number from row number g; a
-- different salt gives an independent-looking stream.  Both helpers are
-- inlined into the statements.
CREATE FUNCTION pg_temp.h(g bigint, salt int) RETURNS bigint
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT hashint8(g * 64 + salt)::bigint & 2147483647 $$;
CREATE FUNCTION pg_temp.pick(words text[], r bigint) RETURNS text
    LANGUAGE sql IMMUTABLE PARALLEL SAFE
    AS $$ SELECT words[1 + (r % cardinality(words))::int] $$;

INSERT INTO django_migrations (app, name, applied)
SELECT split_part(p, ':', 1), split_part(p, ':', 2),
       :'t0'::timestamptz - interval '400 days' + n * interval '1 minute'
  FROM unnest('{contenttypes:0001_initial,auth:0001_initial,auth:0012_alter_user_first_name_max_length,sessions:0001_initial,patient_input:0001_initial,patient_input:0002_auditlog,patient_input:0003_securityevent}'::text[])
       WITH ORDINALITY AS x(p, n);

-- Users: user 1 is `admin`, users 2-3 staff, every 17th inactive.
INSERT INTO auth_user (id, password, last_login, is_superuser, username,
                       first_name, last_name, email, is_staff, is_active, date_joined)
SELECT g,
       'pbkdf2_sha256$600000$' || left(md5('salt' || g), 22) || '$'
           || encode(sha256(int8send(g)), 'base64'),
       :'t0'::timestamptz - (pg_temp.h(g, 1) % 604800) * interval '1 second',
       g = 1,
       CASE WHEN g = 1 THEN 'admin' ELSE lower(fn) || '.' || lower(ln) || g END,
       fn, ln,
       lower(fn) || '.' || lower(ln) || g || '@clinic.example.org',
       g <= 3, g % 17 <> 0,
       :'t0'::timestamptz - (400 + pg_temp.h(g, 2) % 1000) * interval '1 day'
  FROM (SELECT g, pg_temp.pick(:'first_names', pg_temp.h(g, 3)) AS fn,
               pg_temp.pick(:'last_names', pg_temp.h(g, 4)) AS ln
          FROM generate_series(1, :users) AS g) AS s;
SELECT setval(pg_get_serial_sequence('auth_user', 'id'), :users);

-- Patients: created over the last five years, notes of about notes_len bytes.
INSERT INTO patient_input_patient (mrn, first_name, last_name, date_of_birth, sex,
        email, phone, address, city, postal_code, emergency_contact, notes,
        created_by_id, created_at, updated_at)
SELECT 'MRN' || lpad(g::text, 8, '0'),
       fn, ln,
       date '1930-01-01' + (pg_temp.h(g, 5) % 33000)::int,
       CASE WHEN pg_temp.h(g, 6) % 2 = 0 THEN 'F' ELSE 'M' END,
       lower(fn) || '.' || lower(ln) || (g % 997) || '@mail.example.com',
       '+1-555-' || lpad((pg_temp.h(g, 7) % 10000000)::text, 7, '0'),
       (1 + pg_temp.h(g, 8) % 9999) || ' ' || pg_temp.pick(:'streets', pg_temp.h(g, 9))
           || ' ' || pg_temp.pick(:'street_kinds', pg_temp.h(g, 10)),
       pg_temp.pick(:'cities', pg_temp.h(g, 11)),
       lpad((pg_temp.h(g, 12) % 100000)::text, 5, '0'),
       pg_temp.pick(:'first_names', pg_temp.h(g, 13)) || ' ' || ln || ', +1-555-'
           || lpad((pg_temp.h(g, 14) % 10000000)::text, 7, '0'),
       left(repeat(pg_temp.pick(:'phrases', pg_temp.h(g, 15)) || ' '
                   || pg_temp.pick(:'phrases', pg_temp.h(g, 16)) || ' '
                   || pg_temp.pick(:'phrases', pg_temp.h(g, 17)) || ' ',
                   2 + :notes_len / 40),
            (:notes_len / 2 + pg_temp.h(g, 18) % (:notes_len + 1))::int),
       1 + pg_temp.h(g, 19) % :users,
       created,
       least(created + (pg_temp.h(g, 20) % 400) * interval '1 day', :'t0'::timestamptz)
  FROM (SELECT g, pg_temp.pick(:'first_names', pg_temp.h(g, 21)) AS fn,
               pg_temp.pick(:'last_names', pg_temp.h(g, 22)) AS ln,
               :'t0'::timestamptz - (pg_temp.h(g, 23) % (1825 * 86400)) * interval '1 second'
                   AS created
          FROM generate_series(1, :patients) AS g) AS s;

-- Audit log: row g at now - 180 days * (audit - g) / audit.
INSERT INTO patient_input_auditlog ("timestamp", user_id, action, object_type,
                                    object_id, changes, ip_address)
SELECT ts, 1 + pg_temp.h(g, 24) % :users, action, object_type, object_id,
       CASE action
       WHEN 'VIEW' THEN jsonb_build_object('path', '/' || object_type || 's/' || object_id || '/')
       WHEN 'UPDATE' THEN CASE WHEN pg_temp.h(g, 25) % 2 = 0
            THEN jsonb_build_object('phone', jsonb_build_array(
                 '+1-555-' || lpad((pg_temp.h(g, 26) % 10000000)::text, 7, '0'),
                 '+1-555-' || lpad((pg_temp.h(g, 27) % 10000000)::text, 7, '0')))
            ELSE jsonb_build_object('notes', jsonb_build_array(
                 pg_temp.pick(:'phrases', pg_temp.h(g, 27)),
                 pg_temp.pick(:'phrases', pg_temp.h(g, 28))))
            END
       WHEN 'CREATE' THEN jsonb_build_object('mrn', 'MRN' || lpad(object_id, 8, '0'),
            'first_name', pg_temp.pick(:'first_names', pg_temp.h(g, 29)),
            'last_name', pg_temp.pick(:'last_names', pg_temp.h(g, 30)))
       WHEN 'DELETE' THEN jsonb_build_object('reason', 'duplicate record')
       WHEN 'EXPORT' THEN jsonb_build_object('format', 'pdf', 'records', 1 + pg_temp.h(g, 31) % 500)
       ELSE jsonb_build_object('query', pg_temp.pick(:'last_names', pg_temp.h(g, 32)),
                               'results', pg_temp.h(g, 33) % 40)
       END,
       ('10.' || pg_temp.h(g, 34) % 4 || '.' || pg_temp.h(g, 35) % 256 || '.'
            || 1 + pg_temp.h(g, 36) % 254)::inet
  FROM (SELECT g,
               :'t0'::timestamptz - (180 * 86400.0 * (:audit - g) / :audit) * interval '1 second'
                   AS ts,
               CASE WHEN r < 55 THEN 'VIEW' WHEN r < 75 THEN 'UPDATE' WHEN r < 87 THEN 'CREATE'
                    WHEN r < 90 THEN 'DELETE' WHEN r < 95 THEN 'EXPORT' ELSE 'SEARCH' END AS action,
               CASE WHEN pg_temp.h(g, 37) % 10 < 8 THEN 'patient'
                    WHEN pg_temp.h(g, 37) % 10 = 8 THEN 'appointment'
                    ELSE 'prescription' END AS object_type,
               (1 + pg_temp.h(g, 38) % greatest(:patients, 1))::text AS object_id
          FROM (SELECT g, pg_temp.h(g, 39) % 100 AS r
                  FROM generate_series(1, :audit) AS g OFFSET 0) AS r) AS s;

-- Sessions: expire_date evenly spaced over now-14d .. now+14d.
INSERT INTO django_session (session_key, session_data, expire_date)
SELECT md5('session:' || g),
       '.eJ' || left(repeat(translate(encode(sha256(int8send(g)), 'base64'), '+/=', '-_'),
                            2 + :session_len / 43),
                     (:session_len / 2 + pg_temp.h(g, 40) % (:session_len + 1))::int)
           || ':1r' || to_hex(pg_temp.h(g, 41)) || ':'
           || translate(encode(sha256(int8send(-g)), 'base64'), '+/=', '-_'),
       :'t0'::timestamptz - interval '14 days'
           + (28 * 86400.0 * (g - 1) / :sessions) * interval '1 second'
  FROM generate_series(1, :sessions) AS g;

-- Security events, fixtures first so their number is known.
CREATE TEMP TABLE seed_fixture_event AS
SELECT 'AUTH_FAILURE'::varchar(32) AS event_type,
       :'t0'::timestamptz - interval '6 days' * k / (5 + 3 * j + 1) - j * interval '1 minute'
           AS ts,
       ('203.0.113.' || 10 + j)::inet AS ip,
       pg_temp.pick(:'guesses', j + k) AS username
  FROM generate_series(0, least(:attackers, 240) - 1) AS j,
       LATERAL generate_series(1, 5 + 3 * j) AS k
UNION ALL
SELECT 'AUTH_FAILURE', :'t0'::timestamptz - interval '6 days' * k / 5 - j * interval '1 minute',
       ('198.51.100.' || j)::inet, pg_temp.pick(:'guesses', j + k)
  FROM generate_series(1, 3) AS j, generate_series(1, 4) AS k
UNION ALL
SELECT 'AUTH_FAILURE', :'t0'::timestamptz - interval '8 days' - interval '1 day' * k
           - j * interval '1 minute',
       ('198.51.100.' || 100 + j)::inet, pg_temp.pick(:'guesses', j + k)
  FROM generate_series(1, 3) AS j, generate_series(1, 12) AS k;

SELECT greatest(:events - count(*), 0) AS background_events FROM seed_fixture_event \gset

-- Background: AUTH_FAILUREs come from 10.x.y.z addresses shared by at most
-- three consecutive rows, everything else from a pool of office addresses.
INSERT INTO patient_input_securityevent (event_type, "timestamp", ip_address,
                                         username, user_id, details)
SELECT event_type, ts,
       CASE WHEN event_type = 'AUTH_FAILURE'
            THEN ('10.' || (g / 3 >> 16) % 256 || '.' || (g / 3 >> 8) % 256 || '.' || (g / 3) % 256)::inet
            ELSE ('172.16.' || pg_temp.h(g, 42) % 4 || '.' || 1 + pg_temp.h(g, 43) % 250)::inet
       END,
       CASE WHEN event_type <> 'AUTH_FAILURE' THEN u.username
            WHEN pg_temp.h(g, 44) % 3 = 0 THEN u.username
            WHEN pg_temp.h(g, 44) % 3 = 1 THEN u.username || 'x'
            ELSE pg_temp.pick(:'guesses', pg_temp.h(g, 45))
       END,
       CASE WHEN event_type = 'AUTH_FAILURE' THEN NULL ELSE u.id END,
       CASE event_type
       WHEN 'PERMISSION_CHANGE' THEN jsonb_build_object('target_user', u.username,
            'permission', pg_temp.pick(:'permissions', pg_temp.h(g, 46)),
            'granted', pg_temp.h(g, 47) % 2 = 0, 'changed_by', 'admin')
       WHEN 'SYSTEM_CHANGE' THEN jsonb_build_object('setting', 'SESSION_COOKIE_AGE',
            'old', 1209600, 'new', 28800, 'changed_by', 'admin')
       WHEN 'ACCOUNT_LOCKED' THEN jsonb_build_object('reason', 'too many failed logins',
            'failures', 5 + pg_temp.h(g, 48) % 5)
       WHEN 'SUSPICIOUS_ACTIVITY' THEN jsonb_build_object('reason', 'unusual export volume',
            'records', 500 + pg_temp.h(g, 49) % 5000)
       ELSE jsonb_build_object('user_agent', pg_temp.pick(:'agents', pg_temp.h(g, 50)))
       END
  FROM (SELECT g,
               :'t0'::timestamptz
                   - (180 * 86400.0 * (:background_events - g) / greatest(:background_events, 1))
                     * interval '1 second' AS ts,
               CASE WHEN r < 68 THEN 'AUTH_SUCCESS' WHEN r < 84 THEN 'AUTH_FAILURE'
                    WHEN r < 92 THEN 'LOGOUT' WHEN r < 95 THEN 'PASSWORD_CHANGE'
                    WHEN r < 97 THEN 'PERMISSION_CHANGE' WHEN r < 98 THEN 'ACCOUNT_LOCKED'
                    WHEN r < 99 THEN 'SUSPICIOUS_ACTIVITY' ELSE 'SYSTEM_CHANGE' END AS event_type,
               1 + pg_temp.h(g, 51) % :users AS user_no
          FROM (SELECT g, pg_temp.h(g, 52) % 100 AS r
                  FROM generate_series(1, :background_events) AS g OFFSET 0) AS r) AS s
  JOIN auth_user AS u ON u.id = s.user_no;

INSERT INTO patient_input_securityevent (event_type, "timestamp", ip_address,
                                         username, user_id, details)
SELECT event_type, ts, ip, username, NULL,
       jsonb_build_object('user_agent', 'python-requests/2.31.0')
  FROM seed_fixture_event
 ORDER BY ts;

DROP TABLE seed_fixture_event;

\if :defer_ddl
SELECT create_ddl FROM seed_deferred_ddl ORDER BY step \gexec
DROP TABLE seed_deferred_ddl;
\endif
