"""Whether container A can reach container B, and why: a pure function of the topology.

The rules are Docker's: containers on a common network reach each other on every port (no
publishing needed) unless the network turns inter-container traffic off; networks are
isolated from each other, so without a common network the only way is a port B publishes
on the host, reached through the host's address; internal networks let nothing out. The
verdict names the packet `--probe` should send to check it (`Target`).
"""

from __future__ import annotations

from dataclasses import dataclass

from tether.errors import NotFound
from tether.netview.topology import CtrNode, NetNode, Topology

UNROUTED = ("null", "host")
LOOPBACK = ("127.0.0.1", "::1")


@dataclass(frozen=True)
class Target:
    """Where a probe from A goes: address, port (None: ICMP echo) and protocol."""

    address: str
    port: int | None
    proto: str


@dataclass(frozen=True)
class Verdict:
    reachable: bool
    reason: str  # shared-network, published-port, same-container, host-network, not-running,
    #              no-network, icc-disabled, internal, no-host-path, loopback-only,
    #              port-not-published, no-common-network
    explanation: str
    network: str = ""  # the network the traffic uses (or the one that blocks it)
    target: Target | None = None


def explain(topo: Topology, a_ref: str, b_ref: str, port: int | None = None,
            proto: str = "tcp") -> Verdict:
    """Explain reachability from container `a_ref` to `b_ref` (on `port/proto`, or any).

    Raises:
        NotFound: either container is unknown.
    """
    a, b = _find(topo, a_ref), _find(topo, b_ref)
    a_net = _namespace_owner(topo, a)
    for who in (a, b):
        if not who.running:
            return Verdict(False, "not-running", f"{who.name} is not running ({who.status}).")
    if a_net.id == _namespace_owner(topo, b).id:
        return Verdict(True, "same-container",
                       f"{a.name} and {b.name} share one network namespace: "
                       "they talk over loopback.", target=Target("127.0.0.1", port, proto))
    if b.network_mode == "host" or a_net.network_mode == "host":
        return _host_mode(topo, a_net, b, port, proto)
    if not _nets(topo, a_net):
        return Verdict(False, "no-network", f"{a.name} has no network to send from "
                       f"(network mode {a_net.network_mode}).")
    return _shared(topo, a_net, b, port, proto) or _through_host(topo, a_net, b, port, proto)


def _find(topo: Topology, ref: str) -> CtrNode:
    c = topo.container(ref)
    if c is None:
        raise NotFound(f"No such container: {ref}")
    return c


def _namespace_owner(topo: Topology, c: CtrNode) -> CtrNode:
    """`--network container:X` shares X's namespace: X's endpoints are its endpoints."""
    if c.network_mode.startswith("container:"):
        owner = topo.container(c.network_mode.partition(":")[2])
        return owner or c
    return c


def _nets(topo: Topology, c: CtrNode) -> list[NetNode]:
    return [n for n in topo.networks if c.endpoint(n.id) and n.driver not in UNROUTED]


def _address(c: CtrNode, net: NetNode) -> str:
    ep = c.endpoint(net.id)
    return (ep.ipv4 or ep.ipv6) if ep else ""


def _port_text(port: int | None, proto: str) -> str:
    return f"port {port}/{proto}" if port else "any port"


def _shared(topo: Topology, a: CtrNode, b: CtrNode, port: int | None,
            proto: str) -> Verdict | None:
    shared = [n for n in _nets(topo, a) if b.endpoint(n.id)]
    if not shared:
        return None
    open_nets = [n for n in shared if n.icc]
    if not open_nets:
        net = shared[0]
        return Verdict(False, "icc-disabled",
                       f"{a.name} and {b.name} share network {net.name}, but it has "
                       "inter-container communication turned off (enable_icc=false).",
                       net.name, Target(_address(b, net), port, proto))
    net = open_nets[0]
    addr, ep = _address(b, net), b.endpoint(net.id)
    names = ", ".join(ep.aliases) if ep and ep.aliases else b.name
    kind = f"{net.driver}, internal" if net.internal else net.driver
    text = (f"{a.name} and {b.name} share network {net.name} ({kind}): {a.name} reaches "
            f"{b.name} at {addr} (DNS: {names}) on {_port_text(port, proto)}")
    if port:
        text += "; a shared network needs no published port"
    return Verdict(True, "shared-network", text + ".", net.name, Target(addr, port, proto))


