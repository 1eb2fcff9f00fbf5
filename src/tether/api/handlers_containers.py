"""`/containers` handlers: lifecycle, list, inspect, wait and logs."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from typing import AsyncIterator, Awaitable

from aiohttp import web

from tether.api.context import TASKS, engine_of
from tether.api.filters import (
    CONTAINER_KEYS, label_filters, match_container, parse_filters, parse_until,
)
from tether.api.jsonbody import query_bool, query_int, read_json
from tether.api.middleware import api_version
from tether.api.schema_containers import parse_container_create
from tether.api.schema_inspect import render_container, render_summary
from tether.api.streams import (
    frame, stream_content_type, watch_disconnect,
)
from tether.errors import InvalidArgument
from tether.model import ContainerState

WAIT_CONDITIONS = ("not-running", "next-exit", "removed")


async def create_container(request: web.Request) -> web.Response:
    spec = parse_container_create(await read_json(request), request.query.get("name", ""))
    container, warnings = await engine_of(request).create_container(spec)
    return web.json_response({"Id": container.id, "Warnings": list(warnings)}, status=201)


async def start_container(request: web.Request) -> web.Response:
    await engine_of(request).start_container(request.match_info["id"])
    return web.Response(status=204)


async def stop_container(request: web.Request) -> web.Response:
    timeout = query_int(request, "t")
    if timeout is None:
        timeout = query_int(request, "timeout")
    signal = request.query.get("signal") or None
    await engine_of(request).stop_container(request.match_info["id"], timeout, signal)
    return web.Response(status=204)


async def kill_container(request: web.Request) -> web.Response:
    signal = request.query.get("signal") or "SIGKILL"
    await engine_of(request).kill_container(request.match_info["id"], signal)
    return web.Response(status=204)


async def restart_container(request: web.Request) -> web.Response:
    await engine_of(request).restart_container(request.match_info["id"], query_int(request, "t"))
    return web.Response(status=204)


async def remove_container(request: web.Request) -> web.Response:
    """`DELETE /containers/{id}` (`v` and `link` are accepted: an unnamed volume goes with
    the last container that mounts it either way)."""
    await engine_of(request).remove_container(request.match_info["id"],
                                              query_bool(request, "force"))
    return web.Response(status=204)


async def rename_container(request: web.Request) -> web.Response:
    name = request.query.get("name", "")
    if not name:
        raise InvalidArgument("a new name is required to rename a container")
    await engine_of(request).rename_container(request.match_info["id"], name)
    return web.Response(status=204)


async def wait_container(request: web.Request) -> web.StreamResponse:
    """`POST /containers/{id}/wait`: headers at once (the CLI waits for them before it
    starts the container), the body when the condition is met."""
    condition = request.query.get("condition") or "not-running"
    if condition not in WAIT_CONDITIONS:
        raise InvalidArgument(f'invalid condition: "{condition}"')
    pending = await engine_of(request).wait_container(request.match_info["id"], condition)
    response = web.StreamResponse(status=200, headers={"Content-Type": "application/json"})
    response.enable_chunked_encoding()
    await response.prepare(request)
    state = await _until_disconnect(request, pending)
    if state is None:
        return response
    error = {"Message": state.error} if state.error else None
    body = json.dumps({"Error": error, "StatusCode": state.exit_code}) + "\n"
    with contextlib.suppress(ConnectionResetError):  # the CLI may hang up first
        await response.write(body.encode())
        await response.write_eof()
    return response


async def _until_disconnect(request: web.Request,
                            pending: Awaitable[ContainerState]) -> ContainerState | None:
    """Await `pending` unless the client leaves first (the CLI drops `wait` when it has its
    answer another way) or the daemon shuts down; None then."""
    waiter = asyncio.ensure_future(pending)
    lost = watch_disconnect(request)
    tasks = request.app[TASKS]
    tasks.add(waiter)
    try:
        await asyncio.wait([waiter, lost], return_when=asyncio.FIRST_COMPLETED)
    finally:
        tasks.discard(waiter)
    if not waiter.done():
        waiter.cancel()
        return None
    return None if waiter.cancelled() else waiter.result()


async def list_containers(request: web.Request) -> web.Response:
    """`GET /containers/json`: newest first; `limit` > 0 implies all."""
    filters = parse_filters(request.query.get("filters"), CONTAINER_KEYS)
    limit = query_int(request, "limit") or -1
    show_all = query_bool(request, "all") or limit > 0
    engine = engine_of(request)
    views = await engine.list_containers(show_all)
    views = [v for v in views if match_container(v, filters)]
    views.sort(key=lambda v: v.container.created, reverse=True)
    if limit > 0:
        views = views[:limit]
    now, version = time.time(), api_version(request)
    data_root = _data_root(engine)
    return web.json_response([render_summary(v, version, now, data_root) for v in views])


def _data_root(engine) -> str:
    return str(engine.info().get("data_root", "/var/lib/tether"))


async def inspect_container(request: web.Request) -> web.Response:
    engine = engine_of(request)
    view = await engine.inspect_container(request.match_info["id"])
    return web.json_response(render_container(view, api_version(request), _data_root(engine)))


async def container_logs(request: web.Request) -> web.StreamResponse:
    """`GET /containers/{id}/logs`: framed without a TTY, raw with one; streamed."""
    engine = engine_of(request)
    view = await engine.inspect_container(request.match_info["id"])
    stdout, stderr = query_bool(request, "stdout"), query_bool(request, "stderr")
    if not (stdout or stderr):
        raise InvalidArgument("you must choose at least one stream")
    tail_text = request.query.get("tail", "all")
    tail = None if tail_text in ("all", "") else query_int(request, "tail")
    tty = view.container.spec.tty
    response = web.StreamResponse(
        status=200, headers={"Content-Type": stream_content_type(tty, api_version(request))})
    await response.prepare(request)
    chunks = engine.logs(view.container.id, stdout=stdout, stderr=stderr,
                         follow=query_bool(request, "follow"), tail=tail,
                         timestamps=query_bool(request, "timestamps"))
    await copy_chunks(response, chunks, tty)
    await response.write_eof()
    return response


async def copy_chunks(response: web.StreamResponse, chunks: AsyncIterator[tuple[int, bytes]],
                      tty: bool) -> None:
    async for kind, data in chunks:
        await response.write(data if tty else frame(kind, data))


async def prune_containers(request: web.Request) -> web.Response:
    """`POST /containers/prune`: every container not running that the filters match."""
    filters = parse_filters(request.query.get("filters"), {"label", "label!", "until"})
    gone = await engine_of(request).prune_containers(
        label_filters(filters), parse_until(filters.get("until", []), time.time()))
    return web.json_response({"ContainersDeleted": gone or None, "SpaceReclaimed": 0})


async def pause_container(request: web.Request) -> web.Response:
    await engine_of(request).pause_container(request.match_info["id"], True)
    return web.Response(status=204)


async def unpause_container(request: web.Request) -> web.Response:
    await engine_of(request).pause_container(request.match_info["id"], False)
    return web.Response(status=204)


ROUTES = [
    ("POST", "/containers/create", create_container),
    ("POST", "/containers/prune", prune_containers),
    ("GET", "/containers/json", list_containers),
    ("GET", "/containers/{id}/json", inspect_container),
    ("POST", "/containers/{id}/start", start_container),
    ("POST", "/containers/{id}/stop", stop_container),
    ("POST", "/containers/{id}/kill", kill_container),
    ("POST", "/containers/{id}/restart", restart_container),
    ("POST", "/containers/{id}/pause", pause_container),
    ("POST", "/containers/{id}/unpause", unpause_container),
    ("POST", "/containers/{id}/wait", wait_container),
    ("POST", "/containers/{id}/rename", rename_container),
    ("DELETE", "/containers/{id}", remove_container),
    ("GET", "/containers/{id}/logs", container_logs),
]
