"""The container monitor: one small process that starts every container without a TTY and
keeps its exit code.

Run as a script (`python -I monitor.py tether-monitor EXEC_DIR`), never imported by the
daemon's code paths: it imports nothing from tether, so it starts fast and stays small.

Why one process for all containers and not a shim per container: `runc run` in the
foreground stays alive as long as its container. A thousand of them hold about 2 GB and make
every later start slower (1.7x at 1,000 containers, bench/runcfloor.py), while
`runc run --detach` exits as soon as the container runs and later starts stay flat. A
detached container's process is re-parented to the nearest subreaper among its ancestors:
this process (PR_SET_CHILD_SUBREAPER), which reaps it and records how it ended.

The daemon starts the monitor detached (`setsid -f`), so containers and their exit codes
outlive the daemon; a daemon started later connects to the same monitor. It talks JSON lines
on EXEC_DIR/monitor.sock:
    -> {"op": "start", "id": ID, "dir": DIR, "argv": [...], "stdin": "0" | "1" | "2",
        "after": [...]}                  run once the container has ended (runc delete)
    <- {"id": ID, "pid": PID}            the launcher runs (argv: nsenter ... runc run -d)
    <- {"id": ID, "error": SENTENCE}     it could not be started
    -> {"op": "watch", "id": ID}
    <- {"id": ID, "unknown": true}       this monitor does not follow ID (it never started
                                         it, or ID has ended and its exit_code is written)
    <- {"id": ID, "exit": CODE}          sent to every client once DIR/exit_code is written
In DIR it writes launch.pid (the launcher, alive until the container runs or runc fails),
appends the container's output to stdout.log and stderr.log, runs `after` when the container
has ended, as `runc run` in the foreground deletes its container, and then writes exit_code
by a rename: runc's status when runc failed, else the container's (128+N after signal N, as
Docker reports a container killed by a signal). stdin is "1" the `stdin` FIFO opened
read-write (never EOF), "2" the FIFO read-only (EOF when its writers are gone; the daemon
holds a writer while the container starts), "0" /dev/null.

It exits when it follows no container and no daemon is connected.
"""

from __future__ import annotations

import ctypes
import fcntl
import json
import os
import selectors
import signal
import socket
import sys
from dataclasses import dataclass, field

MONITOR_NAME = "tether-monitor"
SOCKET = "monitor.sock"
PR_SET_CHILD_SUBREAPER = 36
FIRST_CLIENT_WAIT = 10.0  # seconds for the daemon that started it to connect
MAX_UNCLAIMED = 4096  # statuses of processes reaped before runc named them (see on_child)


@dataclass
class Job:
    id: str
    dir: str
    after: list[str] = field(default_factory=list)


@dataclass
class Client:
    sock: socket.socket
    buffer: bytes = b""


