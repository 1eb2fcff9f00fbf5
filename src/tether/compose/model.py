"""The compose project as typed, frozen records, parsed once from the merged document.

Names follow compose 1.29.2 so that docker-compose and `tether compose` recognise each
other's projects: networks `<project>_<key>` (or `name:`), containers `<project>_<service>_1`.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

from tether.compose.merge import as_map
from tether.errors import InvalidArgument, NotFound

DEFAULT_NETWORK = "default"


@dataclass(frozen=True)
class IPAMPoolDef:
    subnet: str = ""
    ip_range: str = ""
    gateway: str = ""
    aux_addresses: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NetworkDef:
    """A top-level network; `name` is its name in the daemon."""

    key: str
    name: str
    driver: str = "bridge"
    driver_opts: dict[str, str] = field(default_factory=dict)
    ipam_driver: str = ""
    ipam_options: dict[str, str] = field(default_factory=dict)
    ipam_config: tuple[IPAMPoolDef, ...] = ()
    internal: bool = False
    attachable: bool = True
    enable_ipv6: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    external: bool = False
    configured: dict = field(default_factory=dict)  # as written, for `config`


@dataclass(frozen=True)
class ServiceNetwork:
    """One service's attachment to one network."""

    key: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str = ""
    ipv6_address: str = ""
    priority: int = 0
    mac_address: str = ""
    configured: dict | None = None


@dataclass(frozen=True)
class PortDef:
    """One published or exposed port, in compose 1.29.2's ServicePort fields."""

    target: int
    published: int | str | None = None
    protocol: str | None = None
    mode: str | None = None
    host_ip: str | None = None


@dataclass(frozen=True)
class Service:
    name: str
    image: str
    command: str | list | None = None
    environment: dict[str, str | int | float | None] = field(default_factory=dict)
    hostname: str = ""
    ports: tuple[PortDef, ...] = ()
    links: tuple[tuple[str, str | None], ...] = ()
    depends_on: dict[str, dict] = field(default_factory=dict)
    networks: tuple[ServiceNetwork, ...] = ()  # the primary network first
    stop_grace_period: float | None = None  # seconds `stop` waits before SIGKILL
    configured: dict = field(default_factory=dict)

    def dependencies(self) -> list[str]:
        """Services that must be up first: links and depends_on, as compose orders them."""
        return list(dict.fromkeys([s for s, _ in self.links] + list(self.depends_on)))


@dataclass(frozen=True)
class Project:
    name: str
    services: tuple[Service, ...]  # in start order: dependencies first
    networks: dict[str, NetworkDef]  # by key, only those some service uses or defined
    working_dir: str
    config_files: tuple[str, ...]

    def service(self, name: str) -> Service:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise NotFound(f"no such service: {name}")


def normalize_project_name(name: str) -> str:
    """compose 1.29.2: lower case, only letters, digits, `-` and `_`."""
    return re.sub(r"[^-_a-z0-9]", "", name.lower())


def project_name(flag: str | None, env: dict, data: dict, directory: str) -> str:
    """`-p`, else COMPOSE_PROJECT_NAME, else top-level `name:`, else the directory's name."""
    for candidate in (flag, env.get("COMPOSE_PROJECT_NAME"), data.get("name"),
                      os.path.basename(os.path.abspath(directory))):
        if candidate and normalize_project_name(str(candidate)):
            return normalize_project_name(str(candidate))
    return "default"


def build_project(data: dict, name: str, working_dir: str, files: tuple[str, ...],
                  env: dict) -> Project:
    """Parse the merged document.

    Raises:
        InvalidArgument: an undefined network, link or dependency, a cycle, or a service
            without an image.
    """
    raw_networks = dict(data.get("networks") or {})
    services = [parse_service(n, s or {}, env) for n, s in (data.get("services") or {}).items()]
    used = {sn.key for s in services for sn in s.networks}
    if DEFAULT_NETWORK in used:
        raw_networks.setdefault(DEFAULT_NETWORK, None)
    networks = {k: parse_network(k, v, name) for k, v in raw_networks.items()}
    for svc in services:
        for sn in svc.networks:
            if sn.key not in networks:
                raise InvalidArgument(f'Service "{svc.name}" uses an undefined network "{sn.key}"')
    ordered = order_services(services)
    return Project(name, tuple(_with_primary(s, networks) for s in ordered), networks,
                   working_dir, files)


def parse_network(key: str, raw: dict | None, project: str) -> NetworkDef:
    raw = raw or {}
    external = raw.get("external")
    ext_name = external.get("name") if isinstance(external, dict) else None
    is_external = bool(external) and str(external).lower() != "false"
    name = raw.get("name") or ext_name or (key if is_external else f"{project}_{key}")
    ipam = raw.get("ipam") or {}
    return NetworkDef(
        key=key, name=str(name), driver=raw.get("driver") or "bridge",
        driver_opts={k: str(v) for k, v in (raw.get("driver_opts") or {}).items()},
        ipam_driver=ipam.get("driver", ""), ipam_options=dict(ipam.get("options") or {}),
        ipam_config=tuple(IPAMPoolDef(c.get("subnet", ""), c.get("ip_range", ""),
                                      c.get("gateway", ""), dict(c.get("aux_addresses") or {}))
                          for c in ipam.get("config") or ()),
        internal=_bool(raw.get("internal")), attachable=True,
        enable_ipv6=_bool(raw.get("enable_ipv6")),
        labels={k: "" if v is None else str(v) for k, v in as_map(raw.get("labels")).items()},
        external=is_external, configured=raw)


def _bool(value) -> bool:
    return value is True or str(value).lower() in ("true", "yes", "1")


