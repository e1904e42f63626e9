# SPDX-License-Identifier: GPL-2.0-or-later
"""type-keys.py COMPLETION LINE...: types each LINE (a tab in it is the TAB
key), then Enter, into an interactive bash (--norc) in a pseudo-terminal
that sourced COMPLETION, and prints the arguments its stand-in fpbctl (a
shell function) got, one line per LINE. Exits 1 when one never ran."""
import fcntl
import os
import pty
import select
import struct
import sys
import termios
import time

MARK = b"LINE<"


def main():
    completion, lines = sys.argv[1], sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.environ.update(PS1="$ ", INPUTRC="/dev/null", HISTFILE="/dev/null")
        os.environ.pop("BASH_ENV", None)
        os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])
    # wide, so that readline never wraps a line
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 50, 1000, 0, 0))
    out = b""

    def wait_for(count, seconds=20.0):
        nonlocal out
        end = time.monotonic() + seconds
        while out.count(MARK) < count and time.monotonic() < end:
            if select.select([fd], [], [], 0.1)[0]:
                try:
                    out += os.read(fd, 65536)
                except OSError:
                    return

    # the mark quoted apart, so that only what fpbctl prints has it
    setup = 'source "%s"; fpbctl() { printf "LI""NE<%%s>\\n" "$*"; }; fpbctl ready\n'
    os.write(fd, (setup % completion).encode())
    wait_for(1)
    for i, line in enumerate(lines):
        os.write(fd, line.encode() + b"\n")
        wait_for(2 + i)
    os.write(fd, b"exit\n")
    os.waitpid(pid, 0)
    got = [part.split(b">")[0].decode(errors="replace") for part in out.split(MARK)[2:]]
    for line in got:
        print(line)
    return 0 if len(got) == len(lines) else 1


if __name__ == "__main__":
    sys.exit(main())
