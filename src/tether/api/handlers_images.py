"""`/images` handlers: import (never pull), list, inspect, remove."""

from __future__ import annotations

import fnmatch
import json
from typing import AsyncIterator

from aiohttp import web

from tether.api.context import engine_of
from tether.api.filters import parse_filters
from tether.api.jsonbody import query_bool
from tether.api.middleware import api_version
from tether.api.schema_images import import_tags, render_image, render_image_summary
from tether.errors import InvalidArgument, NotFound

CHUNK = 1 << 16


async def create_image(request: web.Request) -> web.StreamResponse:
    """`POST /images/create?fromSrc=-`: stream the tarball to the engine, never buffering it.

    `fromImage` would pull from a registry, which tether cannot do.
    """
    query = request.query
    if query.get("fromImage"):
        ref = query["fromImage"] + (f":{query['tag']}" if query.get("tag") else "")
        raise NotFound(f"tether cannot pull images ({ref}): import a root filesystem tarball "
                       "with `tether image import` or `docker import` instead")
    if query.get("fromSrc") != "-":
        raise InvalidArgument("only fromSrc=- (the tarball in the request body) is supported")
    tags = import_tags(query.get("repo", ""), query.get("tag", ""))
    image = await engine_of(request).import_image(
        _body_chunks(request), tags, query.getall("changes", []), query.get("message", ""))
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    await response.prepare(request)
    await response.write(json.dumps({"status": image.id}).encode() + b"\r\n")
    await response.write_eof()
    return response


async def _body_chunks(request: web.Request) -> AsyncIterator[bytes]:
    async for chunk in request.content.iter_chunked(CHUNK):
        yield chunk


async def list_images(request: web.Request) -> web.Response:
    filters = parse_filters(request.query.get("filters"), {"reference", "dangling", "label"})
    version = api_version(request)
    images = await engine_of(request).list_images()
    refs = filters.get("reference", [])
    if refs:
        images = [i for i in images
                  if any(fnmatch.fnmatch(t, r) or fnmatch.fnmatch(t, f"{r}:*")
                         for t in i.repo_tags for r in refs)]
    return web.json_response([render_image_summary(i, version) for i in images])


async def inspect_image(request: web.Request) -> web.Response:
    image = await engine_of(request).inspect_image(request.match_info["name"])
    return web.json_response(render_image(image, api_version(request)))


async def remove_image(request: web.Request) -> web.Response:
    result = await engine_of(request).remove_image(request.match_info["name"],
                                                   query_bool(request, "force"))
    return web.json_response(result)


ROUTES = [
    ("POST", "/images/create", create_image),
    ("GET", "/images/json", list_images),
    ("GET", "/images/{name:.+}/json", inspect_image),
    ("DELETE", "/images/{name:.+}", remove_image),
]
