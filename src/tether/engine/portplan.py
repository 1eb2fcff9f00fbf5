"""Pure planning of published ports: what a container asks for, which host ports it gets,
and the kernel mappings that follow. No I/O: the effects live in `engine.ports`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from tether.errors import InvalidArgument, TetherError
from tether.firewall.portrules import Mapping
from tether.model import Container, Endpoint, Network, PortBinding

WILDCARDS = ("", "0.0.0.0", "::")


class PortTaken(TetherError):
    """A host port already published by another container or bound by a host process
    (Docker answers 500 with "driver failed programming external connectivity")."""

    status = 500


@dataclass(frozen=True)
class Target:
    """The endpoint published ports are DNAT'ed to, and its network."""

    net: Network
    ep: Endpoint


def wanted(c: Container, image_exposed: Iterable[str]) -> list[PortBinding]:
    """-p bindings, plus (-P) one random-port binding per exposed port not already bound."""
    out = list(c.spec.port_bindings)
    if c.spec.publish_all_ports:
        bound = {(b.container_port, b.proto) for b in out}
        for key in sorted({*c.spec.exposed_ports, *image_exposed}, key=_port_key):
            port, _, proto = key.partition("/")
            if (int(port), proto or "tcp") not in bound:
                out.append(PortBinding(container_port=int(port), proto=proto or "tcp"))
    return out


def _port_key(key: str) -> tuple[int, str]:
    port, _, proto = key.partition("/")
    return int(port), proto


def target(c: Container, nets: dict[str, Network]) -> Target | None:
    """The first bridge endpoint of a network with a way out; internal networks refuse."""
    internal = None
    for net_id, ep in c.endpoints.items():
        net = nets.get(net_id)
        if net is None or net.driver != "bridge" or ep.ipv4 is None:
            continue
        if not net.internal:
            return Target(net, ep)
        internal = internal or net
    if internal is not None:
        raise InvalidArgument(
            f"cannot publish ports of container {c.name}: network {internal.name} is internal, "
            "so nothing outside it can reach the container (Docker ignores -p there silently)")
    return None


def default_host_ip(b: PortBinding, host_binding: str) -> PortBinding:
    """A binding without host ip takes the network's host_binding_ipv4 option; 0.0.0.0
    (the default bridge's) still means every address of both families, as in Docker."""
    if b.host_ip or not host_binding or host_binding == "0.0.0.0":
        return b
    return replace(b, host_ip=host_binding)


def overlaps(a: PortBinding, b: PortBinding) -> bool:
    """Two bindings want the same host socket (wildcards overlap their family)."""
    if a.proto != b.proto or a.host_port != b.host_port:
        return False
    if a.host_ip == "" or b.host_ip == "" or a.host_ip == b.host_ip:
        return True
    fa, fb = (ipaddress.ip_address(x).version for x in (a.host_ip, b.host_ip))
    return fa == fb and (a.host_ip in WILDCARDS or b.host_ip in WILDCARDS)


def shown_ip(b: PortBinding) -> str:
    return b.host_ip or "0.0.0.0"


def allocate(bindings: list[PortBinding], taken: list[PortBinding], eph: tuple[int, int],
             usable: Callable[[PortBinding], bool]) -> list[PortBinding]:
    """Give each binding a host port: the fixed one, the first free one of its range, or the
    first free one of the ephemeral range. `usable` says whether the host lets us bind it
    (a host process may hold it). A fixed port already taken raises PortTaken.

    Bindings are indexed by (proto, host port), so 1,000 ports cost 1,000 lookups, not a
    million comparisons."""
    index: dict[tuple[str, int], list[PortBinding]] = {}
    for t in taken:
        index.setdefault((t.proto, t.host_port), []).append(t)

    def clashes(b: PortBinding) -> bool:
        return any(overlaps(b, t) for t in index.get((b.proto, b.host_port), ()))

    out: list[PortBinding] = []
    for b in bindings:
        if b.host_port and not b.host_port_end:
            if clashes(b):
                raise PortTaken(f"Bind for {shown_ip(b)}:{b.host_port} failed: "
                                "port is already allocated")
            pick = b
        else:
            lo, hi = (b.host_port, b.host_port_end) if b.host_port else eph
            pick = next((c for p in range(lo, hi + 1)
                         if not clashes(c := replace(b, host_port=p, host_port_end=0))
                         and usable(c)), None)
            if pick is None:
                raise PortTaken(f"Bind for {shown_ip(b)}:{lo}-{hi} failed: "
                                "no port is free in the range")
        out.append(pick)
        index.setdefault((pick.proto, pick.host_port), []).append(pick)
    return out


def mappings(bindings: Iterable[PortBinding], ep: Endpoint) -> tuple[Mapping, ...]:
    """The kernel mappings of allocated bindings to endpoint `ep` (both families when the
    host ip is a wildcard and the endpoint has IPv6)."""
    out: list[Mapping] = []
    for b in bindings:
        fams = _families(b.host_ip)
        for fam, addr in ((4, ep.ipv4), (6, ep.ipv6)):
            if addr is None or fam not in fams:
                continue
            host = "" if b.host_ip in WILDCARDS else b.host_ip
            out.append(Mapping(b.proto, host, b.host_port, str(addr.ip), b.container_port))
    return tuple(out)


def _families(host_ip: str) -> tuple[int, ...]:
    if host_ip == "":
        return (4, 6)
    if host_ip == "0.0.0.0":
        return (4,)
    if host_ip == "::":
        return (6,)
    return (ipaddress.ip_address(host_ip).version,)


def sockets_for(b: PortBinding) -> list[tuple[int, str]]:
    """(family, address) of the host sockets that reserve binding `b`."""
    if b.host_ip in WILDCARDS:
        return [(f, "0.0.0.0" if f == 4 else "::") for f in _families(b.host_ip)]
    return [(ipaddress.ip_address(b.host_ip).version, b.host_ip)]
