"""Links that hang off a parent: macvlan, ipvlan and 802.1Q VLAN sub-interfaces.

The RTM_NEWLINK requests are built here as bytes by pure functions (`newlink`), so they are
unit-tested without root or a kernel that has the link kind, and sent over a plain netlink
socket: pyroute2 0.9.7 cannot encode IFLA_IPVLAN_FLAGS. A sub-link is born in its sandbox
(IFLA_NET_NS_FD) under its final name, as veths are: moving it afterwards waits on RCU.
Blocking calls run on a worker thread, which shares the daemon's network namespace.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass

from pyroute2.netlink.exceptions import NetlinkError

from tether.errors import KernelError, NotFound, Unavailable
from tether.kernel import links, rtmsg
from tether.kernel.netlink import kernel_error, rtnl

RTM_NEWLINK = 16
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLA_F_NESTED = 0x8000
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_LINK = 1, 3, 4, 5
IFLA_LINKINFO, IFLA_NET_NS_FD = 18, 28
IFLA_INFO_KIND, IFLA_INFO_DATA = 1, 2
IFLA_MACVLAN_MODE = 1
IFLA_IPVLAN_MODE, IFLA_IPVLAN_FLAGS = 1, 2
IFLA_VLAN_ID = 1

MACVLAN_MODES = {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}
IPVLAN_MODES = {"l2": 0, "l3": 1, "l3s": 2}
IPVLAN_FLAGS = {"bridge": 0, "private": 1, "vepa": 2}

_NLMSG = struct.Struct("=IHHII")
_IFINFO = struct.Struct("=BxHiII")
_support: dict[str, bool] = {}
_GONE = (errno.ENODEV, errno.ENOENT, errno.ESRCH)

# What to tell users a missing link kind needs (the config option and the module name).
KERNEL_FEATURE = {
    "ipvlan": "ipvlan support (CONFIG_IPVLAN, module ipvlan)",
    "vlan": "802.1Q VLAN support (CONFIG_VLAN_8021Q, module 8021q)",
    "macvlan": "macvlan support (CONFIG_MACVLAN, module macvlan)",
}


@dataclass(frozen=True)
class LinkRequest:
    """One sub-link to create: `kind` with its `data` attributes (type, struct format, value)
    on the parent `link` (an ifindex of the daemon's namespace)."""

    ifname: str
    kind: str
    link: int | None = None
    data: tuple[tuple[int, str, int], ...] = ()
    mac: bytes | None = None
    mtu: int | None = None


def macvlan_request(ifname: str, parent: int, mode: str, *, mac: str = "",
                    mtu: int | None = None) -> LinkRequest:
    """A macvlan interface on `parent` in `mode` (bridge, private, vepa or passthru)."""
    return LinkRequest(ifname, "macvlan", parent, ((IFLA_MACVLAN_MODE, "=I", MACVLAN_MODES[mode]),),
                       mac=bytes.fromhex(mac.replace(":", "")) if mac else None, mtu=mtu)


def ipvlan_request(ifname: str, parent: int, mode: str, flag: str) -> LinkRequest:
    """An ipvlan interface on `parent`; it shares the parent's MAC, so none is given."""
    return LinkRequest(ifname, "ipvlan", parent, (
        (IFLA_IPVLAN_MODE, "=H", IPVLAN_MODES[mode]), (IFLA_IPVLAN_FLAGS, "=H", IPVLAN_FLAGS[flag]),
    ))


def vlan_request(ifname: str, parent: int, vid: int) -> LinkRequest:
    """An 802.1Q sub-interface of `parent` tagging with VLAN `vid`."""
    return LinkRequest(ifname, "vlan", parent, ((IFLA_VLAN_ID, "=H", vid),))


_attr = rtmsg.attr


def newlink(req: LinkRequest, seq: int, netns_fd: int | None = None) -> bytes:
    """The RTM_NEWLINK message (with NLM_F_CREATE | NLM_F_EXCL | NLM_F_ACK) for `req`."""
    data = b"".join(_attr(t, struct.pack(fmt, v)) for t, fmt, v in req.data)
    info = _attr(IFLA_INFO_KIND, req.kind.encode())
    if data:
        info += _attr(IFLA_INFO_DATA | NLA_F_NESTED, data)
    body = _IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0)
    body += _attr(IFLA_IFNAME, req.ifname.encode() + b"\0")
    if req.link is not None:
        body += _attr(IFLA_LINK, struct.pack("=I", req.link))
    if req.mac is not None:
        body += _attr(IFLA_ADDRESS, req.mac)
    if req.mtu:
        body += _attr(IFLA_MTU, struct.pack("=I", req.mtu))
    if netns_fd is not None:
        body += _attr(IFLA_NET_NS_FD, struct.pack("=I", netns_fd))
    body += _attr(IFLA_LINKINFO | NLA_F_NESTED, info)
    flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    return _NLMSG.pack(_NLMSG.size + len(body), RTM_NEWLINK, flags, seq, 0) + body


