"""Docker's time texts: RFC 3339 parsing, "Up 2 seconds", "Exited (0) 3 minutes ago"."""

from __future__ import annotations

from datetime import datetime

from tether.model import ContainerState
from tether.units import human_duration

EPOCH_PREFIX = "0001-01-01"


def parse_time(text: str) -> float | None:
    """RFC 3339 with up to nanoseconds -> unix seconds; Docker's zero time -> None."""
    if not text or text.startswith(EPOCH_PREFIX):
        return None
    main, dot, rest = text.partition(".")
    zone = ""
    if dot:
        digits = "".join(ch for ch in rest if ch.isdigit())
        zone = rest[len(digits):]
        main = f"{main}.{digits[:6]}"
    else:
        for sep in ("Z", "+", "-"):
            idx = main.rfind(sep)
            if idx > 10:
                main, zone = main[:idx], main[idx:]
                break
    zone = "+00:00" if zone in ("Z", "") else zone
    try:
        return datetime.fromisoformat(main + zone).timestamp()
    except ValueError:
        return None


def status_text(state: ContainerState, now: float) -> str:
    """The `Status` column of `docker ps`."""
    if state.status == "running":
        started = parse_time(state.started_at)
        up = f"Up {human_duration(now - started)}" if started else "Up"
        return f"{up} (Paused)" if state.paused else up
    if state.status == "exited":
        finished = parse_time(state.finished_at)
        if finished is None:
            return f"Exited ({state.exit_code})"
        return f"Exited ({state.exit_code}) {human_duration(now - finished)} ago"
    if state.status == "removing":
        return "Removal In Progress"
    if state.status == "dead":
        return "Dead"
    return "Created"
