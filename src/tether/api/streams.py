"""Docker's stream framing and the HTTP hijack of `exec start`.

Without a TTY, stdout and stderr share one connection as frames: one byte of stream type
(1 stdout, 2 stderr), three zero bytes, a big-endian uint32 length, then the payload.
"""

from __future__ import annotations

import asyncio
import struct
from typing import Awaitable, Callable

from aiohttp import web

RAW_STREAM = "application/vnd.docker.raw-stream"
MUX_STREAM = "application/vnd.docker.multiplexed-stream"


def frame(stream: int, data: bytes) -> bytes:
    """One multiplexed frame."""
    return struct.pack(">BxxxI", stream, len(data)) + data


def stream_content_type(tty: bool, version: tuple[int, int]) -> str:
    return RAW_STREAM if tty or version < (1, 42) else MUX_STREAM


def wants_upgrade(request: web.Request) -> bool:
    """Docker clients ask to hijack with `Connection: Upgrade` + `Upgrade: tcp`."""
    connection = request.headers.get("Connection", "").lower()
    return "upgrade" in connection and request.headers.get("Upgrade", "").lower() == "tcp"


class HijackProtocol(asyncio.Protocol):
    """Takes the read side of an upgraded connection from aiohttp.

    aiohttp closes a connection when the peer half-closes; the docker CLI half-closes right
    after the upgrade when it has no stdin, and would then lose the output. This protocol
    keeps the socket open on EOF, hands stdin to `on_data`/`on_eof`, and forwards flow
    control and connection loss to aiohttp's protocol so its writer and cleanup still work.
    """

    def __init__(self, inner: asyncio.BaseProtocol, on_data: Callable[[bytes], None],
                 on_eof: Callable[[], None]) -> None:
        self._inner = inner
        self._on_data = on_data
        self._on_eof = on_eof

    def data_received(self, data: bytes) -> None:
        self._on_data(data)

    def eof_received(self) -> bool:
        self._on_eof()
        return True  # keep the write side open: the exec's output is still coming

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        self._on_eof()
        self._inner.connection_lost(exc)


class DisconnectWatch(asyncio.Protocol):
    """Forwards everything to aiohttp's protocol and resolves `lost` when the peer leaves.

    aiohttp does not cancel a handler whose client hung up; a long wait uses this to stop.
    """

    def __init__(self, inner: asyncio.Protocol, lost: asyncio.Future[None]) -> None:
        self._inner = inner
        self._lost = lost

    def data_received(self, data: bytes) -> None:
        self._inner.data_received(data)

    def eof_received(self) -> bool | None:
        return self._inner.eof_received()

    def pause_writing(self) -> None:
        self._inner.pause_writing()

    def resume_writing(self) -> None:
        self._inner.resume_writing()

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._lost.done():
            self._lost.set_result(None)
        self._inner.connection_lost(exc)


def watch_disconnect(request: web.Request) -> asyncio.Future[None]:
    """A future that completes when the client closes the connection."""
    lost: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    if request.transport is None or request.transport.is_closing():
        lost.set_result(None)
    else:
        request.transport.set_protocol(DisconnectWatch(request.protocol, lost))
    return lost


class Stdin:
    """Bytes the client sent after the upgrade, as a queue ending with None at EOF."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes | None] = asyncio.Queue()
        self._closed = False

    def feed(self, data: bytes) -> None:
        if not self._closed and data:
            self.queue.put_nowait(data)

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self.queue.put_nowait(None)


async def hijack(request: web.Request, content_type: str) -> tuple[web.StreamResponse, Stdin]:
    """Answer `101 UPGRADED` and take over the connection's read side.

    The protocol is swapped before the status line goes out, so a half-close that follows
    the client reading it can never reach aiohttp.
    """
    stdin = Stdin()
    transport = request.transport
    assert transport is not None
    tail = getattr(request.protocol, "_message_tail", b"")
    transport.set_protocol(HijackProtocol(request.protocol, stdin.feed, stdin.close))
    stdin.feed(tail)
    response = web.StreamResponse(status=101, reason="UPGRADED", headers={
        "Content-Type": content_type, "Connection": "Upgrade", "Upgrade": "tcp"})
    await response.prepare(request)
    return response, stdin


async def pump_stdin(stdin: Stdin, write: Callable[[bytes], Awaitable[None]],
                     close: Callable[[], None]) -> None:
    """Copy the hijacked connection's bytes into a process until the client half-closes."""
    while (data := await stdin.queue.get()) is not None:
        await write(data)
    close()


def end_hijack(request: web.Request) -> None:
    """Close the upgraded connection: the client reads until EOF to learn the stream ended."""
    if request.transport is not None:
        request.transport.close()
