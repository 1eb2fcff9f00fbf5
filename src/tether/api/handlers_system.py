"""`/_ping`, `/version`, `/info`: how clients find out which API version to speak."""

from __future__ import annotations

from aiohttp import web

from tether.api import schema_system
from tether.api.context import FACTS, engine_of, version_info_of

PING_HEADERS = {
    "Cache-Control": "no-cache, no-store, must-revalidate",
    "Pragma": "no-cache",
    "Builder-Version": "1",
}


async def ping(request: web.Request) -> web.Response:
    """`GET|HEAD /_ping`: "OK", and the headers the CLI negotiates the version from."""
    body = b"" if request.method == "HEAD" else b"OK"
    response = web.Response(body=body, headers=PING_HEADERS,
                            content_type="text/plain", charset="utf-8")
    if request.method == "HEAD":
        response.headers["Content-Length"] = "0"
    return response


async def version(request: web.Request) -> web.Response:
    facts = request.app[FACTS]
    return web.json_response(schema_system.render_version(version_info_of(request), facts))


async def info(request: web.Request) -> web.Response:
    counts = engine_of(request).info()
    body = schema_system.render_info(counts, version_info_of(request), request.app[FACTS])
    return web.json_response(body)


ROUTES = [
    ("GET", "/_ping", ping),
    ("HEAD", "/_ping", ping),
    ("GET", "/version", version),
    ("GET", "/info", info),
]
