"""Signal names as Docker accepts them: "SIGTERM", "TERM", "term", "15"."""

from __future__ import annotations

import signal

from tether.errors import InvalidArgument


def parse_signal(sig: str | int) -> int:
    """Return the signal number.

    Raises:
        InvalidArgument: "Invalid signal: X" for anything else.
    """
    if isinstance(sig, int) or sig.strip().isdigit():
        number = int(sig)
        if 0 < number < signal.NSIG:
            return number
        raise InvalidArgument(f"Invalid signal: {sig}")
    name = "SIG" + sig.strip().upper().removeprefix("SIG")
    try:
        return int(signal.Signals[name])
    except KeyError:
        raise InvalidArgument(f"Invalid signal: {sig}") from None
