"""Small file helpers shared by the runtime: atomic writes, so a crash never leaves half a file."""

from __future__ import annotations

import json
import os
import secrets


def atomic_write(path: str, data: bytes | str, mode: int = 0o644) -> None:
    """Write `data` to `path` through a temporary file and a rename: readers see old or new."""
    raw = data.encode() if isinstance(data, str) else data
    tmp = f"{path}.tmp-{secrets.token_hex(4)}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(raw)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        _unlink(tmp)
        raise


def atomic_write_json(path: str, obj: object) -> None:
    atomic_write(path, json.dumps(obj, indent=1, sort_keys=True) + "\n")


def read_json(path: str) -> object | None:
    """Return the JSON in `path`, or None when the file does not exist."""
    try:
        with open(path, "rb") as f:
            return json.load(f)
    except FileNotFoundError:
        return None


def read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        return None


def _unlink(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