def _gateway(topo: Topology, a: CtrNode) -> tuple[NetNode | None, str]:
    """The first non-internal bridge of `a` and its gateway: the host's address for it
    (overlay containers have one too: docker_gwbridge). A macvlan network's gateway is a
    router outside, and macvlan children cannot reach their own host's parent link."""
    for net in _nets(topo, a):
        if net.driver == "bridge" and not net.internal and net.gateways:
            return net, net.gateways[0]
    return None, ""


def _through_host(topo: Topology, a: CtrNode, b: CtrNode, port: int | None,
                  proto: str) -> Verdict:
    a_names = ", ".join(n.name for n in _nets(topo, a))
    b_names = ", ".join(n.name for n in _nets(topo, b)) or "no network"
    apart = f"{a.name} ({a_names}) and {b.name} ({b_names}) share no network"
    b_target = next((Target(_address(b, n), port, proto) for n in _nets(topo, b)
                     if _address(b, n)), None)
    way_out, gateway = _gateway(topo, a)
    published = [p for p in b.ports if port and p.container_port == port and p.proto == proto]
    if way_out is None and published and not all(n.internal for n in _nets(topo, a)):
        kinds = ", ".join(f"{n.name} ({n.driver})" for n in _nets(topo, a))
        return Verdict(False, "no-host-path",
                       f"{apart}, and {a.name}'s networks {kinds} do not pass through this "
                       "host, so it cannot reach ports published here.", target=b_target)
    if way_out is None:
        inner = ", ".join(n.name for n in _nets(topo, a) if n.internal)
        return Verdict(False, "internal",
                       f"{apart}, and {a.name} is only on internal network(s) {inner}: "
                       "nothing leaves an internal network, published ports included.",
                       inner, b_target)
    if published:
        return _published(a, b, published, gateway, way_out, apart, proto)
    if port:
        return Verdict(False, "port-not-published",
                       f"{apart}, and {b.name} does not publish {port}/{proto} on the host; "
                       "networks are isolated from each other. Connect both to one network "
                       f"(tether network connect NETWORK {b.name}) or publish the port.",
                       target=b_target)
    return Verdict(False, "no-common-network",
                   f"{apart}: networks are isolated from each other. Connect both to one "
                   f"network (tether network connect NETWORK {b.name}).", target=b_target)


def _published(a, b, published, gateway, way_out, apart, proto) -> Verdict:
    usable = [p for p in published if p.host_ip not in LOOPBACK]
    if not usable:
        p = published[0]
        return Verdict(False, "loopback-only",
                       f"{apart}, and {b.name} publishes {p.container_port}/{proto} on "
                       f"{p.host_ip}:{p.host_port} only: the host's loopback, which "
                       "containers cannot reach.", target=Target(gateway, p.host_port, proto))
    p = usable[0]
    return Verdict(True, "published-port",
                   f"{apart}, but {b.name} publishes {p.container_port}/{proto} on "
                   f"{p.host_ip or '0.0.0.0'}:{p.host_port}: {a.name} reaches it through the "
                   f"host's address {gateway}:{p.host_port} (its gateway on {way_out.name}).",
                   way_out.name, Target(gateway, p.host_port, proto))


def _host_mode(topo: Topology, a: CtrNode, b: CtrNode, port: int | None,
               proto: str) -> Verdict:
    if a.network_mode == "host":
        net = next((n for n in _nets(topo, b) if _address(b, n)), None)
        if net is None:
            return Verdict(False, "no-network", f"{b.name} has no address the host routes to.")
        return Verdict(True, "host-network",
                       f"{a.name} uses the host's network, which routes to {net.name}: it "
                       f"reaches {b.name} at {_address(b, net)} on {_port_text(port, proto)}.",
                       net.name, Target(_address(b, net), port, proto))
    net, gateway = _gateway(topo, a)
    if net is None:
        return Verdict(False, "internal", f"{b.name} uses the host's network and {a.name} is "
                       "only on internal networks: nothing leaves them.")
    return Verdict(True, "host-network",
                   f"{b.name} uses the host's network: {a.name} reaches it at the host's "
                   f"address {gateway} (its gateway on {net.name}) on {_port_text(port, proto)}.",
                   net.name, Target(gateway, port, proto))
