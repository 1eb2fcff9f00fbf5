"""`tether events`: the daemon's events, as `docker events` prints them."""

from __future__ import annotations

import re
import time
from datetime import datetime, timezone

from tether.cli.args import Parser, multi, write
from tether.errors import InvalidArgument

DURATION = re.compile(r"^(?:\d+(?:\.\d+)?(?:h|m|s|ms|us|ns))+$")
DURATION_PART = re.compile(r"(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)")
UNITS = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6, "ns": 1e-9}


def events(ctx, argv: list[str]) -> int:
    p = Parser("events")
    p.add_argument("--since", help="Show all events created since timestamp")
    p.add_argument("--until", help="Stream events until this timestamp")
    multi(p, "-f", "--filter", dest="filters", help="Filter output based on conditions")
    p.add_argument("--format", help="Format output using a Go template")
    a = p.parse_args(argv)
    now = time.time()
    since = timestamp(a.since, now) if a.since else None
    until = timestamp(a.until, now) if a.until else None
    render = formatter(a.format)
    for event in ctx.client.events(since=since, until=until, filters=a.filters):
        write(render(event) + "\n")
    return 0


def timestamp(value: str, now: float) -> str:
    """What the docker CLI sends for --since/--until: unix seconds as given, a Go duration
    before now, or an RFC 3339 date (a bare date is midnight UTC)."""
    if re.fullmatch(r"\d+(\.\d+)?", value):
        return value
    if DURATION.fullmatch(value):
        ago = sum(float(n) * UNITS[u] for n, u in DURATION_PART.findall(value))
        return f"{now - ago:.9f}"
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidArgument(f"invalid timestamp {value!r}: use unix seconds, an RFC 3339 "
                              "date or a duration such as 10m") from None
    if stamp.tzinfo is None:
        stamp = stamp.replace(tzinfo=timezone.utc)
    return f"{stamp.timestamp():.9f}"


def formatter(fmt: str | None):
    if fmt:
        from tether.cli import template
        from tether.cli.render import unescape

        tree = template.parse(unescape(fmt))
        return lambda event: template.render(tree, event)
    return default_line


def default_line(event: dict) -> str:
    """`2026-11-28T09:52:26.094778350Z network create ID (name=n1, type=bridge)`."""
    nanos = int(event.get("timeNano") or int(event.get("time", 0)) * 10**9)
    seconds, frac = divmod(nanos, 10**9)
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    actor = event.get("Actor") or {}
    attrs = actor.get("Attributes") or {}
    line = f"{stamp}.{frac:09d}Z {event.get('Type')} {event.get('Action')} {actor.get('ID')}"
    if attrs:
        line += " (" + ", ".join(f"{k}={v}" for k, v in sorted(attrs.items())) + ")"
    return line
