"""Containers, images and exec instances: what was asked, and what is.

A `Container` keeps its `spec` (what create asked, immutable for its life), its `state` (what
the process is doing) and its `endpoints` keyed by network id. Renaming makes a new `Container`
with `dataclasses.replace`, as every change does.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field

from tether.model.network import Endpoint, EndpointRequest

EPOCH = "0001-01-01T00:00:00Z"


@dataclass(frozen=True)
class PortBinding:
    """One `-p` mapping: container port/proto to host ip:port (host_port 0 = pick one)."""

    container_port: int
    proto: str = "tcp"
    host_ip: str = ""
    host_port: int = 0
    host_port_end: int = 0  # `-p 8000-8010:80`: any free port of host_port..host_port_end


@dataclass(frozen=True)
class MountSpec:
    """One filesystem mount of a container: a host path (`bind`), a directory the daemon
    keeps under `<data-root>/volumes/<source>/_data` (`volume`), or a `tmpfs`."""

    type: str  # bind | volume | tmpfs
    target: str
    source: str = ""  # the host path (bind) or the volume's name (volume)
    read_only: bool = False
    mode: str = ""  # the mode text of a `-v` spec ("ro", "rw,z"), as inspect shows it
    propagation: str = ""  # bind only: rprivate unless asked
    options: tuple[str, ...] = ()  # tmpfs only: mount options ("size=64m", "mode=1777")
    anonymous: bool = False  # a volume named by tether: removed with its last container
    # the create field it came from: Binds (`-v`), Mounts (`--mount`), Tmpfs or Volumes
    origin: str = "Mounts"
    create_source: bool = False  # a `-v` bind: a missing host directory is made, as dockerd does


@dataclass(frozen=True)
class Volume:
    """A volume of the local driver: a directory `mountpoint` and what create gave it."""

    name: str
    mountpoint: str
    created: str
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)
    anonymous: bool = False


@dataclass(frozen=True)
class ContainerSpec:
    """A container's configuration as create asked for it, typed at the API edge."""

    image: str
    name: str = ""
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    hostname: str = ""
    domainname: str = ""
    user: str = ""
    working_dir: str = ""
    tty: bool = False
    open_stdin: bool = False
    stdin_once: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = False
    attach_stderr: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    exposed_ports: tuple[str, ...] = ()
    network_mode: str = "default"
    endpoints: dict[str, EndpointRequest] = field(default_factory=dict)
    mac_address: str = ""
    links: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_options: tuple[str, ...] = ()
    port_bindings: tuple[PortBinding, ...] = ()
    publish_all_ports: bool = False
    auto_remove: bool = False
    stop_signal: str = ""
    stop_timeout: int | None = None
    privileged: bool = False
    cap_add: tuple[str, ...] = ()
    mounts: tuple[MountSpec, ...] = ()  # Binds, Mounts, Tmpfs and Config.Volumes, resolved
    binds: tuple[str, ...] | None = None  # HostConfig.Binds as given, for inspect
    tmpfs: dict[str, str] = field(default_factory=dict)  # HostConfig.Tmpfs as given


@dataclass(frozen=True)
class ContainerState:
    """What the container's process is doing; `status` uses Docker's words."""

    status: str = "created"  # created | running | exited | dead | removing
    pid: int = 0
    exit_code: int = 0
    error: str = ""
    started_at: str = EPOCH
    finished_at: str = EPOCH
    paused: bool = False  # frozen by `pause`; still `running`, as in dockerd

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def shown_status(self) -> str:
        """The status inspect, `ps` and the status filter show: dockerd says "paused"."""
        return "paused" if self.paused else self.status


@dataclass(frozen=True)
class Container:
    """A created container: its spec, state, resolved image and network attachments."""

    id: str
    name: str
    created: str
    spec: ContainerSpec
    image_id: str
    path: str
    args: tuple[str, ...]
    env: tuple[str, ...]
    hostname: str
    state: ContainerState = ContainerState()
    endpoints: dict[str, Endpoint] = field(default_factory=dict)
    sandbox_id: str = ""
    sandbox_key: str = ""
    links: tuple[tuple[str, str], ...] = ()
    restart_count: int = 0
    ports: tuple[PortBinding, ...] = ()  # published while running: host ip and port chosen

    @property
    def short_id(self) -> str:
        return self.id[:12]


@dataclass(frozen=True)
class ExecSpec:
    """An exec instance as `POST /containers/{id}/exec` asked for it."""

    cmd: tuple[str, ...]
    env: tuple[str, ...] = ()
    user: str = ""
    working_dir: str = ""
    tty: bool = False
    attach_stdin: bool = False
    attach_stdout: bool = True
    attach_stderr: bool = True
    privileged: bool = False
    detach_keys: str = ""


@dataclass(frozen=True)
class Image:
    """An imported root filesystem and its config (`docker import` with `--change`)."""

    id: str  # "sha256:<64 hex>"
    repo_tags: tuple[str, ...]
    created: str
    size: int
    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    working_dir: str = ""
    exposed_ports: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    user: str = ""
    comment: str = ""


def ip_or_none(text: str | None) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """Parse an address field where Docker uses "" for absent."""
    return ipaddress.ip_address(text) if text else None
