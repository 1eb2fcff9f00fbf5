"""`/containers/{id}/exec` and `/exec/{id}/...`: exec instances and their hijacked streams."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

from aiohttp import web

from tether.api.context import TASKS, engine_of
from tether.api.jsonbody import get_bool, read_json
from tether.api.middleware import api_version
from tether.api.schema_containers import parse_exec_create
from tether.api.streams import (
    Stdin, end_hijack, frame, hijack, stream_content_type, wants_upgrade,
)
from tether.api.attach import DETACHED, ExecSink, pump_input
from tether.api.detachkeys import parse_detach_keys
from tether.engine.facade import EngineApi, ExecInstance, ExecStream
from tether.errors import TetherError


async def create_exec(request: web.Request) -> web.Response:
    spec = parse_exec_create(await read_json(request))
    exec_id = await engine_of(request).create_exec(request.match_info["id"], spec)
    return web.json_response({"Id": exec_id}, status=201)


async def start_exec(request: web.Request) -> web.StreamResponse:
    """`POST /exec/{id}/start`: 101 + raw stream when asked to upgrade, else 200 + stream.

    As dockerd does, the connection is hijacked before the process starts: clients read the
    stream straight from the socket after the status line, so output must not race it.
    A failure to start is then reported inside the stream.
    """
    body = await read_json(request, required=False)
    engine = engine_of(request)
    instance = await engine.inspect_exec(request.match_info["id"])
    parse_detach_keys(instance.spec.detach_keys)  # a bad spec is refused before the hijack
    if get_bool(body, "Detach"):
        _drain_in_background(request, await engine.start_exec(instance.id))
        return web.Response(status=200)
    tty = instance.spec.tty
    content_type = stream_content_type(tty, api_version(request))
    if not wants_upgrade(request):
        stream = await engine.start_exec(instance.id)
        response = web.StreamResponse(status=200, headers={"Content-Type": content_type})
        await response.prepare(request)
        await _copy_output(response, stream, tty)
        await response.write_eof()
        return response
    response, stdin = await hijack(request, content_type)
    try:
        await _run_hijacked(response, engine, instance, stdin)
    finally:
        end_hijack(request)
    return response


async def _run_hijacked(response: web.StreamResponse, engine: EngineApi,
                        instance: ExecInstance, stdin: Stdin) -> None:
    tty = instance.spec.tty
    try:
        stream = await engine.start_exec(instance.id)
    except TetherError as exc:
        message = f"Error running exec {instance.id} in container: {exc}\n".encode()
        await response.write(message if tty else frame(1, message))
        return
    if not instance.spec.attach_stdin:
        await _copy_output(response, stream, tty)
        return
    keys = parse_detach_keys(instance.spec.detach_keys)
    output = asyncio.ensure_future(_copy_output(response, stream, tty))
    pump = asyncio.ensure_future(pump_input(stdin, ExecSink(stream), keys))
    try:
        await asyncio.wait({output, pump}, return_when=asyncio.FIRST_COMPLETED)
        if not output.done() and pump.result() != DETACHED:
            await output
    finally:
        for task in (output, pump):
            task.cancel()
        for task in (output, pump):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


async def _copy_output(response: web.StreamResponse, stream: ExecStream, tty: bool) -> None:
    """Copy the exec's output (raw with a TTY, framed without), then wait for its exit."""
    async for kind, data in stream.output():
        await response.write(data if tty else frame(kind, data))
    await stream.wait()


def _drain_in_background(request: web.Request, stream: ExecStream) -> None:
    """A detached exec still produces output; read it so the process never blocks."""

    async def drain() -> None:
        async for _ in stream.output():
            pass
        await stream.wait()

    tasks = request.app[TASKS]
    task = asyncio.create_task(drain())
    tasks.add(task)
    task.add_done_callback(tasks.discard)


def render_exec(inst: ExecInstance) -> dict[str, Any]:
    """`GET /exec/{id}/json`."""
    spec = inst.spec
    process: dict[str, Any] = {"tty": spec.tty, "entrypoint": spec.cmd[0],
                               "arguments": list(spec.cmd[1:]), "privileged": spec.privileged}
    if spec.user:
        process["user"] = spec.user
    return {
        "ID": inst.id, "Running": inst.running, "ExitCode": inst.exit_code,
        "ProcessConfig": process, "OpenStdin": spec.attach_stdin,
        "OpenStderr": spec.attach_stderr, "OpenStdout": spec.attach_stdout,
        "CanRemove": False, "ContainerID": inst.container_id,
        "DetachKeys": spec.detach_keys, "Pid": inst.pid,
    }


async def inspect_exec(request: web.Request) -> web.Response:
    instance = await engine_of(request).inspect_exec(request.match_info["id"])
    return web.json_response(render_exec(instance))


ROUTES = [
    ("POST", "/containers/{id}/exec", create_exec),
    ("POST", "/exec/{id}/start", start_exec),
    ("GET", "/exec/{id}/json", inspect_exec),
]
