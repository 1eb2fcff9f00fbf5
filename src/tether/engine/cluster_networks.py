"""Global (overlay) networks: created in etcd with compare-and-swap, mirrored on every host.

A global network lives only in the cluster store; each host keeps it in the engine's
in-memory state (never in its SQLite file) while the store says it exists. Its subnets come
from a global IPAM on the same store (an epoch compare-and-swap: two hosts creating networks
at once never get overlapping subnets), its VNI from a `vnis/<n>` key created with
expect_rev=0, its name from `names/networks/<name>` likewise.
"""

from __future__ import annotations

import ipaddress
import logging
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Sequence

from tether.drivers.overlay import VNI_OPTION
from tether.engine import cluster_records as keys
from tether.engine.networks import Networks
from tether.engine.rollback import Rollback
from tether.errors import CasFailed, Conflict, Forbidden, Unavailable
from tether.ipam.allocator import Ipam, address_prefix
from tether.model import Network, NetworkSpec
from tether.model.network import IPAddress, IPAMPool, IPNetwork
from tether.store.base import Delete, Put
from tether.store.codec import encode

if TYPE_CHECKING:
    from tether.engine.cluster import Cluster

log = logging.getLogger(__name__)

# Local bridges take 172.17-31/16 and 192.168/20s first: overlays start in 10.0.0.0/8 /24s,
# as Docker's global address space does (10.0.0.0/24 is the first overlay subnet).
LOCAL_RANGES = (ipaddress.ip_network("172.16.0.0/12"), ipaddress.ip_network("192.168.0.0/16"))


class GlobalNetworks:
    """Create, remove, mirror and forget overlay networks for one cluster agent."""

    def __init__(self, cluster: Cluster) -> None:
        self.cluster = cluster
        self.ipam = Ipam(cluster.store)
        # network id -> store revision of the newest change applied to it here (a create,
        # a remove, an event, a listing); a removed one stays until the store has caught up
        self.revisions: dict[str, int] = {}

    @property
    def state(self):
        return self.cluster.engine.state

    async def create(self, spec: NetworkSpec, options: dict[str, str],
                     host_prefixes: Sequence[IPNetwork]) -> Network:
        """Allocate subnets and a VNI, then record the network and its name in one txn."""
        net_id = secrets.token_hex(32)
        async with Rollback() as undo:
            pools = await self.ipam.allocate_pools(
                net_id, spec.pools, enable_ipv6=spec.enable_ipv6,
                host_prefixes=[*LOCAL_RANGES, *host_prefixes], need_gateway=True)
            undo.push(self.ipam.release_pools, net_id)
            vni = await self.allocate_vni(net_id)
            undo.push(self.cluster.store.delete, keys.VNIS + str(vni))
            net = replace(Networks.build(net_id, spec, {**options, VNI_OPTION: str(vni)}, pools),
                          scope="global")
            try:
                rev = await self.cluster.store.commit([
                    Put(keys.NETWORK_NAMES + net.name, net.id.encode(), expect_rev=0),
                    Put(keys.NETWORKS + net.id, encode(net), expect_rev=0),
                ])
            except CasFailed:
                raise Conflict(f"network with name {net.name} already exists") from None
        await self.mirror(net, rev)
        log.info("created overlay network %s (%s), VNI %d", net.name, net.id[:12], vni)
        return net

    async def allocate_vni(self, net_id: str) -> int:
        taken = {int(k[len(keys.VNIS):]) for k, _, _ in await self.cluster.store.list(keys.VNIS)}
        for _ in range(100):
            vni = keys.free_vni(taken)
            try:
                await self.cluster.store.put(keys.VNIS + str(vni), net_id.encode(),
                                             expect_rev=0)
                return vni
            except CasFailed:
                taken.add(vni)
        raise Unavailable("could not allocate a VXLAN id: the store kept changing")

    async def remove(self, net: Network) -> None:
        """Remove an overlay network no host has endpoints on; every host forgets it."""
        busy = await self.cluster.store.list(f"{keys.ENDPOINTS}{net.id}/")
        if busy:
            raise Forbidden(f"error while removing network: network {net.name} id {net.id} "
                            "has active endpoints")
        rev = await self.cluster.store.commit([
            Delete(keys.NETWORK_NAMES + net.name), Delete(keys.NETWORKS + net.id),
            Delete(keys.VNIS + net.options.get(VNI_OPTION, "")),
        ])
        await self.ipam.release_pools(net.id)
        await self.forget(net, rev)
        log.info("removed overlay network %s (%s)", net.name, net.id[:12])

    def newer(self, net_id: str, rev: int) -> bool:
        """Whether a change at `rev` is news here; if so it becomes the newest."""
        if self.revisions.get(net_id, 0) > rev:
            return False
        self.revisions[net_id] = rev
        return True

    def settled(self, rev: int, net_id: str | None = None) -> None:
        """The store has shown everything up to `rev` (for `net_id`, or for every network):
        removals that old need no remembering."""
        for nid in [net_id] if net_id is not None else list(self.revisions):
            if nid not in self.state.networks and self.revisions.get(nid, rev + 1) <= rev:
                del self.revisions[nid]

    async def mirror(self, net: Network, rev: int) -> None:
        """Show a global network on this host (idempotent) unless it changed here after
        `rev`; re-make its pair if local containers already use it (a daemon restart)."""
        state = self.state
        if not self.newer(net.id, rev) or state.networks.get(net.id) == net:
            return
        state.networks[net.id] = net
        state.network_ids.setdefault(net.name, net.id)
        self.cluster.engine.endpoints.ipam.global_ids.add(net.id)
        if any(ep.id for c in state.containers.values() if c.state.running
               for n, ep in c.endpoints.items() if n == net.id):
            await self.cluster.driver.ensure(net)
            for c in state.containers.values():
                if c.state.running and net.id in c.endpoints:
                    await self.cluster.engine.discovery.update(c)
        self.cluster.refresh_network(net.id)

    async def forget(self, net: Network, rev: int) -> None:
        """Take a global network off this host unless it changed here after `rev`."""
        if not self.newer(net.id, rev):
            return
        state = self.state
        state.networks.pop(net.id, None)
        if state.network_ids.get(net.name) == net.id:
            del state.network_ids[net.name]
        self.cluster.engine.endpoints.ipam.global_ids.discard(net.id)
        await self.cluster.driver.delete_network(net)

    async def release_if_dead(self, rec: keys.EndpointRecord) -> None:
        """A remote endpoint vanished: if its host is gone too (lease expired or revoked),
        free its address. Every host may do it; the delete is idempotent."""
        try:
            value, _ = await self.cluster.store.get(keys.HOSTS + rec.host)
            if value is None and rec.ipv4:
                await self.ipam.release_address(rec.network_id,
                                                ipaddress.ip_interface(rec.ipv4).ip)
        except Unavailable:
            pass

    async def reclaim(self, ep) -> None:
        """Hold a local endpoint's addresses again: the other hosts freed them if this
        host's lease expired while it was cut off (its containers kept them meanwhile)."""
        for addr in (ep.ipv4, ep.ipv6):
            if addr is None:
                continue
            key = address_prefix(ep.network_id) + str(addr.ip)
            value, _ = await self.cluster.store.get(key)
            if value is None:
                try:
                    await self.cluster.store.put(key, ep.id.encode(), expect_rev=0)
                    continue
                except CasFailed:
                    value, _ = await self.cluster.store.get(key)
            if value is not None and value.decode() != ep.id:
                log.error("address %s of endpoint %s was given to %s while this host was "
                          "away: two containers now share it", addr.ip, ep.id[:12],
                          value.decode()[:12])


