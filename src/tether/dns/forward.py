"""Forwarding to upstream resolvers: parallel queries, a TTL-honouring cache, fast failure.

Every upstream is asked at once and the first useful answer wins. UDP goes through one
connected socket per upstream, so an ICMP port-unreachable comes back as an error on that
socket and fails its pending queries at once: a dead upstream costs a SERVFAIL in
milliseconds, a silent one at most `timeout` seconds. Never a hang.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import secrets
import struct
import time

from tether.dns import wire

MAX_CACHE = 10_000
MAX_TTL = 3600
_TTL = struct.Struct("!I")


def nameservers(resolv_conf: str) -> tuple[str, ...]:
    """The nameservers of a resolv.conf, loopback ones dropped (they mean nothing in a netns)."""
    servers = []
    for line in resolv_conf.splitlines():
        fields = line.split()
        if len(fields) >= 2 and fields[0] == "nameserver":
            try:
                if not ipaddress.ip_address(fields[1].split("%")[0]).is_loopback:
                    servers.append(fields[1])
            except ValueError:
                continue
    return tuple(servers)


class HostServers:
    """The host's upstreams, read from `path` again whenever that file changes."""

    def __init__(self, path: str, recheck: float = 1.0) -> None:
        self.path = path
        self.recheck = recheck
        self.checked = 0.0
        self.stamp: tuple[int, int, int] | None = None
        self.servers: tuple[str, ...] = ()

    def get(self) -> tuple[str, ...]:
        now = time.monotonic()
        if now - self.checked >= self.recheck:
            self.checked = now
            self._reload()
        return self.servers

    def _reload(self) -> None:
        try:
            st = os.stat(self.path)
        except OSError:
            self.stamp, self.servers = None, ()
            return
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        if stamp != self.stamp:
            self.stamp = stamp
            try:
                with open(self.path) as f:
                    self.servers = nameservers(f.read())
            except OSError:
                self.servers = ()


class Cache:
    """Answers by (upstreams, name, type, transport); served with their TTLs aged."""

    def __init__(self, limit: int = MAX_CACHE) -> None:
        self.limit = limit
        self.entries: dict[tuple, tuple[float, float, bytes, list[int], list[int]]] = {}

    def get(self, key: tuple, qid: bytes) -> bytes | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        expires, stored, body, offsets, ttls = entry
        now = time.monotonic()
        if now >= expires:
            del self.entries[key]
            return None
        buf = bytearray(qid + body)
        age = int(now - stored)
        for off, ttl in zip(offsets, ttls):
            _TTL.pack_into(buf, off, max(ttl - age, 0))
        return bytes(buf)

    def put(self, key: tuple, resp: bytes) -> None:
        """Keep NOERROR/NXDOMAIN answers that carry records and are not truncated."""
        if len(resp) < 12 or resp[2] & 0x02 or resp[3] & 0x0F not in (wire.NOERROR, wire.NXDOMAIN):
            return
        offsets = wire.ttl_offsets(resp)
        if not offsets:
            return
        ttls = [_TTL.unpack_from(resp, off)[0] for off in offsets]
        ttl = min(min(ttls), MAX_TTL)
        if ttl <= 0:
            return
        if len(self.entries) >= self.limit:
            del self.entries[next(iter(self.entries))]
        now = time.monotonic()
        self.entries[key] = (now + ttl, now, resp[2:], offsets, ttls)


class Upstream(asyncio.DatagramProtocol):
    """One connected UDP socket to one upstream, matching answers to queries by id."""

    def __init__(self) -> None:
        self.transport: asyncio.DatagramTransport | None = None
        self.pending: dict[int, asyncio.Future] = {}

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        if len(data) >= 12:
            fut = self.pending.pop((data[0] << 8) | data[1], None)
            if fut is not None and not fut.done():
                fut.set_result(data)

    def error_received(self, exc: Exception) -> None:
        for fut in self.pending.values():
            if not fut.done():
                fut.set_result(b"")
        self.pending.clear()

    def connection_lost(self, exc) -> None:
        self.error_received(exc or ConnectionError())

    async def ask(self, msg: bytes) -> bytes:
        """Send `msg` (its id replaced by a fresh one) and wait for the matching answer."""
        qid = secrets.randbits(16)
        while qid in self.pending:
            qid = secrets.randbits(16)
        fut = asyncio.get_running_loop().create_future()
        self.pending[qid] = fut
        try:
            self.transport.sendto(qid.to_bytes(2, "big") + msg[2:])
            return await fut
        finally:
            self.pending.pop(qid, None)


class Forwarder:
    """Asks upstreams for what the table does not know."""

    def __init__(self, host: HostServers, timeout: float = 2.0, port: int = 53) -> None:
        self.host = host
        self.timeout = timeout
        self.port = port
        self.cache = Cache()
        self.udp: dict[str, Upstream] = {}

    def servers(self, own: tuple[str, ...]) -> tuple[str, ...]:
        return own or self.host.get()

    async def query(self, data: bytes, q: tuple, own: tuple[str, ...], tcp: bool) -> bytes:
        """The answer to `data` (whose parsed question is `q`), with the client's id."""
        name, qtype, end, _size, edns = q
        servers = self.servers(own)
        key = (servers, name, qtype, edns, tcp)
        hit = self.cache.get(key, data[:2])
        if hit is not None:
            return hit
        if not servers:
            return wire.servfail(data, end)
        resp = await self._ask_all(data, servers, tcp, data[12:end].lower())
        if resp is None:
            return wire.servfail(data, end)
        self.cache.put(key, resp)
        return data[:2] + resp[2:]

    async def _ask_all(self, data: bytes, servers: tuple[str, ...], tcp: bool,
                       question: bytes) -> bytes | None:
        tasks = [asyncio.ensure_future(self._ask(s, data, tcp)) for s in servers]
        fallback = None
        try:
            for next_done in asyncio.as_completed(tasks, timeout=self.timeout):
                try:
                    resp = await next_done
                except (OSError, asyncio.IncompleteReadError, ValueError):
                    continue
                if len(resp) < 12 or resp[12:12 + len(question)].lower() != question:
                    continue
                if resp[3] & 0x0F in (wire.SERVFAIL, wire.REFUSED):
                    fallback = resp
                    continue
                return resp
        except asyncio.TimeoutError:
            pass
        finally:
            for t in tasks:
                t.cancel()
        return fallback

    async def _ask(self, server: str, data: bytes, tcp: bool) -> bytes:
        if tcp:
            return await self._ask_tcp(server, data)
        up = self.udp.get(server)
        if up is None or up.transport is None or up.transport.is_closing():
            loop = asyncio.get_running_loop()
            _, up = await loop.create_datagram_endpoint(Upstream, remote_addr=(server, self.port))
            self.udp[server] = up
        return await up.ask(data)

    async def _ask_tcp(self, server: str, data: bytes) -> bytes:
        reader, writer = await asyncio.open_connection(server, self.port)
        try:
            writer.write(len(data).to_bytes(2, "big") + data)
            await writer.drain()
            size = int.from_bytes(await reader.readexactly(2), "big")
            return await reader.readexactly(size)
        finally:
            writer.close()

    def close(self) -> None:
        for up in self.udp.values():
            if up.transport is not None:
                up.transport.close()
        self.udp.clear()
