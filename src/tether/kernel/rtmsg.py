"""Bare rtnetlink requests: messages built as bytes by pure functions, sent on a plain socket.

pyroute2 spends about 1 to 2 ms of Python encoding one link request on this kind of machine;
the container hot path sends several, so the few fixed-shape requests it makes are built
here (tens of microseconds) and their acknowledgement read back. Blocking: callers run
`request` on a worker thread, which shares the daemon's network namespace, because a link
request can wait behind the rtnl lock for as long as a link deletion's RCU grace period.
"""

from __future__ import annotations

import itertools
import socket
import struct
import threading

from tether.kernel.nfnl import attr  # the same TLV encoding in every netlink family

RTM_NEWLINK = 16
NLM_F_REQUEST, NLM_F_ACK, NLM_F_EXCL, NLM_F_CREATE = 0x1, 0x4, 0x200, 0x400
NLMSG_ERROR = 2
NLA_F_NESTED = 0x8000
IFF_UP = 0x1
IFLA_ADDRESS, IFLA_IFNAME, IFLA_MTU, IFLA_MASTER, IFLA_LINKINFO = 1, 3, 4, 10, 18
IFLA_NET_NS_FD = 28
IFLA_INFO_KIND, IFLA_INFO_DATA, IFLA_INFO_SLAVE_KIND, IFLA_INFO_SLAVE_DATA = 1, 2, 4, 5
VETH_INFO_PEER = 1
IFLA_BRPORT_MODE = 4  # 1: hairpin

NLMSG = struct.Struct("=IHHII")
IFINFO = struct.Struct("=BxHiII")
_seq = itertools.count(1)
_seq_lock = threading.Lock()


def next_seq() -> int:
    with _seq_lock:
        return next(_seq) % 0x7FFFFFFF + 1


def setlink(index: int, seq: int, *, up: bool | None = None, master: int | None = None,
            hairpin: bool | None = None) -> bytes:
    """RTM_NEWLINK on an existing link: bring it up or down, give it a bridge `master` (0
    takes it off its bridge), set its bridge port's hairpin mode; one atomic request."""
    flags = IFF_UP if up else 0
    change = IFF_UP if up is not None else 0
    body = IFINFO.pack(socket.AF_UNSPEC, 0, index, flags, change)
    if master is not None:
        body += attr(IFLA_MASTER, struct.pack("=I", master))
    if hairpin is not None:
        port = attr(IFLA_BRPORT_MODE, struct.pack("=B", int(hairpin)))
        body += attr(IFLA_LINKINFO | NLA_F_NESTED,
                     attr(IFLA_INFO_SLAVE_KIND, b"bridge\0")
                     + attr(IFLA_INFO_SLAVE_DATA | NLA_F_NESTED, port))
    return NLMSG.pack(NLMSG.size + len(body), RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq,
                      0) + body


def newveth(host: str, peer: str, seq: int, *, peer_netns_fd: int, master: int | None = None,
            mac: bytes | None = None, mtu: int | None = None, up: bool = False) -> bytes:
    """RTM_NEWLINK (create, exclusive) of a veth pair whose `peer` is born in the namespace
    of `peer_netns_fd`; the `host` side may join bridge `master` and come up at once."""
    peer_attrs = attr(IFLA_IFNAME, peer.encode() + b"\0")
    if mac is not None:
        peer_attrs += attr(IFLA_ADDRESS, mac)
    if mtu:
        peer_attrs += attr(IFLA_MTU, struct.pack("=I", mtu))
    peer_attrs += attr(IFLA_NET_NS_FD, struct.pack("=I", peer_netns_fd))
    peer_info = IFINFO.pack(socket.AF_UNSPEC, 0, 0, 0, 0) + peer_attrs
    info = attr(IFLA_INFO_KIND, b"veth") + attr(
        IFLA_INFO_DATA | NLA_F_NESTED, attr(VETH_INFO_PEER | NLA_F_NESTED, peer_info))
    body = IFINFO.pack(socket.AF_UNSPEC, 0, 0, IFF_UP if up else 0, IFF_UP if up else 0)
    body += attr(IFLA_IFNAME, host.encode() + b"\0")
    if master is not None:
        body += attr(IFLA_MASTER, struct.pack("=I", master))
    if mtu:
        body += attr(IFLA_MTU, struct.pack("=I", mtu))
    body += attr(IFLA_LINKINFO | NLA_F_NESTED, info)
    flags = NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL
    return NLMSG.pack(NLMSG.size + len(body), RTM_NEWLINK, flags, seq, 0) + body


def ack_code(data: bytes, seq: int) -> int | None:
    """The errno of the NLMSG_ERROR answering `seq` in `data` (0 for an ack), else None."""
    _, mtype, _, got, _ = NLMSG.unpack_from(data)
    if mtype != NLMSG_ERROR or got != seq:
        return None
    return -struct.unpack_from("=i", data, NLMSG.size)[0]


def request(message: bytes, seq: int) -> int:
    """Send one request and return the kernel's errno (0: done). Blocking."""
    with socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC, 0) as sock:
        sock.bind((0, 0))
        sock.send(message)
        while (code := ack_code(sock.recv(1 << 16), seq)) is None:
            pass
        return code
