"""Where an operation's time goes: cheap marks logged at debug level (scale profiling)."""

from __future__ import annotations

import time


class Marks:
    """Milliseconds between successive `mark(name)` calls; str() lists them in order."""

    def __init__(self) -> None:
        self.last = time.perf_counter()
        self.spans: list[tuple[str, float]] = []

    def mark(self, name: str) -> None:
        now = time.perf_counter()
        self.spans.append((name, (now - self.last) * 1000))
        self.last = now

    def __str__(self) -> str:
        return " ".join(f"{name}={ms:.1f}" for name, ms in self.spans)
