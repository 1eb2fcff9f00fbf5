"""Docker's `filters` query parameter, and the predicates list endpoints apply with it.

Clients send either `{"key": {"value": true}}` (the CLI) or `{"key": ["value"]}` (docker-py,
compose); both parse to {key: [values]}. Within a key any value may match; every key must.
"""

from __future__ import annotations

import json
from typing import Any, Iterable

from tether.errors import InvalidArgument
from tether.model import Network

Filters = dict[str, list[str]]

NETWORK_KEYS = {"name", "id", "driver", "label", "type", "scope", "dangling"}


def parse_filters(text: str | None, allowed: set[str] | None = None) -> Filters:
    """Parse the JSON of `filters`; unknown keys are refused as Docker does."""
    if not text:
        return {}
    try:
        raw = json.loads(text)
    except ValueError:
        raise InvalidArgument(f"invalid filters: {text}") from None
    if not isinstance(raw, dict):
        raise InvalidArgument(f"invalid filters: {text}")
    out: Filters = {}
    for key, values in raw.items():
        if allowed is not None and key not in allowed:
            raise InvalidArgument(f"invalid filter '{key}'")
        if isinstance(values, dict):
            out[key] = [str(v) for v, on in values.items() if on]
        elif isinstance(values, list):
            out[key] = [str(v) for v in values]
        else:
            out[key] = [str(values)]
    return out


def match_labels(labels: dict[str, str], wanted: Iterable[str]) -> bool:
    """`label=key` needs the key; `label=key=value` needs that value; every one must hold."""
    for item in wanted:
        key, sep, value = item.partition("=")
        if key not in labels or (sep and labels[key] != value):
            return False
    return True


def parse_bool_filter(values: list[str], key: str) -> bool:
    lowered = {v.lower() for v in values}
    if not lowered <= {"true", "false", "1", "0"} or len(lowered) != 1:
        raise InvalidArgument(f"invalid value for filter '{key}': {', '.join(values)}")
    return lowered.pop() in ("true", "1")


def match_network(net: Network, filters: Filters, in_use: bool = False) -> bool:
    """Whether `net` passes every network filter (`in_use` answers `dangling`)."""
    checks = {
        "name": lambda v: v in net.name,
        "id": lambda v: net.id.startswith(v),
        "driver": lambda v: v == net.driver,
        "scope": lambda v: v == net.scope,
        "type": lambda v: _network_type(v) == ("builtin" if net.builtin else "custom"),
    }
    for key, values in filters.items():
        if key == "label":
            if not match_labels(net.labels, values):
                return False
        elif key == "dangling":
            want_dangling = parse_bool_filter(values, key)
            if want_dangling != (not in_use and not net.builtin):
                return False
        elif key in checks and not any(checks[key](v) for v in values):
            return False
    return True


def _network_type(value: str) -> str:
    if value not in ("custom", "builtin"):
        raise InvalidArgument(f"invalid filter: 'type'='{value}'")
    return value


def label_filters(filters: Filters) -> list[str]:
    """`label` and `label!` filters as one list for `labels_match` ("!" marks a negation)."""
    return [*filters.get("label", []), *("!" + v for v in filters.get("label!", []))]


def parse_until(values: list[str], now: float) -> float | None:
    """`until` as Docker accepts it: a unix time, an RFC 3339 date, or a Go duration ago."""
    if not values:
        return None
    text = values[0]
    try:
        return float(text)
    except ValueError:
        pass
    seconds = _go_duration(text)
    if seconds is not None:
        return now - seconds
    from datetime import datetime

    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()
    except ValueError:
        raise InvalidArgument(f"invalid value for filter 'until': {text}") from None


def _go_duration(text: str) -> float | None:
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    total, number = 0.0, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if ch.isdigit() or ch == ".":
            number += ch
            i += 1
            continue
        unit = "ms" if text[i:i + 2] == "ms" else ch
        if unit not in units or not number:
            return None
        total += float(number) * units[unit]
        number, i = "", i + len(unit)
    return total if not number and text else None


CONTAINER_KEYS = {"id", "name", "label", "status", "network", "ancestor", "exited", "health",
                  "before", "since", "volume", "publish", "expose", "is-task", "isolation"}
STATUSES = {"created", "restarting", "running", "removing", "paused", "exited", "dead"}


def match_container(view: Any, filters: Filters) -> bool:
    """Whether a ContainerView passes the `docker ps --filter` keys tether knows."""
    c = view.container
    nets = {n.name for n in view.networks.values()} | set(view.networks)
    image_refs = {c.spec.image, c.image_id, *(view.image.repo_tags if view.image else ())}
    checks = {
        "id": lambda v: c.id.startswith(v),
        "name": lambda v: v.lstrip("/") in c.name,
        "status": lambda v: _status(v) == c.state.shown_status,
        "network": lambda v: v in nets or any(n.startswith(v) for n in view.networks),
        "ancestor": lambda v: v in image_refs or (":" not in v and f"{v}:latest" in image_refs),
        "exited": lambda v: c.state.status == "exited" and str(c.state.exit_code) == v,
    }
    for key, values in filters.items():
        if key == "label":
            if not match_labels(c.spec.labels, values):
                return False
        elif key in checks and not any(checks[key](v) for v in values):
            return False
    return True


def _status(value: str) -> str:
    if value not in STATUSES:
        raise InvalidArgument(f"invalid filter 'status={value}'")
    return value
