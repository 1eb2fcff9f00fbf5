"""How a container is started and followed: the shared monitor, or a pty shim of its own.

A container without a TTY is started by the container monitor (monitor.py), one process for
all of them: it runs `nsenter ... runc run --detach`, adopts the container's process when
runc exits, and writes exit_code when it ends. `Monitor` is the daemon's side: it starts the
monitor detached when none runs, so containers outlive the daemon, and a daemon started
later connects to the same one.

A container with a TTY gets the pty shim instead (ptyshim.py), a process of its own that
holds the terminal: it records shim.pid first, runs `runc run` in the foreground and writes
exit_code by a rename at the end.

runc writes init.pid by a rename once the container's process runs: that is the start signal.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sys
from dataclasses import dataclass

from tether.errors import KernelError
from tether.runtime import monitor, ptyshim

log = logging.getLogger(__name__)

SHIM_NAME = "tether-shim"
MONITOR_READY_TIMEOUT = 10.0


@dataclass(frozen=True)
class Stdio:
    """How the container's stdio is wired: a TTY (the pty shim), and its stdin."""

    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False

    @classmethod
    def of(cls, spec) -> "Stdio":
        return cls(spec.tty, spec.open_stdin, spec.stdin_once)

    def stdin_mode(self) -> str:
        """The monitor's stdin: "1" a FIFO that never ends, "2" one that ends with its
        writers, "0" none. With "2" the runtime holds a writer while the container starts
        (console.stdin_held), an attached client another."""
        if not self.open_stdin:
            return "0"
        return "2" if self.stdin_once else "1"


def run_detached(directory: str, runc: str, runc_root: str, cid: str) -> list[str]:
    """`runc run --detach` for the container in `directory`, logging JSON to runc.log."""
    return [runc, "--root", runc_root, "--log", os.path.join(directory, "runc.log"),
            "--log-format", "json", "run", "--detach", "--bundle", directory,
            "--pid-file", os.path.join(directory, "init.pid"), cid]


def entry(mountns: str, netns: str | None) -> list[str]:
    """nsenter's arguments: runc runs in the runtime mount namespace and, with a sandbox,
    in its network namespace (bundle.JOINED_NETNS). nsenter opens both files before it
    enters either, so the netns pin is found in the daemon's mount table."""
    return ["nsenter", f"--mount={mountns}", *([f"--net={netns}"] if netns else [])]


async def launch_pty_shim(directory: str, runc: str, runc_root: str, cid: str,
                          enter: list[str]) -> None:
    """Fork a TTY container's shim away from the daemon, through `enter` (entry()); returns
    as soon as it is on its own."""
    if not os.path.exists(os.path.join(directory, "ctl")):
        os.mkfifo(os.path.join(directory, "ctl"), 0o600)
    # The shim's stderr goes to a file: a pipe would be inherited by the forked shim and
    # keep us waiting for EOF until the container exits.
    log_path = os.path.join(directory, "shim.log")
    with open(log_path, "ab") as f:
        proc = await asyncio.create_subprocess_exec(
            "setsid", "-f", *enter, sys.executable, "-I", ptyshim.__file__, SHIM_NAME,
            directory, runc, runc_root, cid,
            stdin=asyncio.subprocess.DEVNULL, stdout=asyncio.subprocess.DEVNULL,
            stderr=f, cwd=directory, start_new_session=True)
    if await proc.wait() != 0:
        raise KernelError(f"cannot start the container shim: {_last_line(log_path)}")


class MonitorGone(KernelError):
    """The monitor's connection ended before it answered."""


