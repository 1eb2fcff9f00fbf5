"""Bare rtnetlink dumps of links, addresses and routes: only the fields tether reads.

pyroute2 decodes every attribute of every message in Python, about 0.3-0.5 ms for a link's
RTM_NEWLINK alone, so a dump of the daemon's namespace grew with every network (a network
create spent 4-5 ms of its 7 there with a handful of links; with thousands, seconds). These
dumps go over a plain netlink socket and read only ifindex, name, prefix, table and output
interface with struct: microseconds a message. Blocking calls: run them off the event loop,
on a thread in the daemon's network namespace.
"""

from __future__ import annotations

import errno
import os
import socket
import struct
from dataclasses import dataclass
from typing import Iterator

NETLINK_ROUTE = 0
RTM_GETLINK, RTM_GETADDR, RTM_GETROUTE = 18, 22, 26
NLM_F_REQUEST, NLM_F_DUMP = 0x1, 0x300
NLMSG_ERROR, NLMSG_DONE = 2, 3
IFLA_IFNAME = 3
IFLA_IFALIAS = 20
IFLA_GROUP = 27
IFA_ADDRESS = 1
RTA_DST, RTA_OIF, RTA_TABLE = 1, 4, 15
_NLMSG = struct.Struct("=IHHII")
_RTA = struct.Struct("=HH")
_BODY = {  # the request body of each dump: an all-zero header of the message's family
    RTM_GETLINK: bytes(16), RTM_GETADDR: bytes(8), RTM_GETROUTE: bytes(12),
}
_FAMILIES = {socket.AF_INET: 4, socket.AF_INET6: 16}
_seq = 0


@dataclass(frozen=True)
class LinkTags:
    index: int
    name: str
    group: int
    alias: str


@dataclass(frozen=True)
class Address:
    index: int
    address: str
    prefixlen: int


@dataclass(frozen=True)
class Route:
    table: int
    dst: str | None
    dst_len: int
    oif: int | None


def _attrs(data: bytes, offset: int) -> dict[int, bytes]:
    """Top-level attributes of one message body from `offset` on (the last of a type wins)."""
    out: dict[int, bytes] = {}
    while offset + 4 <= len(data):
        length, kind = _RTA.unpack_from(data, offset)
        if length < 4:
            break
        out[kind & 0x3FFF] = data[offset + 4:offset + length]
        offset += (length + 3) & ~3
    return out


def _dump(kind: int) -> Iterator[tuple[int, bytes]]:
    """Yield (message type, body) of every message of one dump request."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC,
                       NETLINK_ROUTE) as sock:
        sock.bind((0, 0))
        body = _BODY[kind]
        sock.send(_NLMSG.pack(_NLMSG.size + len(body), kind, NLM_F_REQUEST | NLM_F_DUMP, 1, 0)
                  + body)
        while True:
            data = sock.recv(1 << 18)
            offset = 0
            while offset + _NLMSG.size <= len(data):
                length, mtype, _, _, _ = _NLMSG.unpack_from(data, offset)
                payload = data[offset + _NLMSG.size:offset + length]
                offset += (length + 3) & ~3
                if mtype == NLMSG_DONE:
                    return
                if mtype == NLMSG_ERROR:
                    code = -struct.unpack_from("=i", payload)[0]
                    if code:
                        raise OSError(code, f"rtnetlink dump: {os.strerror(code)}")
                    continue
                yield mtype, payload


def link_index(sock: socket.socket, name: str) -> int | None:
    """The ifindex of link `name` in the namespace of `sock`, None when there is none.

    One RTM_GETLINK on a plain socket whose reply is read only up to its header: about
    20 us, against 0.3 ms for pyroute2 to decode the whole reply.
    """
    global _seq
    _seq = _seq % 0x7FFFFFFF + 1
    attr = name.encode() + b"\0"
    body = bytes(16) + _RTA.pack(4 + len(attr), IFLA_IFNAME) + attr
    body += bytes(-len(body) % 4)
    sock.send(_NLMSG.pack(_NLMSG.size + len(body), RTM_GETLINK, NLM_F_REQUEST, _seq, 0) + body)
    while True:
        data = sock.recv(1 << 16)
        _, mtype, _, seq, _ = _NLMSG.unpack_from(data)
        if seq != _seq:
            continue  # the answer to an earlier request that was given up on
        payload = data[_NLMSG.size:]
        if mtype == NLMSG_ERROR:
            code = -struct.unpack_from("=i", payload)[0]
            if code in (errno.ENODEV, errno.ENOENT):
                return None
            raise OSError(code, f"cannot look up interface {name}: {os.strerror(code)}")
        return struct.unpack_from("=i", payload, 4)[0]


def links() -> dict[int, str]:
    """ifindex -> name of every link of the calling thread's network namespace."""
    out = {}
    for _, body in _dump(RTM_GETLINK):
        out[struct.unpack_from("=i", body, 4)[0]] = _string(_attrs(body, 16).get(IFLA_IFNAME))
    return out


def link_tags() -> list[LinkTags]:
    """Index, name, link group and alias of every link of the calling thread's namespace."""
    out = []
    for _, body in _dump(RTM_GETLINK):
        attrs = _attrs(body, 16)
        group = attrs.get(IFLA_GROUP)
        out.append(LinkTags(
            struct.unpack_from("=i", body, 4)[0], _string(attrs.get(IFLA_IFNAME)),
            struct.unpack("=I", group)[0] if group else 0, _string(attrs.get(IFLA_IFALIAS))))
    return out


def _string(raw: bytes | None) -> str:
    return (raw or b"").split(b"\0", 1)[0].decode(errors="replace")


def addresses() -> list[Address]:
    """Every IPv4 and IPv6 address (IFA_ADDRESS) with its prefix length and link."""
    out = []
    for _, body in _dump(RTM_GETADDR):
        family, prefixlen, _, _, index = struct.unpack_from("=BBBBI", body)
        raw = _attrs(body, 8).get(IFA_ADDRESS)
        if family in _FAMILIES and raw is not None and len(raw) == _FAMILIES[family]:
            out.append(Address(index, socket.inet_ntop(family, raw), prefixlen))
    return out


def routes() -> list[Route]:
    """Every IPv4 and IPv6 route: table, destination (None for a default) and output link."""
    out = []
    for _, body in _dump(RTM_GETROUTE):
        family, dst_len, _, _, table = struct.unpack_from("=BBBBB", body)
        if family not in _FAMILIES:
            continue
        attrs = _attrs(body, 12)
        if RTA_TABLE in attrs:
            table = struct.unpack("=I", attrs[RTA_TABLE])[0]
        dst = socket.inet_ntop(family, attrs[RTA_DST]) if RTA_DST in attrs else None
        oif = struct.unpack("=i", attrs[RTA_OIF])[0] if RTA_OIF in attrs else None
        out.append(Route(table, dst, dst_len, oif))
    return out


def snapshot() -> tuple[dict[int, str], list[Address], list[Route]]:
    """Links, addresses and routes, read one after the other (retried once on EINTR)."""
    try:
        return links(), addresses(), routes()
    except InterruptedError:
        return links(), addresses(), routes()