class ScopedIpam:
    """The engine's IPAM: global networks' addresses in etcd, every other one's locally."""

    def __init__(self, local: Ipam, global_: Ipam | None) -> None:
        self.local = local
        self.global_ = global_
        self.global_ids: set[str] = set()

    def _for(self, net_id: str) -> Ipam:
        return self.global_ if net_id in self.global_ids and self.global_ else self.local

    async def allocate_pools(self, net_id: str, requests, **kwargs) -> tuple[IPAMPool, ...]:
        return await self.local.allocate_pools(net_id, requests, **kwargs)

    async def release_pools(self, net_id: str) -> None:
        await self._for(net_id).release_pools(net_id)

    async def allocate_address(self, net_id: str, pools, version: int, **kwargs):
        return await self._for(net_id).allocate_address(net_id, pools, version, **kwargs)

    async def release_address(self, net_id: str, address: IPAddress) -> None:
        await self._for(net_id).release_address(net_id, address)

    async def used(self, net_id: str) -> dict[str, str]:
        return await self._for(net_id).used(net_id)


GWBRIDGE = "docker_gwbridge"
GWBRIDGE_OPTIONS = {
    "com.docker.network.bridge.name": "tether_gwbridge",
    "com.docker.network.bridge.enable_icc": "false",
    "com.docker.network.bridge.enable_ip_masquerade": "true",
}


def needs_gateway(c, networks) -> bool:
    """Whether a container gets an endpoint on `docker_gwbridge` for egress, as in Docker:
    it is on a non-internal overlay and on no other network with a way out."""
    nets = [networks[n] for n in c.endpoints if n in networks]
    overlay = any(n.scope == "global" and not n.internal for n in nets)
    other_exit = any(n.scope != "global" and n.driver not in ("null", "host") and
                     not n.internal for n in nets)
    return overlay and not other_exit
