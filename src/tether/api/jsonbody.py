"""Typed reads of Docker JSON bodies: every wrong type becomes one InvalidArgument sentence.

Docker ignores unknown fields (newer clients send fields an older daemon never heard of), so
these helpers only look at the keys they are asked for; a `null` counts as absent.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from tether.errors import InvalidArgument

MAX_JSON_BODY = 1 << 20


async def read_json(request: web.Request, *, required: bool = True) -> dict[str, Any]:
    """Read a bounded JSON object body; an empty body is {} unless `required`."""
    if request.content_length is not None and request.content_length > MAX_JSON_BODY:
        raise InvalidArgument(f"request body is larger than {MAX_JSON_BODY} bytes")
    raw = await read_capped(request.content, MAX_JSON_BODY + 1)
    if len(raw) > MAX_JSON_BODY:
        raise InvalidArgument(f"request body is larger than {MAX_JSON_BODY} bytes")
    if not raw.strip():
        if required:
            raise InvalidArgument("request body is empty: a JSON object was expected")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidArgument(f"invalid JSON in request body: {exc}") from None
    if not isinstance(body, dict):
        raise InvalidArgument("request body must be a JSON object")
    return body


def get_obj(body: dict[str, Any], key: str) -> dict[str, Any]:
    value = body.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidArgument(f"{key} must be a JSON object")
    return value


def get_str(body: dict[str, Any], key: str, default: str = "") -> str:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, str):
        raise InvalidArgument(f"{key} must be a string")
    return value


def get_bool(body: dict[str, Any], key: str, default: bool = False) -> bool:
    value = body.get(key)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise InvalidArgument(f"{key} must be a boolean")
    return value


def get_int(body: dict[str, Any], key: str, default: int | None = None) -> int | None:
    value = body.get(key)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{key} must be an integer")
    return value


def get_str_map(body: dict[str, Any], key: str) -> dict[str, str]:
    """A map of strings ({} when absent); Docker's Labels, Options, DriverOpts."""
    value = get_obj(body, key)
    if not all(isinstance(v, str) for v in value.values()):
        raise InvalidArgument(f"{key} values must be strings")
    return dict(value)


def get_str_list(body: dict[str, Any], key: str) -> tuple[str, ...]:
    """A list of strings; a lone string counts as a one-element list, as Docker's StrSlice."""
    value = body.get(key)
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidArgument(f"{key} must be a list of strings")
    return tuple(value)


def query_bool(request: web.Request, key: str, default: bool = False) -> bool:
    """Docker's query booleans: 1/true/True/yes are true, 0/false/"" are false."""
    value = request.query.get(key)
    if value is None:
        return default
    return value.strip().lower() in ("1", "true", "yes", "on")


def query_int(request: web.Request, key: str) -> int | None:
    value = request.query.get(key)
    if value is None or value == "":
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument(f"invalid value for {key}: {value!r} is not an integer") from None


async def read_capped(stream, limit: int) -> bytes:
    """Read until EOF or `limit` bytes: one `read(n)` returns what has arrived so far, which
    for a chunked body (`docker run -p 20000-20999:...` sends 60 KB) is one chunk."""
    parts: list[bytes] = []
    size = 0
    while size < limit:
        chunk = await stream.read(limit - size)
        if not chunk:
            break
        parts.append(chunk)
        size += len(chunk)
    return b"".join(parts)
