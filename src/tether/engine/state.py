"""The engine's view of the store: networks and containers, cached in memory.

The store is the truth. Every change is written to the store first (names made unique with
compare-and-swap on a name key), and only then to the in-memory maps the engine reads from.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from tether.engine import eventlog
from tether.engine.eventbus import EventBus
from tether.errors import CasFailed, Conflict
from tether.model import Container, Network
from tether.store import Store
from tether.store.base import Delete, Put
from tether.store.codec import decode, encode

NETWORKS = "networks/"
NETWORK_NAMES = "names/networks/"
CONTAINERS = "containers/"
CONTAINER_NAMES = "names/containers/"
OWNED_LINKS = "owned/links/"
DAEMON_ID = "instance/id"


@dataclass
class State:
    """Cached networks and containers, kept in step with `store`."""

    store: Store
    networks: dict[str, Network] = field(default_factory=dict)
    containers: dict[str, Container] = field(default_factory=dict)
    # name -> id indexes, so that resolving a name or checking one costs no scan
    network_ids: dict[str, str] = field(default_factory=dict)
    container_ids: dict[str, str] = field(default_factory=dict)
    # every record change below is published here as Docker's events (engine.eventlog)
    events: EventBus = field(default_factory=EventBus)
    # endpoints of running containers, counted as records change (the neighbour budget
    # reads it on every start: no scan of every container)
    running_endpoints: int = 0
    linking: set[str] = field(default_factory=set)  # ids of containers with --link

    async def load(self) -> None:
        for _, value, _ in await self.store.list(NETWORKS):
            net = decode(Network, value)
            self.networks[net.id] = net
            self.network_ids[net.name] = net.id
        for _, value, _ in await self.store.list(CONTAINERS):
            c = decode(Container, value)
            self.containers[c.id] = c
            self.container_ids[c.name] = c.id
            self.changed_counts(None, c)

    async def add_network(self, net: Network) -> None:
        """Record a new network; Conflict when its name is taken (even by a racing create)."""
        try:
            await self.store.commit([
                Put(NETWORK_NAMES + net.name, net.id.encode(), expect_rev=0),
                Put(NETWORKS + net.id, encode(net), expect_rev=0),
            ])
        except CasFailed:
            raise Conflict(f"network with name {net.name} already exists") from None
        self.networks[net.id] = net
        self.network_ids[net.name] = net.id
        self.events.publish(eventlog.network_created(net))

    async def remove_network(self, net: Network) -> None:
        await self.store.commit([Delete(NETWORK_NAMES + net.name), Delete(NETWORKS + net.id)])
        self.networks.pop(net.id, None)
        if self.network_ids.get(net.name) == net.id:
            del self.network_ids[net.name]
        self.events.publish(eventlog.network_removed(net))

    async def add_container(self, c: Container) -> None:
        """Record a new container; Conflict with Docker's sentence when its name is taken."""
        try:
            await self.store.commit([
                Put(CONTAINER_NAMES + c.name, c.id.encode(), expect_rev=0),
                Put(CONTAINERS + c.id, encode(c), expect_rev=0),
            ])
        except CasFailed:
            raise Conflict(self.name_conflict(c.name)) from None
        self.containers[c.id] = c
        self.container_ids[c.name] = c.id
        self.changed(None, c)

    def changed(self, old: Container | None, new: Container | None) -> None:
        self.changed_counts(old, new)
        self.events.publish(eventlog.container_changed(old, new, self.networks))

    def changed_counts(self, old: Container | None, new: Container | None) -> None:
        self.running_endpoints += running_endpoints(new) - running_endpoints(old)
        if old is not None:
            self.linking.discard(old.id)
        if new is not None and new.links:
            self.linking.add(new.id)

    def name_conflict(self, name: str) -> str:
        owner = self.container_ids.get(name, "")
        return (
            f'Conflict. The container name "/{name}" is already in use by container "{owner}". '
            "You have to remove (or rename) that container to be able to reuse that name."
        )

    async def save_container(self, c: Container) -> None:
        await self.store.put(CONTAINERS + c.id, encode(c))
        old = self.containers.get(c.id)
        self.containers[c.id] = c
        self.changed(old, c)

    async def rename_container(self, c: Container, new: Container) -> None:
        try:
            await self.store.commit([
                Put(CONTAINER_NAMES + new.name, new.id.encode(), expect_rev=0),
                Delete(CONTAINER_NAMES + c.name),
                Put(CONTAINERS + new.id, encode(new)),
            ])
        except CasFailed:
            raise Conflict(self.name_conflict(new.name)) from None
        self.containers[new.id] = new
        if self.container_ids.get(c.name) == c.id:
            del self.container_ids[c.name]
        self.container_ids[new.name] = new.id
        self.changed(c, new)

    async def remove_container(self, c: Container) -> None:
        await self.store.commit([Delete(CONTAINER_NAMES + c.name), Delete(CONTAINERS + c.id)])
        self.containers.pop(c.id, None)
        if self.container_ids.get(c.name) == c.id:
            del self.container_ids[c.name]
        self.changed(c, None)

    async def own_link(self, name: str) -> None:
        """Record, before making it, a host link this daemon is about to create: a crash
        between the two leaves a record that reconcile uses to remove the link."""
        await self.store.put(OWNED_LINKS + name, b"")

    async def disown_link(self, name: str) -> None:
        await self.store.delete(OWNED_LINKS + name)

    async def owned_links(self) -> list[str]:
        return [key[len(OWNED_LINKS):] for key, _, _ in await self.store.list(OWNED_LINKS)]

    async def daemon_id(self) -> str:
        """The daemon's `/info` ID: made at its first start, the same ever after."""
        value, _ = await self.store.get(DAEMON_ID)
        if value:
            return value.decode()
        new = secrets.token_hex(32)
        try:
            await self.store.put(DAEMON_ID, new.encode(), expect_rev=0)
        except CasFailed:
            return (await self.store.get(DAEMON_ID))[0].decode()
        return new


def running_endpoints(c: Container | None) -> int:
    return len(c.endpoints) if c is not None and c.state.running else 0
