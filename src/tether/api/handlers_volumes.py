"""`/volumes` handlers: create, list, inspect, remove and prune local volumes."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tether.api.context import engine_of
from tether.api.filters import label_filters, parse_filters
from tether.api.jsonbody import get_str, get_str_map, query_bool, read_json
from tether.api.middleware import api_version
from tether.engine.networks import labels_match
from tether.errors import InvalidArgument
from tether.model import Volume

ANONYMOUS_LABEL = "com.docker.volume.anonymous"  # what API 1.42+ shows on an unnamed volume


def render_volume(v: Volume, version: tuple[int, int]) -> dict[str, Any]:
    labels = dict(v.labels)
    if v.anonymous and version >= (1, 42):
        labels[ANONYMOUS_LABEL] = ""
    return {"CreatedAt": v.created, "Driver": "local", "Labels": labels or None,
            "Mountpoint": v.mountpoint, "Name": v.name, "Options": v.options or None,
            "Scope": "local"}


async def create_volume(request: web.Request) -> web.Response:
    body = await read_json(request, required=False)
    v = await engine_of(request).create_volume(
        get_str(body, "Name"), get_str(body, "Driver"), get_str_map(body, "DriverOpts"),
        get_str_map(body, "Labels"))
    return web.json_response(render_volume(v, api_version(request)), status=201)


async def list_volumes(request: web.Request) -> web.Response:
    filters = parse_filters(request.query.get("filters"), {"dangling", "name", "driver", "label"})
    dangling = [d.lower() in ("1", "true") for d in filters.get("dangling", [])]
    out = []
    for v, users in await engine_of(request).list_volumes():
        if dangling and (users == 0) not in dangling:
            continue
        if filters.get("name") and not any(n in v.name for n in filters["name"]):
            continue
        if filters.get("driver") and "local" not in filters["driver"]:
            continue
        if not labels_match(v.labels, filters.get("label", [])):
            continue
        out.append(render_volume(v, api_version(request)))
    return web.json_response({"Volumes": out, "Warnings": None})


async def inspect_volume(request: web.Request) -> web.Response:
    v = await engine_of(request).inspect_volume(request.match_info["name"])
    return web.json_response(render_volume(v, api_version(request)))


async def remove_volume(request: web.Request) -> web.Response:
    await engine_of(request).remove_volume(request.match_info["name"],
                                           query_bool(request, "force"))
    return web.Response(status=204)


async def prune_volumes(request: web.Request) -> web.Response:
    """API 1.42+ prunes anonymous volumes unless `all=true`; before, every unused one."""
    filters = parse_filters(request.query.get("filters"), {"label", "label!", "all"})
    everything = api_version(request) < (1, 42)
    for value in filters.get("all", []):
        if value.lower() not in ("1", "true", "0", "false"):
            raise InvalidArgument(f"invalid filter 'all={value}'")
        everything = value.lower() in ("1", "true")
    gone = await engine_of(request).prune_volumes(everything, label_filters(filters))
    return web.json_response({"VolumesDeleted": gone or None, "SpaceReclaimed": 0})


ROUTES = [
    ("POST", "/volumes/create", create_volume),
    ("GET", "/volumes", list_volumes),
    ("POST", "/volumes/prune", prune_volumes),
    ("GET", "/volumes/{name}", inspect_volume),
    ("DELETE", "/volumes/{name}", remove_volume),
]
