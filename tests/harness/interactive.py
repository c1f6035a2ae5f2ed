"""Runs an agent harness interactively, as a person does in a terminal, on a pseudo-terminal.

Usage:  python3 tests/harness/interactive.py SCREEN PROGRAM ARG...
Starts PROGRAM in a new pseudo-terminal (80x24), copies everything it draws to the file SCREEN,
and ends it (SIGTERM, then SIGKILL, to its process group) when this script gets SIGTERM.
"""

import os
import pty
import select
import signal
import struct
import sys
import fcntl
import termios


def main():
    screen, argv = sys.argv[1], sys.argv[2:]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(argv[0], argv)
    fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))

    def stop(*_):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(pid, sig)
            except ProcessLookupError:
                break
        sys.exit(0)

    signal.signal(signal.SIGTERM, stop)
    with open(screen, "ab", buffering=0) as out:
        while True:
            ready, _, _ = select.select([fd], [], [], 1.0)
            if not ready:
                continue
            try:
                data = os.read(fd, 65536)
            except OSError:
                break
            if not data:
                break
            out.write(data)
    os.waitpid(pid, 0)


if __name__ == "__main__":
    main()
