"""The overlay driver: per network and host, a bridge without addresses and a VXLAN port.

The pair is made when the first local endpoint joins (a host without endpoints on a network
carries none of its traffic) and removed with the network. Endpoints are veths on that bridge,
their MTU lowered by the 50 bytes of VXLAN over IPv4. Remote endpoints are programmed as peers
(FDB + neighbour entries) from the cluster store; the driver keeps the wanted peers of every
network, so a pair made later gets every peer known so far.

Isolation: the bridges hold no address on the host, so the host routes nothing between an
overlay and anything else; two overlays never share a bridge or a VNI.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass, replace

from tether.drivers.base import JoinInfo
from tether.drivers.bridge import _sandbox_addresses, veth_name
from tether.errors import InvalidArgument, Unavailable
from tether.kernel import links, netns, vxlan
from tether.model import Endpoint, Network, NetworkSpec

log = logging.getLogger(__name__)

VNI_OPTION = "com.docker.network.driver.overlay.vxlanid_list"
MTU_OPTION = "com.docker.network.driver.mtu"
VXLAN_OVERHEAD = 50  # outer Ethernet 14 + IPv4 20 + UDP 8 + VXLAN 8
DEFAULT_MTU = 1500 - VXLAN_OVERHEAD


@dataclass(frozen=True)
class Peer:
    """A remote endpoint as the data plane needs it."""

    mac: str
    ips: tuple[str, ...]
    vtep: str


def bridge_name(net_id: str) -> str:
    return "txo" + net_id[:12]


def vxlan_name(net_id: str) -> str:
    return "txv" + net_id[:12]


def vni_of(net: Network) -> int:
    return int(net.options[VNI_OPTION].split(",")[0])


def mtu_of(net: Network) -> int:
    return int(net.options.get(MTU_OPTION, DEFAULT_MTU))


class OverlayDriver:
    """Docker's `overlay` driver on VXLAN; the cluster agent supplies VNIs and peers."""

    name = "overlay"

    def __init__(self) -> None:
        self.local_address: str | None = None  # this host's VTEP, set by the cluster agent
        self.peers: dict[str, dict[str, Peer]] = {}  # net id -> endpoint id -> peer
        self.made: set[str] = set()  # networks whose pair exists on this host

    def validate(self, spec: NetworkSpec, existing: Collection[Network], *,
                 net_id: str = "") -> dict[str, str]:
        """Check the MTU option; the VNI is the cluster's to choose."""
        options = dict(spec.options)
        if MTU_OPTION in options:
            try:
                mtu = int(options[MTU_OPTION])
            except ValueError:
                raise InvalidArgument(f"invalid MTU {options[MTU_OPTION]!r}") from None
            if not 68 <= mtu <= 9000 - VXLAN_OVERHEAD:
                raise InvalidArgument(f"invalid MTU {mtu}: it must be 68..{9000 - VXLAN_OVERHEAD}")
        if "encrypted" in options:
            raise InvalidArgument("encrypted overlay networks are not supported: tether's "
                                  "VXLAN traffic is not encrypted (use an encrypted underlay)")
        if VNI_OPTION in options:
            raise InvalidArgument(f"{VNI_OPTION} is chosen by the cluster, not by the user")
        if spec.enable_ipv6 and not any(p.subnet is not None and p.subnet.version == 6
                                        for p in spec.pools):
            # local bridges take automatic IPv6 /64s from the same ULA /48 on every host
            raise InvalidArgument("an IPv6 overlay network needs an IPv6 --subnet")
        return options

    async def create_network(self, net: Network) -> None:
        """Nothing yet: the pair is made when the first local endpoint joins."""

    async def delete_network(self, net: Network) -> None:
        await links.remove_link(vxlan_name(net.id))
        await links.remove_link(bridge_name(net.id))
        self.made.discard(net.id)
        self.peers.pop(net.id, None)

    async def ensure(self, net: Network) -> None:
        """Make the network's bridge and VXLAN device here, and program every known peer."""
        if self.local_address is None:
            raise Unavailable("this daemon has no --cluster-advertise address for overlays")
        await vxlan.ensure_overlay_bridge(bridge_name(net.id), vxlan_name(net.id),
                                          vni=vni_of(net), local=self.local_address,
                                          mtu=mtu_of(net), ipv6=net.enable_ipv6)
        if net.id not in self.made:  # first use by this process: program from scratch
            self.made.add(net.id)
            await vxlan.flush_peers(vxlan_name(net.id))
            for peer in list(self.peers.get(net.id, {}).values()):
                await self._program(net.id, peer)

    async def join(self, net: Network, ep: Endpoint, info: JoinInfo) -> Endpoint:
        """A veth from the network's bridge into the sandbox, with the overlay's MTU."""
        await self.ensure(net)
        host = veth_name(ep.id)
        if ep.ipv6 is not None:
            await netns.enable_ipv6(info.sandbox_path)
        await links.create_veth(host, ep.ifname, info.sandbox_path, master=bridge_name(net.id),
                                mac=ep.mac or None, mtu=mtu_of(net), host_ipv6=False)
        try:
            await links.configure_interface(info.sandbox_path, ep.ifname,
                                            addresses=_sandbox_addresses(ep))
            if info.default_route4 and ep.gateway4 is not None and not net.internal:
                await links.add_default_route(info.sandbox_path, ep.gateway4)
        except BaseException:
            await links.remove_veth(host, ep.ifname, info.sandbox_path)
            raise
        return replace(ep, host_ifname=host)

    async def leave(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        await links.remove_veth(ep.host_ifname or veth_name(ep.id), ep.ifname, info.sandbox_path)

    async def release(self, net: Network, ep: Endpoint, info: JoinInfo) -> None:
        """Nothing: the veth goes with the sandbox, the pair stays for the network."""

    # ---- peers (called by the cluster agent) -------------------------------------------------

    async def set_peer(self, net_id: str, ep_id: str, peer: Peer) -> None:
        """Want `peer` on the network; program it now if the pair exists here."""
        old = self.peers.setdefault(net_id, {}).get(ep_id)
        self.peers[net_id][ep_id] = peer
        if net_id in self.made and old != peer:
            if old is not None:
                await self._unprogram(net_id, old)
            await self._program(net_id, peer)

    async def drop_peer(self, net_id: str, ep_id: str) -> None:
        old = self.peers.get(net_id, {}).pop(ep_id, None)
        if old is not None and net_id in self.made:
            await self._unprogram(net_id, old)

    async def _program(self, net_id: str, peer: Peer) -> None:
        try:
            await vxlan.add_peer(vxlan_name(net_id), mac=peer.mac, ips=peer.ips, vtep=peer.vtep)
        except Exception:  # noqa: BLE001 - one bad peer must not stop the others
            log.exception("programming peer %s on %s failed", peer.mac, net_id[:12])

    async def _unprogram(self, net_id: str, peer: Peer) -> None:
        try:
            await vxlan.remove_peer(vxlan_name(net_id), mac=peer.mac, ips=peer.ips,
                                    vtep=peer.vtep)
        except Exception:  # noqa: BLE001
            log.exception("removing peer %s on %s failed", peer.mac, net_id[:12])
