"""The nftables firewall: turns networks into `rules` scripts and applies them atomically."""

from __future__ import annotations

import asyncio
import logging
import os

from tether.drivers.bridge_options import BridgeOptions
from tether.firewall import batches, portrules, rules, spoofrules
from tether.firewall.portrules import Mapping
from tether.firewall.rules import NetRules
from tether.kernel import nft
from tether.kernel.nfnl import Batch
from tether.model import Endpoint, Network

FIREWALLED_DRIVERS = ("bridge",)
# drivers whose endpoints are veth ports of a local bridge: anti-spoofing applies to them
SPOOF_CHECKED_DRIVERS = ("bridge", "overlay")
log = logging.getLogger(__name__)


async def apply(batch: Batch, script: str) -> None:
    """Apply a change as its nfnetlink batch (constant cost), or as its script when the
    batch is refused (e.g. the skeleton is gone: the script re-declares it) or turned off
    (TETHER_NFT_BATCH=0, for comparisons). Both are one atomic transaction."""
    if batch.messages and os.environ.get("TETHER_NFT_BATCH") != "0":
        try:
            await asyncio.to_thread(batch.send)
            return
        except OSError as exc:
            log.debug("nfnetlink batch refused (%s); applying the script instead", exc)
    if script:
        await nft.apply(script)


def net_rules(net: Network) -> NetRules | None:
    """What the firewall must know of `net`; None for drivers tether does not firewall."""
    if net.driver not in FIREWALLED_DRIVERS:
        return None
    opts = BridgeOptions.parse(net.options)
    return NetRules(
        key=net.id[:12],
        bridge=opts.kernel_name(net.id),
        subnets=tuple(p.subnet for p in net.pools),
        internal=net.internal,
        icc=opts.enable_icc,
        masquerade=opts.enable_ip_masquerade,
    )


def nets_of(networks: list[Network]) -> list[NetRules]:
    return [r for r in map(net_rules, networks) if r is not None]


def ports_of(endpoints: list[tuple[Network, Endpoint]]) -> list[tuple[NetRules, str]]:
    return [(r, ep.host_ifname) for net, ep in endpoints
            if ep.host_ifname and (r := net_rules(net)) is not None]


def identities(endpoints: list[tuple[Network, Endpoint]]) -> list[spoofrules.PortIdentity]:
    return [who for net, ep in endpoints
            if net.driver in SPOOF_CHECKED_DRIVERS and (who := spoofrules.identity_of(ep))]


class NftFirewall:
    """Keeps `table inet <table>` and `table bridge <table>` in step with tether's networks.

    Side-by-side daemons in one netns use different table names and never see each other's
    rules. Each method is one atomic transaction of constant size and cost: an nfnetlink
    batch (firewall.batches), or its `rules` script as the fallback.
    """

    def __init__(self, table: str = "tether") -> None:
        self.table = table

    async def setup(
        self, networks: list[Network], endpoints: list[tuple[Network, Endpoint]],
        published: tuple[Mapping, ...] = (),
    ) -> None:
        """Replace both tables with the full ruleset for this state (published ports of the
        running containers included), atomically."""
        await nft.apply(self._ruleset(nets_of(networks), endpoints, published))

    async def restore(
        self, networks: list[Network], endpoints: list[tuple[Network, Endpoint]],
        published: tuple[Mapping, ...] = (),
    ) -> None:
        """Put back whatever is missing of the full ruleset, deleting nothing (someone else
        flushed it; a change the engine makes meanwhile must survive)."""
        await nft.apply(self._ruleset(nets_of(networks), endpoints, published, replace=False))

    def _ruleset(self, nets, endpoints, published, replace: bool = True) -> str:
        script = rules.full_ruleset(self.table, nets, ports_of(endpoints), replace=replace)
        lines = portrules.all_elements(self.table, published) + spoofrules.skeleton(self.table)
        for who in identities(endpoints):
            lines += spoofrules.element_lines(self.table, who, "add")
        return script + "\n".join(lines) + "\n"

    async def publish(self, mappings: tuple[Mapping, ...]) -> None:
        """Add a container's published ports: one transaction for all of them."""
        await apply(batches.publish(self.table, mappings),
                    portrules.publish(self.table, mappings))

    async def unpublish(self, mappings: tuple[Mapping, ...]) -> None:
        await apply(batches.unpublish(self.table, mappings),
                    portrules.unpublish(self.table, mappings))

    async def add_network(self, net: Network) -> None:
        r = net_rules(net)
        if r is not None:
            await apply(batches.add_network(self.table, r), rules.add_network(self.table, r))

    async def remove_network(self, net: Network) -> None:
        r = net_rules(net)
        if r is not None:
            await apply(batches.remove_network(self.table, r),
                        rules.remove_network(self.table, r))

    async def add_endpoint(self, net: Network, ep: Endpoint) -> None:
        """The endpoint's port joins anti-spoofing (and `no_icc_ports` when icc=false); the
        engine calls this before the veth exists, so no frame escapes the checks."""
        await self._endpoint(net, ep, "add")

    async def remove_endpoint(self, net: Network, ep: Endpoint) -> None:
        await self._endpoint(net, ep, "delete")

    async def _endpoint(self, net: Network, ep: Endpoint, verb: str) -> None:
        r = net_rules(net)
        if not ep.host_ifname or (r is None and net.driver not in SPOOF_CHECKED_DRIVERS):
            return
        batch, script = Batch(), ""
        if r is not None:
            batch = batches.endpoint(self.table, r, ep.host_ifname, verb)
            script = (rules.add_endpoint if verb == "add" else rules.remove_endpoint)(
                self.table, r, ep.host_ifname)
        who = spoofrules.identity_of(ep)
        if who is not None:
            spoofrules.batch(self.table, who, verb, batch)
            script += (spoofrules.add_script if verb == "add" else spoofrules.remove_script)(
                self.table, who)
        await apply(batch, script)

    async def teardown(self) -> None:
        await nft.apply(rules.teardown(self.table))


class NoFirewall:
    """A firewall that does nothing: for `--no-firewall` daemons and driver-only tests."""

    async def setup(
        self, networks: list[Network], endpoints: list[tuple[Network, Endpoint]],
        published: tuple[Mapping, ...] = (),
    ) -> None:
        return None

    async def restore(
        self, networks: list[Network], endpoints: list[tuple[Network, Endpoint]],
        published: tuple[Mapping, ...] = (),
    ) -> None:
        return None

    async def publish(self, mappings: tuple[Mapping, ...]) -> None:
        return None

    async def unpublish(self, mappings: tuple[Mapping, ...]) -> None:
        return None

    async def add_network(self, net: Network) -> None:
        return None

    async def remove_network(self, net: Network) -> None:
        return None

    async def add_endpoint(self, net: Network, ep: Endpoint) -> None:
        return None

    async def remove_endpoint(self, net: Network, ep: Endpoint) -> None:
        return None

    async def teardown(self) -> None:
        return None
