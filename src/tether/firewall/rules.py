"""Pure builders of tether's nftables scripts: data in, `nft -f` text out, no I/O.

Layout (one `inet` table for filtering and NAT, one `bridge` table for icc=false):

- set `bridges`: every tether bridge. Map `net_chains`: bridge -> `jump net-<id12>`.
- chain `forward`: `iifname vmap @net_chains` sends traffic leaving a tether bridge to its
  network's chain; traffic into a tether bridge from anywhere else is accepted only when it
  is a reply or was DNAT'ed (published ports), as Docker's FORWARD policy DROP does.
- chain `net-<id12>`: accept to its own bridge (drop when icc=false), drop to every other
  tether bridge, accept the rest (internal networks: drop the rest).
- chain `postrouting`: masquerade sources in `masq4`/`masq6` leaving through a non-tether link.
- bridge table: `iifname @no_icc_ports` drops IP bridged from a port of an icc=false bridge
  to another port. Ports, not bridges: this kernel lacks `meta ibrname` (NFT_BRIDGE_META),
  so endpoints of icc=false networks add their host veth (`add_endpoint`).

Each packet does a constant number of hash lookups and each network change touches a constant
number of elements plus one chain, however many networks exist. Every script re-declares the
constant skeleton (idempotent `add` plus a flush of the base chains) so that any script can be
applied on its own and replayed after a crash.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Union

IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]


@dataclass(frozen=True)
class NetRules:
    """What the firewall needs to know about one bridge network.

    `key` names the per-network chain (`net-<key>`): the first 12 hex of the network id.
    """

    key: str
    bridge: str
    subnets: tuple[IPNetwork, ...] = ()
    internal: bool = False
    icc: bool = True
    masquerade: bool = True

    @property
    def chain(self) -> str:
        return f"net-{self.key}"

    def masq_subnets(self, version: int) -> tuple[IPNetwork, ...]:
        """Subnets whose traffic is masqueraded: none for internal networks."""
        if self.internal or not self.masquerade:
            return ()
        return tuple(s for s in self.subnets if s.version == version)


def _q(name: str) -> str:
    """Quote an interface name for nft."""
    return '"' + name.replace('"', "") + '"'


def inet_skeleton(table: str) -> list[str]:
    """The constant part of the inet table; safe to apply over an existing one."""
    t = f"inet {table}"
    return [
        f"add table {t}",
        f"add set {t} bridges {{ type ifname; }}",
        f"add map {t} net_chains {{ type ifname : verdict; }}",
        f"add set {t} masq4 {{ type ipv4_addr; flags interval; }}",
        f"add set {t} masq6 {{ type ipv6_addr; flags interval; }}",
        f"add chain {t} forward {{ type filter hook forward priority filter; policy accept; }}",
        f"flush chain {t} forward",
        f"add rule {t} forward iifname vmap @net_chains",
        f"add rule {t} forward oifname @bridges ct state established,related accept",
        f"add rule {t} forward oifname @bridges ct status dnat accept",
        f"add rule {t} forward oifname @bridges drop",
        f"add chain {t} postrouting {{ type nat hook postrouting priority srcnat; policy accept; }}",
        f"flush chain {t} postrouting",
        f"add rule {t} postrouting oifname != @bridges ip saddr @masq4 masquerade",
        f"add rule {t} postrouting oifname != @bridges ip6 saddr @masq6 masquerade",
    ]


def bridge_skeleton(table: str) -> list[str]:
    """The constant part of the bridge-family table (icc=false)."""
    t = f"bridge {table}"
    return [
        f"add table {t}",
        f"add set {t} no_icc_ports {{ type ifname; }}",
        f"add chain {t} forward {{ type filter hook forward priority filter; policy accept; }}",
        f"flush chain {t} forward",
        f"add rule {t} forward iifname @no_icc_ports ether type {{ ip, ip6 }} drop",
    ]


def skeleton(table: str) -> list[str]:
    return inet_skeleton(table) + bridge_skeleton(table)


def network_chain(table: str, net: NetRules) -> list[str]:
    """The per-network chain: own bridge, other tether bridges, then the outside."""
    t, c = f"inet {table}", net.chain
    own = "accept" if net.icc else "drop"
    lines = [f"add chain {t} {c}", f"flush chain {t} {c}", f"add rule {t} {c} oifname {_q(net.bridge)} {own}"]
    if net.internal:
        lines.append(f"add rule {t} {c} drop")
    else:
        lines += [f"add rule {t} {c} oifname @bridges drop", f"add rule {t} {c} accept"]
    return lines


def _elements(table: str, net: NetRules, verb: str) -> list[str]:
    """Set and map elements of `net`, added or deleted (`verb`)."""
    t, b = f"inet {table}", _q(net.bridge)
    lines = [f"{verb} element {t} bridges {{ {b} }}"]
    lines.append(
        f"{verb} element {t} net_chains {{ {b} : jump {net.chain} }}"
        if verb == "add" else f"{verb} element {t} net_chains {{ {b} }}"
    )
    for version in (4, 6):
        subnets = net.masq_subnets(version)
        if subnets:
            joined = ", ".join(str(s) for s in subnets)
            lines.append(f"{verb} element {t} masq{version} {{ {joined} }}")
    return lines


def _port(table: str, port: str, verb: str) -> str:
    return f"{verb} element bridge {table} no_icc_ports {{ {_q(port)} }}"


def add_endpoint(table: str, net: NetRules, host_ifname: str) -> str:
    """Script for one endpoint's elements: its port joins `no_icc_ports` when icc=false."""
    if net.icc:
        return ""
    return _script(bridge_skeleton(table) + [_port(table, host_ifname, "add")])


