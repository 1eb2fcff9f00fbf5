"""Send one real packet from inside a container's network namespace and say what came back.

The socket is made by a throwaway thread that entered the namespace (a socket belongs to
the namespace it was created in), then used from the daemon's loop, so the daemon itself
never leaves its namespace. TCP: a connect (an answer, even a refusal, means the packet got
there). UDP: a datagram; only a refusal (ICMP port unreachable) proves it arrived, silence
proves nothing. No port: an ICMP echo over a raw socket.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import socket
import struct
from dataclasses import dataclass

from tether.errors import InvalidArgument, KernelError
from tether.kernel import _ns


@dataclass(frozen=True)
class ProbeResult:
    """`reached`: True (an answer came), False (dropped or unreachable), None (UDP
    silence: cannot tell). `detail` is one word: connected, refused, timeout, unreachable,
    echo-reply, no-answer."""

    reached: bool | None
    detail: str


def _family(address: str) -> int:
    try:
        return socket.AF_INET6 if ipaddress.ip_address(address).version == 6 else socket.AF_INET
    except ValueError:
        raise InvalidArgument(f"invalid address to probe: {address!r}") from None


def _make_socket(netns: str, family: int, proto: str) -> socket.socket:
    _ns.enter_net(netns)
    if proto == "icmp":
        kind = (socket.IPPROTO_ICMPV6 if family == socket.AF_INET6 else socket.IPPROTO_ICMP)
        sock = socket.socket(family, socket.SOCK_RAW, kind)
    else:
        sock = socket.socket(family, socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM)
    sock.setblocking(False)
    return sock


async def probe(netns: str, address: str, port: int | None, proto: str = "tcp",
                timeout: float = 1.0) -> ProbeResult:
    """Probe address[:port/proto] from the namespace bound at `netns`.

    Raises:
        InvalidArgument: a bad address or protocol. KernelError: the namespace is gone.
    """
    proto = "icmp" if port is None else proto
    if proto not in ("tcp", "udp", "icmp"):
        raise InvalidArgument(f"cannot probe protocol {proto!r}: use tcp, udp or no port")
    family = _family(address)
    try:
        sock = await _ns.in_thread(lambda: _make_socket(netns, family, proto))
    except OSError as exc:
        raise KernelError(f"cannot open a socket in {netns}: {exc.strerror or exc}") from exc
    try:
        if proto == "icmp":
            return await _echo(sock, address, family, timeout)
        return await _connect(sock, address, port or 0, proto, timeout)
    finally:
        sock.close()


async def _connect(sock: socket.socket, address: str, port: int, proto: str,
                   timeout: float) -> ProbeResult:
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.sock_connect(sock, (address, port)), timeout)
        if proto == "tcp":
            return ProbeResult(True, "connected")
        await loop.sock_sendall(sock, b"tether probe\n")
        await asyncio.wait_for(loop.sock_recv(sock, 512), timeout)
        return ProbeResult(True, "answered")
    except asyncio.TimeoutError:
        return ProbeResult(None, "no-answer") if proto == "udp" else ProbeResult(False, "timeout")
    except OSError as exc:
        return _from_errno(exc)


def _from_errno(exc: OSError) -> ProbeResult:
    if exc.errno == errno.ECONNREFUSED:
        return ProbeResult(True, "refused")
    if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EACCES, errno.EPERM):
        return ProbeResult(False, "unreachable")
    raise KernelError(f"probe failed: {exc.strerror or exc}") from exc


async def _echo(sock: socket.socket, address: str, family: int, timeout: float) -> ProbeResult:
    """One echo request; wait for the matching reply (a raw socket sees every ICMP packet)."""
    loop = asyncio.get_running_loop()
    ident = os.getpid() & 0xFFFF
    v6 = family == socket.AF_INET6
    request_type, reply_type = (128, 129) if v6 else (8, 0)
    packet = _icmp(request_type, ident, 1, b"tether-probe")
    try:
        await loop.sock_sendto(sock, packet, (address, 0))
        deadline = loop.time() + timeout
        while (left := deadline - loop.time()) > 0:
            data, peer = await asyncio.wait_for(loop.sock_recvfrom(sock, 2048), left)
            body = data if v6 else data[(data[0] & 0x0F) * 4:]
            if peer[0] == address and len(body) >= 8 and body[0] == reply_type \
                    and struct.unpack("!H", body[4:6])[0] == ident:
                return ProbeResult(True, "echo-reply")
    except asyncio.TimeoutError:
        pass
    except OSError as exc:
        return _from_errno(exc)
    return ProbeResult(False, "timeout")


def _icmp(kind: int, ident: int, seq: int, payload: bytes) -> bytes:
    header = struct.pack("!BBHHH", kind, 0, 0, ident, seq)
    return struct.pack("!BBHHH", kind, 0, _checksum(header + payload), ident, seq) + payload


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    total = (total >> 16) + (total & 0xFFFF)
    total += total >> 16
    return ~total & 0xFFFF
