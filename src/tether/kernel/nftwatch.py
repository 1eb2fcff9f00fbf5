"""Notice when someone else deletes or flushes tether's nftables tables (`nft flush ruleset`).

A NETLINK_NETFILTER socket in the NFNLGRP_NFTABLES multicast group receives every nftables
change of the namespace, one transaction at a time: its messages, then NFT_MSG_NEWGEN. A
transaction damages a watched table when it deletes the table, a chain, a set or rules of
a chain without re-adding the same object in that transaction. tether's own scripts never
do that: they re-declare the skeleton (`flush chain` and its rules together), and their
per-network changes only touch elements. So no process id is needed to tell tether's own
changes apart (the generation's pid is the global one, useless inside a PID namespace).

`damaged` is pure; `NftMonitor` owns the socket and calls back on the event loop.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import socket
import struct
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from tether.kernel.nfnl import FAMILIES, NETLINK_NETFILTER, NFNL_SUBSYS_NFTABLES

log = logging.getLogger(__name__)

NFNLGRP_NFTABLES = 7
NETLINK_ADD_MEMBERSHIP, SOL_NETLINK = 1, 270
NEWTABLE, DELTABLE, NEWCHAIN, DELCHAIN, NEWRULE, DELRULE = 0, 2, 3, 5, 6, 8
NEWSET, DELSET, NEWGEN = 9, 11, 15
# message -> (kind of object, attribute holding its name or, for rules, its chain)
OBJECTS = {NEWTABLE: ("table", 1), DELTABLE: ("table", 1), NEWCHAIN: ("chain", 3),
           DELCHAIN: ("chain", 3), NEWRULE: ("rule", 2), DELRULE: ("rule", 2),
           NEWSET: ("set", 2), DELSET: ("set", 2)}
DELETES = {DELTABLE, DELCHAIN, DELRULE, DELSET}
_NLMSG = struct.Struct("=IHHII")
RCVBUF = 4 << 20

Key = tuple[int, str, str, str]  # (family, table, kind, name)


@dataclass(frozen=True)
class Change:
    """One nftables message of a transaction, reduced to what `damaged` needs."""

    msg: int
    family: int
    table: str
    name: str = ""  # the chain, set or (for a rule) its chain; "" for a table


def damaged(changes: Iterable[Change], tables: set[tuple[int, str]]) -> bool:
    """Whether one transaction deleted a watched table's table, chain, set or rules without
    putting the same object back in it."""
    deleted: set[Key] = set()
    added: set[Key] = set()
    for ch in changes:
        if (ch.family, ch.table) not in tables or ch.msg not in OBJECTS:
            continue
        key = (ch.family, ch.table, OBJECTS[ch.msg][0], ch.name)
        (deleted if ch.msg in DELETES else added).add(key)
    return bool(deleted - added)


def _attrs(data: bytes, start: int, end: int) -> dict[int, bytes]:
    out = {}
    while start + 4 <= end:
        length, kind = struct.unpack_from("=HH", data, start)
        if length < 4:
            break
        out[kind & 0x3FFF] = data[start + 4:start + length]
        start += (length + 3) & ~3
    return out


def parse(data: bytes) -> list[Change]:
    """The nftables messages of one datagram (NEWGEN included, as Change(NEWGEN, 0, ""))."""
    out, offset = [], 0
    while offset + _NLMSG.size <= len(data):
        length, mtype, _, _, _ = _NLMSG.unpack_from(data, offset)
        if length < _NLMSG.size:
            break
        if mtype >> 8 == NFNL_SUBSYS_NFTABLES:
            msg, family = mtype & 0xFF, data[offset + _NLMSG.size]
            attrs = _attrs(data, offset + _NLMSG.size + 4, offset + length)
            if msg == NEWGEN:
                out.append(Change(NEWGEN, 0, ""))
            elif msg in OBJECTS:
                name_attr = OBJECTS[msg][1]
                table = attrs.get(1, b"").rstrip(b"\0").decode(errors="replace")
                name = "" if msg in (NEWTABLE, DELTABLE) else \
                    attrs.get(name_attr, b"").rstrip(b"\0").decode(errors="replace")
                out.append(Change(msg, family, table, name))
        offset += (length + 3) & ~3
    return out


@dataclass
class NftMonitor:
    """Calls `on_damage(False)` (on the loop) after each transaction that damaged `tables`
    (names in the families tether uses: inet and bridge), `on_damage(True)` when
    notifications were lost (the socket overflowed: the caller checks for itself)."""

    tables: set[tuple[int, str]]
    on_damage: Callable[[bool], None]
    sock: socket.socket | None = None
    pending: list[Change] = field(default_factory=list)

    @classmethod
    def for_table(cls, table: str, on_damage: Callable[[bool], None]) -> "NftMonitor":
        return cls({(FAMILIES["inet"], table), (FAMILIES["bridge"], table)}, on_damage)

    def start(self) -> None:
        s = socket.socket(socket.AF_NETLINK, socket.SOCK_RAW | socket.SOCK_CLOEXEC |
                          socket.SOCK_NONBLOCK, NETLINK_NETFILTER)
        try:
            s.setsockopt(socket.SOL_SOCKET, 33, RCVBUF)  # SO_RCVBUFFORCE (root)
        except OSError:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, RCVBUF)
        s.bind((0, 0))
        s.setsockopt(SOL_NETLINK, NETLINK_ADD_MEMBERSHIP, NFNLGRP_NFTABLES)
        self.sock = s
        asyncio.get_running_loop().add_reader(s.fileno(), self.drain)

    def drain(self) -> None:
        """Read every queued notification; judge each finished transaction."""
        assert self.sock is not None
        while True:
            try:
                data = self.sock.recv(1 << 16)
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno != errno.ENOBUFS:
                    raise
                log.info("nftables notifications were lost; checking tether's tables")
                self.pending.clear()
                self.on_damage(True)
                continue
            for ch in parse(data):
                if ch.msg != NEWGEN:
                    self.pending.append(ch)
                    continue
                hit, self.pending = damaged(self.pending, self.tables), []
                if hit:
                    self.on_damage(False)

    def close(self) -> None:
        if self.sock is not None:
            asyncio.get_running_loop().remove_reader(self.sock.fileno())
            self.sock.close()
            self.sock = None
