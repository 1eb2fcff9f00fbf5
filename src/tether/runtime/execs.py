"""Exec: a command run inside a running container with `runc exec`, its output and exit code."""

from __future__ import annotations

import asyncio
from typing import AsyncIterator

from tether.model import ExecSpec
from tether.runtime.ptyexec import TtyExecProcess, start_tty_exec
from tether.runtime.rootfs import find_executable, not_found_message, resolve_user

NOT_RUNNABLE = 126  # Docker's exit code when an exec cannot start its command


class ExecProcess:
    """A started exec. `output()` yields (1|2, bytes) until both streams end.

    An exec refused before runc ran (command not in the image) has no process: it yields
    Docker's sentence on stderr and exits with 126.
    """

    def __init__(self, proc: asyncio.subprocess.Process | None, refusal: str = "") -> None:
        self.proc = proc
        self.pid = proc.pid if proc else 0
        self.refusal = refusal

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        if self.proc is None:
            yield 2, self.refusal.encode() + b"\n"
            return
        queue: asyncio.Queue[tuple[int, bytes]] = asyncio.Queue()
        readers = [asyncio.create_task(_pump(n, r, queue))
                   for n, r in ((1, self.proc.stdout), (2, self.proc.stderr)) if r is not None]
        try:
            ended = 0
            while ended < len(readers):
                stream, data = await queue.get()
                if data:
                    yield stream, data
                else:
                    ended += 1
        finally:
            for task in readers:
                task.cancel()

    def __aiter__(self) -> AsyncIterator[tuple[int, bytes]]:
        return self.output()

    async def write_stdin(self, data: bytes) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.write(data)
            try:
                await self.proc.stdin.drain()
            except (BrokenPipeError, ConnectionResetError):
                pass  # the command stopped reading: as with a pipe in a shell, ignore it

    def close_stdin(self) -> None:
        if self.proc is not None and self.proc.stdin is not None:
            self.proc.stdin.close()

    async def wait(self) -> int:
        if self.proc is None:
            return NOT_RUNNABLE
        return await self.proc.wait()


async def _pump(stream: int, reader: asyncio.StreamReader,
                queue: asyncio.Queue[tuple[int, bytes]]) -> None:
    """Copy one pipe into the queue; an empty chunk marks its end."""
    while data := await reader.read(65536):
        await queue.put((stream, data))
    await queue.put((stream, b""))


def exec_args(spec: ExecSpec, uid_gid: tuple[int, int] | None) -> list[str]:
    """`runc exec` options: the container's process, plus the exec's env, cwd and user."""
    args = [f"--env={e}" for e in spec.env]
    if spec.working_dir:
        args.append(f"--cwd={spec.working_dir}")
    if uid_gid is not None:
        args.append(f"--user={uid_gid[0]}:{uid_gid[1]}")
    return args


async def start_exec(runc: list[str], cid: str, rootfs: str, process: dict,
                     spec: ExecSpec) -> ExecProcess | TtyExecProcess:
    """Start `spec` in container `cid`, whose bundle process is `process`.

    Raises:
        InvalidArgument: the exec's user is unknown to the image.
    """
    env = list(process.get("env") or []) + list(spec.env)
    cwd = spec.working_dir or process.get("cwd") or "/"
    if not spec.cmd or not find_executable(rootfs, spec.cmd[0], env, cwd):
        cmd = spec.cmd[0] if spec.cmd else ""
        return ExecProcess(None, "OCI runtime exec failed: exec failed: unable to start "
                           f"container process: {not_found_message(cmd)}: unknown")
    user = resolve_user(rootfs, spec.user) if spec.user else None
    if spec.tty:
        return await start_tty_exec(
            [*runc, "exec", "--tty", *exec_args(spec, user), cid, *spec.cmd])
    pipe, null = asyncio.subprocess.PIPE, asyncio.subprocess.DEVNULL
    proc = await asyncio.create_subprocess_exec(
        *runc, "exec", *exec_args(spec, user), cid, *spec.cmd,
        stdin=pipe if spec.attach_stdin else null,
        stdout=pipe if spec.attach_stdout else null,
        stderr=pipe if spec.attach_stderr else null)
    return ExecProcess(proc)
