"""The terminal side of an attached container or exec: raw mode, stdin, resizes, output.

Detach keys are matched by the daemon (it closes the stream without stopping the
container); this side only forwards bytes, so `tether` honours the same keys as the API.
Output is read on the main thread; stdin is copied to the socket by a daemon thread that
half-closes the connection at EOF.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from typing import Callable, Iterator

from tether.client.transport import Response, iter_frames


@contextlib.contextmanager
def raw_terminal(enabled: bool) -> Iterator[None]:
    """Put our stdin terminal in raw mode (keys go to the container as typed); restore it."""
    if not enabled or not os.isatty(0):
        yield
        return
    import termios
    import tty

    saved = termios.tcgetattr(0)
    tty.setraw(0, termios.TCSANOW)  # TCSAFLUSH would drop keys typed before the attach
    try:
        yield
    finally:
        termios.tcsetattr(0, termios.TCSADRAIN, saved)


@contextlib.contextmanager
def forward_resizes(resize: Callable[[int, int], None] | None) -> Iterator[None]:
    """Send our terminal's size now and on every SIGWINCH."""
    if resize is None or not os.isatty(1):
        yield
        return

    def send(*_args) -> None:
        size = os.get_terminal_size(1)
        with contextlib.suppress(Exception):
            resize(size.lines, size.columns)

    previous = signal.signal(signal.SIGWINCH, send)
    send()
    try:
        yield
    finally:
        signal.signal(signal.SIGWINCH, previous)


def _copy_stdin(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        while data := os.read(0, 4096):
            sock.sendall(data)
        sock.shutdown(socket.SHUT_WR)


def session(resp: Response, *, tty: bool, stdin: bool,
            resize: Callable[[int, int], None] | None) -> None:
    """Copy stdin to the stream and its output to ours until the daemon ends it."""
    out, err = sys.stdout.buffer, sys.stderr.buffer
    try:
        with raw_terminal(tty and stdin), forward_resizes(resize if tty else None):
            if stdin:  # after raw mode is set: nothing typed is echoed twice or lost
                threading.Thread(target=_copy_stdin, args=(resp.sock,), daemon=True).start()
            for kind, data in iter_frames(resp.body, tty):
                target = err if kind == 2 else out
                target.write(data)
                target.flush()
    except OSError:
        pass
    finally:
        resp.close()
