"""`/networks` handlers: parse with schema_networks, call the engine, render Docker JSON."""

from __future__ import annotations

import time

from aiohttp import web

from tether.api import schema_networks as schema
from tether.api.context import engine_of
from tether.api.filters import NETWORK_KEYS, match_network, parse_filters, parse_until
from tether.api.jsonbody import read_json
from tether.api.middleware import api_version
from tether.errors import InvalidArgument, NotFound

async def list_networks(request: web.Request) -> web.Response:
    """`GET /networks`: `Containers` is always {} in the list, as in dockerd."""
    engine = engine_of(request)
    filters = parse_filters(request.query.get("filters"), NETWORK_KEYS)
    networks = await engine.list_networks()
    in_use: dict[str, bool] = {}
    if "dangling" in filters:
        for net in networks:
            in_use[net.id] = bool((await engine.inspect_network(net.id)).endpoints)
    version = api_version(request)
    body = [schema.render_network(net, None, version) for net in networks
            if match_network(net, filters, in_use.get(net.id, False))]
    return web.json_response(body)


async def inspect_network(request: web.Request) -> web.Response:
    """`GET /networks/{id}` (?verbose and ?scope change nothing for local networks)."""
    view = await engine_of(request).inspect_network(request.match_info["id"])
    scope = request.query.get("scope")
    if scope and scope != view.network.scope:
        raise NotFound(f"network {request.match_info['id']} not found")
    return web.json_response(schema.render_view(view, api_version(request)))


async def create_network(request: web.Request) -> web.Response:
    spec = schema.parse_network_create(await read_json(request))
    network = await engine_of(request).create_network(spec)
    return web.json_response({"Id": network.id, "Warning": ""}, status=201)


async def remove_network(request: web.Request) -> web.Response:
    await engine_of(request).remove_network(request.match_info["id"])
    return web.Response(status=204)


async def connect(request: web.Request) -> web.Response:
    container, endpoint = schema.parse_connect(await read_json(request))
    await engine_of(request).connect(request.match_info["id"], container, endpoint)
    return web.Response(status=200)


async def disconnect(request: web.Request) -> web.Response:
    container, force = schema.parse_disconnect(await read_json(request))
    await engine_of(request).disconnect(request.match_info["id"], container, force)
    return web.Response(status=200)


async def prune_networks(request: web.Request) -> web.Response:
    """`POST /networks/prune`: `NetworksDeleted` is null when nothing went."""
    filters = parse_filters(request.query.get("filters"), {"label", "until"})
    if any(v.startswith("!") for v in filters.get("label", [])):
        raise InvalidArgument("negated label filters are not supported by network prune")
    until = parse_until(filters.get("until", []), time.time())
    deleted = await engine_of(request).prune_networks(filters.get("label", []), until)
    return web.json_response({"NetworksDeleted": deleted or None})


ROUTES = [
    ("GET", "/networks", list_networks),
    ("GET", "/networks/{id}", inspect_network),
    ("POST", "/networks/create", create_network),
    ("DELETE", "/networks/{id}", remove_network),
    ("POST", "/networks/{id}/connect", connect),
    ("POST", "/networks/{id}/disconnect", disconnect),
    ("POST", "/networks/prune", prune_networks),
]
