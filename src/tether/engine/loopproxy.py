"""The one in-process proxy: published ports on IPv6 where the kernel cannot DNAT.

The kernel publishes every port (firewall.portrules), except two cases it cannot do:

- `::1`. IPv6 has no route_localnet: a connection DNAT'ed from ::1 to a container gets its
  SYN-ACK dropped on the way back (de-NAT'ed to ::1 after arriving on a bridge, it has no
  route: RFC 4291 forbids loopback addresses off the loopback interface). tests measured
  this on a 6.18 kernel with the drop-reason tracepoint (IP_INNOROUTES in ip6_pkt_discard).
- the host's IPv6 addresses for a container that has no IPv6 address: DNAT cannot change
  the address family (docker-proxy forwards these to the container's IPv4 address).

Both arrive at the IPv6 socket that already reserves the host port (engine.ports), so that
socket listens, and this module relays what it accepts to the container: one asyncio task
per TCP connection and one connected socket per UDP client, all in the daemon, for every
port of every container. Docker instead runs a docker-proxy process per port and family.
"""

from __future__ import annotations

import asyncio
import logging
import socket

log = logging.getLogger(__name__)
UDP_IDLE = 60.0  # seconds a UDP client's flow lives without traffic (conntrack uses 30-120)
CHUNK = 1 << 16


class LoopProxy:
    """Relays for published ports, keyed by container id."""

    def __init__(self) -> None:
        self.closers: dict[str, list[_TcpFront | asyncio.BaseTransport]] = {}

    async def serve(self, cid: str, sock: socket.socket, proto: str,
                    target: tuple[str, int]) -> None:
        """Relay what reaches `sock` (a bound IPv6 socket holding a host port) to `target`."""
        loop = asyncio.get_running_loop()
        sock.setblocking(False)
        if proto == "tcp":
            sock.listen(128)
            closer = _TcpFront(sock, target)  # a reader callback: 1,000 ports cost 2 ms,
            # asyncio.start_server's Server objects 21
        elif proto == "udp":
            closer, _ = await loop.create_datagram_endpoint(
                lambda: _UdpFront(target), sock=sock)
        else:
            return
        self.closers.setdefault(cid, []).append(closer)

    def stop(self, cid: str) -> None:
        """Stop relaying `cid`'s ports (open TCP connections end with their container)."""
        for closer in self.closers.pop(cid, []):
            closer.close()


class _TcpFront:
    """Accepts on a listening socket from the event loop's reader callback and relays each
    connection in a task of its own."""

    def __init__(self, sock: socket.socket, target: tuple[str, int]) -> None:
        self.sock, self.target = sock, target
        self.loop = asyncio.get_running_loop()
        self.tasks: set[asyncio.Task] = set()
        self.loop.add_reader(sock.fileno(), self.accept)

    def accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. EMFILE: leave the rest queued for the next call
                log.warning("proxy for %s cannot accept: %s", self.target, exc)
                return
            conn.setblocking(False)
            task = self.loop.create_task(_serve_tcp(conn, self.target))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def close(self) -> None:
        """Stop accepting; connections already relayed go on until either side ends."""
        if self.sock.fileno() >= 0:
            self.loop.remove_reader(self.sock.fileno())
            self.sock.close()


async def _serve_tcp(conn: socket.socket, target: tuple[str, int]) -> None:
    try:
        reader, writer = await asyncio.open_connection(sock=conn)
    except OSError:
        conn.close()
        return
    await _relay_tcp(reader, writer, target)


async def _relay_tcp(reader: asyncio.StreamReader, writer: asyncio.StreamWriter,
                     target: tuple[str, int]) -> None:
    try:
        up_r, up_w = await asyncio.open_connection(*target)
    except OSError as exc:
        log.debug("proxy to %s: %s", target, exc)
        writer.close()
        return
    try:
        await asyncio.gather(_pump(reader, up_w), _pump(up_r, writer))
    finally:
        writer.close()
        up_w.close()


async def _pump(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
    """Copy until end of stream, then half-close, so either side's shutdown carries over;
    an error closes `dst`, which ends the other direction too."""
    try:
        while data := await src.read(CHUNK):
            dst.write(data)
            await dst.drain()
        if dst.can_write_eof():
            dst.write_eof()
    except OSError:
        dst.close()


class _UdpFront(asyncio.DatagramProtocol):
    """The host-port side of a UDP relay: one upstream socket per client address."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.transport: asyncio.DatagramTransport | None = None
        self.flows: dict[tuple, _UdpFlow] = {}

    def connection_made(self, transport) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr) -> None:
        flow = self.flows.get(addr)
        if flow is None:
            flow = self.flows[addr] = _UdpFlow(self, addr)
            asyncio.get_running_loop().create_task(flow.open())
        flow.send(data)

    def connection_lost(self, exc) -> None:
        for flow in list(self.flows.values()):
            flow.close()


class _UdpFlow(asyncio.DatagramProtocol):
    """One client's flow to the container; replies go back through the front socket."""

    def __init__(self, front: _UdpFront, client) -> None:
        self.front, self.client = front, client
        self.up: asyncio.DatagramTransport | None = None
        self.pending: list[bytes] = []
        self.timer: asyncio.TimerHandle | None = None
        self.touch()

    async def open(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.up, _ = await loop.create_datagram_endpoint(
                lambda: self, remote_addr=self.front.target)
        except OSError as exc:
            log.debug("udp proxy to %s: %s", self.front.target, exc)
            self.close()
            return
        for data in self.pending:
            self.up.sendto(data)
        self.pending.clear()

    def send(self, data: bytes) -> None:
        self.touch()
        if self.up is None:
            self.pending.append(data)
        else:
            self.up.sendto(data)

    def datagram_received(self, data: bytes, addr) -> None:
        self.touch()
        if self.front.transport is not None and not self.front.transport.is_closing():
            self.front.transport.sendto(data, self.client)

    def touch(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.timer = asyncio.get_running_loop().call_later(UDP_IDLE, self.close)

    def close(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
        if self.up is not None:
            self.up.close()
        self.front.flows.pop(self.client, None)
