"""Small request bodies and query encodings shared by many calls (no dataclasses: fast import)."""

from __future__ import annotations

from tether.errors import InvalidArgument


def sorted_map(mapping: dict | None) -> dict:
    """Go encodes maps with sorted keys; so do we, to send docker's exact bytes."""
    return {k: mapping[k] for k in sorted(mapping or {})}


def disconnect_body(container: str, force: bool = False) -> dict:
    """Return the `POST /networks/{id}/disconnect` body."""
    return {"Container": container, "Force": force}


def exec_body(cmd: list[str], *, env: list[str] = (), workdir: str = "", user: str = "",
              tty: bool = False, stdin: bool = False, privileged: bool = False,
              detach: bool = False) -> dict:
    """Return the `POST /containers/{id}/exec` body."""
    return {"User": user, "Privileged": privileged, "Tty": tty, "AttachStdin": stdin,
            "AttachStderr": not detach, "AttachStdout": not detach, "Detach": detach,
            "DetachKeys": "", "Env": list(env) or None, "WorkingDir": workdir,
            "Cmd": list(cmd)}


def filters_query(filters: list[str] | dict | None) -> str | None:
    """Encode `--filter k=v` flags as the API's JSON map of sets."""
    import json

    if not filters:
        return None
    if isinstance(filters, dict):
        return json.dumps(filters, separators=(",", ":"))
    out: dict[str, dict[str, bool]] = {}
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise InvalidArgument(f"bad format of filter (expected name=value): {item}")
        out.setdefault(key.strip().lower(), {})[value] = True
    return json.dumps(out, separators=(",", ":"))
