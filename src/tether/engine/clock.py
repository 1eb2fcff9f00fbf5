"""Timestamps in the form Docker writes them (RFC 3339 with nanoseconds, UTC)."""

from __future__ import annotations

import time
from datetime import datetime, timezone


def now_rfc3339() -> str:
    """Return the current time as "2026-11-28T02:47:40.916163551Z"."""
    ns = time.time_ns()
    seconds, frac = divmod(ns, 1_000_000_000)
    stamp = datetime.fromtimestamp(seconds, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{stamp}.{frac:09d}Z"


def parse_rfc3339(text: str) -> float:
    """Return seconds since the epoch for a timestamp written by `now_rfc3339` (or Docker)."""
    main, _, rest = text.rstrip("Z").partition(".")
    base = datetime.strptime(main, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=timezone.utc)
    frac = float("0." + rest) if rest else 0.0
    return base.timestamp() + frac
