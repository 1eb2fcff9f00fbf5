"""Network lifecycle: create, remove, prune, and the predefined bridge/host/none networks.

Create is validate-then-act: driver and IPAM validate everything, then IPAM allocates, the
driver makes its kernel objects, the firewall learns the network and the store records it;
each step pushes its undo, so a failure anywhere leaves nothing behind.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import replace
from typing import TYPE_CHECKING, Iterable, Sequence

from tether.drivers.base import Driver
from tether.drivers.bridge_options import BridgeOptions
from tether.drivers.macvlan import made_links
from tether.engine.clock import now_rfc3339, parse_rfc3339
from tether.engine.hostaccess import reserve_host_address
from tether.engine.marks import Marks
from tether.engine.netuse import NetworkUse
from tether.engine.refs import lookup
from tether.engine.rollback import Rollback
from tether.engine.state import State
from tether.errors import Conflict, Forbidden, InvalidArgument, NotFound, TetherError, Unavailable
from tether.firewall.base import Firewall
from tether.ipam.allocator import Ipam
from tether.ipam.pools import validate_requests
from tether.model import IPAMPool, Network, NetworkSpec, PoolRequest
from tether.model.network import IPNetwork

if TYPE_CHECKING:
    from tether.kernel.rtwatch import HostPrefixes

log = logging.getLogger(__name__)

NETWORK_NAME_RE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")
DEFAULT_BRIDGE = "tether0"


def default_bridge_options(bridge_name: str) -> dict[str, str]:
    """The options of the predefined `bridge` network, as Docker shows them for docker0."""
    return {
        "com.docker.network.bridge.default_bridge": "true",
        "com.docker.network.bridge.enable_icc": "true",
        "com.docker.network.bridge.enable_ip_masquerade": "true",
        "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
        "com.docker.network.bridge.name": bridge_name,
        "com.docker.network.driver.mtu": "1500",
    }


def kernel_links(net: Network) -> tuple[str, ...]:
    """The host links a network's driver makes: a bridge network's bridge; a macvlan or
    ipvlan network's stub parent and host-side interface (see `drivers.macvlan`)."""
    if net.driver == "bridge":
        return (BridgeOptions.parse(net.options).kernel_name(net.id),)
    return made_links(net)


PREDEFINED = (("none", "null"), ("host", "host"), ("bridge", "bridge"))


