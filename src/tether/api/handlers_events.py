"""`GET /events`: the engine's events as dockerd streams them.

The answer is a stream of JSON objects, one per line, flushed as they happen. With `since`
or `until`, kept events are replayed first (`engine.eventbus`); with `until` in the past the
stream ends after them, with `until` in the future it ends at that time.
"""

from __future__ import annotations

import asyncio
import json
import time

from aiohttp import web

from tether.api import schema_events
from tether.api.context import engine_of
from tether.api.filters import parse_filters
from tether.api.streams import watch_disconnect
from tether.errors import InvalidArgument


async def events(request: web.Request) -> web.StreamResponse:
    q = request.query
    since = schema_events.parse_time(q.get("since"), "since")
    until = schema_events.parse_time(q.get("until"), "until")
    if until is not None and since is not None and until < since:
        raise InvalidArgument(f"`since` time ({q.get('since')}) cannot be after `until` "
                              f"time ({q.get('until')})")
    filters = parse_filters(q.get("filters"))
    sub = engine_of(request).subscribe_events(since, until)
    try:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        await response.prepare(request)
        for event in sub.buffered:
            if schema_events.matches(event, filters):
                await response.write(_line(event))
        if until is None or until > time.time_ns():
            await _follow(request, response, sub, filters, until)
        await response.write_eof()
        return response
    finally:
        sub.close()


async def _follow(request, response, sub, filters, until: int | None) -> None:
    """Write live events until the client leaves, `until` passes or the bus closes."""
    lost = watch_disconnect(request)
    loop = asyncio.get_running_loop()
    deadline = None if until is None else loop.time() + max(0.0, (until - time.time_ns()) / 1e9)
    while not lost.done():
        left = None if deadline is None else deadline - loop.time()
        if left is not None and left <= 0:
            return
        nxt = asyncio.ensure_future(sub.next())
        await asyncio.wait([nxt, lost], timeout=left, return_when=asyncio.FIRST_COMPLETED)
        if not nxt.done():
            nxt.cancel()  # a cancelled Queue.get loses nothing
            continue
        event = nxt.result()
        if event is None:
            return
        if schema_events.matches(event, filters):
            await response.write(_line(event))


def _line(event) -> bytes:
    return json.dumps(schema_events.render(event), separators=(",", ":")).encode() + b"\n"


ROUTES = [("GET", "/events", events)]
