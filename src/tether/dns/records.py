"""The record table and the lookup: who may see which name, as plain data.

`Records` keeps a `Table` of the running containers, changed one container at a time
(`build` makes one at once, for tests). `resolve` is a pure function of (table, asker, name, type): it allocates nothing on the
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
# docker_gwbridge only carries overlay containers' egress: names there would cross overlays
NO_DISCOVERY = ("bridge", "host", "none", "docker_gwbridge")


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
    known: Mapping[bytes, int] = field(default_factory=dict)  # name -> networks holding it


def discoverable(net: Network | None) -> bool:
    """Docker decides by name: the predefined networks have no service discovery."""
    return net is not None and net.name not in NO_DISCOVERY and net.driver not in ("null", "host")


def dns_names(c: Container, ep: Endpoint) -> list[str]:
    """Every name a container answers to on one network, as in DNSNames of inspect."""
    return list(dict.fromkeys(n for n in (c.name, *ep.request.aliases, c.short_id, c.hostname)
                              if n))


def build(containers: Iterable[Container], networks: Mapping[str, Network],
          ttl: int = TTL) -> Table:
    """The table for `containers` (those whose endpoints are plumbed), made at once."""
    recs = Records(ttl)
    for c in containers:
        recs.put(c, networks)
    return recs.table


@dataclass(frozen=True)
class Contribution:
    """What one container adds to the table: (network, name, addresses) and PTRs."""

    names: tuple[tuple[str, bytes, Addresses], ...]
    ptrs: tuple[tuple[str, bytes, bytes], ...]


def contribution(c: Container, networks: Mapping[str, Network], ttl: int) -> Contribution:
    names, ptrs = [], []
    for net_id, ep in c.endpoints.items():
        net = networks.get(net_id)
        if not discoverable(net) or not (ep.ipv4 or ep.ipv6):
            continue
        keys = []
        for name in dns_names(c, ep):
            keys += [wire.encode_name(name), wire.encode_name(f"{name}.{net.name}")]
        addrs = _records(ep, ttl)
        names += [(net_id, key, addrs) for key in dict.fromkeys(k for k in keys if k)]
        target = wire.encode_name(f"{c.name}.{net.name}")
        for addr in (ep.ipv4, ep.ipv6):
            if addr is not None and target:
                ptrs.append((net_id, wire.reverse_name(addr.ip),
                             wire.record(wire.PTR, ttl, target)))
    return Contribution(tuple(names), tuple(ptrs))


class Records:
    """The live table, changed one container at a time.

    A change costs the names of one container (times the holders of a shared alias), not a
    rebuild: starting the 1,000th container must not redo the other 999. The resolver reads
    `table` from its own thread while this one writes: every write is a single dict
    assignment or deletion of an immutable value, which CPython makes atomic, so a reader
    sees each name either before or after a change, never half of it.
    """

    def __init__(self, ttl: int = TTL) -> None:
        self.ttl = ttl
        self.table = Table({}, {}, {}, {})
        self.live: dict[str, Container] = {}
        self.linking: set[str] = set()  # live containers with --link: their views follow others
        self.added: dict[str, Contribution] = {}
        self.holders: dict[tuple[str, bytes], dict[str, Addresses]] = {}
        self.ptr_holders: dict[tuple[str, bytes], dict[str, bytes]] = {}

    def put(self, c: Container, networks: Mapping[str, Network]) -> None:
        """Add or replace container `c` (started, connected, disconnected, renamed)."""
        old = self.live.get(c.id)
        self._withdraw(c.id)
        self.live[c.id] = c
        if c.links:
            self.linking.add(c.id)
        else:
            self.linking.discard(c.id)
        self._add(c.id, contribution(c, networks, self.ttl))
        self._refresh_askers(c, old, networks)

    def remove(self, cid: str, networks: Mapping[str, Network]) -> None:
        old = self.live.pop(cid, None)
        self.linking.discard(cid)
        self._withdraw(cid)
        self.table.askers.pop(cid, None)  # type: ignore[attr-defined]
        if old is not None:
            self._refresh_askers(None, old, networks)

    def _add(self, cid: str, contrib: Contribution) -> None:
        self.added[cid] = contrib
        for net, key, addrs in contrib.names:
            self.holders.setdefault((net, key), {})[cid] = addrs
            self._publish(net, key)
        for net, key, rr in contrib.ptrs:
            self.ptr_holders.setdefault((net, key), {})[cid] = rr
            self._publish_ptr(net, key)

    def _withdraw(self, cid: str) -> None:
        contrib = self.added.pop(cid, None)
        if contrib is None:
            return
        for net, key, _ in contrib.names:
            self.holders.get((net, key), {}).pop(cid, None)
            self._publish(net, key)
        for net, key, _ in contrib.ptrs:
            self.ptr_holders.get((net, key), {}).pop(cid, None)
            self._publish_ptr(net, key)

    def _publish(self, net: str, key: bytes) -> None:
        names = self.table.names.setdefault(net, {})  # type: ignore[attr-defined]
        held = self.holders.get((net, key))
        known = self.table.known
        if held:
            if key not in names:
                known[key] = known.get(key, 0) + 1  # type: ignore[index]
            names[key] = (tuple(r for a, _ in held.values() for r in a),
                          tuple(r for _, b in held.values() for r in b))
        elif key in names:
            del names[key]
            del self.holders[(net, key)]
            self._forget(key)

    def _publish_ptr(self, net: str, key: bytes) -> None:
        ptrs = self.table.ptrs.setdefault(net, {})  # type: ignore[attr-defined]
        held = self.ptr_holders.get((net, key))
        known = self.table.known
        if held:
            if key not in ptrs:
                known[key] = known.get(key, 0) + 1  # type: ignore[index]
            ptrs[key] = next(iter(held.values()))
        elif key in ptrs:
            del ptrs[key]
            del self.ptr_holders[(net, key)]
            self._forget(key)

    def _forget(self, key: bytes) -> None:
        known = self.table.known
        if known.get(key, 0) <= 1:  # type: ignore[attr-defined]
            known.pop(key, None)  # type: ignore[attr-defined]
        else:
            known[key] -= 1  # type: ignore[index]

    def _refresh_askers(self, new: Container | None, old: Container | None,
                        networks: Mapping[str, Network]) -> None:
        """Recompute the changed container's view, and that of every container holding a
        link (its private alias may point at the container that changed)."""
        by_name = None
        askers = [self.live[cid] for cid in self.linking]
        if new is not None and not new.links:
            askers.append(new)
        for c in askers:
            if c.links and by_name is None:
                by_name = {x.name: x for x in self.live.values()}
            asker = _asker(c, by_name or {}, self.live, networks, self.ttl)
            for net in asker.networks:
                self.table.names.setdefault(net, {})  # type: ignore[attr-defined]
                self.table.ptrs.setdefault(net, {})  # type: ignore[attr-defined]
            if asker.networks:
                self.table.askers[c.id] = asker  # type: ignore[index]
            else:
                self.table.askers.pop(c.id, None)  # type: ignore[attr-defined]


def _records(ep: Endpoint, ttl: int) -> Addresses:
    a = (wire.address_record(ep.ipv4.ip, ttl),) if ep.ipv4 else ()
    aaaa = (wire.address_record(ep.ipv6.ip, ttl),) if ep.ipv6 else ()
    return a, aaaa


def _asker(c: Container, by_name: Mapping[str, Container], live: Mapping[str, Container],
           networks: Mapping[str, Network], ttl: int) -> Asker:
    nets = tuple(n for n in c.endpoints if discoverable(networks.get(n)))
    private: dict[bytes, Addresses] = {}
    for name, alias in c.links:
        target = by_name.get(name) or next(
            (t for cid, t in live.items() if cid.startswith(name)), None)
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
