"""`exec -t`: a command run with a pseudo-terminal whose master the daemon holds.

An exec does not outlive the daemon (Docker forgets execs on restart too), so unlike a
container's terminal (ptyshim.py) its master lives in the daemon. runc hands a terminal over
a console socket only when it detaches, and then nobody can wait for the command's exit
status; so `runc exec --tty` runs in the foreground with a daemon-made pty as its stdio: runc
copies between that pty and the container's, and copies its size over on SIGWINCH.
"""

from __future__ import annotations

import asyncio
import fcntl
import os
import pty
import struct
import termios
from typing import AsyncIterator

CHUNK = 65536


class TtyExecProcess:
    """A `runc exec --tty` whose terminal is a pty the daemon holds the master of."""

    def __init__(self, proc: asyncio.subprocess.Process, master: int) -> None:
        self.proc = proc
        self.pid = proc.pid
        self.master = master
        self.refusal = ""

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        loop = asyncio.get_running_loop()
        while True:
            ready = loop.create_future()
            loop.add_reader(self.master, lambda: ready.done() or ready.set_result(None))
            try:
                await ready
            finally:
                loop.remove_reader(self.master)
            try:
                data = os.read(self.master, CHUNK)
            except BlockingIOError:
                continue
            except OSError:  # EIO: the command and runc closed the terminal
                return
            if not data:
                return
            yield 1, data

    def __aiter__(self) -> AsyncIterator[tuple[int, bytes]]:
        return self.output()

    async def write_stdin(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            try:
                view = view[os.write(self.master, view):]
            except BlockingIOError:
                await asyncio.sleep(0.01)
            except OSError:
                return

    def close_stdin(self) -> None:
        """A terminal has no half-close; Docker leaves a TTY's stdin open too."""

    def resize(self, height: int, width: int) -> None:
        fcntl.ioctl(self.master, termios.TIOCSWINSZ, struct.pack("HHHH", height, width, 0, 0))
        if self.proc.returncode is None:
            self.proc.send_signal(28)  # SIGWINCH: runc copies the size into the container

    async def wait(self) -> int:
        code = await self.proc.wait()
        if self.master >= 0:
            os.close(self.master)
            self.master = -1
        return code


async def start_tty_exec(argv: list[str]) -> TtyExecProcess:
    """Run `argv` (a `runc exec --tty ...`) on a new pty; the daemon keeps the master."""
    master, slave = pty.openpty()
    os.set_blocking(master, False)
    try:
        proc = await asyncio.create_subprocess_exec(
            *argv, stdin=slave, stdout=slave, stderr=slave, start_new_session=True)
    finally:
        os.close(slave)
    return TtyExecProcess(proc, master)
