"""Containers run by runc: prepare a bundle, start it (shim.py), wait, signal, clean up.

Files of container <id>:
    <data_root>/containers/<id>/   hosts, resolv.conf, hostname (the engine writes them),
                                   upper/ work/ (overlay), config.json (the bundle), logs,
                                   stdin FIFO, launch.pid (monitor) or shim.pid (TTY),
                                   init.pid, exit_code, runc.log
    <exec_root>/containers/<id>/rootfs   an empty directory: runc mounts the overlay (image
                                         rootfs + upper) over it in the container only
    <exec_root>/runc/                    runc's state (--root)
    <exec_root>/monitor.sock             the container monitor (monitor.py)
Every verb is idempotent, and every one works on containers an earlier daemon started.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
from typing import Awaitable, Callable, AsyncIterator

from tether.errors import InvalidArgument, KernelError, NotFound
from tether.model import Container, ExecSpec, Image
from tether.runtime import bundle, logs, shim, volumes
from tether.runtime import console
from tether.runtime.console import StdinWriter, stdin_held
from tether.runtime.cgroups import remove_cgroups, sweep_cgroups
from tether.runtime.execs import ExecProcess, start_exec
from tether.runtime.files import atomic_write_json, read_json, read_text
from tether.runtime.mountns import RuntimeNamespace
from tether.runtime.rootfs import DEFAULT_PATH, resolve_user
from tether.runtime.signals import parse_signal
from tether.runtime.watch import DirWatch, wait_pid_exit

START_TIMEOUT = 60.0


class Runtime:
    """The container runtime layer over runc: small on purpose, runc does the work."""

    def __init__(self, data_root: str, exec_root: str, runc: str = "runc") -> None:
        self.data_root = os.path.join(data_root, "containers")
        self.volumes_root = volumes.volumes_root(data_root)
        self.exec_root = os.path.join(exec_root, "containers")
        self.runc_root = os.path.join(exec_root, "runc")
        self.runc = runc
        self.mountns = RuntimeNamespace(isolate=(os.path.join(exec_root, "netns"),))
        self.monitor = shim.Monitor(exec_root)

    async def close(self) -> None:
        """Let go of the runtime mount namespace and the monitor; running containers are not
        touched."""
        await self.monitor.close()
        await self.mountns.close()

    # ---- paths ------------------------------------------------------------------------------

    def files_dir(self, cid: str) -> str:
        """The container's own directory (made on first use, so the engine can write to it)."""
        path = os.path.join(self.data_root, cid)
        os.makedirs(path, exist_ok=True)
        return path

    def hosts_path(self, cid: str) -> str:
        return os.path.join(self.files_dir(cid), "hosts")

    def resolv_path(self, cid: str) -> str:
        return os.path.join(self.files_dir(cid), "resolv.conf")

    def hostname_path(self, cid: str) -> str:
        return os.path.join(self.files_dir(cid), "hostname")

    def rootfs_path(self, cid: str) -> str:
        return os.path.join(self.exec_root, cid, "rootfs")

    def _file(self, cid: str, name: str) -> str:
        return os.path.join(self.data_root, cid, name)

    # ---- prepare and start ------------------------------------------------------------------

    async def prepare(self, c: Container, image: Image, image_rootfs: str | None = None) -> None:
        """Make the container's directories and its bundle config (with the rootfs overlay).

        `image_rootfs` defaults to the ImageStore layout next to `data_root`.

        Raises:
            InvalidArgument: the user is unknown to the image.
        """
        lower = image_rootfs or os.path.join(os.path.dirname(self.data_root), "images",
                                             image.id.removeprefix("sha256:"), "rootfs")
        d = self.files_dir(c.id)
        for sub in ("upper", "work"):
            os.makedirs(os.path.join(d, sub), exist_ok=True)
        for path in (self.hosts_path(c.id), self.resolv_path(c.id), self.hostname_path(c.id)):
            if not os.path.exists(path):
                open(path, "a").close()
        uid, gid = resolve_user(lower, c.spec.user or image.user)
        await self.make_mounts(c)
        config = bundle.bundle_config(self._inputs(c, image, lower, uid, gid))
        await asyncio.to_thread(atomic_write_json, os.path.join(d, "config.json"), config)
        os.makedirs(self.rootfs_path(c.id), exist_ok=True)

    def _inputs(self, c: Container, image: Image, lower: str, uid: int,
                gid: int) -> bundle.BundleInputs:
        env = tuple(c.env or image.env)
        if not any(e.startswith("PATH=") for e in env):
            env = (f"PATH={DEFAULT_PATH}",) + env
        if c.spec.tty and not any(e.startswith("TERM=") for e in env):
            env += ("TERM=xterm",)  # as Docker does for a container with a TTY
        return bundle.BundleInputs(
            cid=c.id, rootfs=self.rootfs_path(c.id), lower=lower,
            upper=os.path.join(self.files_dir(c.id), "upper"),
            work=os.path.join(self.files_dir(c.id), "work"), hosts=self.hosts_path(c.id),
            resolv=self.resolv_path(c.id), hostname_file=self.hostname_path(c.id),
            args=(c.path, *c.args) if c.path else (), env=env, hostname=c.hostname,
            cwd=c.spec.working_dir or image.working_dir or "/", uid=uid, gid=gid,
            privileged=c.spec.privileged, cap_add=c.spec.cap_add, tty=c.spec.tty,
            user_mounts=tuple(volumes.runc_mounts(self.volumes_root, c.spec.mounts)))

    async def make_mounts(self, c: Container) -> None:
        """Make the volumes and `-v` host directories `c` mounts (create and start call it).

        Raises:
            InvalidArgument: a `--mount` bind whose source does not exist.
        """
        if c.spec.mounts:
            await asyncio.to_thread(volumes.make_sources, self.volumes_root, c.spec.mounts)

    async def release_volumes(self, c: Container, in_use: set[str]) -> None:
        """Delete the anonymous volumes of removed `c` that no name in `in_use` holds."""
        if c.spec.mounts:
            await asyncio.to_thread(volumes.release, self.volumes_root, c.spec.mounts, in_use)

    async def start(self, c: Container, netns_path: str | None) -> int:
        """Start the prepared container in `netns_path` (None: the host's); return its pid.

        Returns once runc reports the process running. The container outlives the daemon.

        Raises:
            InvalidArgument: the command is not in the image or cannot be run (Docker
                answers 400 too).
            KernelError: runc failed; the sentence is runc's.
        """
        d = self.files_dir(c.id)
        config = read_json(os.path.join(d, "config.json"))
        if not isinstance(config, dict):
            raise NotFound(f"container {c.id} has no bundle: prepare it first")
        config = bundle.with_network(config, netns_path, c.hostname)
        await asyncio.to_thread(atomic_write_json, os.path.join(d, "config.json"), config)
        if not config["process"].get("args"):
            raise InvalidArgument("No command specified")
        enter = shim.entry(await self.mountns.path(), netns_path)
        for name in ("init.pid", "exit_code", "shim.pid", "launch.pid"):
            _unlink(os.path.join(d, name))
        os.makedirs(self.runc_root, exist_ok=True)
        stdio = shim.Stdio.of(c.spec)
        async with DirWatch(d) as watch:
            with stdin_held(d, c.spec.open_stdin):
                if stdio.tty:
                    await shim.launch_pty_shim(d, self.runc, self.runc_root, c.id, enter)
                else:
                    await self.monitor.launch(
                        c.id, d, [*enter, *shim.run_detached(d, self.runc, self.runc_root,
                                                             c.id)], stdio.stdin_mode(),
                        after=[self.runc, "--root", self.runc_root, "delete", c.id])
                await self._until_started(c, watch)
        return self._init_pid(c.id)

    async def _until_started(self, c: Container, watch: DirWatch) -> None:
        d = self.files_dir(c.id)
        while not os.path.exists(os.path.join(d, "init.pid")):
            if os.path.exists(os.path.join(d, "exit_code")):
                raise start_error(self._runc_error(c.id))
            if not await watch.changed(START_TIMEOUT):
                raise KernelError(f"container {c.short_id} did not start within "
                                  f"{START_TIMEOUT:.0f} s")

    def _runc_error(self, cid: str) -> str:
        """runc's last error sentence from its JSON log, or a plain fallback."""
        for line in reversed((read_text(self._file(cid, "runc.log")) or "").splitlines()):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if entry.get("level") in ("error", "fatal"):
                return str(entry.get("msg"))
        return f"runc could not start container {cid[:12]}"

    # ---- exit, state, signals -----------------------------------------------------------------

    async def wait_exit(self, cid: str) -> int:
        """Wait until the container has ended; return the exit code its monitor (or pty
        shim) recorded.

        One that ended with nobody to record it (the shim or the monitor was killed)
        yields 255.

        Raises:
            NotFound: the container was never started.
        """
        d = os.path.join(self.data_root, cid)
        shim_pid = _pid_in(os.path.join(d, "shim.pid"))
        if not shim_pid and not os.path.exists(os.path.join(d, "launch.pid")):
            raise NotFound(f"container {cid} was never started")
        if shim_pid:
            if shim.runs_for(shim_pid, d):
                await wait_pid_exit(shim_pid)
        elif self._exit_code(cid) is None:
            code = await self.monitor.wait(cid)
            if code is not None:
                return code
            # No monitor follows it (one that died started it): follow the process itself.
            pid = self._init_pid(cid)
            if pid and self._exit_code(cid) is None and _in_cgroup_of(pid, cid):
                await wait_pid_exit(pid)
        code = self._exit_code(cid)
        return 255 if code is None else code

    def _exit_code(self, cid: str) -> int | None:
        text = (read_text(self._file(cid, "exit_code")) or "").strip()
        return int(text) if text.isdigit() else None

    async def state(self, cid: str) -> tuple[bool, int]:
        """(running, pid of the container's init) as runc sees it."""
        if not os.path.isdir(os.path.join(self.runc_root, cid)):
            return False, 0
        rc, out, _ = await self._run_runc("state", cid)
        if rc != 0:
            return False, 0
        info = json.loads(out)
        running = info.get("status") in ("running", "created", "paused")
        return running, int(info.get("pid") or 0) if running else 0

    async def kill(self, cid: str, signal: str | int = "KILL", *, paused: bool = False) -> None:
        """Send `signal` to the container's init; a container that is gone already is fine.
        A `paused` container is thawed after the signal, so that it is delivered (dockerd
        does the same).

        Raises:
            InvalidArgument: unknown signal. KernelError: runc refused a running container.
        """
        number = parse_signal(signal)
        rc, _, err = await self._run_runc("kill", cid, str(number))
        if rc != 0 and (await self.state(cid))[0]:
            raise KernelError(f"cannot kill container {cid[:12]}: {err.strip()}")
        if paused:
            await self._run_runc("resume", cid)

    async def pause(self, cid: str) -> None:
        """Freeze every process of the container (runc's cgroup freezer)."""
        await self._freezer(cid, "pause")

    async def resume(self, cid: str) -> None:
        """Thaw a paused container."""
        await self._freezer(cid, "resume")

    async def _freezer(self, cid: str, verb: str) -> None:
        """Raises: KernelError: runc refused `verb` (pause or resume)."""
        rc, _, err = await self._run_runc(verb, cid)
        if rc != 0:
            what = "pause" if verb == "pause" else "unpause"
            raise KernelError(f"cannot {what} container {cid[:12]}: {err.strip()}")

    async def stop(self, cid: str, timeout: int, stop_signal: str | int = "SIGTERM", *,
                   paused: bool = False) -> None:
        """Send `stop_signal`, wait up to `timeout` seconds, then SIGKILL; return at exit."""
        await self.kill(cid, stop_signal, paused=paused)
        try:
            await asyncio.wait_for(self.wait_exit(cid), max(timeout, 0))
            return
        except TimeoutError:
            pass
        await self.kill(cid, "KILL")
        await self.wait_exit(cid)

    # ---- cleanup ------------------------------------------------------------------------------

    async def sweep(self, keep: set[str]) -> list[str]:
        """Remove empty container cgroups left by killed runs, except those of `keep`."""
        return await asyncio.to_thread(sweep_cgroups, keep)

    async def cleanup(self, cid: str) -> None:
        """After exit: delete runc's record and the cgroups. Idempotent.

        Raises:
            ExceptionGroup: of every KernelError met (the other steps still ran).
        """
        errors: list[Exception] = []
        if os.path.isdir(os.path.join(self.runc_root, cid)):
            rc, _, err = await self._run_runc("delete", "--force", cid)
            if rc != 0 and os.path.isdir(os.path.join(self.runc_root, cid)):
                errors.append(KernelError(f"runc delete {cid[:12]}: {err.strip()}"))
        try:
            await asyncio.to_thread(remove_cgroups, cid)
        except KernelError as exc:
            errors.append(exc)
        if errors:
            raise ExceptionGroup(f"cleanup of container {cid[:12]}", errors)

    def started_ids(self) -> set[str]:
        """Ids with anything a start leaves: a runc record, a live shim or launcher."""
        ids = set(_listdir(self.runc_root))
        return ids | {cid for cid in _listdir(self.data_root) if self._shim_pid(cid)}

    def _init_pid(self, cid: str) -> int:
        """The pid runc recorded for the container's process, 0 when there is none."""
        return _pid_in(self._file(cid, "init.pid"))

    def _shim_pid(self, cid: str) -> int:
        """The pid of the container's pty shim, or of the launcher of a start still under
        way, if it is alive; else 0."""
        d = os.path.join(self.data_root, cid)
        for name in ("shim.pid", "launch.pid"):
            pid = _pid_in(os.path.join(d, name))
            if pid and shim.runs_for(pid, d):
                return pid
        return 0

    async def abandon(self, cid: str, timeout: float = 10.0) -> None:
        """Stop and clean up a container no record holds running: a start (or a removal)
        that a daemon crash cut short. A start still under way is let to finish first, so
        that runc's record exists to be deleted; then the shim is waited for (bounded)."""
        d = os.path.join(self.data_root, cid)
        pid = self._shim_pid(cid)
        if pid:
            async with DirWatch(d) as watch:  # a start under way ends in one of these files
                while not any(os.path.exists(os.path.join(d, f))
                              for f in ("init.pid", "exit_code")):
                    if not await watch.changed(timeout):
                        break
            await self._run_runc("kill", cid, "9")
            try:
                await asyncio.wait_for(wait_pid_exit(pid), timeout)
            except TimeoutError:
                pass
        await self.cleanup(cid)

    async def remove(self, cid: str) -> None:
        """Clean up, then delete every file of the container."""
        await self.cleanup(cid)
        for path in (os.path.join(self.data_root, cid), os.path.join(self.exec_root, cid)):
            await asyncio.to_thread(shutil.rmtree, path, True)

    # ---- logs and exec --------------------------------------------------------------------------

    async def logs(self, cid: str, *, stdout: bool = True, stderr: bool = True,
                   follow: bool = False, tail: int | None = None,
                   timestamps: bool = False,
                   until: Callable[[], Awaitable[object]] | None = None,
                   starts: dict[int, int] | None = None,
                   ) -> AsyncIterator[tuple[int, bytes]]:
        """Yield (1|2, bytes) from the container's logs; `follow` ends when it exits.

        With `until`, follow until that completes instead, even if the container has not
        started yet (an attach made before start waits for the next exit).

        stdout and stderr are kept in two files, so their relative order is lost, `tail`
        counts lines per stream, and `timestamps` is not supported (ignored).
        """
        d = os.path.join(self.data_root, cid)
        if until is not None:
            os.makedirs(d, exist_ok=True)  # attached before the first start
        if not os.path.isdir(d):
            raise NotFound(f"No such container: {cid}")
        streams = [(1, "stdout.log")] * stdout + [(2, "stderr.log")] * stderr
        started = any(os.path.exists(os.path.join(d, f)) for f in ("shim.pid", "launch.pid"))
        exited = (lambda: self.wait_exit(cid)) if follow and started else None
        exited = until or exited
        async for item in logs.read(d, streams, tail=tail, exited=exited, starts=starts):
            yield item

    def log_ends(self, cid: str) -> dict[int, int]:
        """Where each log stream ends now (see `logs.ends`)."""
        return logs.ends(os.path.join(self.data_root, cid))

    async def exec(self, cid: str, spec: ExecSpec) -> ExecProcess:
        """Run `spec.cmd` in the running container with `runc exec`.

        A command missing from the image gives exit code 126 and Docker's sentence on stderr.
        """
        config = read_json(os.path.join(self.data_root, cid, "config.json"))
        if not isinstance(config, dict):
            raise NotFound(f"No such container: {cid}")
        pid = self._init_pid(cid)
        if not pid:
            raise NotFound(f"container {cid[:12]} has no process")
        # the container's own view of its rootfs, mounts included (it has no other place)
        return await start_exec([*shim.entry(await self.mountns.path(), None), self.runc,
                                 "--root", self.runc_root], cid, f"/proc/{pid}/root",
                                config["process"], spec)

    def stdin_writer(self, cid: str) -> StdinWriter:
        """A writer on the container's stdin FIFO (for an attached client)."""
        return StdinWriter(os.path.join(self.data_root, cid))

    def resize(self, cid: str, height: int, width: int) -> None:
        """Resize the container's terminal. Raises: Conflict: it has no running TTY."""
        console.resize(os.path.join(self.data_root, cid), height, width)

    async def _run_runc(self, *args: str) -> tuple[int, str, str]:
        proc = await asyncio.create_subprocess_exec(
            self.runc, "--root", self.runc_root, *args, stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await proc.communicate()
        return proc.returncode or 0, out.decode(), err.decode()


def _listdir(path: str) -> list[str]:
    try:
        return os.listdir(path)
    except FileNotFoundError:
        return []


def _pid_in(path: str) -> int:
    text = (read_text(path) or "").strip()
    return int(text) if text.isdigit() else 0


def _in_cgroup_of(pid: int, cid: str) -> bool:
    """Is `pid` a process of container `cid` (its cgroup path ends in the id), not a
    recycled pid?"""
    text = read_text(f"/proc/{pid}/cgroup") or ""
    return any(line.endswith(f"/{cid}") for line in text.splitlines())


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def start_error(message: str) -> Exception:
    """runc's failure to start, as Docker words and classes it.

    A command missing from the image or not executable is the caller's mistake (400, and
    Docker's "OCI runtime create failed: ...: unknown"); anything else is the host's (500).
    """
    reason = message.removeprefix("runc run failed: ")
    if 'exec: "' in reason and any(s in reason for s in _BAD_COMMAND):
        return InvalidArgument(f"OCI runtime create failed: {reason}: unknown")
    return KernelError(message)


_BAD_COMMAND = ("executable file not found", "no such file or directory", "permission denied")
