#!/usr/bin/env python3
"""liveline.py — did a terminal show a job's live line the way `run` promises?

usage: liveline.py FILE JOB STEP

FILE holds what the terminal received (ttyrun.py).  Passes when the
terminal showed "JOB: STEP N%" at least once, the last drawing was cleared
("\\r" ESC "[K") before the job's result line, and nothing of the live line
came after that line.  Otherwise says what was expected and what came, on
stdout as TAP comments, and exits 1.
"""
import re
import sys


def fail(what, got):
    print("#   expected %s; got %r" % (what, got))
    sys.exit(1)


def main(path, job, step):
    data = open(path, "rb").read()
    job, step = job.encode(), step.encode()
    draws = [m.start() for m in re.finditer(rb"\r" + re.escape(job + b": " + step) + rb" \d+%", data)]
    if not draws:
        fail("a live line '%s: %s N%%'" % (job.decode(), step.decode()), data[-600:])
    result = re.search(rb"ok +" + re.escape(job) + rb" ", data[draws[-1]:])
    if result is None:
        fail("the job's ok line after its live line", data[draws[-1]:])
    before = data[draws[-1]:draws[-1] + result.start()]
    if not before.endswith(b"\r\x1b[K"):
        fail("the live line cleared right before the result line", before[-200:])
    after = data[draws[-1] + result.start():]
    if re.search(rb"\r" + re.escape(job) + rb": ", after):
        fail("no live line after the result line", after)


if __name__ == "__main__":
    main(*sys.argv[1:4])
