"""Links, addresses and routes over async rtnetlink: idempotent, errno-aware verbs.

Every verb treats "already there" (EEXIST) on create and "already gone" (ENODEV, ENOENT,
EADDRNOTAVAIL, ESRCH) on remove as success, so the engine may replay any step after a crash.
Names, ints and ipaddress objects only: this module knows no Network and no Endpoint.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
from collections.abc import Collection, Sequence
from typing import Union

from pyroute2.netlink.exceptions import NetlinkError

from tether.errors import Forbidden, KernelError, NotFound
from tether.kernel import reaper, rtdump, rtmsg, sysctl
from tether.kernel.netlink import kernel_error, plain_socket, rtnl

IPInterface = Union[ipaddress.IPv4Interface, ipaddress.IPv6Interface]
IPAddress = Union[ipaddress.IPv4Address, ipaddress.IPv6Address]
IPNetwork = Union[ipaddress.IPv4Network, ipaddress.IPv6Network]

TETHER_PREFIXES = ("tether", "tb-", "tv", "tx")
BRIDGE_MAX_PORTS = 1023  # the kernel's BR_MAX_PORTS (1024) less port 0, which it never hands out
IFA_F_NODAD = 0x02
_GONE = (errno.ENODEV, errno.ENOENT, errno.EADDRNOTAVAIL, errno.ESRCH)
_MAIN_TABLE = 254


async def _index(name: str, netns: str | None = None) -> int:
    """Return the ifindex of `name`; raises NotFound when there is no such link.

    In the daemon's netns (the event loop thread's) this is one ioctl, about 5 us; in another
    one a bare RTM_GETLINK (`kernel.rtdump`), about 20 us: pyroute2 took 0.3 ms to parse the
    whole reply in Python.
    """
    if netns is None:
        try:
            return socket.if_nametoindex(name)
        except OSError as exc:  # Python raises it without an errno: "no interface with this name"
            raise NotFound(f"interface {name} does not exist") from exc
    try:
        index = rtdump.link_index(await plain_socket(netns), name)
    except OSError as exc:
        raise KernelError(f"cannot look up interface {name}: {exc.strerror}") from exc
    if index is None:
        raise NotFound(f"interface {name} does not exist")
    return index


async def link_exists(name: str, netns: str | None = None) -> bool:
    """Say whether a link called `name` exists (in the daemon's netns unless `netns`)."""
    try:
        await _index(name, netns)
    except NotFound:
        return False
    return True


async def _dump_links(netns: str | None = None) -> dict[int, str]:
    if netns is None:  # the daemon's own: a bare dump on a worker thread (kernel.rtdump)
        return await asyncio.to_thread(rtdump.links)
    ipr = await rtnl(netns)
    return {msg["index"]: msg.get("ifname") async for msg in await ipr.link("dump")}


async def interface_names(netns: str | None = None) -> set[str]:
    """Names of every link in the daemon's netns (or `netns`)."""
    return set((await _dump_links(netns)).values())


async def reap_leftovers() -> None:
    """Hand the tombstones a previous run left in the daemon's namespace to the reaper: its
    own spare bridges (by their alias) back to the spares, to be reused, or deleted a few at
    a time once idle, never all at once under the rtnl lock; every other tombstone to the
    next batch. Spares of another daemon in this namespace, maybe running, stay its own."""
    own, spares = reaper.spare_alias(), []
    for link in await asyncio.to_thread(rtdump.link_tags):
        if not link.name.startswith(reaper.TOMBSTONE_PREFIX):
            continue
        if link.group != reaper.SPARE_GROUP:
            reaper.reap(link.name)
        elif link.alias == own:
            spares.append(link)
    for link in spares:  # after the reaps: a leftover veth may still be a port
        try:
            ipv6 = sysctl.get_sysctl(f"net.ipv6.conf.{link.name}.disable_ipv6") == "0"
        except KernelError:
            ipv6 = False  # no IPv6 in this kernel
        # whether tether set its MTU is not visible: serve only bridges that set theirs
        reaper.keep_spare(link.name, link.index, mtu_set=True, ipv6=ipv6)


async def remove_link(name: str, netns: str | None = None) -> None:
    """Delete link `name`; an absent link (or namespace) is success. Its veth peer goes too.

    In the daemon's own namespace the name is freed at once and the deletion itself, which
    waits on RCU for tens of milliseconds, finishes in the background (`kernel.reaper`).
    """
    try:
        ipr = await rtnl(netns)
    except NotFound:
        return
    try:
        if netns is None:
            index = await _index(name)
            tomb = reaper.tombstone_name()
            await ipr.link("set", index=index, state="down", ifname=tomb,
                           group=reaper.TOMBSTONE_GROUP)
            reaper.reap(tomb)
        else:
            await ipr.link("del", ifname=name)
    except NotFound:
        return
    except NetlinkError as exc:
        if exc.code not in _GONE:
            raise kernel_error(exc, f"cannot delete interface {name}") from exc


async def detach_port(name: str) -> None:
    """Take link `name` down and off its bridge; an absent link is success."""
    try:
        await set_link(name, up=False, master=0)
    except NotFound:
        return


async def remove_veth(host_name: str, peer_name: str, peer_netns: str) -> None:
    """Delete a veth whose peer `peer_name` lives in `peer_netns`, without waiting on RCU.

    The peer is renamed to a tombstone and set down first, so its name is free inside the
    sandbox at once (a reconnect may reuse it right away); the host side then goes the way
    of `remove_link`, and the peer dies with it. Absent links or namespace are success.
    """
    if not peer_netns:  # never look the peer's name up in the daemon's own namespace
        await remove_link(host_name)
        return
    try:
        ipr = await rtnl(peer_netns)
        msgs = await ipr.link("get", ifname=peer_name)
        await ipr.link("set", index=msgs[0]["index"], state="down",
                       ifname=reaper.tombstone_name())
    except NotFound:
        pass
    except NetlinkError as exc:
        if exc.code not in _GONE:
            raise kernel_error(exc, f"cannot remove interface {peer_name}") from exc
    await remove_link(host_name)


async def ensure_bridge(
    name: str, *, mtu: int | None = None, addresses: Sequence[IPInterface] = ()
) -> None:
    """Create bridge `name` if missing, set its MTU, add `addresses` and bring it up.

    IPv6 gateways need IPv6 on the bridge with router advertisements ignored: the bridge is a
    router for its sandboxes, never a host that autoconfigures itself from them.
    """
    ipr = await rtnl()
    ipv6 = any(a.version == 6 for a in addresses)
    spare = await _reuse_spare(name, mtu)
    if spare is None:
        try:
            await ipr.link("add", ifname=name, kind="bridge")
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise kernel_error(exc, f"cannot create bridge {name}") from exc
        index = await _index(name)
    else:
        index = spare.index
    if ipv6:
        sysctl.set_sysctl(f"net.ipv6.conf.{name}.disable_ipv6", "0")
        sysctl.set_sysctl(f"net.ipv6.conf.{name}.accept_ra", "0")
    elif spare is None or spare.ipv6:  # no link-local address, routes or MLD: bringing a
        # link up walks every IPv6 route, so thousands of IPv4 bridges made each new one
        # cost 15 ms instead of 1
        _no_ipv6(name)
    changes = {"mtu": mtu} if mtu else {}
    try:
        await ipr.link("set", index=index, state="up", **changes)
    except NetlinkError as exc:
        raise kernel_error(exc, f"cannot configure bridge {name}") from exc
    await _add_addresses(None, index, name, addresses)


async def _reuse_spare(name: str, mtu: int | None) -> reaper.Spare | None:
    """Rename a spare bridge (`kernel.reaper`) to `name`, or None when there is none, the
    name is taken, or the spare is gone. What a network may have changed is set back:
    the link group, `route_localnet`; the caller sets IPv6 and the MTU, and a spare has
    neither addresses nor ports."""
    spare = reaper.take_spare(mtu=mtu is not None)
    if spare is None:
        return None
    ipr = await rtnl()
    try:
        await ipr.link("set", index=spare.index, ifname=name, group=0, ifalias="")
    except NetlinkError as exc:
        if exc.code in _GONE:
            return None
        reaper.return_spare(spare)
        if exc.code == errno.EEXIST:  # the name is taken: the caller finds that link
            return None
        raise kernel_error(exc, f"cannot create bridge {name}") from exc
    sysctl.set_sysctl(f"net.ipv4.conf.{name}.route_localnet", "0")
    return spare


async def retire_bridge(name: str, *, mtu_set: bool, ipv6: bool) -> None:
    """Take bridge `name` (without addresses or ports) out of use, keeping it as a spare
    for the next `ensure_bridge` instead of deleting it (`kernel.reaper`); absent is
    success. `mtu_set` and `ipv6` say how it was made."""
    ipr = await rtnl()
    tomb = reaper.tombstone_name()
    try:
        index = await _index(name)
        await ipr.link("set", index=index, state="down", ifname=tomb, group=reaper.SPARE_GROUP,
                       ifalias=reaper.spare_alias())
    except NotFound:
        return
    except NetlinkError as exc:
        if exc.code in _GONE:
            return
        raise kernel_error(exc, f"cannot delete interface {name}") from exc
    reaper.keep_spare(tomb, index, mtu_set=mtu_set, ipv6=ipv6)


def _no_ipv6(name: str) -> None:
    try:
        sysctl.set_sysctl(f"net.ipv6.conf.{name}.disable_ipv6", "1")
    except KernelError:
        pass  # a kernel without IPv6 has nothing to turn off


async def _add_addresses(
    netns: str | None, index: int, name: str, addresses: Sequence[IPInterface]
) -> None:
    """Add each address once; IPv6 ones skip DAD, which would keep them tentative for ~1 s."""
    ipr = await rtnl(netns)
    for iface in addresses:
        extra: dict[str, object] = {}
        if iface.version == 4 and iface.network.prefixlen < 31:
            extra["broadcast"] = str(iface.network.broadcast_address)
        if iface.version == 6:
            extra["flags"] = IFA_F_NODAD
        try:
            await ipr.addr(
                "add", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen,
                **extra,
            )
        except NetlinkError as exc:
            if exc.code != errno.EEXIST:
                raise kernel_error(exc, f"cannot add address {iface} to {name}") from exc


async def remove_addresses(
    name: str, addresses: Sequence[IPInterface], netns: str | None = None
) -> None:
    """Remove `addresses` from link `name`; absent addresses or link are success."""
    try:
        index = await _index(name, netns)
    except NotFound:
        return
    ipr = await rtnl(netns)
    for iface in addresses:
        try:
            await ipr.addr(
                "del", index=index, address=str(iface.ip), prefixlen=iface.network.prefixlen
            )
        except NetlinkError as exc:
            if exc.code not in _GONE:
                raise kernel_error(exc, f"cannot remove address {iface} from {name}") from exc


async def create_veth(
    host_name: str,
    peer_name: str,
    peer_netns: str,
    *,
    master: str | None = None,
    mac: str | None = None,
    mtu: int | None = None,
    host_ipv6: bool = True,
) -> None:
    """Create a veth whose peer is born inside `peer_netns`, named as it stays.

    Moving a link between namespaces afterwards waits on RCU (about 20 ms); creating it in
    place costs 2-3 ms. The host side is enslaved to `master` and up. EEXIST is success.
    Without `host_ipv6` the host side has IPv6 off before it comes up: a bridge port needs
    no address, and each link-local route it would add makes every later link-up walk one
    more route (a container start grew from 60 to 250 ms over 1,000 containers).
    """
    master_index = await _index(master) if master else None
    fd = os.open(peer_netns, os.O_RDONLY | os.O_CLOEXEC)
    try:
        seq = rtmsg.next_seq()
        message = rtmsg.newveth(
            host_name, peer_name, seq, peer_netns_fd=fd, master=master_index,
            mac=bytes.fromhex(mac.replace(":", "")) if mac else None, mtu=mtu, up=host_ipv6)
        code = await asyncio.to_thread(rtmsg.request, message, seq)
    finally:
        os.close(fd)
    if code == errno.EXFULL and master:
        raise Forbidden(
            f"bridge {master} is full: a Linux bridge takes at most {BRIDGE_MAX_PORTS} ports")
    if code not in (0, errno.EEXIST):
        raise KernelError(f"cannot create veth {host_name}: {os.strerror(code)}")
    try:
        await _finish_host_side(host_name, master, host_ipv6)
    except BaseException:
        await remove_link(host_name)  # its peer goes with it
        raise


async def _finish_host_side(name: str, master: str | None, ipv6: bool) -> None:
    if not ipv6:
        _no_ipv6(name)
    if master or not ipv6:
        await set_link(name, up=True if not ipv6 else None, hairpin=True if master else None)


async def set_link(name: str, *, up: bool | None = None, master: int | None = None,
                   hairpin: bool | None = None) -> None:
    """One bare RTM_NEWLINK on link `name` of the daemon's namespace (kernel.rtmsg).

    `hairpin` lets the bridge send a frame back out of the port it came in on. With
    br_netfilter loaded, a container reaching its own published port through a host address
    is DNAT'ed inside the bridge, which then must send the frame back to where it came from
    (Docker without its proxy, and podman, do the same). Linux's enhanced DAD ignores the
    container's own reflected neighbour solicitations.
    """
    seq = rtmsg.next_seq()
    message = rtmsg.setlink(await _index(name), seq, up=up, master=master, hairpin=hairpin)
    code = await asyncio.to_thread(rtmsg.request, message, seq)
    if code:
        if code in _GONE:
            raise NotFound(f"interface {name} does not exist")
        raise KernelError(f"cannot change interface {name}: {os.strerror(code)}")


async def configure_interface(
    netns: str, ifname: str, *, addresses: Sequence[IPInterface] = (), up: bool = True
) -> None:
    """Add `addresses` to `ifname` inside `netns` and bring it up (idempotent)."""
    index = await _index(ifname, netns)
    await _add_addresses(netns, index, ifname, addresses)
    if up:
        ipr = await rtnl(netns)
        try:
            await ipr.link("set", index=index, state="up")
        except NetlinkError as exc:
            raise kernel_error(exc, f"cannot bring {ifname} up") from exc


async def add_default_route(netns: str, gateway: IPAddress) -> None:
    """Point the default route of `netns` at `gateway` (replaces an existing one)."""
    ipr = await rtnl(netns)
    dst = "0.0.0.0/0" if gateway.version == 4 else "::/0"
    try:
        await ipr.route("replace", dst=dst, gateway=str(gateway))
    except NetlinkError as exc:
        raise kernel_error(exc, f"cannot add default route via {gateway}") from exc


async def del_default_route(netns: str, version: int) -> None:
    """Remove the default route of one family from `netns`; absent is success."""
    ipr = await rtnl(netns)
    dst = "0.0.0.0/0" if version == 4 else "::/0"
    try:
        await ipr.route("del", dst=dst)
    except NetlinkError as exc:
        if exc.code not in _GONE:
            raise kernel_error(exc, f"cannot remove the IPv{version} default route") from exc


async def host_prefixes(exclude_links: Collection[str] | None = None) -> list[IPNetwork]:
    """Networks of the daemon netns' addresses and main-table routes, minus some links'.

    IPAM uses them so that it never picks a subnet that overlaps the host's. Default routes
    are left out: they overlap everything. `exclude_links` names the caller's own bridges
    (their subnets are known to IPAM already); without it every tether-named link is left
    out. Passing the daemon's own names lets it see the bridges of another tether daemon
    sharing this network namespace, and keep clear of their subnets. Tombstones (links
    waiting for the reaper) are always left out: their subnets are free again.
    """
    names, addrs, routes = await asyncio.to_thread(rtdump.snapshot)
    if exclude_links is None:
        ours = {i for i, n in names.items() if n.startswith(TETHER_PREFIXES)}
    else:
        ours = {i for i, n in names.items()
                if n in exclude_links or n.startswith(reaper.TOMBSTONE_PREFIX)}
    found: set[IPNetwork] = {
        ipaddress.ip_network(f"{a.address}/{a.prefixlen}", strict=False)
        for a in addrs if a.index not in ours
    }
    found.update(
        ipaddress.ip_network(f"{r.dst}/{r.dst_len}", strict=False)
        for r in routes
        if r.table == _MAIN_TABLE and r.dst_len and r.dst and r.oif not in ours
    )
    return sorted(found, key=lambda n: (n.version, n))