def parse_service(name: str, raw: dict, env: dict) -> Service:
    image = raw.get("image")
    if not image:
        raise InvalidArgument(f"service {name!r} has no `image:` (tether builds no images)")
    nets = as_map(raw.get("networks")) if "networks" in raw else {DEFAULT_NETWORK: None}
    return Service(
        name=name, image=str(image), command=raw.get("command"),
        environment=_environment(raw.get("environment"), env),
        hostname=str(raw.get("hostname") or ""),
        ports=tuple(p for spec in raw.get("ports") or () for p in parse_port(spec)),
        links=tuple(_link(item) for item in raw.get("links") or ()),
        depends_on={k: v or {"condition": "service_started"}
                    for k, v in as_map(raw.get("depends_on")).items()},
        networks=tuple(_service_network(k, v) for k, v in nets.items()),
        stop_grace_period=parse_duration(raw["stop_grace_period"])
        if raw.get("stop_grace_period") is not None else None,
        configured=raw)


_DURATION = re.compile(r"(\d+(?:\.\d+)?)(h|ms|m|s|us)")
_UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001, "us": 0.000001}


def parse_duration(value) -> float:
    """compose durations: `10s`, `1m30s`, `500ms`, or a bare number of seconds."""
    text = str(value).strip()
    if re.fullmatch(r"\d+(\.\d+)?", text):
        return float(text)
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise InvalidArgument(f"invalid duration: {text!r}")
    return sum(float(n) * _UNITS[u] for n, u in parts)


def _environment(raw, env: dict) -> dict[str, str | int | float | None]:
    """`NAME` alone takes the value from the caller's environment (None when unset)."""
    out = {}
    for key, value in as_map(raw).items():
        if value is None:
            value = env.get(key)
        out[key] = _env_value(value)
    return out


def _env_value(value):
    """Numbers stay numbers: compose 1.29.2 hashes `NUM: 1` as 1, not "1"."""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    return None if value is None else _scalar(value)


def _scalar(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _link(item: str) -> tuple[str, str | None]:
    svc, sep, alias = str(item).partition(":")
    return svc, alias if sep else None


def _service_network(key: str, raw: dict | None) -> ServiceNetwork:
    raw = raw or {}
    return ServiceNetwork(
        key=key, aliases=tuple(str(a) for a in raw.get("aliases") or ()),
        ipv4_address=raw.get("ipv4_address") or "", ipv6_address=raw.get("ipv6_address") or "",
        priority=int(raw.get("priority") or 0), mac_address=raw.get("mac_address") or "",
        configured=raw if raw else None)


def _with_primary(svc: Service, networks: dict[str, NetworkDef]) -> Service:
    """Order the service's networks as compose 1.29.2 does: by priority (highest first) when
    any is set, else by network name; the first one is the container's NetworkMode."""
    nets = list(svc.networks)
    if any(n.priority for n in nets):
        nets.sort(key=lambda n: n.priority, reverse=True)
    else:
        nets.sort(key=lambda n: networks[n.key].name)
    return Service(**{**svc.__dict__, "networks": tuple(nets)})


def parse_port(spec) -> list[PortDef]:
    """Short (`[ip:][host:]container[/proto]`, ranges) or long syntax, as compose 1.29.2."""
    if isinstance(spec, dict):
        published = spec.get("published")
        return [PortDef(int(spec["target"]), _port_number(published), spec.get("protocol"),
                        spec.get("mode"), spec.get("host_ip"))]
    text = str(spec)
    rest, slash, proto = text.rpartition("/") if "/" in text else (text, "", "")
    parts = rest.rsplit(":", 2)
    if len(parts) == 3:
        host_ip, host, container = parts
    elif len(parts) == 2:
        host_ip, (host, container) = None, parts
    else:
        host_ip, host, container = None, "", parts[0]
    targets = _range(container, text)
    hosts = _range(host, text) if host else []
    if hosts and len(hosts) != len(targets) and len(hosts) != 1:
        raise InvalidArgument(f"port ranges do not match: {text}")
    out = []
    for i, target in enumerate(targets):
        pub = (hosts[i] if len(hosts) == len(targets) else host) if hosts else None
        out.append(PortDef(target, pub, proto if slash else None, None, host_ip or None))
    return out


def _port_number(value) -> int | str | None:
    if value in (None, ""):
        return None
    text = str(value)
    return text if "-" in text else int(text)


def _range(text: str, spec: str) -> list[int]:
    lo, sep, hi = text.partition("-")
    try:
        first, last = int(lo), int(hi) if sep else int(lo)
    except ValueError:
        raise InvalidArgument(f"invalid port specification: {spec!r}") from None
    if not 0 < first <= last <= 65535:
        raise InvalidArgument(f"invalid port range: {spec!r}")
    return list(range(first, last + 1))


def order_services(services: list[Service]) -> list[Service]:
    """Dependencies first (links and depends_on), otherwise the file's order.

    Raises:
        InvalidArgument: a dependency on an undefined service, or a cycle.
    """
    by_name = {s.name: s for s in services}
    done: dict[str, Service] = {}

    def visit(svc: Service, trail: tuple[str, ...]) -> None:
        if svc.name in done:
            return
        if svc.name in trail:
            cycle = " -> ".join(trail[trail.index(svc.name):] + (svc.name,))
            raise InvalidArgument(f"circular dependency between services: {cycle}")
        for dep in svc.dependencies():
            if dep not in by_name:
                raise InvalidArgument(f"service {svc.name!r} depends on undefined service {dep!r}")
            visit(by_name[dep], trail + (svc.name,))
        done[svc.name] = svc

    for svc in services:
        visit(svc, ())
    return list(done.values())
