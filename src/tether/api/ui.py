"""The live topology page (`tetherd --ui 127.0.0.1:PORT`): a small web app beside the API.

    GET /               the page (ui_page.html: self-contained HTML + JS)
    GET /topology.json  the topology snapshot (netview.topology JSON)
    GET /graph.svg      the same picture as `tether network graph`, laid out by graphviz
    GET /events         the engine's events as server-sent events, one JSON object each

The page subscribes to /events and redraws on each change. It serves read-only views and
no Docker API, on the address given (loopback unless the operator says otherwise).
"""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

from aiohttp import web

from tether.api import schema_events
from tether.api.streams import watch_disconnect
from tether.engine.facade import EngineApi
from tether.errors import InvalidArgument
from tether.netview import dot

PAGE = Path(__file__).with_name("ui_page.html")
UI_ENGINE: web.AppKey[EngineApi] = web.AppKey("ui_engine", EngineApi)  # type: ignore[arg-type]
UI_HOST: web.AppKey[str] = web.AppKey("ui_host", str)
KEEPALIVE = 15.0  # seconds between SSE comments, so proxies and browsers keep the stream


def make_ui_app(engine: EngineApi, host: str) -> web.Application:
    app = web.Application()
    app[UI_ENGINE] = engine
    app[UI_HOST] = host
    app.router.add_get("/", page)
    app.router.add_get("/topology.json", topology)
    app.router.add_get("/graph.svg", graph_svg)
    app.router.add_get("/events", events)
    return app


def parse_address(text: str) -> tuple[str, int]:
    """"127.0.0.1:8089" or "[::1]:8089" -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if not sep or not port.isdigit() or not 0 <= int(port) < 65536:
        raise InvalidArgument(f"invalid --ui address {text!r}: expected HOST:PORT")
    return host.strip("[]") or "127.0.0.1", int(port)


async def serve_ui(app: web.Application, address: str) -> web.AppRunner:
    host, port = parse_address(address)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=1.0)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def page(request: web.Request) -> web.Response:
    return web.Response(body=PAGE.read_bytes(), content_type="text/html", charset="utf-8",
                        headers={"Cache-Control": "no-store"})


async def _topology(request: web.Request):
    return await request.app[UI_ENGINE].topology(request.app[UI_HOST])


async def topology(request: web.Request) -> web.Response:
    return web.json_response((await _topology(request)).to_json(),
                             headers={"Cache-Control": "no-store"})


async def graph_svg(request: web.Request) -> web.Response:
    """The graphviz picture; 503 without graphviz (the page then draws a plain layout)."""
    exe = shutil.which("dot")
    if exe is None:
        return web.Response(status=503, text="graphviz is not installed")
    source = dot.render(await _topology(request)).encode()
    proc = await asyncio.create_subprocess_exec(
        exe, "-Tsvg", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE)
    out, err = await proc.communicate(source)
    if proc.returncode:
        return web.Response(status=500, text=err.decode(errors="replace"))
    return web.Response(body=out, content_type="image/svg+xml",
                        headers={"Cache-Control": "no-store"})


async def events(request: web.Request) -> web.StreamResponse:
    """Live events as `text/event-stream`; ends when the client leaves or the daemon stops."""
    sub = request.app[UI_ENGINE].subscribe_events(None, None)
    try:
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                               "Cache-Control": "no-store"})
        await response.prepare(request)
        await response.write(b"retry: 1000\n\n")
        lost = watch_disconnect(request)
        while not lost.done():
            nxt = asyncio.ensure_future(sub.next())
            await asyncio.wait([nxt, lost], timeout=KEEPALIVE,
                               return_when=asyncio.FIRST_COMPLETED)
            if not nxt.done():
                nxt.cancel()
                if not lost.done():
                    await response.write(b": keepalive\n\n")
                continue
            if (event := nxt.result()) is None:
                break
            data = json.dumps(schema_events.render(event), separators=(",", ":"))
            await response.write(f"data: {data}\n\n".encode())
        return response
    finally:
        sub.close()
