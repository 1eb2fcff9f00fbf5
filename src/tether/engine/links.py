"""Legacy `--link` on the default bridge: /etc/hosts lines and environment variables.

Pure functions of the linking container and its targets. On user-defined networks a link
is only a DNS alias private to the linker (see `tether.dns.records`), never a hosts line.
"""

from __future__ import annotations

from collections.abc import Callable

from tether.errors import NotFound
from tether.model import Container, Network

DEFAULT_BRIDGE = "bridge"


def resolved_links(c: Container, get: Callable[[str], Container],
                   networks: dict[str, Network]) -> list[tuple[str, Container, str]]:
    """(alias, target, target's IPv4 address) for each link of `c` whose target is on the
    default bridge with `c` and has an address there."""
    out = []
    bridge = [n for n in c.endpoints if networks.get(n) and networks[n].name == DEFAULT_BRIDGE]
    for name, alias in c.links:
        try:
            target = get(name)
        except NotFound:
            continue
        ep = target.endpoints.get(bridge[0]) if bridge else None
        if ep is not None and ep.ipv4:
            out.append((alias, target, str(ep.ipv4.ip)))
    return out


def hosts_entries(links: list[tuple[str, Container, str]]) -> list[tuple[str, list[str]]]:
    """Hosts lines as dockerd writes them: `address alias short-id name`."""
    return [(ip, list(dict.fromkeys([alias, t.short_id, t.name]))) for alias, t, ip in links]


def env_vars(linker: str, alias: str, target: Container, ip: str) -> list[str]:
    """The environment a link gives: ALIAS_NAME, ALIAS_PORT*, ALIAS_ENV_* (not HOME/PATH)."""
    prefix = alias.upper().replace("-", "_")
    env = [f"{prefix}_NAME=/{linker}/{alias}"]
    ports = sorted(_port(p) for p in target.spec.exposed_ports)
    if ports:
        env.append(f"{prefix}_PORT={ports[0][1]}://{ip}:{ports[0][0]}")
    for port, proto in ports:
        base = f"{prefix}_PORT_{port}_{proto.upper()}"
        env += [f"{base}={proto}://{ip}:{port}", f"{base}_ADDR={ip}", f"{base}_PORT={port}",
                f"{base}_PROTO={proto}"]
    for item in target.env:
        key, sep, value = item.partition("=")
        if sep and key not in ("HOME", "PATH"):
            env.append(f"{prefix}_ENV_{key}={value}")
    return env


def _port(text: str) -> tuple[int, str]:
    port, _, proto = text.partition("/")
    return int(port.split("-")[0]), proto or "tcp"


def links_to(c: Container, target: Container) -> bool:
    return any(name in (target.name, target.id) or target.id.startswith(name)
               for name, _ in c.links)