def _send(req: LinkRequest, netns: str | None) -> int:
    """Send `req` and return the kernel's errno (0: created). Blocking; in the calling
    thread's namespace, the daemon's."""
    seq = rtmsg.next_seq()
    fd = os.open(netns, os.O_RDONLY | os.O_CLOEXEC) if netns else None
    try:
        return rtmsg.request(newlink(req, seq, fd), seq)
    finally:
        if fd is not None:
            os.close(fd)


async def create(req: LinkRequest, netns: str | None = None) -> None:
    """Create the sub-link `req` (born in `netns` when given); EEXIST is success.

    Raises:
        NotFound: `netns` does not exist.
        Unavailable: the kernel lacks the link kind (the sentence names what it needs).
        KernelError: the kernel refused.
    """
    try:
        code = await asyncio.to_thread(_send, req, netns)
    except FileNotFoundError as exc:
        raise NotFound(f"network namespace {netns} does not exist") from exc
    if code in (0, errno.EEXIST):
        return
    if code == errno.EOPNOTSUPP and req.kind in KERNEL_FEATURE:
        raise Unavailable(f"cannot create {req.kind} interface {req.ifname}: "
                          + missing_kernel_support(req.kind))
    hint = ""
    if code == errno.EINVAL and req.kind == "macvlan":
        hint = (" (a parent in macvlan passthru mode takes one macvlan interface, and a "
                "passthru one only while it has no other)")
    raise KernelError(
        f"failed to create the {req.kind} port {req.ifname}: {os.strerror(code)}{hint}")


def missing_kernel_support(kind: str) -> str:
    """One sentence naming the kernel support that a `kind` link needs and this one lacks."""
    return f"this kernel ({os.uname().release}) lacks {KERNEL_FEATURE[kind]}"


def kernel_supports(kind: str) -> bool:
    """Whether the kernel can make `kind` links, asked once and cached.

    The probe is an RTM_NEWLINK of that kind without a parent: a kernel that knows the
    kind (after loading its module) refuses it for the missing parent (EINVAL); one that
    does not answers EOPNOTSUPP before looking further. Nothing is created for the kinds
    of this module (each needs a parent), and the answer takes microseconds, so network
    validation may ask it on the event loop.
    """
    if kind not in _support:
        if kind not in KERNEL_FEATURE:
            raise ValueError(f"no probe for link kind {kind!r}")
        code = _send(LinkRequest(f"tprobe{os.getpid() % 100000}", kind), None)
        _support[kind] = code != errno.EOPNOTSUPP
    return _support[kind]


def _host_index(name: str) -> int:
    try:
        return socket.if_nametoindex(name)
    except OSError as exc:
        raise NotFound(f"the requested parent interface {name} was not found on the host") from exc


