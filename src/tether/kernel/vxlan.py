"""VXLAN devices and their peer tables (FDB and neighbour entries), idempotent and errno-aware.

A tether VXLAN device never learns and never floods: `nolearning` stops it from learning
remote MACs from traffic, it has no all-zeros FDB entry (so broadcast and unknown unicast go
nowhere), and `proxy` makes it answer ARP itself from its neighbour table. Every remote
endpoint is programmed from the cluster store as one FDB entry (MAC -> remote VTEP) and one
permanent neighbour entry (IP -> MAC), as Docker's overlay driver does.
"""

from __future__ import annotations

import errno
import ipaddress
import socket

from pyroute2.netlink.exceptions import NetlinkError

from tether.kernel import sysctl
from tether.kernel.links import _GONE, _index, ensure_bridge
from tether.kernel.netlink import kernel_error, rtnl
from tether.errors import NotFound

VXLAN_PORT = 4789
NUD_PERMANENT = 0x80
NTF_SELF = 0x02


async def ensure_vxlan(name: str, *, vni: int, local: str, master: str, mtu: int,
                       port: int = VXLAN_PORT, ipv6: bool = False) -> None:
    """Create VXLAN device `name` (no learning, ARP proxy) enslaved to bridge `master`, up."""
    ipr = await rtnl()
    try:
        await ipr.link("add", ifname=name, kind="vxlan", vxlan_id=vni, vxlan_local=local,
                       vxlan_port=port, vxlan_learning=0, vxlan_proxy=1, mtu=mtu)
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:
            raise kernel_error(exc, f"cannot create VXLAN device {name} (VNI {vni})") from exc
    try:  # the ND proxy needs IPv6 on the device; without IPv6 it only costs route walks
        sysctl.set_sysctl(f"net.ipv6.conf.{name}.disable_ipv6", "0" if ipv6 else "1")
    except Exception:  # noqa: BLE001 - a kernel without IPv6 has nothing to turn off
        pass
    try:
        await ipr.link("set", index=await _index(name), master=await _index(master),
                       state="up")
    except NetlinkError as exc:
        raise kernel_error(exc, f"cannot attach VXLAN device {name} to {master}") from exc


async def ensure_overlay_bridge(bridge: str, vxlan: str, *, vni: int, local: str,
                                mtu: int, ipv6: bool = False) -> None:
    """The per-network, per-host pair: a bridge without addresses and its VXLAN port."""
    await ensure_bridge(bridge, mtu=mtu)
    await ensure_vxlan(vxlan, vni=vni, local=local, master=bridge, mtu=mtu, ipv6=ipv6)


async def add_peer(vxlan: str, *, mac: str, ips: tuple[str, ...], vtep: str) -> None:
    """Point `mac` at remote VTEP `vtep` and answer ARP/ND for each of `ips` with `mac`."""
    ipr = await rtnl()
    index = await _index(vxlan)
    try:
        await ipr.fdb("replace", ifindex=index, lladdr=mac, dst=vtep, state=NUD_PERMANENT,
                      flags=NTF_SELF)
        for ip in ips:
            await ipr.neigh("replace", dst=ip, lladdr=mac, ifindex=index, state=NUD_PERMANENT,
                            family=_family(ip))
    except NetlinkError as exc:
        raise kernel_error(exc, f"cannot program peer {', '.join(ips)} ({mac}) via {vtep}") from exc


def _family(ip: str) -> int:
    return socket.AF_INET if ipaddress.ip_address(ip).version == 4 else socket.AF_INET6


async def remove_peer(vxlan: str, *, mac: str, ips: tuple[str, ...], vtep: str) -> None:
    """Forget a remote endpoint; absent entries or device are success."""
    try:
        index = await _index(vxlan)
    except NotFound:
        return
    ipr = await rtnl()
    steps = [(ipr.neigh, {"dst": ip, "lladdr": mac, "ifindex": index, "family": _family(ip)})
             for ip in ips]
    steps.append((ipr.fdb, {"ifindex": index, "lladdr": mac, "dst": vtep, "flags": NTF_SELF}))
    for verb, kwargs in steps:
        try:
            await verb("del", **kwargs)
        except NetlinkError as exc:
            if exc.code not in _GONE:
                raise kernel_error(exc, f"cannot remove peer {mac}") from exc


async def flush_peers(vxlan: str) -> int:
    """Remove every peer programmed on `vxlan` (FDB entries with a remote VTEP, neighbour
    entries); return how many entries went. A daemon that restarts programs its peers
    afresh from the store, so entries of endpoints that vanished meanwhile must go."""
    try:
        index = await _index(vxlan)
    except NotFound:
        return 0
    ipr = await rtnl()
    stale = [("fdb", {"ifindex": index, "lladdr": m.get("NDA_LLADDR"), "dst": m.get("NDA_DST"),
                      "flags": NTF_SELF})
             async for m in await ipr.fdb("dump", ifindex=index)
             if m["ifindex"] == index and m.get("NDA_DST")]
    stale += [("neigh", {"ifindex": index, "dst": m.get("NDA_DST"), "family": m["family"]})
              async for m in await ipr.neigh("dump", ifindex=index) if m["ifindex"] == index]
    for kind, kwargs in stale:
        try:
            await getattr(ipr, kind)("del", **kwargs)
        except NetlinkError as exc:
            if exc.code not in _GONE:
                raise kernel_error(exc, f"cannot flush the peers of {vxlan}") from exc
    return len(stale)