@dataclass
class Monitor:
    listener: socket.socket
    sel: selectors.BaseSelector
    launching: dict[int, Job] = field(default_factory=dict)  # launcher pid -> job
    running: dict[int, Job] = field(default_factory=dict)  # container init pid -> job
    ending: dict[int, tuple[Job, int]] = field(default_factory=dict)  # `after` pid -> code
    unclaimed: dict[int, int] = field(default_factory=dict)  # pid -> exit code
    clients: dict[int, Client] = field(default_factory=dict)  # fd -> client

    def following(self) -> set[str]:
        return {j.id for j in (*self.launching.values(), *self.running.values(),
                               *(j for j, _ in self.ending.values()))}

    # ---- requests ---------------------------------------------------------------------------

    def on_request(self, client: Client, line: bytes) -> None:
        try:
            req = json.loads(line)
            cid = str(req["id"])
        except (ValueError, KeyError, TypeError):
            return
        if req.get("op") == "watch":
            if cid not in self.following():
                self.send(client, {"id": cid, "unknown": True})
        elif req.get("op") == "start":
            try:
                job = Job(cid, str(req["dir"]), [str(a) for a in req.get("after") or ()])
                pid = self.launch(job, list(req["argv"]), str(req.get("stdin", "0")))
            except (OSError, KeyError, TypeError, ValueError) as exc:
                self.send(client, {"id": cid, "error": f"cannot start the container: {exc}"})
            else:
                self.send(client, {"id": cid, "pid": pid})

    def launch(self, job: Job, argv: list[str], stdin: str) -> int:
        fds = [_open_stdin(job.dir, stdin)]
        try:
            for name in ("stdout.log", "stderr.log"):
                fds.append(os.open(os.path.join(job.dir, name),
                                   os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o640))
            pid = os.posix_spawnp(
                argv[0], argv, os.environ, setsid=True, setsigdef=(signal.SIGPIPE,),
                file_actions=[(os.POSIX_SPAWN_DUP2, fd, target)
                              for target, fd in enumerate(fds)])
        finally:
            for fd in fds:
                os.close(fd)
        self.launching[pid] = job
        _write(job.dir, "launch.pid", str(pid))
        return pid

    # ---- children -----------------------------------------------------------------------------

    def reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            code = os.waitstatus_to_exitcode(status)
            self.on_child(pid, 128 - code if code < 0 else code)

    def on_child(self, pid: int, code: int) -> None:
        if pid in self.launching:
            job = self.launching.pop(pid)
            init = _read_pid(os.path.join(job.dir, "init.pid")) if code == 0 else 0
            if not init:
                self.finish(job, code or 255)
            elif init in self.unclaimed:  # it ended before runc did
                self.ended(job, self.unclaimed.pop(init))
            elif _alive(init):
                self.running[init] = job
            else:  # reaped by someone else: nothing to know but its end
                self.ended(job, 255)
        elif pid in self.running:
            self.ended(self.running.pop(pid), code)
        elif pid in self.ending:
            self.finish(*self.ending.pop(pid))
        else:  # a container's process whose runc has not exited yet, or a stray
            self.unclaimed[pid] = code
            while len(self.unclaimed) > MAX_UNCLAIMED:
                del self.unclaimed[next(iter(self.unclaimed))]

    def ended(self, job: Job, code: int) -> None:
        """The container's process has ended with `code`: run `after`, then finish."""
        if job.after:
            try:
                null = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
                try:
                    pid = os.posix_spawnp(job.after[0], job.after, os.environ,
                                          setsigdef=(signal.SIGPIPE,), file_actions=[
                                              (os.POSIX_SPAWN_DUP2, null, n) for n in range(3)])
                finally:
                    os.close(null)
            except OSError:
                pass  # the daemon's cleanup deletes what runc left
            else:
                self.ending[pid] = (job, code)
                return
        self.finish(job, code)

    def finish(self, job: Job, code: int) -> None:
        try:
            _write(job.dir, "exit_code", str(code))
        except OSError:
            pass  # its directory is gone: the container was removed
        for client in list(self.clients.values()):
            self.send(client, {"id": job.id, "exit": code})

    # ---- clients ----------------------------------------------------------------------------

    def accept(self) -> None:
        try:
            sock, _ = self.listener.accept()
        except OSError:
            return
        sock.setblocking(False)
        self.clients[sock.fileno()] = Client(sock)
        self.sel.register(sock, selectors.EVENT_READ)

    def on_readable(self, client: Client) -> None:
        try:
            data = client.sock.recv(65536)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self.drop(client)
            return
        client.buffer += data
        *lines, client.buffer = client.buffer.split(b"\n")
        for line in lines:
            if line.strip():
                self.on_request(client, line)

    def send(self, client: Client, message: dict) -> None:
        data = json.dumps(message).encode() + b"\n"
        try:
            client.sock.setblocking(True)  # lines are small; a client reads them promptly
            client.sock.settimeout(5.0)
            client.sock.sendall(data)
            client.sock.setblocking(False)
        except OSError:
            self.drop(client)

    def drop(self, client: Client) -> None:
        fd = client.sock.fileno()
        if self.clients.pop(fd, None) is not None:
            self.sel.unregister(client.sock)
            client.sock.close()

    def serve(self, wakeup: int) -> None:
        """Until it follows no container and no daemon is connected."""
        while self.clients or self.launching or self.running or self.ending:
            for key, _ in self.sel.select(timeout=None):
                if key.fileobj is self.listener:
                    self.accept()
                elif key.fd == wakeup:
                    while _drain(wakeup):
                        pass
                    self.reap()
                else:
                    client = self.clients.get(key.fd)
                    if client is not None:
                        self.on_readable(client)
            self.reap()  # a SIGCHLD coalesced with another event is not lost


def _open_stdin(directory: str, mode: str) -> int:
    path = os.path.join(directory, "stdin")
    if mode == "1":
        return os.open(path, os.O_RDWR | os.O_CLOEXEC)
    if mode == "2":  # no blocking here: the daemon holds a writer while the container starts
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
        fcntl.fcntl(fd, fcntl.F_SETFL, fcntl.fcntl(fd, fcntl.F_GETFL) & ~os.O_NONBLOCK)
        return fd
    return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)


def _write(directory: str, name: str, text: str) -> None:
    tmp = os.path.join(directory, f"{name}.tmp")
    with open(tmp, "w") as f:
        f.write(text + "\n")
    os.replace(tmp, os.path.join(directory, name))


def _read_pid(path: str) -> int:
    try:
        with open(path) as f:
            text = f.read().strip()
    except OSError:
        return 0
    return int(text) if text.isdigit() else 0


def _alive(pid: int) -> bool:
    """Is `pid` still to be reaped by us (running, or a zombie)?"""
    return os.path.exists(f"/proc/{pid}")


def _drain(fd: int) -> bool:
    try:
        return bool(os.read(fd, 4096))
    except BlockingIOError:
        return False


def main(argv: list[str]) -> int:
    _, exec_dir = argv
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")
    os.chdir(exec_dir)  # bind relative: UNIX socket paths are limited to 108 bytes
    rfd, wfd = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
    signal.set_wakeup_fd(wfd)
    signal.signal(signal.SIGCHLD, lambda *_: None)
    signal.signal(signal.SIGPIPE, signal.SIG_IGN)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    tmp = f"{SOCKET}.{os.getpid()}"
    listener.bind(tmp)
    os.chmod(tmp, 0o600)
    listener.listen(64)
    listener.setblocking(False)
    os.replace(tmp, SOCKET)  # a daemon never connects to a half-made socket
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    sel.register(rfd, selectors.EVENT_READ)
    monitor = Monitor(listener, sel)
    print("ready", flush=True)  # the daemon that started us reads this, then connects
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.close(devnull)
    if sel.select(timeout=FIRST_CLIENT_WAIT):
        monitor.accept()
    monitor.serve(rfd)
    # Nothing to follow and nobody connected: go. A daemon connecting right now is in the
    # backlog; once the socket is unlinked no other can come, so serve those first.
    try:
        os.unlink(SOCKET)
    except FileNotFoundError:
        pass
    monitor.accept()
    monitor.serve(rfd)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