async def ensure_vlan(name: str, base: str, vid: int, tag: str) -> None:
    """Make the 802.1Q sub-interface `name` of `base` if it is missing, and bring it up.

    A sub-interface tether makes carries `tag` as its alias (IFLA_IFALIAS), the kernel-side
    record that `remove_tagged` deletes only what this network made; one that was already
    there is used as it is and never removed.

    Raises:
        NotFound: `base` does not exist.
        Unavailable: the kernel has no 802.1Q support.
        KernelError: the kernel refused.
    """
    if await links.link_exists(name):
        return
    if not kernel_supports("vlan"):
        raise Unavailable(f"cannot create the 802.1Q sub-interface {name}: "
                          + missing_kernel_support("vlan"))
    await create(vlan_request(name, _host_index(base), vid))
    ipr = await rtnl()
    try:
        await ipr.link("set", index=_host_index(name), ifalias=tag, state="up")
    except NetlinkError as exc:
        raise kernel_error(exc, f"cannot bring {name} up") from exc


async def remove_tagged(name: str, tag: str) -> None:
    """Delete link `name` if its alias is `tag` (tether made it for this network); a missing
    link, or one tether did not make, is left alone."""
    ipr = await rtnl()
    try:
        msgs = await ipr.link("get", ifname=name)
    except NetlinkError as exc:
        if exc.code in _GONE:
            return
        raise kernel_error(exc, f"cannot look up interface {name}") from exc
    if msgs and msgs[0].get("ifalias") == tag:
        await links.remove_link(name)


async def ensure_shim(name: str, parent: str, mode: str, address: ipaddress.IPv4Interface) -> None:
    """Give the host its own macvlan interface `name` on `parent`, holding `address` as a /32.

    The kernel never passes frames between a parent and its macvlan interfaces, so the host
    reaches its macvlan containers only through a macvlan interface of its own. A /32 adds
    no subnet route: the host keeps reaching the rest of the LAN as before, and each
    container gets a host route of its own (`ensure_host_route`).
    """
    await create(macvlan_request(name, _host_index(parent), mode))
    index = _host_index(name)
    links._no_ipv6(name)
    ipr = await rtnl()
    try:
        await ipr.addr("add", index=index, address=str(address.ip), prefixlen=32)
    except NetlinkError as exc:
        if exc.code != errno.EEXIST:
            raise kernel_error(exc, f"cannot add address {address.ip} to {name}") from exc
    try:
        await ipr.link("set", index=index, state="up")
    except NetlinkError as exc:
        raise kernel_error(exc, f"cannot bring {name} up") from exc


async def ensure_host_route(dst: ipaddress.IPv4Address, dev: str,
                            src: ipaddress.IPv4Address) -> None:
    """Route `dst`/32 through the host's link `dev` from `src` (replaces an older route)."""
    ipr = await rtnl()
    try:
        await ipr.route("replace", dst=f"{dst}/32", oif=_host_index(dev), prefsrc=str(src))
    except NetlinkError as exc:
        raise kernel_error(exc, f"cannot route {dst} through {dev}") from exc


async def remove_host_route(dst: ipaddress.IPv4Address, dev: str) -> None:
    """Remove the host route of `dst` through `dev`; an absent route or link is success."""
    try:
        index = _host_index(dev)
    except NotFound:
        return
    ipr = await rtnl()
    try:
        await ipr.route("del", dst=f"{dst}/32", oif=index)
    except NetlinkError as exc:
        if exc.code not in _GONE:
            raise kernel_error(exc, f"cannot remove the route of {dst}") from exc


async def add_device_default_route(netns: str, ifname: str, version: int) -> None:
    """Point the default route of `netns` straight at `ifname`, with no gateway (ipvlan L3:
    the parent's host routes the packets)."""
    ipr = await rtnl(netns)
    msgs = await ipr.link("get", ifname=ifname)
    dst = "0.0.0.0/0" if version == 4 else "::/0"
    try:
        await ipr.route("replace", dst=dst, oif=msgs[0]["index"])
    except NetlinkError as exc:
        raise kernel_error(exc, f"cannot add a default route through {ifname}") from exc


async def set_down(ifname: str, netns: str) -> None:
    """Set `ifname` inside `netns` down; an absent link or namespace is success."""
    try:
        ipr = await rtnl(netns)
        msgs = await ipr.link("get", ifname=ifname)
        await ipr.link("set", index=msgs[0]["index"], state="down")
    except NotFound:
        return
    except NetlinkError as exc:
        if exc.code not in _GONE:
            raise kernel_error(exc, f"cannot set {ifname} down") from exc
