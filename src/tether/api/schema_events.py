"""Docker's `EventMessage` JSON, and the `/events` filters as dockerd applies them.

Field order and the deprecated `status`/`id`/`from` fields (container and image events) follow
dockerd; Go sorts map keys, so `Actor.Attributes` is sorted too.
"""

from __future__ import annotations

from typing import Any

from tether.api.filters import Filters, match_labels
from tether.errors import InvalidArgument
from tether.model.event import Event

FUZZY_EVENTS = {"health_status", "exec_create", "exec_start"}
NAMED_TYPES = ("container", "network", "volume", "plugin", "service", "node", "secret",
               "config", "daemon")


def render(event: Event) -> dict[str, Any]:
    """One `EventMessage`, ready for json.dumps."""
    out: dict[str, Any] = {}
    if event.type in ("container", "image"):  # dockerd fills the deprecated fields for both
        out["status"] = event.action
        out["id"] = event.actor_id
        if event.type == "container" and event.attributes.get("image"):
            out["from"] = event.attributes["image"]
    out["Type"] = event.type
    out["Action"] = event.action
    out["Actor"] = {"ID": event.actor_id, "Attributes": dict(sorted(event.attributes.items()))}
    out["scope"] = "local"
    out["time"] = event.time
    out["timeNano"] = event.time_nano
    return out


def parse_time(text: str | None, field: str) -> int | None:
    """`since`/`until` as dockerd reads them: "SECONDS[.FRACTION]" (the CLI turns dates and
    durations into that form before sending); None when absent. Returns nanoseconds."""
    if not text:
        return None
    seconds, dot, fraction = text.partition(".")
    try:
        nanos = int(seconds) * 1_000_000_000
        if dot:
            nanos += int(fraction) * 10 ** (9 - len(fraction)) if len(fraction) <= 9 \
                else int(fraction[:9])
    except ValueError:
        raise InvalidArgument(f"invalid value for {field}: {text!r}: not a unix timestamp") from None
    return nanos


def matches(event: Event, filters: Filters) -> bool:
    """Whether `event` passes every filter, by dockerd's rules: `type`, `scope` exact;
    `event` exact (prefix for exec_create, exec_start, health_status); `container`,
    `network` and the other object keys match the actor's id or name by prefix; `label`
    the actor's attributes; `image` the image attribute or the actor."""
    if not _exact(filters, "type", event.type) or not _exact(filters, "scope", "local"):
        return False
    events = filters.get("event")
    if events and not any(
            event.action == v or (FUZZY_EVENTS & set(events) and event.action.startswith(v))
            for v in events):
        return False
    for key in NAMED_TYPES:
        if key in filters and not (_fuzzy(filters[key], event.actor_id)
                                   or _fuzzy(filters[key], event.attributes.get("name", ""))):
            return False
    if "label" in filters and not match_labels(event.attributes, filters["label"]):
        return False
    return "image" not in filters or _image(event, filters["image"])


def _exact(filters: Filters, key: str, value: str) -> bool:
    return key not in filters or value in filters[key]


def _fuzzy(values: list[str], source: str) -> bool:
    return any(source == v or (v and source.startswith(v)) for v in values)


def _image(event: Event, values: list[str]) -> bool:
    name = event.attributes.get("name" if event.type == "image" else "image", "")
    candidates = {event.actor_id, name, _strip_tag(event.actor_id), _strip_tag(name)}
    return any(v in candidates for v in values)


def _strip_tag(ref: str) -> str:
    head, _, tail = ref.rpartition(":")
    return head if head and "/" not in tail else ref
