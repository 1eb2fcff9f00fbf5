"""The cluster agent: this host's membership, its endpoints in etcd, and the other hosts'
endpoints turned into peers (VXLAN FDB + neighbour entries) and DNS records.

Why etcd watches and not gossip (Docker's serf on port 7946): the store already orders every
change by revision and expires a dead host's keys with its lease, so one watch per prefix gives
each host the same, complete view without a second membership protocol, a second port, or
eventual convergence to reason about.

Membership: the host key and every local endpoint key are attached to one lease, refreshed
every third of its TTL. A clean stop revokes it (every key goes at once); a dead host's lease
expires and the other hosts see its endpoints deleted. When etcd is unreachable nothing is
unprogrammed: peers change only on events, so existing containers keep talking. When the lease
was lost meanwhile, a new one is granted and this host's endpoints are published again.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from dataclasses import replace
from typing import TYPE_CHECKING

from tether.drivers.overlay import OverlayDriver, Peer
from tether.engine import cluster_records as keys
from tether.engine.cluster_networks import (GWBRIDGE, GWBRIDGE_OPTIONS, GlobalNetworks,
                                            needs_gateway)
from tether.engine.cluster_records import EndpointRecord, endpoint_key, record_of
from tether.engine.endpoints import placeholder
from tether.errors import Conflict, NotFound, Unavailable
from tether.model import Container, Endpoint, EndpointRequest, Network, NetworkSpec
from tether.store.codec import decode

if TYPE_CHECKING:
    from tether.engine.engine import Engine

log = logging.getLogger(__name__)
RETRY = 1.0


class Cluster:
    """Joins the engine to the cluster store; `store` is an EtcdStore (leases, list_at)."""

    def __init__(self, store, advertise: str, *, ttl: int = 15) -> None:
        self.store = store
        self.advertise = advertise
        self.ttl = ttl
        self.lease = 0
        self.down = False  # the last keepalive failed
        self.host_id = ""
        self.engine: Engine | None = None
        self.remote: dict[str, EndpointRecord] = {}  # endpoint id -> record of another host
        self.tasks: set[asyncio.Task] = set()
        self.watchers: set = set()  # live watches, ended when the store comes back
        self.publishing = asyncio.Lock()  # orders this host's endpoint writes
        self.withdrawn: set[str] = set()  # endpoint ids taken back: never to be re-put
        # endpoint id -> what was put for it, until withdrawn: a container still starting is
        # not running in the state yet, and a republish must not delete its record
        self.published: dict[str, tuple[Container, Endpoint]] = {}
        self.networks = GlobalNetworks(self)

    @property
    def driver(self) -> OverlayDriver:
        return self.engine.networks.drivers["overlay"]

    async def start(self, engine: Engine) -> None:
        self.engine = engine
        self.host_id = engine.daemon_id
        self.driver.local_address = self.advertise
        try:  # networks first: re-publishing adopted containers' endpoints needs them
            await self.on_network(None, *await self.store.list_at(keys.NETWORKS))
            await self.register()
        except Unavailable as exc:
            log.warning("cluster store unreachable at start, retrying: %s", exc)
        for coro in (self.keep_alive(), self.follow(keys.NETWORKS, self.on_network),
                     self.follow(keys.ENDPOINTS, self.on_endpoint)):
            task = asyncio.create_task(coro)
            self.tasks.add(task)

    async def close(self) -> None:
        """Withdraw this host (revoke its lease: its endpoints vanish everywhere)."""
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.lease:
            try:
                await self.store.revoke(self.lease)
            except Unavailable:
                log.warning("could not withdraw from the cluster store; the lease will expire")
        await self.store.close()

    # ---- membership --------------------------------------------------------------------------

    async def register(self) -> None:
        """Grant a lease, put the host key on it, and publish every local endpoint again."""
        self.lease = await self.store.grant(self.ttl)
        host = {"address": self.advertise, "name": socket.gethostname()}
        await self.store.put(keys.HOSTS + self.host_id, json.dumps(host).encode(),
                             lease=self.lease)
        await self.republish()
        log.info("joined the cluster as %s (%s), lease %x", self.host_id[:12], self.advertise,
                 self.lease)

    def info(self) -> dict[str, str]:
        return {"cluster_store": "etcd://" + ",".join(self.store.config.endpoints),
                "cluster_advertise": self.advertise}

    def warnings(self) -> list[str]:
        if not self.down:
            return []
        return ["WARNING: the cluster store is unreachable: overlay networks cannot be "
                "created or joined until it returns (running containers keep talking)"]

    async def keep_alive(self) -> None:
        down = False
        while True:
            await asyncio.sleep(self.ttl / 3 if not down else RETRY)
            try:
                if not self.lease or await self.store.keepalive(self.lease) == 0:
                    await self.register()
                elif down:
                    await self.republish()
                if down:  # a watch on a member that vanished silently would hang for good
                    log.info("the cluster store is reachable again; watching afresh")
                    for watcher in list(self.watchers):
                        await watcher.aclose()
                down = False
            except Unavailable as exc:
                if not down:
                    log.warning("cluster store unreachable: %s", exc)
                down = self.down = True

    async def republish(self) -> None:
        """Make etcd hold exactly this host's live overlay endpoints (after an outage some
        were added or removed while it could not be told). Serialised with publish and
        withdraw: a removal racing this must not see its endpoint put back."""
        async with self.publishing:
            wanted = {**self.published, **{ep.id: (c, ep) for c, ep in self.local_endpoints()}}
            wanted = {k: v for k, v in wanted.items() if k not in self.withdrawn}
            mine = [(k, EndpointRecord.decode(v)) for k, v, _ in
                    await self.store.list(keys.ENDPOINTS)]
            for key, rec in mine:
                if rec.host == self.host_id and rec.endpoint_id not in wanted:
                    await self.store.delete(key)
            for c, ep in wanted.values():
                if ep.id not in self.withdrawn:
                    await self.networks.reclaim(ep)
                    await self._put(c, ep)

    def local_endpoints(self) -> list[tuple[Container, Endpoint]]:
        state = self.engine.state
        return [(c, ep) for c in state.containers.values() if c.state.running
                for n, ep in c.endpoints.items()
                if ep.id and n in state.networks and state.networks[n].scope == "global"]

    async def publish(self, c: Container, ep: Endpoint) -> None:
        """Tell every host about a local endpoint (Unavailable when etcd is unreachable)."""
        async with self.publishing:
            await self._put(c, ep)
            self.published[ep.id] = (c, ep)

    async def _put(self, c: Container, ep: Endpoint) -> None:
        if not self.lease:
            raise Unavailable("this host is not registered with the cluster store")
        rec = record_of(self.host_id, self.advertise, c, ep)
        await self.store.put(endpoint_key(ep.network_id, ep.id), rec.encode(), lease=self.lease)

    async def renamed(self, c: Container) -> None:
        """Publish a renamed container's endpoints again (the others' DNS follows); when
        etcd is unreachable, the republish after the outage does it."""
        if not c.state.running:
            return
        for net_id, ep in c.endpoints.items():
            net = self.engine.state.networks.get(net_id)
            if ep.id and net is not None and net.scope == "global":
                try:
                    await self.publish(c, ep)
                except Unavailable as exc:
                    log.warning("renaming %s on the other hosts waits for the store: %s",
                                c.name, exc)

    async def withdraw(self, ep: Endpoint) -> None:
        """Take a local endpoint back; never published again, even by a racing republish."""
        self.withdrawn.add(ep.id)
        self.published.pop(ep.id, None)
        async with self.publishing:
            await self.store.delete(endpoint_key(ep.network_id, ep.id))

    async def with_gateway(self, c: Container) -> Container:
        """`c` plus an endpoint on this host's `docker_gwbridge` (made on first use) when
        its overlays are its only way out: egress leaves through that bridge, masqueraded."""
        networks = self.engine.networks
        if not needs_gateway(c, self.engine.state.networks):
            return c
        try:
            gw = networks.get(GWBRIDGE)
        except NotFound:  # the first overlay container on this host
            try:
                gw = await networks.create(NetworkSpec(name=GWBRIDGE, driver="bridge",
                                                       options=dict(GWBRIDGE_OPTIONS)))
            except Conflict:  # a container starting at the same time made it
                gw = networks.get(GWBRIDGE)
        return replace(c, endpoints={**c.endpoints,
                                     gw.id: placeholder(gw, c.id, EndpointRequest())})

    # ---- following the store ----------------------------------------------------------------

    async def follow(self, prefix: str, apply) -> None:
        """List `prefix`, apply it whole, then apply each change; start over after a break."""
        while True:
            try:
                items, rev = await self.store.list_at(prefix)
                await apply(None, items, rev)
                watcher = self.store.watch(prefix, start_revision=rev + 1)
                self.watchers.add(watcher)
                try:
                    async for event in watcher:
                        await apply(event, None, event.revision)
                finally:
                    self.watchers.discard(watcher)
                    await watcher.aclose()
            except Unavailable as exc:
                log.debug("watch of %s broke: %s", prefix, exc)
            except Exception:  # noqa: BLE001 - a bug must not end the watch for good
                log.exception("applying %s changes failed", prefix)
            await asyncio.sleep(RETRY)

    async def on_network(self, event, items, rev: int) -> None:
        """Apply a listing of every network at `rev`, or one change at `rev`. This host's
        own create or remove may be newer than a listing taken just before it: GlobalNetworks
        keeps the newer of the two."""
        nets = self.networks
        if items is not None:
            present = {n.id: n for n in (decode(Network, v) for _, v, _ in items)}
            for net in list(self.engine.state.networks.values()):
                if net.scope == "global" and net.id not in present:
                    await nets.forget(net, rev)
            for net in present.values():
                await nets.mirror(net, rev)
            nets.settled(rev)
            return
        if event.value is not None:
            await nets.mirror(decode(Network, event.value), rev)
        elif (net := self.engine.state.networks.get(event.key[len(keys.NETWORKS):])):
            await nets.forget(net, rev)
        nets.settled(rev, event.key[len(keys.NETWORKS):])

    async def on_endpoint(self, event, items, rev: int) -> None:
        if items is not None:
            records = {r.endpoint_id: r for r in
                       (EndpointRecord.decode(v) for _, v, _ in items) if r.host != self.host_id}
            for ep_id in set(self.remote) - set(records):
                await self.drop_remote(ep_id)
            for rec in records.values():
                await self.add_remote(rec)
            return
        parts = keys.split_endpoint_key(event.key)
        if parts is None:
            return
        if event.value is None:
            await self.drop_remote(parts[1])
            return
        rec = EndpointRecord.decode(event.value)
        if rec.host != self.host_id:
            await self.add_remote(rec)

    async def add_remote(self, rec: EndpointRecord) -> None:
        if self.remote.get(rec.endpoint_id) == rec:
            return
        self.remote[rec.endpoint_id] = rec
        ips = tuple(a.split("/")[0] for a in (rec.ipv4, rec.ipv6) if a)
        if ips:
            await self.driver.set_peer(rec.network_id, rec.endpoint_id,
                                       Peer(rec.mac, ips, rec.vtep))
        self.refresh_names(rec.container_id)

    async def drop_remote(self, ep_id: str) -> None:
        rec = self.remote.pop(ep_id, None)
        if rec is None:
            return
        await self.driver.drop_peer(rec.network_id, ep_id)
        self.refresh_names(rec.container_id)
        await self.networks.release_if_dead(rec)

    def refresh_names(self, container_id: str) -> None:
        """Put (or take out) a remote container's names in the local DNS table."""
        records = self.engine.discovery.records
        networks = self.engine.state.networks
        mine = [r for r in self.remote.values()
                if r.container_id == container_id and r.network_id in networks]
        if mine:
            records.put(keys.remote_container(mine), networks)
        else:
            records.remove(container_id, networks)

    def refresh_network(self, net_id: str) -> None:
        for cid in {r.container_id for r in self.remote.values() if r.network_id == net_id}:
            self.refresh_names(cid)

    def remote_endpoints(self, net_id: str) -> list[EndpointRecord]:
        return [r for r in self.remote.values() if r.network_id == net_id]
