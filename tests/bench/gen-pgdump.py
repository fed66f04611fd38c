#!/usr/bin/env python3
"""Write pg_dump-like SQL text to stdout, for the compression benchmark.

The shape follows the seed's data model (patients, audit log, Django
sessions, security events) and what `pg_dump` prints for it: a preamble,
CREATE TABLE statements, COPY blocks of tab-separated rows, constraints, and
the completion line.  Values are drawn from a seeded generator, so two runs
with the same size give the same bytes and the benchmark is repeatable.

Compressibility is what matters here: plain repeated rows would make every
compressor look fast, so rows mix low-entropy text (names, actions, paths)
with high-entropy fields (UUIDs, session blobs, IPs, timestamps).

usage: gen-pgdump.py [SIZE_MB]        (default 600)
"""
import base64
import random
import sys

FIRST = ("James Mary Robert Patricia John Jennifer Michael Linda David Elizabeth "
         "William Barbara Richard Susan Joseph Jessica Thomas Sarah Charles Karen "
         "Amina Wei Olga Mateo Fatima Hiroshi Ingrid Kwame Priya Lars").split()
LAST = ("Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez "
        "Hernandez Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin "
        "Nguyen Okafor Kowalski Yamamoto Novak Haddad Silva Petrov Jensen Mensah").split()
STREETS = "Oak Maple Cedar Pine Elm Lake Hill Park Main River Church Mill".split()
ACTIONS = ("view_patient update_patient create_patient login logout export_report "
           "view_chart print_record search_patients update_prescription").split()
PATHS = ("/patients/{}/ /patients/{}/edit/ /api/v1/patients/{}/chart "
         "/reports/export/{}/ /search/?q={} /prescriptions/{}/").split()
EVENTS = "AUTH_FAILURE AUTH_SUCCESS PERMISSION_CHANGE PASSWORD_RESET SESSION_EXPIRED".split()
AGENTS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120.0",
          "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) Safari/605.1.15",
          "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
          "python-requests/2.31.0", "curl/8.4.0")

PREAMBLE = """--
-- PostgreSQL database dump
--

-- Dumped from database version 15.5 (Debian 15.5-0+deb12u1)
-- Dumped by pg_dump version 15.5 (Debian 15.5-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;

"""

TABLES = {
    "patients": "id, uuid, first_name, last_name, date_of_birth, email, phone, "
                "address, created_at, updated_at, notes",
    "audit_log": "id, \"timestamp\", user_id, action, ip_address, path, details",
    "django_session": "session_key, session_data, expire_date",
    "security_events": "id, event_type, ip_address, \"timestamp\", user_agent, details",
}


def ts(rng):
    return "2024-%02d-%02d %02d:%02d:%02d.%06d+00" % (
        rng.randint(1, 12), rng.randint(1, 28), rng.randint(0, 23),
        rng.randint(0, 59), rng.randint(0, 59), rng.randint(0, 999999))


def ip(rng):
    return "%d.%d.%d.%d" % (rng.choice((10, 172, 192, 203, 81)), rng.randint(0, 255),
                            rng.randint(0, 255), rng.randint(1, 254))


def patient_row(rng, i):
    fn, ln = rng.choice(FIRST), rng.choice(LAST)
    notes = "\\N" if rng.random() < 0.6 else "Follow-up in %d weeks; allergy: %s" % (
        rng.randint(1, 12), rng.choice(("none", "penicillin", "latex", "nuts")))
    return "%d\t%08x-%04x-4%03x-a%03x-%012x\t%s\t%s\t%d-%02d-%02d\t%s.%s%d@example.org\t" \
           "+1-555-%04d\t%d %s St, Springfield\t%s\t%s\t%s\n" % (
               i, rng.getrandbits(32), rng.getrandbits(16), rng.getrandbits(12),
               rng.getrandbits(12), rng.getrandbits(48), fn, ln, rng.randint(1930, 2020),
               rng.randint(1, 12), rng.randint(1, 28), fn.lower(), ln.lower(),
               rng.randint(1, 99), rng.randint(0, 9999), rng.randint(1, 999),
               rng.choice(STREETS), ts(rng), ts(rng), notes)


def audit_row(rng, i):
    pid = rng.randint(1, 200000)
    return "%d\t%s\t%d\t%s\t%s\t%s\t{\"status\": %d, \"duration_ms\": %d, \"patient\": %d}\n" % (
        i, ts(rng), rng.randint(1, 400), rng.choice(ACTIONS), ip(rng),
        rng.choice(PATHS).format(pid), rng.choice((200, 200, 200, 302, 403, 404)),
        rng.randint(2, 900), pid)


def session_row(rng, i):
    blob = base64.b64encode(rng.randbytes(rng.randint(40, 120))).decode()
    return "%032x\t.%s:1r%s:%s\t%s\n" % (rng.getrandbits(128), blob, "%06x" % i,
                                         "%016x" % rng.getrandbits(64), ts(rng))


def event_row(rng, i):
    return "%d\t%s\t%s\t%s\t%s\t{\"username\": \"user%d\", \"attempt\": %d}\n" % (
        i, rng.choice(EVENTS), ip(rng), ts(rng), rng.choice(AGENTS),
        rng.randint(1, 5000), rng.randint(1, 5))


# Share of the dump each table takes, roughly as in the seed's database:
# the audit log dominates.
MIX = (("patients", patient_row, 0.20), ("audit_log", audit_row, 0.55),
       ("django_session", session_row, 0.10), ("security_events", event_row, 0.15))


def write_table(out, rng, name, row_fn, target_bytes):
    out.write("--\n-- Data for Name: %s; Type: TABLE DATA; Schema: public\n--\n\n" % name)
    out.write("COPY public.%s (%s) FROM stdin;\n" % (name, TABLES[name]))
    written, i, rows = 0, 0, []
    while written < target_bytes:
        i += 1
        row = row_fn(rng, i)
        rows.append(row)
        written += len(row)
        if len(rows) == 4096:
            out.write("".join(rows))
            rows = []
    out.write("".join(rows))
    out.write("\\.\n\n\n")


def main():
    size_mb = int(sys.argv[1]) if len(sys.argv) > 1 else 600
    rng = random.Random(20240501)
    out = sys.stdout
    out.write(PREAMBLE)
    for name, cols in TABLES.items():
        out.write("CREATE TABLE public.%s (\n    %s\n);\n\n" % (
            name, ",\n    ".join(c + " text" for c in cols.split(", "))))
    for name, row_fn, share in MIX:
        write_table(out, rng, name, row_fn, int(size_mb * 1e6 * share))
    out.write("ALTER TABLE ONLY public.patients ADD CONSTRAINT patients_pkey PRIMARY KEY (id);\n\n")
    out.write("--\n-- PostgreSQL database dump complete\n--\n\n")


if __name__ == "__main__":
    main()
