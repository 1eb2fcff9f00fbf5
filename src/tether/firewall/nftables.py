"""The nftables firewall: turns networks into `rules` scripts and applies them atomically."""

from __future__ import annotations

from tether.drivers.bridge_options import BridgeOptions
from tether.firewall import rules
from tether.firewall.rules import NetRules
from tether.kernel import nft
from tether.model import Endpoint, Network

FIREWALLED_DRIVERS = ("bridge",)


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


class NftFirewall:
    """Keeps `table inet <table>` and `table bridge <table>` in step with tether's networks.

    Side-by-side daemons in one netns use different table names and never see each other's
    rules. Each method is one `nft -f` transaction of constant size.
    """

    def __init__(self, table: str = "tether") -> None:
        self.table = table

    async def setup(
        self, networks: list[Network], endpoints: list[tuple[Network, Endpoint]]
    ) -> None:
        """Replace both tables with the full ruleset for this state, atomically."""
        nets = [r for r in map(net_rules, networks) if r is not None]
        ports = [
            (r, ep.host_ifname)
            for net, ep in endpoints
            if ep.host_ifname and (r := net_rules(net)) is not None
        ]
        await nft.apply(rules.full_ruleset(self.table, nets, ports))

    async def add_network(self, net: Network) -> None:
        r = net_rules(net)
        if r is not None:
            await nft.apply(rules.add_network(self.table, r))

    async def remove_network(self, net: Network) -> None:
        r = net_rules(net)
        if r is not None:
            await nft.apply(rules.remove_network(self.table, r))

    async def add_endpoint(self, net: Network, ep: Endpoint) -> None:
        r = net_rules(net)
        if r is not None and ep.host_ifname:
            script = rules.add_endpoint(self.table, r, ep.host_ifname)
            if script:
                await nft.apply(script)

    async def remove_endpoint(self, net: Network, ep: Endpoint) -> None:
        r = net_rules(net)
        if r is not None and ep.host_ifname:
            script = rules.remove_endpoint(self.table, r, ep.host_ifname)
            if script:
                await nft.apply(script)

    async def teardown(self) -> None:
        await nft.apply(rules.teardown(self.table))


class NoFirewall:
    """A firewall that does nothing: for `--no-firewall` daemons and driver-only tests."""

    async def setup(
        self, networks: list[Network], endpoints: list[tuple[Network, Endpoint]]
    ) -> None:
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
