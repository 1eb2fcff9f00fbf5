"""Republishing after an outage keeps exactly this host's live endpoints in the store,
including one whose container is still starting (published, not yet running)."""

from __future__ import annotations

import asyncio
import ipaddress
from dataclasses import replace
from types import SimpleNamespace

from tether.engine import cluster_records as keys
from tether.engine.cluster import Cluster
from tether.model import Container, ContainerSpec, Endpoint, Network
from tether.model.container import ContainerState
from tether.store.memory import MemoryStore

NET = Network(id="n" * 64, name="ov", driver="overlay", created="", scope="global")


class LeasedStore(MemoryStore):
    """MemoryStore taking etcd's `lease` argument (leases do not matter here)."""

    async def put(self, key, value, *, expect_rev=None, lease=0):
        return await super().put(key, value, expect_rev=expect_rev)

    async def list_at(self, prefix):
        return await self.list(prefix), self._rev


def container(name: str, ip: str, running: bool) -> Container:
    cid = name * 64
    ep = Endpoint(id="e" + cid[1:], network_id=NET.id, container_id=cid, ifname="eth0",
                  mac="02:42:0a:00:00:02", ipv4=ipaddress.IPv4Interface(ip))
    return Container(id=cid, name=name, created="", spec=ContainerSpec(image="x"), image_id="",
                     path="", args=(), env=(), hostname=name, endpoints={NET.id: ep},
                     state=ContainerState(status="running" if running else "created"))


def cluster_with(*containers: Container) -> Cluster:
    cluster = Cluster(LeasedStore(), "10.77.0.11")
    cluster.host_id, cluster.lease = "host-a", 1
    state = SimpleNamespace(containers={c.id: c for c in containers}, networks={NET.id: NET})
    cluster.engine = SimpleNamespace(state=state)
    return cluster


async def endpoint_ids(cluster: Cluster) -> set[str]:
    return {keys.EndpointRecord.decode(v).endpoint_id
            for _, v, _ in await cluster.store.list(keys.ENDPOINTS)}


def test_a_starting_containers_endpoint_survives_a_republish():
    async def main():
        running = container("a", "10.0.0.2/24", running=True)
        starting = container("b", "10.0.0.3/24", running=False)  # plumbed, runc not done
        cluster = cluster_with(running, starting)
        for c in (running, starting):
            await cluster.publish(c, c.endpoints[NET.id])
        await cluster.republish()  # the store came back while b was starting
        assert await endpoint_ids(cluster) == {running.endpoints[NET.id].id,
                                               starting.endpoints[NET.id].id}
    asyncio.run(main())


def test_republish_deletes_withdrawn_and_unknown_endpoints_and_puts_missing_ones():
    async def main():
        gone = container("c", "10.0.0.4/24", running=False)
        live = container("d", "10.0.0.5/24", running=True)
        cluster = cluster_with(gone, live)
        await cluster.publish(gone, gone.endpoints[NET.id])
        stale = replace(gone.endpoints[NET.id], id="f" * 64)  # put before a restart, say
        await cluster._put(gone, stale)
        await cluster.withdraw(gone.endpoints[NET.id])
        await cluster.store.put(keys.endpoint_key(NET.id, "f" * 64),
                                keys.record_of("host-a", "x", gone, stale).encode())
        await cluster.republish()  # live was never put: its lease expired meanwhile
        assert await endpoint_ids(cluster) == {live.endpoints[NET.id].id}
    asyncio.run(main())


class Overlay:
    """The overlay driver's part in forgetting a network: records which were deleted."""

    def __init__(self) -> None:
        self.deleted: list[str] = []

    async def delete_network(self, net: Network) -> None:
        self.deleted.append(net.name)


def cluster_with_networks() -> tuple[Cluster, Overlay]:
    cluster = cluster_with()
    overlay = Overlay()
    cluster.engine.state.networks.clear()
    cluster.engine.state.network_ids = {}
    cluster.engine.endpoints = SimpleNamespace(ipam=SimpleNamespace(global_ids=set()))
    cluster.engine.networks = SimpleNamespace(drivers={"overlay": overlay})
    return cluster, overlay


def test_a_listing_older_than_this_hosts_create_or_remove_changes_nothing():
    from tether.model import NetworkSpec

    async def main():
        cluster, overlay = cluster_with_networks()
        state, nets = cluster.engine.state, cluster.networks
        before, rev0 = await cluster.store.list_at(keys.NETWORKS)
        made = await nets.create(NetworkSpec(name="made", driver="overlay"), {}, [])
        await cluster.on_network(None, before, rev0)  # the follow loop's listing lands late
        assert made.id in state.networks and overlay.deleted == []

        gone = await nets.create(NetworkSpec(name="gone", driver="overlay"), {}, [])
        listing, rev1 = await cluster.store.list_at(keys.NETWORKS)
        await nets.remove(gone)
        removed_at = cluster.store._rev
        await cluster.on_network(None, listing, rev1)
        assert gone.id not in state.networks and set(state.network_ids) == {"made"}

        # the watch then brings the delete: nothing is left to remember about `gone`
        deleted = keys.NETWORKS + gone.id
        await cluster.on_network(SimpleNamespace(key=deleted, value=None), None, removed_at)
        assert set(nets.revisions) == {made.id}
    asyncio.run(main())
