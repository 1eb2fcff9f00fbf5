"""HTTP from the test's namespace to published ports and containers."""

from __future__ import annotations

import time
import urllib.request


def fetch(url: str, tries: int = 50) -> str:
    """GET `url`, retrying for up to about `tries` tenths of a second while it is not up."""
    for _ in range(tries):
        try:
            return urllib.request.urlopen(url, timeout=2).read().decode()
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")
