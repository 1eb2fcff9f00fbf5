"""The daemon's side of a container's stdin and terminal: the `stdin` and `ctl` FIFOs.

Both FIFOs live in the container's directory and are read by its shim, which outlives the
daemon; the daemon opens them per attached client. Opening read-write never blocks and never
fails for want of a reader, and bytes written before the shim opens its end wait in the pipe
(`echo hi | docker run -i` writes before the container starts).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Iterator

from tether.errors import Conflict
from tether.runtime.watch import DirWatch


def _fifo(directory: str, name: str) -> str:
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        os.makedirs(directory, exist_ok=True)
        with contextlib.suppress(FileExistsError):
            os.mkfifo(path, 0o600)
    return path


@contextlib.contextmanager
def stdin_held(directory: str, open_stdin: bool) -> Iterator[None]:
    """Hold a writer on the stdin FIFO while the container starts.

    A StdinOnce shim opens the FIFO read-only, which blocks until a writer exists; this one
    lets it start when nobody attached, and its close gives EOF once attached writers left.
    """
    if not open_stdin:
        yield
        return
    fd = os.open(_fifo(directory, "stdin"), os.O_RDWR)
    try:
        yield
    finally:
        os.close(fd)


class StdinWriter:
    """One attached client's writer on the container's stdin; closing it may give EOF."""

    def __init__(self, directory: str) -> None:
        self.directory = directory
        self.fd: int | None = os.open(_fifo(directory, "stdin"), os.O_RDWR)

    async def write(self, data: bytes) -> None:
        fd = self.fd
        if fd is None:
            return
        view = memoryview(data)
        while view:
            sent = await asyncio.to_thread(os.write, fd, view)
            view = view[sent:]

    async def finish(self) -> None:
        """Close once the shim holds its end: bytes in a FIFO nobody holds are discarded,
        and `echo hi | docker run -i` sends its stdin and EOF before the container starts."""
        async with DirWatch(self.directory) as watch:
            while not any(os.path.exists(os.path.join(self.directory, name))
                          for name in ("init.pid", "exit_code")):
                await watch.changed()
        self.close()

    def close(self) -> None:
        if self.fd is not None:
            os.close(self.fd)
            self.fd = None


def resize(directory: str, height: int, width: int) -> None:
    """Ask the container's pty shim to set the terminal size.

    Raises:
        Conflict: the container has no TTY shim running.
    """
    path = os.path.join(directory, "ctl")
    try:
        fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK)
    except OSError as exc:  # ENOENT: no TTY; ENXIO: the shim is gone
        raise Conflict("cannot resize: the container has no running terminal") from exc
    try:
        os.write(fd, f"R {height} {width}\n".encode())
    finally:
        os.close(fd)
