"""DNS wire format, by hand: parse one question, pack answers as bytes.

This is the resolver's hot path, so nothing here builds objects per query: a question is
read with integer arithmetic and slicing, answers are pre-packed resource records joined
behind a copied header and question. Everything is pure and tested without a socket.
"""

from __future__ import annotations

import ipaddress
import struct

NOERROR, FORMERR, SERVFAIL, NXDOMAIN, NOTIMP, REFUSED = 0, 1, 2, 3, 4, 5
DROP = -1  # not worth an answer: too short to carry an id, or a response sent to us

A, NS, CNAME, SOA, PTR, MX, TXT, AAAA, OPT, ANY = 1, 2, 5, 6, 12, 15, 16, 28, 41, 255
IN = 1
MAX_NAME = 255  # RFC 1035 2.3.4, on the wire including the length octets
MAX_HOPS = 16  # compression pointers followed in one name before calling it a loop
PLAIN_UDP = 512

_U16 = struct.Struct("!H")
_RR_TAIL = struct.Struct("!HHIH")  # type, class, ttl, rdlength
_OPT = b"\x00\x00\x29\x04\xd0\x00\x00\x00\x00\x00\x00"  # root, OPT, 1232 bytes, no flags


def parse(data: bytes) -> tuple[bytes, int, int, int, bool] | int:
    """Read the single question of a query.

    Returns (lower-cased wire name, qtype, offset after the question, largest UDP answer the
    client takes, whether it spoke EDNS), or an rcode to answer with, or DROP.
    """
    n = len(data)
    if n < 12 or data[2] & 0x80:
        return DROP
    if data[2] & 0x78:
        return NOTIMP
    if data[4] != 0 or data[5] != 1:
        return FORMERR
    end, name = _read_name(data, 12)
    if end < 0 or end + 4 > n:
        return FORMERR
    qtype = (data[end] << 8) | data[end + 1]
    if (data[end + 2] << 8) | data[end + 3] not in (IN, ANY):
        return NOTIMP
    end += 4
    size, edns = PLAIN_UDP, False
    if data[10] or data[11]:
        size, edns = _edns_size(data, end)
        if size < 0:
            return FORMERR
    return name, qtype, end, size, edns


def _read_name(data: bytes, pos: int) -> tuple[int, bytes]:
    """(offset after the name, lower-cased uncompressed wire name) or (-1, b"")."""
    n = len(data)
    start = pos
    while pos < n:
        length = data[pos]
        if length == 0:
            if pos + 1 - start > MAX_NAME:
                return -1, b""
            return pos + 1, data[start:pos + 1].lower()
        if length & 0xC0:
            return _read_compressed(data, start)
        pos += length + 1
    return -1, b""


def _read_compressed(data: bytes, start: int) -> tuple[int, bytes]:
    """The slow path for a name with compression pointers: each pointer must go backwards
    and at most MAX_HOPS are followed, so a pointer loop ends in FORMERR, not a hang."""
    n, pos, hops, end = len(data), start, 0, -1
    parts: list[bytes] = []
    total = 1
    while pos < n:
        length = data[pos]
        if length == 0:
            return (pos + 1 if end < 0 else end), b"".join(parts).lower() + b"\x00"
        if length & 0xC0 == 0xC0:
            if pos + 1 >= n or hops >= MAX_HOPS:
                return -1, b""
            target = ((length & 0x3F) << 8) | data[pos + 1]
            if target >= pos:
                return -1, b""
            if end < 0:
                end = pos + 2
            pos, hops = target, hops + 1
            continue
        if length & 0xC0 or pos + length + 1 > n:
            return -1, b""
        total += length + 1
        if total > MAX_NAME:
            return -1, b""
        parts.append(data[pos:pos + length + 1])
        pos += length + 1
    return -1, b""


