"""The resolver: serves each container's own UDP and TCP sockets from the daemon's loop.

The sockets were bound inside the container's network namespace, so a query's socket says
who asks: no source-address lookup, and a container on many networks (or on `--internal`
ones) is still known. Local names are answered synchronously from the current `Table`;
anything else goes to the `Forwarder` in a task, bounded per asker so a flood of
unanswerable queries cannot starve everyone else.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from dataclasses import dataclass, field

from tether.dns import records, wire
from tether.dns.forward import Forwarder

log = logging.getLogger(__name__)

MAX_FORWARDS = 256  # outstanding upstream queries per asker; beyond that, REFUSED
TCP_IDLE = 10.0
MAX_TCP_CLIENTS = 64  # open TCP connections per asker; more are closed at once


class UdpListener(asyncio.DatagramProtocol):
    """One container's UDP socket."""

    def __init__(self, resolver: Resolver, asker: str) -> None:
        self.resolver = resolver
        self.asker = asker
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        out = self.resolver.local(self.asker, data, False)
        if out is None:
            self.resolver.forward_udp(self.asker, data, self.transport, addr)
        elif out:
            self.transport.sendto(out, addr)

    def error_received(self, exc: Exception) -> None:
        pass  # a client that went away before its answer: nothing to do


@dataclass
class Served:
    """What the resolver holds for one asker, so that it can let go of all of it."""

    udp: asyncio.DatagramTransport
    tcp: asyncio.AbstractServer
    clients: set[asyncio.StreamWriter] = field(default_factory=set)
    forwards: int = 0


class Resolver:
    """Answers every asker from one table; swap `table` to change what all of them see."""

    def __init__(self, forwarder: Forwarder) -> None:
        self.table = records.Table()
        self.forwarder = forwarder
        self.served: dict[str, Served] = {}
        self.tasks: set[asyncio.Task] = set()

    def local(self, asker: str, data: bytes, tcp: bool) -> bytes | None:
        """The answer from the table, b"" to drop the query, or None: forward it."""
        q = wire.parse(data)
        if q.__class__ is int:
            return b"" if q == wire.DROP else wire.error(data, q)
        name, qtype, end, size, edns = q
        found = records.resolve(self.table, asker, name, qtype)
        if found is None:
            return None
        return wire.answer(data, end, found[0], found[1], 65535 if tcp else size, edns)

    async def forwarded(self, asker: str, data: bytes, tcp: bool) -> bytes:
        q = wire.parse(data)
        if q.__class__ is int:
            return b""
        served = self.served.get(asker)
        view = self.table.askers.get(asker)
        if served is None or view is None or served.forwards >= MAX_FORWARDS:
            return wire.answer(data, q[2], wire.REFUSED, (), 65535, False)
        served.forwards += 1
        try:
            resp = await self.forwarder.query(data, q, view.upstreams, tcp)
        except Exception:  # noqa: BLE001 - one bad upstream answer must not stop the resolver
            log.exception("forwarding a query for %s failed", asker[:12])
            resp = wire.servfail(data, q[2])
        finally:
            served.forwards -= 1
        if not tcp and len(resp) > q[3]:
            resp = _truncated(resp, q[2])
        return resp

    def forward_udp(self, asker: str, data: bytes, transport, addr) -> None:
        self._spawn(self._forward_udp(asker, data, transport, addr))

    async def _forward_udp(self, asker: str, data: bytes, transport, addr) -> None:
        out = await self.forwarded(asker, data, False)
        if out and not transport.is_closing():
            transport.sendto(out, addr)

    def _spawn(self, coro) -> None:
        task = asyncio.ensure_future(coro)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def serve(self, asker: str, udp: socket.socket, tcp: socket.socket) -> None:
        """Serve `asker` on two bound sockets (TCP already listening); replaces older ones."""
        await self.stop_serving(asker)
        loop = asyncio.get_running_loop()
        transport, _ = await loop.create_datagram_endpoint(
            lambda: UdpListener(self, asker), sock=udp)
        served = Served(transport, None)  # type: ignore[arg-type]
        served.tcp = await asyncio.start_server(
            lambda r, w: self._tcp_client(served, asker, r, w), sock=tcp)
        self.served[asker] = served

    async def _tcp_client(self, served: Served, asker: str, reader: asyncio.StreamReader,
                          writer: asyncio.StreamWriter) -> None:
        if len(served.clients) >= MAX_TCP_CLIENTS:
            writer.close()
            return
        served.clients.add(writer)
        try:
            while True:
                head = await asyncio.wait_for(reader.readexactly(2), TCP_IDLE)
                data = await asyncio.wait_for(reader.readexactly(int.from_bytes(head, "big")),
                                              TCP_IDLE)
                out = self.local(asker, data, True)
                if out is None:
                    out = await self.forwarded(asker, data, True)
                if not out:
                    break
                writer.write(len(out).to_bytes(2, "big") + out)
                await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
            pass
        finally:
            served.clients.discard(writer)
            writer.close()

    async def stop_serving(self, asker: str) -> None:
        """Close `asker`'s sockets and connections (each keeps its netns alive while open)."""
        served = self.served.pop(asker, None)
        if served is None:
            return
        served.udp.close()
        served.tcp.close()
        for writer in list(served.clients):
            writer.close()
        await served.tcp.wait_closed()

    async def close(self) -> None:
        for asker in list(self.served):
            await self.stop_serving(asker)
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.forwarder.close()


def _truncated(resp: bytes, q_end: int) -> bytes:
    """An upstream answer too big for the client's UDP size: header and question with TC."""
    head = bytearray(resp[:12])
    head[2] |= 0x02
    head[6:12] = bytes(6)
    return bytes(head) + resp[12:q_end]
