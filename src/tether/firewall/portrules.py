"""Pure builders of the published-port (DNAT) part of tether's inet table: data in, nft text out.

Four maps hold every published port of every container, so a packet does one hash lookup
however many ports are published, and publishing 1,000 ports is one transaction of 1,000
elements, not 1,000 rules:

- `pub4`/`pub6`: `meta l4proto . th dport` -> container address . port, for bindings to
  every host address; the rule looking them up is guarded by `fib daddr type local`, so only
  traffic to one of the host's own addresses (127.0.0.1 included) is translated.
- `pub4ip`/`pub6ip`: `ip daddr . meta l4proto . th dport` -> container address . port, for
  bindings to one host address (`-p 127.0.0.1:8080:80`).

Chains `pub_pre` (prerouting: from outside and from containers) and `pub_out` (output: from
the host itself) look the maps up; `pub_post` masquerades what loops back into a bridge
(hairpin, container to container through the host address, and 127.0.0.1 sources, which
need route_localnet on the bridge). ::1 is left alone: IPv6 has no route_localnet, and the
kernel drops a reply de-NATed to ::1 that arrived on a bridge (no route, RFC 4291 2.5.3),
so the one in-process proxy of `engine.loopproxy` serves ::1 instead. The forward chain of `rules.inet_skeleton` accepts
DNAT'ed traffic into a bridge before the per-network isolation chains.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

from tether.firewall.rules import _script
from tether.kernel import nfnl


@dataclass(frozen=True)
class Mapping:
    """One published port as the kernel sees it: host (ip, port, proto) -> container addr:port.

    `host_ip` "" binds every host address of the container address's family.
    """

    proto: str
    host_ip: str
    host_port: int
    addr: str
    port: int

    @property
    def version(self) -> int:
        return ipaddress.ip_address(self.addr).version

    def element(self) -> tuple[str, str]:
        """(map name, element text) of this mapping."""
        v = "4" if self.version == 4 else "6"
        key = f"{self.proto} . {self.host_port}"
        if self.host_ip:
            return f"pub{v}ip", f"{self.host_ip} . {key} : {self.addr} . {self.port}"
        return f"pub{v}", f"{key} : {self.addr} . {self.port}"

    def encoded(self) -> tuple[str, bytes, bytes]:
        """(map name, key, value) of this mapping as nfnetlink carries them."""
        key = [nfnl.proto(self.proto), nfnl.service(self.host_port)]
        if self.host_ip:
            key.insert(0, nfnl.address(self.host_ip))
        name = self.element()[0]
        return name, nfnl.concat(*key), nfnl.concat(nfnl.address(self.addr),
                                                    nfnl.service(self.port))


def ports_skeleton(table: str) -> list[str]:
    """The constant DNAT part of the inet table; safe to apply over an existing one."""
    t = f"inet {table}"
    lines = []
    for v, fam in (("4", "ipv4_addr"), ("6", "ipv6_addr")):
        lines += [
            f"add map {t} pub{v} {{ type inet_proto . inet_service : {fam} . inet_service; }}",
            f"add map {t} pub{v}ip {{ type {fam} . inet_proto . inet_service : "
            f"{fam} . inet_service; }}",
        ]
    for chain, hook, prio in (("pub_pre", "prerouting", "dstnat"), ("pub_out", "output", "-100")):
        lines += [f"add chain {t} {chain} {{ type nat hook {hook} priority {prio}; "
                  "policy accept; }", f"flush chain {t} {chain}"]
        if chain == "pub_out":  # the kernel cannot DNAT ::1: engine.loopproxy serves it
            lines.append(f"add rule {t} {chain} ip6 daddr ::1 return")
        lines += [f"add rule {t} {chain} {r}" for r in _dnat_rules()]
    lines += [
        f"add chain {t} pub_post {{ type nat hook postrouting priority srcnat; policy accept; }}",
        f"flush chain {t} pub_post",
        f"add rule {t} pub_post oifname @bridges ct status dnat iifname @bridges masquerade",
        f"add rule {t} pub_post oifname @bridges ct status dnat ip saddr 127.0.0.0/8 masquerade",
        # with br_netfilter loaded, hairpin is bridged, not routed, and postrouting sees no
        # input interface (iif 0, as for the host's own packets): a source that is not one
        # of the host's addresses says the packet came from a container
        f"add rule {t} pub_post oifname @bridges ct status dnat iif 0 fib saddr type != local "
        "masquerade",
    ]
    return lines


def _dnat_rules() -> list[str]:
    return [
        "meta nfproto ipv4 dnat ip to ip daddr . meta l4proto . th dport map @pub4ip",
        "meta nfproto ipv6 dnat ip6 to ip6 daddr . meta l4proto . th dport map @pub6ip",
        "fib daddr type local meta nfproto ipv4 dnat ip to meta l4proto . th dport map @pub4",
        "fib daddr type local meta nfproto ipv6 dnat ip6 to meta l4proto . th dport map @pub6",
    ]


def _element_lines(table: str, mappings: Iterable[Mapping], verb: str) -> list[str]:
    by_map: dict[str, list[str]] = {}
    for m in mappings:
        name, elem = m.element()
        if verb == "delete":
            elem = elem.partition(" : ")[0]
        by_map.setdefault(name, []).append(elem)
    return [f"{verb} element inet {table} {name} {{ {', '.join(elems)} }}"
            for name, elems in sorted(by_map.items())]


def publish(table: str, mappings: Iterable[Mapping]) -> str:
    """One script adding every mapping of a container (one transaction, any number of ports)."""
    mappings = list(mappings)
    if not mappings:
        return ""
    return _script(ports_skeleton(table) + _element_lines(table, mappings, "add"))


def unpublish(table: str, mappings: Iterable[Mapping]) -> str:
    """One script deleting a container's mappings; absent ones are no error (add, then delete)."""
    mappings = list(mappings)
    if not mappings:
        return ""
    lines = ports_skeleton(table) + _element_lines(table, mappings, "add")
    return _script(lines + _element_lines(table, mappings, "delete"))


def all_elements(table: str, mappings: Iterable[Mapping]) -> list[str]:
    """Skeleton and elements for `rules.full_ruleset` (daemon start, reconcile)."""
    return ports_skeleton(table) + _element_lines(table, list(mappings), "add")
