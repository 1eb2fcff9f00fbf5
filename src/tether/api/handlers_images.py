"""`/images` handlers: import (never pull), list, inspect, remove."""

from __future__ import annotations

import fnmatch
import json
import time
from typing import AsyncIterator

from aiohttp import web

from tether.api.context import engine_of
from tether.api.filters import label_filters, parse_filters, parse_until
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


async def tag_image(request: web.Request) -> web.Response:
    """`POST /images/{name}/tag?repo=R&tag=T` (`docker tag`): 201, no body."""
    tags = import_tags(request.query.get("repo", ""), request.query.get("tag", ""))
    if not tags:
        raise InvalidArgument("repository name must have at least one component")
    await engine_of(request).tag_image(request.match_info["name"], tags[0])
    return web.Response(status=201)


async def prune_images(request: web.Request) -> web.Response:
    """`POST /images/prune`: untagged images no container uses, or with `dangling=false`
    every image no container uses."""
    filters = parse_filters(request.query.get("filters"),
                            {"dangling", "label", "label!", "until"})
    dangling_only = all(v.lower() in ("1", "true") for v in filters.get("dangling", []))
    report = await engine_of(request).prune_images(
        dangling_only, label_filters(filters),
        parse_until(filters.get("until", []), time.time()))
    return web.json_response({"ImagesDeleted": report or None, "SpaceReclaimed": 0})


async def prune_build_cache(request: web.Request) -> web.Response:
    """`POST /build/prune`: tether builds nothing, so there is no cache (`system prune`
    asks anyway)."""
    return web.json_response({"CachesDeleted": None, "SpaceReclaimed": 0})


ROUTES = [
    ("POST", "/images/prune", prune_images),
    ("POST", "/images/{name:.+}/tag", tag_image),
    ("POST", "/build/prune", prune_build_cache),
    ("POST", "/images/create", create_image),
    ("GET", "/images/json", list_images),
    ("GET", "/images/{name:.+}/json", inspect_image),
    ("DELETE", "/images/{name:.+}", remove_image),
]
