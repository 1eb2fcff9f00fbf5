"""A snapshot of networks, containers and their endpoints, and its JSON form.

The JSON is tether's own (not Docker's): `GET /tether/topology` serves it, `tether network
graph --format json` prints it, the topology page draws it. Field names are snake_case.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import TYPE_CHECKING, Any, Iterable, Mapping

if TYPE_CHECKING:  # the CLI reads the JSON only: it need not import the model (start-up)
    from tether.model import Container, Network

ICC_OPTION = "com.docker.network.bridge.enable_icc"


@dataclass(frozen=True)
class NetNode:
    """A network as the picture and `why` need it."""

    id: str
    name: str
    driver: str
    subnets: tuple[str, ...] = ()
    gateways: tuple[str, ...] = ()
    internal: bool = False
    icc: bool = True  # inter-container communication (bridge option enable_icc)
    scope: str = "local"
    labels: dict[str, str] = field(default_factory=dict)
    parent: str = ""  # macvlan/ipvlan: the host interface the network hangs off


@dataclass(frozen=True)
class EpNode:
    """A container's attachment to one network (addresses only while it runs)."""

    network_id: str
    ipv4: str = ""
    ipv6: str = ""
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class PortNode:
    """One published port: container_port/proto on host_ip:host_port."""

    container_port: int
    proto: str
    host_ip: str
    host_port: int


@dataclass(frozen=True)
class CtrNode:
    """A container: where it runs, its endpoints and published ports."""

    id: str
    name: str
    status: str
    host: str = ""
    network_mode: str = "default"
    endpoints: tuple[EpNode, ...] = ()
    ports: tuple[PortNode, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)

    @property
    def running(self) -> bool:
        return self.status == "running"

    def endpoint(self, network_id: str) -> EpNode | None:
        return next((e for e in self.endpoints if e.network_id == network_id), None)


@dataclass(frozen=True)
class Topology:
    networks: tuple[NetNode, ...] = ()
    containers: tuple[CtrNode, ...] = ()
    host: str = ""

    def network(self, ref: str) -> NetNode | None:
        """By name, full id or id prefix (names first, as users type them)."""
        return next((n for n in self.networks if n.name == ref), None) or next(
            (n for n in self.networks if ref and n.id.startswith(ref)), None)

    def container(self, ref: str) -> CtrNode | None:
        ref = ref.lstrip("/")
        return next((c for c in self.containers if c.name == ref), None) or next(
            (c for c in self.containers if ref and c.id.startswith(ref)), None)

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def from_json(data: Mapping[str, Any]) -> Topology:
    """Read back what `Topology.to_json` wrote."""
    nets = tuple(NetNode(**{**n, "subnets": tuple(n.get("subnets", ())),
                            "gateways": tuple(n.get("gateways", ()))})
                 for n in data.get("networks", ()))
    ctrs = tuple(CtrNode(**{
        **c,
        "endpoints": tuple(EpNode(**{**e, "aliases": tuple(e.get("aliases", ()))})
                           for e in c.get("endpoints", ())),
        "ports": tuple(PortNode(**p) for p in c.get("ports", ())),
    }) for c in data.get("containers", ()))
    return Topology(nets, ctrs, data.get("host", ""))


def from_model(networks: Iterable[Network], containers: Iterable[Container],
               host: str = "", remote: Iterable[tuple[str, Container]] = ()) -> Topology:
    """Build the snapshot from the engine's records (config-only networks left out);
    `remote` are (host, container) pairs of containers other hosts run (overlay), running
    by definition: their endpoints are published while they run."""
    nets = tuple(_net(n) for n in sorted(networks, key=lambda n: n.name) if not n.config_only)
    known = {n.id for n in nets}
    ctrs = [_ctr(c, known, host) for c in containers]
    ctrs += [replace(_ctr(c, known, where), status="running") for where, c in remote]
    return Topology(nets, tuple(sorted(ctrs, key=lambda c: (c.name, c.host))), host)


def _net(n: Network) -> NetNode:
    return NetNode(
        id=n.id, name=n.name, driver=n.driver,
        subnets=tuple(str(p.subnet) for p in n.pools),
        gateways=tuple(str(p.gateway) for p in n.pools if p.gateway is not None),
        internal=n.internal, icc=n.options.get(ICC_OPTION, "true").lower() != "false",
        scope=n.scope, labels=dict(n.labels), parent=n.options.get("parent", ""))


def _ctr(c: Container, known: set[str], host: str) -> CtrNode:
    eps = tuple(
        EpNode(network_id=net_id,
               ipv4=str(ep.ipv4.ip) if ep.ipv4 and ep.id else "",
               ipv6=str(ep.ipv6.ip) if ep.ipv6 and ep.id else "",
               aliases=tuple(dict.fromkeys((*ep.request.aliases, *ep.aliases))))
        for net_id, ep in c.endpoints.items() if net_id in known)
    ports = tuple(PortNode(p.container_port, p.proto, p.host_ip or "0.0.0.0", p.host_port)
                  for p in c.ports)
    return CtrNode(id=c.id, name=c.name, status=c.state.status, host=host,
                   network_mode=c.spec.network_mode, endpoints=eps, ports=ports,
                   labels=dict(c.spec.labels))
