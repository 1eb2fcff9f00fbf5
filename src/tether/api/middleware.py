"""Cross-cutting HTTP behaviour: Docker's headers, the version prefix, errors as JSON.

Error kinds map to statuses once, here: a handler raises `tether.errors` kinds and never
builds an error response itself.
"""

from __future__ import annotations

import logging
from typing import Awaitable, Callable

from aiohttp import web

from tether.api.versioning import MAX_API_TEXT, negotiate
from tether.errors import NotModified, TetherError

log = logging.getLogger(__name__)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
API_VERSION_KEY: web.RequestKey[tuple[int, int]] = web.RequestKey("api_version", tuple)


def error_response(status: int, message: str) -> web.Response:
    return web.json_response({"message": message}, status=status)


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn every failure into Docker's `{"message": ...}` with the status of its kind."""
    try:
        request[API_VERSION_KEY] = negotiate(request.match_info.get("version"))
        return await handler(request)
    except NotModified:
        return web.Response(status=304)
    except TetherError as exc:
        return error_response(exc.status, str(exc))
    except web.HTTPNotFound:
        return error_response(404, "page not found")
    except web.HTTPMethodNotAllowed:
        return error_response(404, "page not found")
    except web.HTTPException as exc:
        return error_response(exc.status, exc.reason)
    except ConnectionResetError:
        raise
    except Exception:
        log.exception("internal error serving %s %s", request.method, request.path)
        return error_response(500, "internal error in tether: see the daemon log for details")


def docker_headers(server: str) -> Callable[[web.Request, web.StreamResponse], Awaitable[None]]:
    """Build the on_response_prepare hook that stamps Docker's headers on every response."""

    async def stamp(request: web.Request, response: web.StreamResponse) -> None:
        response.headers["Api-Version"] = MAX_API_TEXT
        response.headers["Docker-Experimental"] = "false"
        response.headers["Ostype"] = "linux"
        response.headers["Server"] = server
        if response.headers.get("Content-Type", "").startswith("application/json"):
            # The docker CLI parses an error body only when the type is exactly this.
            response.headers["Content-Type"] = "application/json"

    return stamp


def api_version(request: web.Request) -> tuple[int, int]:
    """The version the client spoke (its /vX.Y prefix, or our maximum)."""
    return request.get(API_VERSION_KEY, negotiate(None))