def remove_endpoint(table: str, net: NetRules, host_ifname: str) -> str:
    """Script dropping one endpoint's elements; absent ones are no error."""
    if net.icc:
        return ""
    lines = [_port(table, host_ifname, "add"), _port(table, host_ifname, "delete")]
    return _script(bridge_skeleton(table) + lines)


def add_network(table: str, net: NetRules) -> str:
    """Script that starts isolating, masquerading and filtering for `net` (idempotent)."""
    return _script(skeleton(table) + network_chain(table, net) + _elements(table, net, "add"))


def remove_network(table: str, net: NetRules) -> str:
    """Script that drops every element and the chain of `net`; absent ones are no error.

    Adding before deleting, in one transaction, turns "not there" into a no-op.
    """
    t = f"inet {table}"
    lines = skeleton(table) + [f"add chain {t} {net.chain}"] + _elements(table, net, "add")
    lines += _elements(table, net, "delete")
    lines += [f"flush chain {t} {net.chain}", f"delete chain {t} {net.chain}"]
    return _script(lines)


def full_ruleset(
    table: str, nets: Iterable[NetRules], ports: Iterable[tuple[NetRules, str]] = ()
) -> str:
    """Script that replaces tether's tables with exactly the rules for `nets`, atomically.

    `ports` pairs each endpoint's network with its host veth name.
    """
    lines = teardown_lines(table) + skeleton(table)
    for net in sorted(nets, key=lambda n: n.key):
        lines += network_chain(table, net) + _elements(table, net, "add")
    for net, port in sorted(ports, key=lambda p: p[1]):
        if not net.icc:
            lines.append(_port(table, port, "add"))
    return _script(lines)


def teardown_lines(table: str) -> list[str]:
    lines: list[str] = []
    for family in ("inet", "bridge"):
        lines += [f"add table {family} {table}", f"delete table {family} {table}"]
    return lines


def teardown(table: str) -> str:
    """Script that deletes tether's tables; absent tables are no error."""
    return _script(teardown_lines(table))


def _script(lines: list[str]) -> str:
    return "\n".join(lines) + "\n"
