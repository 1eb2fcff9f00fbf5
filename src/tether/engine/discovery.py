"""Service discovery glue: keeps the resolver's table in step with the running containers
and binds each discoverable container's resolver sockets inside its namespace.

Records go in before a container's process starts and come out before `stop`/`rm` return,
because lifecycle calls `attach` and `detach` at those points under the container's lock.
"""

from __future__ import annotations

import logging

from tether.dns import records
from tether.dns.loop import LoopThread
from tether.dns.server import Resolver
from tether.engine.etcfiles import EMBEDDED_RESOLVER
from tether.engine.state import State
from tether.kernel.nssock import bind_in_netns
from tether.model import Container

log = logging.getLogger(__name__)


class Discovery:
    """The containers the table is built from, and which of them have sockets."""

    def __init__(self, state: State, resolver: Resolver | None) -> None:
        self.state = state
        self.resolver = resolver
        self.records = records.Records()
        if resolver is not None:
            resolver.table = self.records.table
        self.thread: LoopThread | None = LoopThread() if resolver is not None else None

    def embedded(self, c: Container) -> bool:
        """Whether `c` uses tether's resolver: on at least one user-defined network."""
        return self.resolver is not None and any(
            records.discoverable(self.state.networks.get(n)) for n in c.endpoints)

    async def attach(self, c: Container) -> None:
        """Publish `c`'s names and serve its resolver (for a container with its own netns)."""
        self.records.put(c, self.state.networks)
        await self.serve(c)

    async def serve(self, c: Container) -> None:
        own_netns = c.sandbox_key and not c.spec.network_mode.startswith("container:")
        if self.resolver is None or not own_netns or not self.embedded(c):
            return
        if c.id in self.resolver.served:
            return
        udp, tcp = await bind_in_netns(c.sandbox_key, EMBEDDED_RESOLVER)
        await self.thread.call(self.resolver.serve(c.id, udp, tcp))

    async def update(self, c: Container) -> None:
        """A running container changed (connect, disconnect, rename): republish it."""
        if c.id in self.records.live:
            self.records.put(c, self.state.networks)
            await self.serve(c)

    async def detach(self, cid: str) -> None:
        """Withdraw a container's names and close its sockets; best effort, as teardown
        must go on (a socket left open only pins a namespace that is being deleted)."""
        self.records.remove(cid, self.state.networks)
        if self.resolver is not None and cid in self.resolver.served:
            try:
                await self.thread.call(self.resolver.stop_serving(cid))
            except Exception:  # noqa: BLE001 - logged; the rest of teardown matters more
                log.exception("closing the resolver sockets of %s failed", cid[:12])

    async def close(self) -> None:
        if self.resolver is not None:
            await self.thread.call(self.resolver.close())
            self.thread.stop()
