"""etcd members for the multi-host tests: each a process (optionally in a netns file), with
its own data directory, on private addresses only; never a host service."""

from __future__ import annotations

import shutil
import signal
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

ETCD = shutil.which("etcd") or "/usr/bin/etcd"


@dataclass
class EtcdMember:
    name: str
    address: str
    root: Path
    netns: str | None = None
    client_port: int = 2379
    peer_port: int = 2380
    proc: subprocess.Popen | None = field(default=None, repr=False)

    @property
    def client(self) -> str:
        return f"{self.address}:{self.client_port}"

    @property
    def peer_url(self) -> str:
        return f"http://{self.address}:{self.peer_port}"

    def command(self, cluster: str, state: str) -> list[str]:
        prefix = ["nsenter", f"--net={self.netns}"] if self.netns else []
        url = f"http://{self.client}"
        return [*prefix, ETCD, "--name", self.name, "--data-dir", str(self.root / "data"),
                "--listen-client-urls", url, "--advertise-client-urls", url,
                "--listen-peer-urls", self.peer_url,
                "--initial-advertise-peer-urls", self.peer_url,
                "--initial-cluster", cluster, "--initial-cluster-state", state,
                "--heartbeat-interval", "50", "--election-timeout", "500",
                "--log-level", "warn"]

    def start(self, cluster: str, state: str = "new") -> "EtcdMember":
        self.root.mkdir(parents=True, exist_ok=True)
        with open(self.root / "etcd.log", "ab") as log:
            self.proc = subprocess.Popen(self.command(cluster, state), stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)
        return self

    def healthy(self) -> bool:
        try:  # a member in a netns is reached over the underlay, which has an address here
            with urllib.request.urlopen(f"http://{self.client}/health", timeout=1) as resp:
                return b'"true"' in resp.read()
        except OSError:
            return False

    def stop(self, kill: bool = False) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def initial_cluster(members: list[EtcdMember]) -> str:
    return ",".join(f"{m.name}={m.peer_url}" for m in members)


def start_cluster(members: list[EtcdMember], timeout: float = 20.0) -> list[EtcdMember]:
    """Start every member together and wait until each reports itself healthy."""
    cluster = initial_cluster(members)
    for m in members:
        m.start(cluster)
    deadline = time.monotonic() + timeout
    for m in members:
        while not m.healthy():
            if m.proc.poll() is not None:
                raise RuntimeError(f"etcd {m.name} exited: "
                                   f"{(m.root / 'etcd.log').read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"etcd {m.name} not healthy after {timeout} s")
            time.sleep(0.05)
    return members
