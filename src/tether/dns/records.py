"""The record table and the lookup: who may see which name, as plain data.

`build` turns the running containers into a `Table` (rebuilt whole on every change: it is
small, and a frozen table swapped in one assignment never shows a half-made state).
`resolve` is a pure function of (table, asker, name, type): it allocates nothing on the
common path and returns pre-packed resource records, or None for "ask upstream".
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from tether.dns import wire
from tether.model import Container, Endpoint, Network

TTL = 5  # seconds: short, so a client never keeps a replaced container's address for long

Addresses = tuple[tuple[bytes, ...], tuple[bytes, ...]]  # (A records, AAAA records)
NO_SUCH = (wire.NXDOMAIN, ())
CANNOT = (wire.SERVFAIL, ())
REFUSE = (wire.REFUSED, ())
NO_DISCOVERY = ("bridge", "host", "none")


@dataclass(frozen=True)
class Asker:
    """What one container's resolver sees: its networks, its links, where it forwards."""

    networks: tuple[str, ...]
    private: Mapping[bytes, Addresses] = field(default_factory=dict)
    upstreams: tuple[str, ...] = ()  # its --dns servers; () means the host's
    external: bool = True  # False when every network is --internal: nothing to forward to


@dataclass(frozen=True)
class Table:
    """Names per network (wire form, lower case) and the askers allowed to read them."""

    names: Mapping[str, Mapping[bytes, Addresses]] = field(default_factory=dict)
    ptrs: Mapping[str, Mapping[bytes, bytes]] = field(default_factory=dict)
    askers: Mapping[str, Asker] = field(default_factory=dict)
    known: frozenset[bytes] = frozenset()


def discoverable(net: Network | None) -> bool:
    """Docker decides by name: the predefined networks have no service discovery."""
    return net is not None and net.name not in NO_DISCOVERY and net.driver not in ("null", "host")


def dns_names(c: Container, ep: Endpoint) -> list[str]:
    """Every name a container answers to on one network, as in DNSNames of inspect."""
    return list(dict.fromkeys(n for n in (c.name, *ep.request.aliases, c.short_id, c.hostname)
                              if n))


def build(containers: Iterable[Container], networks: Mapping[str, Network],
          ttl: int = TTL) -> Table:
    """The table for `containers` (those whose endpoints are plumbed)."""
    live = list(containers)
    names: dict[str, dict[bytes, tuple[list[bytes], list[bytes]]]] = {}
    ptrs: dict[str, dict[bytes, bytes]] = {}
    for c in live:
        for net_id, ep in c.endpoints.items():
            net = networks.get(net_id)
            if discoverable(net) and (ep.ipv4 or ep.ipv6):
                _add_endpoint(names.setdefault(net_id, {}), ptrs.setdefault(net_id, {}),
                              c, ep, net.name, ttl)
            elif discoverable(net):
                names.setdefault(net_id, {})
                ptrs.setdefault(net_id, {})
    frozen = {n: {k: (tuple(a), tuple(b)) for k, (a, b) in d.items()} for n, d in names.items()}
    askers = {c.id: _asker(c, live, networks, ttl) for c in live}
    known = frozenset(k for d in frozen.values() for k in d) | frozenset(
        k for d in ptrs.values() for k in d)
    return Table(frozen, ptrs, {k: v for k, v in askers.items() if v.networks}, known)


def _add_endpoint(names: dict, ptrs: dict, c: Container, ep: Endpoint, net_name: str,
                  ttl: int) -> None:
    keys = []
    for name in dns_names(c, ep):
        keys += [wire.encode_name(name), wire.encode_name(f"{name}.{net_name}")]
    a, aaaa = _records(ep, ttl)
    for key in dict.fromkeys(k for k in keys if k):
        entry = names.setdefault(key, ([], []))
        entry[0].extend(a)
        entry[1].extend(aaaa)
    target = wire.encode_name(f"{c.name}.{net_name}")
    for addr in (ep.ipv4, ep.ipv6):
        if addr is not None and target:
            ptrs[wire.reverse_name(addr.ip)] = wire.record(wire.PTR, ttl, target)


def _records(ep: Endpoint, ttl: int) -> Addresses:
    a = (wire.address_record(ep.ipv4.ip, ttl),) if ep.ipv4 else ()
    aaaa = (wire.address_record(ep.ipv6.ip, ttl),) if ep.ipv6 else ()
    return a, aaaa


def _asker(c: Container, live: list[Container], networks: Mapping[str, Network],
           ttl: int) -> Asker:
    nets = tuple(n for n in c.endpoints if discoverable(networks.get(n)))
    private: dict[bytes, Addresses] = {}
    for name, alias in c.links:
        target = next((t for t in live if t.name == name or t.id.startswith(name)), None)
        key = wire.encode_name(alias)
        if target is None or key is None:
            continue
        a: tuple[bytes, ...] = ()
        aaaa: tuple[bytes, ...] = ()
        for net_id in nets:
            ep = target.endpoints.get(net_id)
            if ep is not None:
                more = _records(ep, ttl)
                a, aaaa = a + more[0], aaaa + more[1]
        if a or aaaa:
            private[key] = (a, aaaa)
    external = any(not networks[n].internal for n in nets)
    return Asker(nets, private, tuple(c.spec.dns), external)


def resolve(table: Table, asker: str, qname: bytes, qtype: int
            ) -> tuple[int, tuple[bytes, ...] | list[bytes]] | None:
    """The rcode and records answering `asker`'s question, or None: ask upstream.

    A name is answered only from the asker's own networks and links; a name tether knows
    elsewhere is NXDOMAIN for it (never forwarded), and so is any single-label name.
    """
    view = table.askers.get(asker)
    if view is None:
        return REFUSE
    if qtype == wire.PTR:
        for net in view.networks:
            rr = table.ptrs[net].get(qname)
            if rr is not None:
                return wire.NOERROR, (rr,)
        hit = None
    else:
        hit = view.private.get(qname)
        if hit is None:
            nets = view.networks
            hit = table.names[nets[0]].get(qname) if len(nets) == 1 else _merge(table, nets, qname)
    if hit is None:
        if qname in table.known or (len(qname) > 1 and qname[qname[0] + 1] == 0):
            return NO_SUCH
        return None if view.external else CANNOT
    return wire.NOERROR, _pick(hit, qtype)


def _pick(hit: Addresses, qtype: int) -> tuple[bytes, ...] | list[bytes]:
    """The records of the asked type (none for other types: NOERROR with no answer, as
    Docker), shuffled when there are several so load spreads across alias holders."""
    if qtype == wire.A:
        rrs = hit[0]
    elif qtype == wire.AAAA:
        rrs = hit[1]
    elif qtype == wire.ANY:
        rrs = hit[0] + hit[1]
    else:
        return ()
    return random.sample(rrs, len(rrs)) if len(rrs) > 1 else rrs


def _merge(table: Table, nets: tuple[str, ...], qname: bytes) -> Addresses | None:
    a: tuple[bytes, ...] = ()
    aaaa: tuple[bytes, ...] = ()
    found = False
    for net in nets:
        hit = table.names[net].get(qname)
        if hit is not None:
            a, aaaa, found = a + hit[0], aaaa + hit[1], True
    return (a, aaaa) if found else None