class Networks:
    """Owns network records; asks IPAM, drivers and the firewall to do their parts."""

    def __init__(
        self,
        state: State,
        ipam: Ipam,
        drivers: dict[str, Driver],
        firewall: Firewall,
        host_prefixes: HostPrefixes,
        default_bridge: str = DEFAULT_BRIDGE,
    ) -> None:
        self.state = state
        self.ipam = ipam
        self.drivers = drivers
        self.firewall = firewall
        self.host_prefixes = host_prefixes
        self.default_bridge = default_bridge
        self.use = NetworkUse(state.networks)
        self._links: set[str] | None = None  # own_links(), built once, then kept in step
        self.cluster = None  # engine.cluster.Cluster: overlay networks live in its store

    def get(self, ref: str) -> Network:
        """Resolve a name, id or unique id prefix; NotFound with Docker's sentence."""
        return lookup(ref, self.state.networks, self.state.network_ids, kind="network",
                      not_found="network {ref} not found")

    def driver(self, name: str) -> Driver:
        try:
            return self.drivers[name]
        except KeyError:
            raise NotFound(f'plugin "{name}" not found') from None

    async def ensure_predefined(self) -> None:
        """Create none, host and bridge on first start; re-make the default bridge's objects."""
        by_name = {n.name: n for n in self.state.networks.values()}
        for name, driver in PREDEFINED:
            if name in by_name:
                continue
            options = default_bridge_options(self.default_bridge) if name == "bridge" else {}
            await self.create(NetworkSpec(name=name, driver=driver, options=options),
                              predefined=True)

    async def restore(self) -> None:
        """Re-make every network's kernel objects and the whole firewall (daemon start)."""
        for net in self.state.networks.values():
            try:
                await self.driver(net.driver).create_network(net)
            except TetherError as exc:  # e.g. a macvlan parent that is gone: start anyway
                log.warning("cannot restore network %s: %s", net.name, exc)

    async def create(self, spec: NetworkSpec, *, predefined: bool = False) -> Network:
        """Validate, allocate, plumb, firewall and record a network, or undo it all."""
        self.validate_name(spec, predefined)
        if spec.scope == "swarm":
            raise Forbidden("cannot create a swarm scoped network when swarm is not active")
        if spec.config_only:
            return await self.create_config_only(spec)
        if spec.config_from:
            spec = self.from_config(spec)
        driver = self.driver(spec.driver)
        if spec.ipam_driver not in ("default", ""):
            raise NotFound(f'plugin "{spec.ipam_driver}" not found')
        validate_requests(spec.pools, spec.enable_ipv6)
        marks = Marks()
        net_id = secrets.token_hex(32)
        options = driver.validate(spec, self.state.networks.values(),  # a view: no copy
                                  net_id=net_id)
        marks.mark("validate")
        if spec.driver == "overlay":
            return await self.create_global(spec, options)
        async with Rollback() as undo:
            pools = await self.ipam.allocate_pools(
                net_id, spec.pools, enable_ipv6=spec.enable_ipv6,
                host_prefixes=[*self.foreign_prefixes(), *self.global_subnets()]
                if spec.driver == "bridge" else [],
                need_gateway=spec.driver in ("bridge", "macvlan", "ipvlan", "overlay"),
                default_bridge=predefined and spec.name == "bridge",
            ) if spec.driver not in ("host", "null") else ()
            undo.push(self.ipam.release_pools, net_id)
            marks.mark("ipam")
            net = await reserve_host_address(self.ipam, self.build(net_id, spec, options, pools))
            for link in kernel_links(net):
                await self.state.own_link(link)
                undo.push(self.state.disown_link, link)
            await driver.create_network(net)
            undo.push(driver.delete_network, net)
            marks.mark("driver")
            await self.firewall.add_network(net)
            undo.push(self.firewall.remove_network, net)
            marks.mark("firewall")
            await self.state.add_network(net)
        self.own(kernel_links(net))
        marks.mark("store")
        log.info("created network %s (%s)", net.name, net.id[:12])
        log.debug("create of network %s took (ms) %s", net.id[:12], marks)
        return net

    async def create_global(self, spec: NetworkSpec, options: dict[str, str]) -> Network:
        """An overlay network: made in the cluster store, shown on every host."""
        if self.cluster is None:
            raise Unavailable("overlay networks need a cluster store: start tetherd with "
                              "--cluster-store etcd://HOST:PORT and --cluster-advertise IP")
        return await self.cluster.networks.create(spec, options, self.foreign_prefixes())

    def global_subnets(self) -> list[IPNetwork]:
        """Overlay subnets: a local bridge must not take one (the host holds no address
        on them, so the host's own prefixes do not show them). Without a cluster there are
        none, and a create does not walk every network to find that out."""
        if self.cluster is None:
            return []
        return [p.subnet for n in self.state.networks.values() if n.scope == "global"
                for p in n.pools]

    async def create_config_only(self, spec: NetworkSpec) -> Network:
        """A config-only network is a template: recorded, never allocated or plumbed."""
        validate_requests(spec.pools, spec.enable_ipv6)
        pools = tuple(
            IPAMPool(subnet=r.subnet, gateway=r.gateway, ip_range=r.ip_range,
                     aux_addresses=r.aux_addresses, show_gateway=r.gateway is not None,
                     user_subnet=True)
            for r in spec.pools if r.subnet is not None
        )
        net = self.build(secrets.token_hex(32), replace(spec, driver="null"), dict(spec.options),
                         pools)
        await self.state.add_network(net)
        return net

    def from_config(self, spec: NetworkSpec) -> NetworkSpec:
        """Take IPAM, options and flags from a config-only network (`--config-from`)."""
        source = self.get(spec.config_from)
        if not source.config_only:
            raise InvalidArgument(f"{source.name} is not a config-only network")
        requests = tuple(
            PoolRequest(subnet=p.subnet, ip_range=p.ip_range,
                        gateway=p.gateway if p.show_gateway else None,
                        aux_addresses=p.aux_addresses)
            for p in source.pools
        )
        return replace(spec, pools=requests, options={**source.options, **spec.options},
                       enable_ipv6=source.enable_ipv6, internal=source.internal,
                       attachable=source.attachable, ipam_options=source.ipam_options,
                       config_from=source.name)

    def validate_name(self, spec: NetworkSpec, predefined: bool) -> None:
        if not spec.name:
            raise InvalidArgument("network name is required")
        if not NETWORK_NAME_RE.match(spec.name) or len(spec.name) > 255:
            raise InvalidArgument(
                f"invalid network name {spec.name!r}: only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
            )
        if not predefined and spec.driver in ("host", "null") and not spec.config_only:
            raise Forbidden(
                f"only one instance of \"{spec.driver}\" network is allowed"
            )
        if spec.name in self.state.network_ids:
            raise Conflict(f"network with name {spec.name} already exists")

    @staticmethod
    def build(net_id: str, spec: NetworkSpec, options: dict[str, str], pools) -> Network:
        return Network(
            id=net_id, name=spec.name, driver=spec.driver, created=now_rfc3339(),
            scope="local", ipam_driver=spec.ipam_driver or "default",
            ipam_options=spec.ipam_options, pools=tuple(pools), enable_ipv6=spec.enable_ipv6,
            internal=spec.internal, attachable=spec.attachable, ingress=spec.ingress,
            config_only=spec.config_only, config_from=spec.config_from,
            options=options, labels=dict(spec.labels),
        )

    def own_links(self) -> set[str]:
        """Names of the host links this daemon's networks own (the live set: do not change
        it). Built from the records once, then kept by create and remove (`own`, `disown`),
        so a create does not walk every network; the host-prefix watcher is told the same."""
        if self._links is None:
            self._links = {link for n in self.state.networks.values() for link in kernel_links(n)}
            self.host_prefixes.own(self._links)
        return self._links

    def own(self, links: Iterable[str]) -> None:
        links = tuple(links)
        self.own_links().update(links)
        self.host_prefixes.own(links)

    def disown(self, links: Iterable[str]) -> None:
        links = tuple(links)
        self.own_links().difference_update(links)
        self.host_prefixes.disown(links)

    def foreign_prefixes(self) -> list[IPNetwork]:
        """The host's prefixes but those of this daemon's own links (IPAM knows their
        subnets): other daemons' bridges and leftovers count, tombstones do not."""
        self.own_links()  # the first call tells the watcher what the records own
        return self.host_prefixes.foreign_prefixes()

    def in_use(self, net: Network) -> bool:
        """Whether any container holds an endpoint with an address (running) on `net`."""
        return any(
            net.id in c.endpoints and c.state.running for c in self.state.containers.values()
        )

    async def remove(self, ref: str) -> None:
        """Remove a user network that no running container uses."""
        net = self.get(ref)
        if net.builtin:
            raise Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
        if self.in_use(net):
            raise Forbidden(
                f"error while removing network: network {net.name} id {net.id} has active endpoints"
            )
        with self.use.removal(net.name, net.id):
            await self.remove_unused(net)

    async def remove_unused(self, net: Network) -> None:
        if net.scope == "global" and self.cluster is not None:
            await self.cluster.networks.remove(net)
            return
        marks = Marks()
        await self.state.remove_network(net)
        self.disown(kernel_links(net))
        marks.mark("store")
        await self.firewall.remove_network(net)
        marks.mark("firewall")
        await self.driver(net.driver).delete_network(net)
        marks.mark("driver")
        for link in kernel_links(net):
            await self.state.disown_link(link)
        await self.ipam.release_pools(net.id)
        marks.mark("ipam")
        log.info("removed network %s (%s)", net.name, net.id[:12])
        log.debug("removal of network %s took (ms) %s", net.id[:12], marks)

    async def prune(self, labels: Sequence[str], until: float | None) -> list[str]:
        """Remove every user network without running containers that matches the filters."""
        removed = []
        for net in sorted(self.state.networks.values(), key=lambda n: n.name):
            if net.builtin or self.in_use(net) or not labels_match(net.labels, labels):
                continue
            if until is not None and parse_rfc3339(net.created) >= until:
                continue
            try:
                await self.remove(net.id)
            except Forbidden:
                if net.scope == "global":  # another host's containers use it: not unused
                    continue
                raise
            removed.append(net.name)
        return removed


def labels_match(labels: dict[str, str], wanted: Sequence[str]) -> bool:
    """Docker's label filter: every "key" must be present, every "key=value" must match;
    a leading "!" negates (as in `label!=...`, which the API sends as "!key=value")."""
    for item in wanted:
        negate = item.startswith("!")
        key, sep, value = item.lstrip("!").partition("=")
        hit = key in labels and (not sep or labels[key] == value)
        if hit == negate:
            return False
    return True