class Monitor:
    """The daemon's connection to the container monitor of `exec_root` (monitor.py)."""

    def __init__(self, exec_root: str) -> None:
        self.exec_root = exec_root
        self._writer: asyncio.StreamWriter | None = None
        self._reader: asyncio.Task | None = None
        self._lock = asyncio.Lock()
        self._starts: dict[str, asyncio.Future[int]] = {}
        self._exits: dict[str, list[asyncio.Future[int | None]]] = {}

    async def launch(self, cid: str, directory: str, argv: list[str], stdin: str,
                     after: list[str]) -> int:
        """Have the monitor run `argv` (nsenter ... runc run --detach) for container `cid`,
        and `after` once it has ended; returns the launcher's pid. The monitor is started if
        none runs.

        Raises:
            KernelError: the monitor could not be started or could not start `argv`.
        """
        for attempt in range(2):
            writer = await self._connected(spawn=True)
            assert writer is not None
            done = asyncio.get_running_loop().create_future()
            self._starts[cid] = done
            try:
                await self._send(writer, {"op": "start", "id": cid, "dir": directory,
                                          "argv": argv, "stdin": stdin, "after": after})
                return await asyncio.wait_for(done, MONITOR_READY_TIMEOUT)
            except (MonitorGone, ConnectionError) as exc:
                # A monitor dying (killed) can still take a connection, then reset it: once
                # more, with a new one.
                if self._writer is writer:
                    self._disconnected()
                if attempt:
                    raise KernelError(f"the container monitor did not answer: {exc}") from None
            except (OSError, TimeoutError) as exc:
                raise KernelError(f"the container monitor did not answer: {exc}") from None
            finally:
                self._starts.pop(cid, None)
        raise AssertionError("unreachable")

    async def wait(self, cid: str) -> int | None:
        """The exit code of container `cid` once it has ended; None at once when no running
        monitor follows it (its exit_code is written, or a monitor that died started it)."""
        writer = await self._connected(spawn=False)
        if writer is None:
            return None
        done = asyncio.get_running_loop().create_future()
        self._exits.setdefault(cid, []).append(done)
        try:
            await self._send(writer, {"op": "watch", "id": cid})
            return await done
        except OSError:
            return None
        finally:
            waiting = self._exits.get(cid, [])
            if done in waiting:
                waiting.remove(done)
            if not waiting:
                self._exits.pop(cid, None)

    async def close(self) -> None:
        """Disconnect; a monitor that follows no container then exits."""
        reader = self._reader
        self._disconnected()
        if reader is not None:
            reader.cancel()
            await asyncio.gather(reader, return_exceptions=True)

    # ---- connection -------------------------------------------------------------------------

    async def _connected(self, spawn: bool) -> asyncio.StreamWriter | None:
        async with self._lock:
            if self._writer is not None:
                return self._writer
            try:
                await self._connect()
            except (FileNotFoundError, ConnectionRefusedError):
                if not spawn:
                    return None
                await self._spawn()
                await self._connect()
            return self._writer

    async def _connect(self) -> None:
        # by the directory's fd: UNIX socket paths are limited to 108 bytes
        fd = os.open(self.exec_root, os.O_PATH | os.O_CLOEXEC)
        try:
            reader, self._writer = await asyncio.open_unix_connection(
                f"/proc/self/fd/{fd}/{monitor.SOCKET}")
        finally:
            os.close(fd)
        self._reader = asyncio.create_task(self._read(reader, self._writer),
                                           name="monitor-reader")

    async def _spawn(self) -> None:
        log_path = os.path.join(self.exec_root, "monitor.log")
        with open(log_path, "ab") as f:
            proc = await asyncio.create_subprocess_exec(
                "setsid", "-f", sys.executable, "-I", monitor.__file__, monitor.MONITOR_NAME,
                self.exec_root, stdin=asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE, stderr=f, start_new_session=True)
        assert proc.stdout is not None
        try:
            line = await asyncio.wait_for(proc.stdout.readline(), MONITOR_READY_TIMEOUT)
        except TimeoutError:
            line = b""
        await proc.wait()
        if line != b"ready\n":
            raise KernelError(f"cannot start the container monitor: {_last_line(log_path)}")
        log.debug("started the container monitor for %s", self.exec_root)

    async def _send(self, writer: asyncio.StreamWriter, message: dict) -> None:
        writer.write(json.dumps(message).encode() + b"\n")
        await writer.drain()

    async def _read(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                self._on_message(json.loads(line))
        except (OSError, ValueError) as exc:
            log.warning("the container monitor's connection broke: %s", exc)
        finally:
            if self._writer is writer:  # not a newer connection's
                self._disconnected()

    def _on_message(self, msg: dict) -> None:
        cid = str(msg.get("id"))
        if "pid" in msg or "error" in msg:
            done = self._starts.get(cid)
            if done is not None and not done.done():
                if "error" in msg:
                    done.set_exception(KernelError(str(msg["error"])))
                else:
                    done.set_result(int(msg["pid"]))
        elif "exit" in msg or "unknown" in msg:
            code = int(msg["exit"]) if "exit" in msg else None
            for done in self._exits.pop(cid, []):
                if not done.done():
                    done.set_result(code)

    def _disconnected(self) -> None:
        """The monitor is gone (or we left): pending starts fail, waits learn nothing."""
        writer, self._writer, self._reader = self._writer, None, None
        if writer is not None:
            writer.close()
        for cid, done in list(self._starts.items()):
            if not done.done():
                done.set_exception(MonitorGone("the container monitor went away"))
        exits, self._exits = self._exits, {}
        for waiting in exits.values():
            for done in waiting:
                if not done.done():
                    done.set_result(None)


def _last_line(path: str) -> str:
    try:
        with open(path, errors="replace") as f:
            lines = f.read().strip().splitlines()
    except OSError:
        lines = []
    return lines[-1] if lines else "unknown error"


def runs_for(pid: int, directory: str) -> bool:
    """Is `pid` still a process of this container's start (its pty shim, or the monitor's
    launcher: nsenter, then runc) and not a recycled pid? Both name the directory."""
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = f.read().split(b"\0")
    except OSError:
        return False
    return directory.encode() in argv