def _edns_size(data: bytes, pos: int) -> tuple[int, bool]:
    """The UDP size of an OPT record in the additional section right after the question."""
    n = len(data)
    if pos + 11 > n or data[pos] != 0 or data[pos + 1] != 0 or data[pos + 2] != OPT:
        return PLAIN_UDP, False  # some other additional record: ignore it
    size = (data[pos + 3] << 8) | data[pos + 4]
    return max(size, PLAIN_UDP), True


def answer(query: bytes, q_end: int, rcode: int, records: tuple[bytes, ...] | list[bytes],
           size: int, edns: bool) -> bytes:
    """A response: the query's id, question and RD bit, RA set, `records` (pre-packed RRs that
    start with a pointer to the question name), truncated with TC to fit `size`."""
    opt = _OPT if edns else b""
    room = size - q_end - len(opt)
    used, count = 0, 0
    for rr in records:
        if used + len(rr) > room:
            break
        used += len(rr)
        count += 1
    tc = 0x02 if count < len(records) else 0
    head = bytes((query[0], query[1], 0x80 | tc | (query[2] & 0x01), 0x80 | rcode,
                  0, 1, count >> 8, count & 0xFF, 0, 0, 0, 1 if edns else 0))
    body = b"".join(records[:count]) if count != 1 else records[0]
    return head + query[12:q_end] + body + opt


def error(query: bytes, rcode: int) -> bytes:
    """A bare error response: the id and (when it parses) nothing else but the rcode."""
    if len(query) < 2:
        return b""
    rd = query[2] & 0x01 if len(query) > 2 else 0
    return bytes((query[0], query[1], 0x80 | rd, 0x80 | rcode)) + bytes(8)


def servfail(query: bytes, q_end: int) -> bytes:
    return answer(query, q_end, SERVFAIL, (), 65535, False)


def encode_name(name: str) -> bytes | None:
    """The wire form of a dotted name, lower-cased; None when a label or the name is too long."""
    labels = [p.encode() for p in name.lower().strip(".").split(".")] if name.strip(".") else []
    if any(not p or len(p) > 63 for p in labels):
        return None
    out = b"".join(bytes((len(p),)) + p for p in labels) + b"\x00"
    return out if len(out) <= MAX_NAME else None


def record(rtype: int, ttl: int, rdata: bytes) -> bytes:
    """A resource record named by a pointer to the question (offset 12)."""
    return b"\xc0\x0c" + _RR_TAIL.pack(rtype, IN, ttl, len(rdata)) + rdata


def address_record(addr: ipaddress.IPv4Address | ipaddress.IPv6Address, ttl: int) -> bytes:
    return record(A if addr.version == 4 else AAAA, ttl, addr.packed)


def reverse_name(addr: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bytes:
    """The wire form of addr's in-addr.arpa / ip6.arpa name."""
    return encode_name(addr.reverse_pointer) or b"\x00"


def ttl_offsets(msg: bytes) -> list[int] | None:
    """Offsets of every TTL field in a response (the OPT record's is flags, so skipped), or
    None when the message does not parse. The cache uses them to age answers it serves."""
    if len(msg) < 12:
        return None
    qd, an, ns, ar = struct.unpack_from("!HHHH", msg, 4)
    pos = 12
    for _ in range(qd):
        pos = _skip_name(msg, pos)
        if pos < 0:
            return None
        pos += 4
    offsets = []
    for _ in range(an + ns + ar):
        pos = _skip_name(msg, pos)
        if pos < 0 or pos + 10 > len(msg):
            return None
        rtype, _cls, _ttl, rdlen = _RR_TAIL.unpack_from(msg, pos)
        if rtype != OPT:
            offsets.append(pos + 4)
        pos += 10 + rdlen
    return offsets if pos <= len(msg) else None


def _skip_name(msg: bytes, pos: int) -> int:
    n = len(msg)
    while pos < n:
        length = msg[pos]
        if length == 0:
            return pos + 1
        if length & 0xC0 == 0xC0:
            return pos + 2 if pos + 1 < n else -1
        pos += length + 1
    return -1
