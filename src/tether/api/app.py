"""The aiohttp application that speaks the Docker Engine API, and its UNIX socket.

Every route is served unversioned and under `/vX.Y/`; the middleware checks the version is
within 1.41..1.50 and maps error kinds to statuses.
"""

from __future__ import annotations

import asyncio
import grp
import os
import socket
import stat
from typing import Any

from aiohttp import web

from tether.api import (
    attach, handlers_containers, handlers_events, handlers_exec, handlers_images,
    handlers_netview, handlers_networks, handlers_system, handlers_volumes,
)
from tether.api.context import ENGINE, FACTS, TASKS, VERSION_INFO
from tether.api.middleware import docker_headers, errors_middleware
from tether.api.schema_system import host_facts
from tether.engine.facade import EngineApi
from tether.errors import Unavailable

SOCKET_GROUP = "tether"  # like dockerd's "docker" group: its members may use the API
VERSION_PREFIX = r"/v{version:[0-9]+\.[0-9]+}"
ROUTE_TABLES = (handlers_system.ROUTES, handlers_networks.ROUTES, handlers_containers.ROUTES,
                handlers_exec.ROUTES, handlers_images.ROUTES, attach.ROUTES,
                handlers_events.ROUTES, handlers_netview.ROUTES, handlers_volumes.ROUTES)


def make_app(engine: EngineApi, *, version_info: dict[str, Any]) -> web.Application:
    """Build the API application around `engine`.

    Args:
        engine: what every handler calls (tether.engine.Engine, or a fake in unit tests).
        version_info: {"Version": ..., "GitCommit": ..., "BuildTime": ...} for /version,
            /info and the Server header.
    """
    app = web.Application(middlewares=[errors_middleware], client_max_size=1 << 20)
    app[ENGINE] = engine
    app[VERSION_INFO] = dict(version_info)
    app[FACTS] = host_facts()
    app[TASKS] = set()
    server = f"tether/{version_info.get('Version', '0.0.0')} (linux)"
    app.on_response_prepare.append(docker_headers(server))
    app.on_shutdown.append(_cancel_tasks)
    for table in ROUTE_TABLES:
        for method, path, handler in table:
            app.router.add_route(method, path, handler)
            app.router.add_route(method, VERSION_PREFIX + path, handler)
    return app


async def _cancel_tasks(app: web.Application) -> None:
    """Stop the background drains of detached execs; they belong to the app."""
    tasks = list(app[TASKS])
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def serve_unix(app: web.Application, paths: str | list[str]) -> web.AppRunner:
    """Listen on the UNIX sockets `paths` (mode 0660, group `tether` when that group
    exists, as dockerd's `docker` group), replacing stale socket files.

    Raises Unavailable when another daemon still answers on one of them.
    """
    socks = [_unix_socket(path) for path in ([paths] if isinstance(paths, str) else paths)]
    # attach and exec streams last as long as their process: shutting down waits a moment
    # for requests in flight, then drops them (containers keep running regardless)
    runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=2.0)
    await runner.setup()
    for sock in socks:
        await web.SockSite(runner, sock).start()
    return runner


async def serve_tcp(runner: web.AppRunner, host: str, port: int, ssl_context) -> None:
    """Listen on host:port too (TLS when `ssl_context`; the daemon refuses plain TCP
    unless told --insecure-tcp)."""
    await web.TCPSite(runner, host, port, ssl_context=ssl_context).start()


def _unix_socket(path: str) -> socket.socket:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    _remove_stale_socket(path)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(path)
        # before listen(): nobody connects with looser permissions
        if os.geteuid() == 0:
            os.chown(path, 0, _group_id(SOCKET_GROUP))
        os.chmod(path, 0o660)
    except OSError:
        sock.close()
        raise
    return sock


def _group_id(name: str) -> int:
    """The gid of group `name`, or root's (0) when there is no such group."""
    try:
        return grp.getgrnam(name).gr_gid
    except KeyError:
        return 0


def _remove_stale_socket(path: str) -> None:
    try:
        mode = os.lstat(path).st_mode
    except FileNotFoundError:
        return
    if not stat.S_ISSOCK(mode):
        raise Unavailable(f"{path} exists and is not a socket: refusing to replace it")
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(path)
    except OSError:
        os.unlink(path)
        return
    finally:
        probe.close()
    raise Unavailable(f"another daemon is already listening on {path}")
