"""The event bus: every event the engine reports goes through one `EventBus`.

`/events` and the topology page both subscribe here. The bus keeps the last `capacity`
events in a ring, so a subscriber can ask for events since a past time (Docker keeps 256;
we keep more because one `docker run` already makes three or four). Publishing never
blocks and never awaits: a subscriber that falls `backlog` events behind is dropped (its
iterator ends) rather than letting it hold memory without bound.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import AsyncIterator, Callable, Iterable

from tether.model.event import Event

_END = None


class Subscription:
    """One subscriber: the buffered past events, then live ones, until `close()`."""

    def __init__(self, bus: "EventBus", buffered: list[Event], backlog: int) -> None:
        self.bus = bus
        self.buffered = buffered
        self.queue: asyncio.Queue[Event | None] = asyncio.Queue(maxsize=backlog)
        self.closed = False

    def offer(self, event: Event) -> None:
        if self.closed:
            return
        try:
            self.queue.put_nowait(event)
        except asyncio.QueueFull:
            self.close()  # too slow: end its stream rather than buffer without bound
            self.queue.get_nowait()  # make room for the end marker
            self.queue.put_nowait(_END)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.bus.subscribers.discard(self)
            if not self.queue.full():
                self.queue.put_nowait(_END)

    async def next(self) -> Event | None:
        """The next live event; None once the subscription is closed. Safe to cancel."""
        return await self.queue.get()

    async def live(self) -> AsyncIterator[Event]:
        """Events published after the subscription, until it is closed."""
        while (event := await self.next()) is not None:
            yield event


class EventBus:
    """A bounded ring of past events plus the set of live subscribers."""

    def __init__(self, capacity: int = 1024, backlog: int = 4096,
                 clock: Callable[[], int] = time.time_ns) -> None:
        self.ring: deque[Event] = deque(maxlen=capacity)
        self.subscribers: set[Subscription] = set()
        self.backlog = backlog
        self.clock = clock
        self.last_nano = 0

    def publish(self, events: Iterable[Event]) -> None:
        """Stamp each event (strictly increasing time), keep it, hand it to subscribers."""
        for event in events:
            stamp = max(self.clock(), self.last_nano + 1)
            self.last_nano = stamp
            event = Event(event.type, event.action, event.actor_id, event.attributes, stamp)
            self.ring.append(event)
            for sub in list(self.subscribers):
                sub.offer(event)

    def subscribe(self, since_nano: int | None = None, until_nano: int | None = None
                  ) -> Subscription:
        """Subscribe; past events are replayed as Docker does: when `since` or `until` is
        given, every kept event from `since` on and not after `until`."""
        buffered: list[Event] = []
        if since_nano is not None or until_nano is not None:
            low = since_nano or 0
            buffered = [e for e in self.ring if e.time_nano >= low
                        and (until_nano is None or e.time_nano <= until_nano)]
        sub = Subscription(self, buffered, self.backlog)
        self.subscribers.add(sub)
        return sub

    def close(self) -> None:
        """End every subscriber's stream (daemon shutdown)."""
        for sub in list(self.subscribers):
            sub.close()
