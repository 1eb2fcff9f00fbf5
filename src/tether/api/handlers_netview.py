"""tether's own endpoints for seeing the network (not part of Docker's API).

    GET  /tether/topology                 the topology snapshot (netview.topology JSON)
    POST /tether/probe?from=A&address=X[&port=P&proto=tcp|udp]
                                          one real packet from A's namespace:
                                          {"reached": true|false|null, "detail": "..."}
"""

from __future__ import annotations

from aiohttp import web

from tether.api.context import FACTS, engine_of
from tether.errors import InvalidArgument


async def topology(request: web.Request) -> web.Response:
    topo = await engine_of(request).topology(request.app[FACTS]["hostname"])
    return web.json_response(topo.to_json())


async def probe(request: web.Request) -> web.Response:
    q = request.query
    if not q.get("from") or not q.get("address"):
        raise InvalidArgument("probe needs from=CONTAINER and address=ADDRESS")
    port = q.get("port")
    if port is not None and not (port.isdigit() and 0 < int(port) < 65536):
        raise InvalidArgument(f"invalid port {port!r}: a number from 1 to 65535")
    result = await engine_of(request).probe(q["from"], q["address"],
                                            int(port) if port else None, q.get("proto", "tcp"))
    return web.json_response({"reached": result.reached, "detail": result.detail})


ROUTES = [("GET", "/tether/topology", topology), ("POST", "/tether/probe", probe)]
