"""In-process fan-out of store changes to `watch(prefix)` iterators.

Both local stores publish here after a write has committed, in revision order. A watcher is
registered when `watch()` is called, not when it is first awaited, so no change made after the
call can be missed. Queues are unbounded: a watcher that stops reading must be closed.
"""

from __future__ import annotations

import asyncio
from typing import Iterable

from tether.store.base import WatchEvent


class Watcher:
    """An async iterator over the changes under one prefix; ends when the store closes."""

    def __init__(self, hub: WatchHub, prefix: str) -> None:
        self.prefix = prefix
        self._hub = hub
        self._queue: asyncio.Queue[WatchEvent | None] = asyncio.Queue()
        self._done = False

    def __aiter__(self) -> Watcher:
        return self

    async def __anext__(self) -> WatchEvent:
        if self._done:
            raise StopAsyncIteration
        event = await self._queue.get()
        if event is None:
            self._done = True
            raise StopAsyncIteration
        return event

    def push(self, event: WatchEvent | None) -> None:
        self._queue.put_nowait(event)

    async def aclose(self) -> None:
        """Stop watching; further iteration ends at once."""
        self._done = True
        self._hub.discard(self)


class WatchHub:
    """The set of live watchers of one store."""

    def __init__(self) -> None:
        self._watchers: set[Watcher] = set()

    def register(self, prefix: str) -> Watcher:
        watcher = Watcher(self, prefix)
        self._watchers.add(watcher)
        return watcher

    def discard(self, watcher: Watcher) -> None:
        self._watchers.discard(watcher)

    def publish(self, events: Iterable[WatchEvent]) -> None:
        """Hand committed changes to every watcher whose prefix matches (call on the loop)."""
        if not self._watchers:
            return
        for event in events:
            for watcher in tuple(self._watchers):
                if event.key.startswith(watcher.prefix):
                    watcher.push(event)

    def close(self) -> None:
        """End every watcher's iteration."""
        for watcher in self._watchers:
            watcher.push(None)
        self._watchers.clear()
