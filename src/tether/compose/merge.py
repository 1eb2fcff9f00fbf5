"""Merge several compose files (`-f a.yml -f b.yml`) as compose does: later files override.

Mappings merge key by key; `environment`, `labels`, `depends_on`, `networks` merge even when
one side is written as a list; `ports`, `links`, `aliases` and `expose` append without
duplicates; any other value is replaced.
"""

from __future__ import annotations

_LIST_OR_DICT = ("environment", "labels", "depends_on", "networks", "driver_opts")
_APPEND = ("ports", "links", "aliases", "expose", "dns", "extra_hosts")


def merge_files(documents: list[dict]) -> dict:
    """Fold the documents left to right."""
    out: dict = {}
    for doc in documents:
        out = _merge_map(out, doc)
    return out


def _merge_map(base: dict, override: dict) -> dict:
    out = dict(base)
    for key, value in override.items():
        if key not in out:
            out[key] = value
        elif key in _LIST_OR_DICT:
            out[key] = _merge_map(as_map(out[key]), as_map(value))
        elif key in _APPEND and isinstance(out[key], list) and isinstance(value, list):
            out[key] = out[key] + [v for v in value if v not in out[key]]
        elif isinstance(out[key], dict) and isinstance(value, dict):
            out[key] = _merge_map(out[key], value)
        else:
            out[key] = value
    return out


def as_map(value) -> dict:
    """A list-or-dict field as a dict: `["A=1", "B"]` -> {"A": "1", "B": None}, and a list of
    names (networks, depends_on) -> {name: None}."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return dict(value)
    out = {}
    for item in value:
        key, sep, val = str(item).partition("=")
        out[key] = val if sep else None
    return out
