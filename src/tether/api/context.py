"""Typed access to what make_app stores on the application."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from tether.engine.facade import EngineApi

ENGINE: web.AppKey[EngineApi] = web.AppKey("engine", EngineApi)  # type: ignore[arg-type]
VERSION_INFO: web.AppKey[dict[str, Any]] = web.AppKey("version_info", dict)
TASKS: web.AppKey[set] = web.AppKey("tasks", set)


def engine_of(request: web.Request) -> EngineApi:
    return request.app[ENGINE]


def version_info_of(request: web.Request) -> dict[str, Any]:
    return request.app[VERSION_INFO]
FACTS: web.AppKey[dict[str, Any]] = web.AppKey("facts", dict)
