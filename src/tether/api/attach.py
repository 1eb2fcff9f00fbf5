"""`POST /containers/{id}/attach` (hijacked, with stdin and detach keys) and the resizes.

The attach is registered before it returns the 101, so `run` (attach, then start) loses no
output. Stdin, when asked for and the container has OpenStdin, goes through the detach-key
matcher into the container's stdin FIFO. Ending rules, as dockerd's:
    - the container exits: the output ends, then the connection closes;
    - the detach keys arrive: the connection closes, the container keeps running;
    - the client half-closes stdin: without a TTY the container's stdin gets EOF (when no
      other writer holds it) and output continues; with a TTY the attach ends.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator

from aiohttp import WSMsgType, web

from tether.api.context import engine_of
from tether.api.detachkeys import DetachMatcher, parse_detach_keys
from tether.api.jsonbody import query_bool, query_int
from tether.api.middleware import api_version
from tether.api.streams import Stdin, end_hijack, frame, hijack, stream_content_type, wants_upgrade
from tether.engine.facade import StdinSink
from tether.errors import InvalidArgument

DETACHED, STDIN_EOF = "detached", "eof"


async def attach_container(request: web.Request) -> web.StreamResponse:
    """`POST /containers/{id}/attach?stream=1&stdin=1&stdout=1&stderr=1&detachKeys=...`."""
    engine = engine_of(request)
    c = (await engine.inspect_container(request.match_info["id"])).container
    keys = parse_detach_keys(request.query.get("detachKeys", ""))
    tty = c.spec.tty
    content_type = stream_content_type(tty, api_version(request))
    chunks = await engine.attach(c.id, stdout=query_bool(request, "stdout"),
                                 stderr=query_bool(request, "stderr"))
    if not wants_upgrade(request):
        response = web.StreamResponse(status=200, headers={"Content-Type": content_type})
        await response.prepare(request)
        await copy_output(response, chunks, tty)
        await response.write_eof()
        return response
    want_stdin = query_bool(request, "stdin") and c.spec.open_stdin
    sink = engine.attach_stdin(c.id) if want_stdin else None
    try:
        response, stdin = await hijack(request, content_type)
        await run_attach(response, chunks, stdin, sink, tty, keys)
    finally:
        if sink is not None:
            sink.close()
        end_hijack(request)
    return response


async def copy_output(response,
                      chunks: AsyncIterator[tuple[int, bytes]], tty: bool) -> None:
    """Raw bytes with a TTY, multiplexed frames without; a client gone is not an error."""
    with contextlib.suppress(ConnectionError):
        async for kind, data in chunks:
            await response.write(data if tty else frame(kind, data))


async def pump_input(stdin: Stdin, sink: StdinSink, keys: bytes) -> str:
    """Copy client bytes to the container until EOF or the detach keys; say which."""
    matcher = DetachMatcher(keys)
    while (data := await stdin.queue.get()) is not None:
        forward, detach = matcher.feed(data)
        if forward:
            await sink.write(forward)
        if detach:
            return DETACHED
    await sink.finish()
    return STDIN_EOF


async def run_attach(response, chunks: AsyncIterator[tuple[int, bytes]],
                     stdin: Stdin, sink: StdinSink | None, tty: bool, keys: bytes) -> None:
    output = asyncio.ensure_future(copy_output(response, chunks, tty))
    if sink is None:
        await output
        return
    pump = asyncio.ensure_future(pump_input(stdin, sink, keys))
    try:
        await asyncio.wait({output, pump}, return_when=asyncio.FIRST_COMPLETED)
        if not output.done() and pump.result() == STDIN_EOF and not tty:
            await output
    finally:
        for task in (output, pump):
            task.cancel()
        for task in (output, pump):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


class _WebSocketWriter:
    """`copy_output`'s writer over a websocket: one binary message per chunk."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws

    async def write(self, data: bytes) -> None:
        await self.ws.send_bytes(data)


async def _read_messages(ws: web.WebSocketResponse, stdin: Stdin) -> None:
    async for msg in ws:
        if msg.type in (WSMsgType.BINARY, WSMsgType.TEXT):
            stdin.feed(msg.data if isinstance(msg.data, bytes) else msg.data.encode())
    stdin.close()


async def attach_container_ws(request: web.Request) -> web.WebSocketResponse:
    """`GET /containers/{id}/attach/ws`: the same streams over a websocket, never framed."""
    engine = engine_of(request)
    c = (await engine.inspect_container(request.match_info["id"])).container
    keys = parse_detach_keys(request.query.get("detachKeys", ""))
    chunks = await engine.attach(c.id, stdout=query_bool(request, "stdout"),
                                 stderr=query_bool(request, "stderr"))
    ws = web.WebSocketResponse()
    await ws.prepare(request)
    stdin = Stdin()
    reader = asyncio.ensure_future(_read_messages(ws, stdin))
    want_stdin = query_bool(request, "stdin") and c.spec.open_stdin
    sink = engine.attach_stdin(c.id) if want_stdin else None
    try:
        await run_attach(_WebSocketWriter(ws), chunks, stdin, sink, True, keys)
    finally:
        reader.cancel()
        if sink is not None:
            sink.close()
        await ws.close()
    return ws


class ExecSink:
    """An exec's stdin as a StdinSink, so an exec shares the attach's detach-key pump."""

    def __init__(self, stream) -> None:
        self.stream = stream

    async def write(self, data: bytes) -> None:
        await self.stream.write_stdin(data)

    async def finish(self) -> None:
        self.stream.close_stdin()

    def close(self) -> None:
        """The exec's stdin closes when its stream ends, not here."""


def _size(request: web.Request) -> tuple[int, int]:
    height, width = query_int(request, "h"), query_int(request, "w")
    if height is None or width is None or height < 0 or width < 0:
        raise InvalidArgument("resize needs non-negative h and w")
    return height, width


async def resize_container(request: web.Request) -> web.Response:
    """`POST /containers/{id}/resize?h=&w=`."""
    engine_of(request).resize_container(request.match_info["id"], *_size(request))
    return web.Response(status=200)


async def resize_exec(request: web.Request) -> web.Response:
    """`POST /exec/{id}/resize?h=&w=`."""
    engine_of(request).resize_exec(request.match_info["id"], *_size(request))
    return web.Response(status=200)


ROUTES = [
    ("POST", "/containers/{id}/attach", attach_container),
    ("GET", "/containers/{id}/attach/ws", attach_container_ws),
    ("POST", "/containers/{id}/resize", resize_container),
    ("POST", "/exec/{id}/resize", resize_exec),
]
