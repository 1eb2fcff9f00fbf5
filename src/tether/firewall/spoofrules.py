"""Anti-spoofing: a container sends only from its own MAC and addresses (pure builders).

In the bridge-family table, a prerouting chain looks at every frame entering the bridge
from one of tether's veth ports (`spoof_ports`): its source MAC must be the endpoint's
(`spoof_mac`, keyed by port . MAC), the source of an IPv4 packet or an ARP message must be
one of the endpoint's IPv4 addresses (`spoof_ip4`, port . address), and an IPv6 source
must be the endpoint's, link-local or unspecified (DAD, router solicitations). VLAN-tagged
frames from a container are dropped: their payload would escape the checks. Every check is
one hash lookup, so a frame costs the same with 5 containers or 5,000, and an endpoint is
a handful of elements, added and removed with its veth (script and nfnetlink batch alike).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from tether.kernel import nfnl
from tether.kernel.nfnl import Batch, Element


@dataclass(frozen=True)
class PortIdentity:
    """Who may send from one bridge port: the endpoint's MAC and addresses."""

    port: str
    mac: str
    ipv4: tuple[ipaddress.IPv4Address, ...] = ()
    ipv6: tuple[ipaddress.IPv6Address, ...] = ()


def identity_of(ep) -> PortIdentity | None:
    """The identity of an endpoint with a host veth and a MAC; None otherwise."""
    if not ep.host_ifname or not ep.mac:
        return None
    addrs = [a.ip for a in (ep.ipv4, ep.ipv6) if a is not None]
    addrs += list(ep.request.link_local_ips)
    return PortIdentity(ep.host_ifname, ep.mac.lower(),
                        tuple(a for a in addrs if a.version == 4),
                        tuple(a for a in addrs if a.version == 6))


def skeleton(table: str) -> list[str]:
    """The constant part; safe to apply over an existing table (its chain is refilled)."""
    t = f"bridge {table}"
    return [
        f"add table {t}",
        f"add set {t} spoof_ports {{ type ifname; }}",
        f"add set {t} spoof_mac {{ type ifname . ether_addr; }}",
        f"add set {t} spoof_ip4 {{ type ifname . ipv4_addr; }}",
        f"add set {t} spoof_ip6 {{ type ifname . ipv6_addr; }}",
        f"add chain {t} antispoof {{ type filter hook prerouting priority -200; "
        "policy accept; }",
        f"flush chain {t} antispoof",
        f"add rule {t} antispoof iifname != @spoof_ports accept",
        f"add rule {t} antispoof iifname . ether saddr != @spoof_mac drop",
        f"add rule {t} antispoof ether type {{ 8021q, 8021ad }} drop",
        f"add rule {t} antispoof ether type ip iifname . ip saddr != @spoof_ip4 drop",
        f"add rule {t} antispoof ether type arp iifname . arp saddr ether != @spoof_mac drop",
        f"add rule {t} antispoof ether type arp iifname . arp saddr ip != @spoof_ip4 drop",
        f"add rule {t} antispoof ether type ip6 ip6 saddr != {{ ::, fe80::/10 }} "
        "iifname . ip6 saddr != @spoof_ip6 drop",
    ]


def _q(name: str) -> str:
    return '"' + name.replace('"', "") + '"'


def element_lines(table: str, who: PortIdentity, verb: str) -> list[str]:
    t, p = f"bridge {table}", _q(who.port)
    lines = [f"{verb} element {t} spoof_ports {{ {p} }}",
             f"{verb} element {t} spoof_mac {{ {p} . {who.mac} }}"]
    for version, addrs in ((4, who.ipv4), (6, who.ipv6)):
        if addrs:
            joined = ", ".join(f"{p} . {a}" for a in addrs)
            lines.append(f"{verb} element {t} spoof_ip{version} {{ {joined} }}")
    return lines


def add_script(table: str, who: PortIdentity) -> str:
    return "\n".join(skeleton(table) + element_lines(table, who, "add")) + "\n"


def remove_script(table: str, who: PortIdentity) -> str:
    """Adding before deleting, in one transaction, makes absent elements no error."""
    lines = skeleton(table) + element_lines(table, who, "add") + element_lines(table, who, "delete")
    return "\n".join(lines) + "\n"


def _mac(mac: str) -> bytes:
    return bytes.fromhex(mac.replace(":", ""))


def batch(table: str, who: PortIdentity, verb: str, out: Batch | None = None) -> Batch:
    """The same elements as `element_lines`, as one nfnetlink batch (constant cost)."""
    out = out if out is not None else Batch()
    port = nfnl.ifname(who.port)
    sets = {"spoof_ports": [Element(port)],
            "spoof_mac": [Element(nfnl.concat(port, _mac(who.mac)))],
            "spoof_ip4": [Element(nfnl.concat(port, a.packed)) for a in who.ipv4],
            "spoof_ip6": [Element(nfnl.concat(port, a.packed)) for a in who.ipv6]}
    verbs = ["add", "delete"] if verb == "delete" else ["add"]
    for v in verbs:
        for name, elems in sets.items():
            out.elements(v, "bridge", table, name, elems)
    return out
