"""kernel.nftwatch: which nftables transactions damage tether's tables (pure parts)."""

from __future__ import annotations

import struct

from tether.kernel import nftwatch
from tether.kernel.nftwatch import (DELCHAIN, DELRULE, DELSET, DELTABLE, NEWCHAIN, NEWGEN,
                                    NEWRULE, NEWTABLE, Change, damaged, parse)

INET, BRIDGE, IP = 1, 7, 2
OURS = {(INET, "tether"), (BRIDGE, "tether")}


def test_flush_ruleset_damages():
    tx = [Change(DELRULE, INET, "tether", "forward"), Change(DELCHAIN, INET, "tether", "forward"),
          Change(DELSET, INET, "tether", "bridges"), Change(DELTABLE, INET, "tether")]
    assert damaged(tx, OURS)


def test_own_rescript_is_no_damage():
    """A skeleton re-declared (flush chain, add its rules) and a full replace (delete and
    re-add the table in one transaction) put back everything they delete."""
    assert not damaged([Change(DELRULE, INET, "tether", "forward"),
                        Change(NEWRULE, INET, "tether", "forward")], OURS)
    assert not damaged([Change(DELTABLE, BRIDGE, "tether"), Change(DELCHAIN, BRIDGE, "tether", "forward"),
                        Change(NEWTABLE, BRIDGE, "tether"), Change(NEWCHAIN, BRIDGE, "tether", "forward")],
                       OURS)


def test_other_tables_and_partial_readds():
    assert not damaged([Change(DELTABLE, IP, "tether")], OURS)  # not a family tether uses
    assert not damaged([Change(DELTABLE, INET, "firewalld")], OURS)
    assert damaged([Change(DELRULE, INET, "tether", "forward"),
                    Change(NEWRULE, INET, "tether", "postrouting")], OURS)


def _msg(mtype: int, family: int, attrs: list[tuple[int, bytes]]) -> bytes:
    payload = b"".join(nftwatch_attr(k, v) for k, v in attrs)
    body = struct.pack("=BBH", family, 0, 0) + payload
    return struct.pack("=IHHII", 16 + len(body), (10 << 8) | mtype, 0, 1, 0) + body


def nftwatch_attr(kind: int, value: bytes) -> bytes:
    data = struct.pack("=HH", 4 + len(value), kind) + value
    return data + bytes(-len(data) % 4)


def test_parse_reads_tables_chains_and_generations():
    data = (_msg(DELRULE, INET, [(1, b"tether\0"), (2, b"forward\0")])
            + _msg(DELTABLE, BRIDGE, [(1, b"tether\0")])
            + _msg(NEWGEN, 0, [(1, b"\0\0\0\1")]))
    assert parse(data) == [Change(DELRULE, INET, "tether", "forward"),
                           Change(DELTABLE, BRIDGE, "tether", ""), Change(NEWGEN, 0, "")]
