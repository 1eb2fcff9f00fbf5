"""A real tetherd on a temporary socket, for the test harness, the demo and tools/with-daemon.

Nothing here imports tether: the daemon is driven the way users drive it, as a process
speaking the Docker Engine API on a UNIX socket and through the `tether` CLI.
"""

from __future__ import annotations

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import make_busybox_image

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = REPO / ".venv" / "bin"
NSRUN = REPO / "tools" / "nsrun"
READY_TIMEOUT = 20.0


class DaemonError(RuntimeError):
    """tetherd did not start, answer or stop as it should; the message carries its log tail."""


def in_namespace() -> bool:
    """True inside the private namespaces tools/nsrun made (checked against the netns inode)."""
    return os.environ.get("TETHER_IN_NS") == "1" and \
        os.environ.get("TETHER_NS_NET") == str(os.stat("/proc/self/ns/net").st_ino)


def enter_namespace(argv: list[str]) -> None:
    """Re-execute `python argv...` under tools/nsrun unless already inside (never returns then)."""
    if in_namespace():
        return
    cmd = [sys.executable, str(NSRUN), "--", sys.executable, *argv]
    os.execv(cmd[0], cmd)


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float):
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self):
        return json.loads(self.body) if self.body else None


def unix_request(sock: str | Path, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None, timeout: float = 60.0) -> Response:
    """Send one HTTP request to the API socket; raises OSError when nobody listens."""
    conn = _UnixConnection(str(sock), timeout)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        return Response(resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read())
    finally:
        conn.close()


def _not_in_venv() -> str:
    return f"{VENV_BIN}/tetherd is missing: run `make install` first"


@dataclass
class Daemon:
    """One tetherd process with its own data root, exec root, socket and log under `root`.

    `netns` (a netns file) starts it in another network namespace, as one "host" of a
    multi-host test. The same roots survive `restart()`, as a real daemon's state would.
    """

    root: Path
    netns: str | None = None
    log_level: str = "debug"
    extra_args: tuple[str, ...] = ()
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def socket(self) -> str:
        return str(self.root / "tether.sock")

    @property
    def url(self) -> str:
        return f"unix://{self.socket}"

    @property
    def data_root(self) -> Path:
        return self.root / "data"

    @property
    def exec_root(self) -> Path:
        return self.root / "exec"

    @property
    def log_path(self) -> Path:
        return self.root / "tetherd.log"

    @property
    def env(self) -> dict[str, str]:
        """The environment for clients: TETHER_HOST and DOCKER_HOST point at this daemon."""
        return dict(os.environ, TETHER_HOST=self.url, DOCKER_HOST=self.url,
                    DOCKER_CONFIG=str(self.root / "docker-config"), DOCKER_CLI_HINTS="false")

    def prefix(self) -> list[str]:
        """The command prefix that runs a program in this daemon's network namespace."""
        return ["nsenter", f"--net={self.netns}"] if self.netns else []

    def command(self) -> list[str]:
        return [*self.prefix(), str(VENV_BIN / "tetherd"), "--data-root", str(self.data_root),
                "--exec-root", str(self.exec_root), "--host", self.url,
                "--log-level", self.log_level, *self.extra_args]

    def start(self, timeout: float = READY_TIMEOUT) -> "Daemon":
        """Start tetherd and wait until HEAD /_ping answers 200."""
        if not (VENV_BIN / "tetherd").exists():
            raise DaemonError(_not_in_venv())
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.log_path, "ab") as log:
            # Own session: a Ctrl-C meant for the test run must not kill the daemon
            # before the fixtures' teardown has asked it to clean up.
            self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        self.wait_ready(timeout)
        return self

    def ping(self) -> bool:
        try:
            return unix_request(self.socket, "HEAD", "/_ping", timeout=2).status == 200
        except OSError:
            return False

    def wait_ready(self, timeout: float = READY_TIMEOUT) -> None:
        """Poll the socket with a short, growing backoff, bounded by `timeout` seconds."""
        deadline, delay = time.monotonic() + timeout, 0.02
        while not self.ping():
            if self.proc is not None and self.proc.poll() is not None:
                raise DaemonError(f"tetherd exited with {self.proc.returncode} before "
                                  f"answering /_ping:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise DaemonError(f"tetherd did not answer /_ping within {timeout:.0f} s:\n"
                                  f"{self.log_tail()}")
            time.sleep(delay)
            delay = min(delay * 1.5, 0.5)

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout: float = 15.0, kill: bool = False) -> int | None:
        """SIGTERM (or SIGKILL) the daemon and wait; escalate to SIGKILL after `timeout`."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise DaemonError(f"tetherd ignored SIGTERM for {timeout:.0f} s; killed:\n"
                                  f"{self.log_tail()}") from None
        return self.proc.returncode

    def restart(self, kill: bool = False, timeout: float = READY_TIMEOUT) -> "Daemon":
        """Stop (gracefully, or SIGKILL as a crash) and start again on the same roots."""
        self.stop(kill=kill)
        return self.start(timeout)

    def cli(self, *args: str, check: bool = False, timeout: float = 120.0,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run `.venv/bin/tether ARGS` against this daemon; text output captured."""
        return self.run([str(VENV_BIN / "tether"), *args], check, timeout, input)

    def run(self, argv: list[str], check: bool = False, timeout: float = 120.0,
            input: str | None = None) -> subprocess.CompletedProcess:
        """Run any client program with this daemon's environment."""
        return subprocess.run(argv, env=self.env, check=check, timeout=timeout, input=input,
                              capture_output=True, text=True)

    def api(self, method: str, path: str, body=None, timeout: float = 60.0) -> Response:
        """One raw API request; `body` is JSON-encoded unless it is bytes."""
        headers = {}
        if body is not None and not isinstance(body, bytes):
            body, headers = json.dumps(body).encode(), {"Content-Type": "application/json"}
        return unix_request(self.socket, method, path, body, headers, timeout)

    def import_busybox(self, directory: Path, ref: str = "busybox:local") -> str:
        """Build the busybox rootfs in `directory` and `tether image import` it as `ref`."""
        tarball = make_busybox_image.build(directory / "busybox.tar",
                                           make_busybox_image.find_busybox())
        r = self.cli("image", "import", str(tarball), ref, "--change", 'CMD ["sh"]')
        if r.returncode != 0:
            raise DaemonError(f"tether image import failed: {(r.stderr or r.stdout).strip()}")
        return ref

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])
