#!/usr/bin/env python3
"""ttyrun.py — run a command with its stdin, stdout and stderr on a pseudo-terminal
and keep every byte the terminal received, in order, for the live-line tests.

usage: ttyrun.py [--term TERM] [--journal] OUTFILE COMMAND [ARG...]

--term sets TERM (default xterm); --journal sets JOURNAL_STREAM to the
terminal's device and inode, as systemd does for the stream it connects.
The window is 100 columns wide.  Exits with the command's exit status.
"""
import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios


def main(argv):
    term, journal = "xterm", False
    while argv and argv[0].startswith("--"):
        if argv[0] == "--term":
            term, argv = argv[1], argv[2:]
        elif argv[0] == "--journal":
            journal, argv = True, argv[1:]
        else:
            sys.exit("ttyrun.py: unknown option " + argv[0])
    outfile, command = argv[0], argv[1:]
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    env = dict(os.environ, TERM=term)
    env.pop("JOURNAL_STREAM", None)
    if journal:
        st = os.fstat(slave)
        env["JOURNAL_STREAM"] = "%d:%d" % (st.st_dev, st.st_ino)
    child = subprocess.Popen(command, stdin=slave, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    got = b""
    while True:
        try:
            data = os.read(master, 65536)
        except OSError:  # EIO: every copy of the terminal's other end closed
            break
        if not data:
            break
        got += data
    with open(outfile, "wb") as f:
        f.write(got)
    return child.wait()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
