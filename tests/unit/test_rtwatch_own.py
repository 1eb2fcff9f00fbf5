"""kernel.rtwatch's own/foreign split, fed synthetic rtnetlink messages (no kernel).

`foreign_prefixes()` answers from bookkeeping kept in step with every notification and every
`own`/`disown`; `prefixes(owned)` recomputes the same answer from all the tables. They must
agree after any sequence of changes.
"""

from __future__ import annotations

import asyncio
import ipaddress
import random
import socket
import struct

from tether.kernel import rtwatch

N = ipaddress.ip_network


def _attr(kind: int, payload: bytes) -> bytes:
    data = struct.pack("=HH", 4 + len(payload), kind) + payload
    return data + bytes(-len(data) % 4)


def link(index: int, name: str, up: bool = True) -> bytes:
    head = struct.pack("=BxHiII", socket.AF_UNSPEC, 1, index, rtwatch.IFF_UP if up else 0, 0)
    return head + _attr(rtwatch.IFLA_IFNAME, name.encode() + b"\0")


def addr(index: int, prefix: str) -> bytes:
    net = ipaddress.ip_interface(prefix)
    family = socket.AF_INET if net.version == 4 else socket.AF_INET6
    head = struct.pack("=BBBBI", family, net.network.prefixlen, 0, 0, index)
    return head + _attr(rtwatch.IFA_ADDRESS, net.ip.packed)


def route(index: int, prefix: str) -> bytes:
    net = N(prefix)
    family = socket.AF_INET if net.version == 4 else socket.AF_INET6
    head = struct.pack("=BBBBBBBBI", family, net.prefixlen, 0, 0, rtwatch.MAIN_TABLE, 3, 0, 1, 0)
    return (head + _attr(rtwatch.RTA_DST, net.network_address.packed)
            + _attr(rtwatch.RTA_OIF, struct.pack("=i", index)))


def watcher() -> rtwatch.HostPrefixes:
    return rtwatch.HostPrefixes(is_tombstone=lambda n: n.startswith("txd"),
                                default_ours=lambda n: n.startswith(("tether", "tb-")))


def agree(w: rtwatch.HostPrefixes) -> list:
    """The incremental answer equals the full recomputation, and the split is exact."""
    want = w.prefixes(w.owned)
    assert w.foreign_prefixes() == want
    assert w.foreign == {n: i for n, i in w.prefixed.items()
                         if n not in w.owned and not n.startswith("txd")}
    return want


def test_own_links_leave_out_their_prefixes_others_and_leftovers_count():
    w = watcher()
    w.apply(rtwatch.RTM_NEWLINK, link(2, "eth0"))
    w.apply(rtwatch.RTM_NEWADDR, addr(2, "192.0.2.10/24"))
    w.own(["tb-mine"])  # told before the bridge exists, as a create may be
    w.apply(rtwatch.RTM_NEWLINK, link(3, "tb-mine"))
    w.apply(rtwatch.RTM_NEWADDR, addr(3, "10.0.0.1/24"))
    w.apply(rtwatch.RTM_NEWLINK, link(4, "tb-other"))  # another daemon's or a leftover
    w.apply(rtwatch.RTM_NEWADDR, addr(4, "10.0.1.1/24"))
    assert agree(w) == [N("10.0.1.0/24"), N("192.0.2.0/24")]
    assert set(w.foreign) == {"eth0", "tb-other"}

    w.disown(["tb-mine"])  # its link is still there: it occupies its subnet again
    assert N("10.0.0.0/24") in agree(w)
    w.own(["tb-mine"])
    assert N("10.0.0.0/24") not in agree(w)


def test_a_tombstone_is_never_foreign_and_a_rename_moves_the_prefixes():
    w = watcher()
    w.apply(rtwatch.RTM_NEWLINK, link(5, "tb-gone"))
    w.apply(rtwatch.RTM_NEWADDR, addr(5, "10.9.0.1/24"))
    assert N("10.9.0.0/24") in agree(w)
    w.apply(rtwatch.RTM_NEWLINK, link(5, "txd0123456789ab", up=False))
    assert agree(w) == [] and "txd0123456789ab" in w.prefixed
    w.disown(["txd0123456789ab"])  # disowning a tombstone does not make it foreign
    assert agree(w) == []
    w.apply(rtwatch.RTM_NEWLINK, link(5, "renamed"))
    assert agree(w) == [N("10.9.0.0/24")]
    w.apply(rtwatch.RTM_DELLINK, link(5, "renamed"))
    assert agree(w) == [] and not w.foreign


def test_a_resync_keeps_what_the_caller_owns(monkeypatch):
    w = watcher()
    w.own(["tb-a"])
    tables = ({1: "tb-a", 2: "eth0"},
              {1: {("10.1.0.1", 24): N("10.1.0.0/24")}, 2: {("192.0.2.1", 24): N("192.0.2.0/24")}},
              {})
    monkeypatch.setattr(rtwatch, "full_dump", lambda: tables)
    asyncio.run(w.resync())
    assert agree(w) == [N("192.0.2.0/24")]


def test_random_changes_keep_the_split_exact():
    rng = random.Random(8)
    w = watcher()
    names = ["eth0", "tb-1", "tb-2", "tb-3", "tether0", "txd000000000001", "veth9"]
    for _ in range(3000):
        index = rng.randint(1, 6)
        step = rng.randrange(8)
        if step == 0:
            name = rng.choice(names)
            if w.names.get(index) == name or name not in w.names.values():  # as the kernel
                w.apply(rtwatch.RTM_NEWLINK, link(index, name, up=rng.random() < .8))
        elif step == 1:
            w.apply(rtwatch.RTM_DELLINK, link(index, w.names.get(index, "x")))
        elif step in (2, 3):
            mtype = rtwatch.RTM_NEWADDR if step == 2 else rtwatch.RTM_DELADDR
            w.apply(mtype, addr(index, f"10.{index}.{rng.randint(0, 2)}.1/24"))
        elif step in (4, 5):
            mtype = rtwatch.RTM_NEWROUTE if step == 4 else rtwatch.RTM_DELROUTE
            w.apply(mtype, route(index, f"172.{16 + index}.{rng.randint(0, 2)}.0/24"))
        elif step == 6:
            w.own([rng.choice(names)])
        else:
            w.disown([rng.choice(names)])
        agree(w)
