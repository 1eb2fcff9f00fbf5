"""netview: the topology snapshot, `why` over it, and the DOT picture (all pure)."""

import ipaddress

import pytest

from tether.errors import NotFound
from tether.model import Container, ContainerSpec, ContainerState, Endpoint, EndpointRequest, IPAMPool, Network, PortBinding
from tether.netview import dot
from tether.netview.topology import CtrNode, EpNode, NetNode, PortNode, Topology, from_json, from_model
from tether.netview.why import explain

FRONT = NetNode("f" * 64, "demo_front", "bridge", ("172.18.0.0/16",), ("172.18.0.1",))
BACK = NetNode("b" * 64, "demo_back", "bridge", ("172.19.0.0/16",), ("172.19.0.1",),
               internal=True)
OTHER = NetNode("o" * 64, "demo_other", "bridge", ("172.20.0.0/16",), ("172.20.0.1",))
QUIET = NetNode("q" * 64, "quiet", "bridge", ("172.21.0.0/16",), ("172.21.0.1",), icc=False)


def ctr(name, *eps, ports=(), status="running", mode="default"):
    return CtrNode(id=name[0] * 64, name=name, status=status, host="vm", network_mode=mode,
                   endpoints=tuple(EpNode(n.id, ip, aliases=al) for n, ip, al in eps),
                   ports=tuple(ports))


WEB = ctr("web", (FRONT, "172.18.0.3", ("web",)),
          ports=[PortNode(80, "tcp", "0.0.0.0", 8080), PortNode(81, "tcp", "127.0.0.1", 8081)])
API = ctr("api", (FRONT, "172.18.0.2", ("api",)), (BACK, "172.19.0.3", ("api",)))
DB = ctr("db", (BACK, "172.19.0.2", ("db",)))
LONE = ctr("lone", (OTHER, "172.20.0.2", ()))
TOPO = Topology((BACK, FRONT, OTHER, QUIET), (API, DB, LONE, WEB), "vm")


def why(a, b, port=None, proto="tcp", topo=TOPO):
    return explain(topo, a, b, port, proto)


def test_shared_network_reaches_every_port_and_names_the_address():
    v = why("web", "api", 5432)
    assert (v.reachable, v.reason, v.network) == (True, "shared-network", "demo_front")
    assert (v.target.address, v.target.port) == ("172.18.0.2", 5432)
    assert "needs no published port" in v.explanation
    hub = why("api", "db")
    assert hub.reachable and hub.network == "demo_back" and hub.target.port is None


def test_no_common_network_blocks_with_both_sides_named():
    v = why("web", "db")
    assert (v.reachable, v.reason) == (False, "no-common-network")
    assert "web (demo_front) and db (demo_back) share no network" in v.explanation
    assert v.target.address == "172.19.0.2"


def test_published_port_is_reached_through_the_host_unless_loopback_only():
    v = why("lone", "web", 80)
    assert (v.reachable, v.reason) == (True, "published-port")
    assert (v.target.address, v.target.port) == ("172.20.0.1", 8080)
    assert why("lone", "web", 80, "udp").reason == "port-not-published"
    assert why("lone", "web", 81).reason == "loopback-only"
    assert why("lone", "api", 80).reason == "port-not-published"


def test_internal_network_lets_nothing_out_not_even_to_published_ports():
    v = why("db", "web", 80)
    assert (v.reachable, v.reason, v.network) == (False, "internal", "demo_back")
    assert v.target.address == "172.18.0.3"


def test_icc_off_blocks_on_a_shared_network():
    a = ctr("a", (QUIET, "172.21.0.2", ()))
    b = ctr("b", (QUIET, "172.21.0.3", ()))
    v = why("a", "b", topo=Topology((QUIET,), (a, b)))
    assert (v.reachable, v.reason) == (False, "icc-disabled")


def test_stopped_shared_namespace_host_mode_and_unknown():
    stopped = ctr("gone", (FRONT, "", ()), status="exited")
    side = ctr("side", mode="container:web")
    hosty = ctr("hosty", mode="host")
    topo = Topology(TOPO.networks, (*TOPO.containers, stopped, side, hosty), "vm")
    assert why("web", "gone", topo=topo).reason == "not-running"
    assert why("side", "web", topo=topo).reason == "same-container"
    assert why("side", "api", topo=topo).reason == "shared-network"  # web's endpoints
    v = why("web", "hosty", 22, topo=topo)
    assert (v.reason, v.target.address) == ("host-network", "172.18.0.1")
    assert why("hosty", "db", topo=topo).target.address == "172.19.0.2"
    with pytest.raises(NotFound):
        why("web", "nobody")


def test_json_round_trip_and_lookup_by_prefix():
    assert from_json(TOPO.to_json()) == TOPO
    assert TOPO.container("/web") is WEB and TOPO.container("aaa") is API
    assert TOPO.network("demo_back") is BACK and TOPO.network("ooo") is OTHER


def test_from_model_shows_addresses_only_while_running():
    net = Network(id="n" * 64, name="front", driver="bridge", created="x",
                  pools=(IPAMPool(ipaddress.ip_network("10.9.0.0/24"),
                                  ipaddress.ip_address("10.9.0.1")),),
                  options={"com.docker.network.bridge.enable_icc": "false"})
    ep = Endpoint(id="e", network_id=net.id, container_id="c" * 64, ifname="eth0", mac="",
                  request=EndpointRequest(aliases=("www",)),
                  ipv4=ipaddress.ip_interface("10.9.0.2/24"), aliases=("cccccccccccc",))
    c = Container(id="c" * 64, name="web", created="x", spec=ContainerSpec(image="busybox"),
                  image_id="i", path="sh", args=(), env=(), hostname="h",
                  state=ContainerState(status="running"), endpoints={net.id: ep},
                  ports=(PortBinding(80, "tcp", "0.0.0.0", 8080),))
    topo = from_model([net], [c], "vm")
    [n], [node] = topo.networks, topo.containers
    assert (n.subnets, n.gateways, n.icc) == (("10.9.0.0/24",), ("10.9.0.1",), False)
    assert node.endpoints == (EpNode(net.id, "10.9.0.2", "", ("www", "cccccccccccc")),)
    assert node.ports == (PortNode(80, "tcp", "0.0.0.0", 8080),) and node.host == "vm"


def test_dot_draws_networks_hubs_ports_and_hides_unused_predefined():
    bridge = NetNode("z" * 64, "bridge", "bridge", ("172.17.0.0/16",))
    text = dot.render(Topology((*TOPO.networks, bridge), TOPO.containers, "vm"))
    assert text.startswith("graph tether {") and text.rstrip().endswith("}")
    assert "<B>demo_front</B>" in text and "172.18.0.0/16" in text and "internal" in text
    assert "<B>api</B><BR/><FONT POINT-SIZE=\"9\">hub</FONT>" in text
    assert "<B>web</B>>" in text  # not a hub
    assert '0.0.0.0:8080 -> 80/tcp' in text and '"host" -- "ctr:' + "w" * 64 in text
    assert '"ctr:' + "a" * 64 + '" -- "net:' + "b" * 64 + '" [label="172.19.0.3"]' in text
    assert "<B>bridge</B>" not in text and "cluster_host" not in text


def test_dot_groups_containers_by_host_with_overlay_and_selects_networks():
    over = NetNode("v" * 64, "mesh", "overlay", ("10.0.9.0/24",), scope="swarm")
    remote = CtrNode("r" * 64, "far", "running", host="node2",
                     endpoints=(EpNode(over.id, "10.0.9.3"),))
    near = CtrNode("n" * 64, "near", "running", host="node1",
                   endpoints=(EpNode(over.id, "10.0.9.2"),))
    text = dot.render(Topology((over,), (near, remote)))
    assert 'label="host node1"' in text and 'label="host node2"' in text
    only = dot.select(TOPO, ["demo_back"])
    assert [n.name for n in only.networks] == ["demo_back"]
    assert {c.name for c in only.containers} == {"api", "db"}


def test_from_model_adds_remote_containers_with_their_host():
    net = Network(id="v" * 64, name="mesh", driver="overlay", created="x", scope="global")
    ep = Endpoint(id="e", network_id=net.id, container_id="r" * 64, ifname="", mac="",
                  ipv4=ipaddress.ip_interface("10.0.0.3/24"))
    far = Container(id="r" * 64, name="far", created="", spec=ContainerSpec(image=""),
                    image_id="", path="", args=(), env=(), hostname="h",
                    endpoints={net.id: ep})
    topo = from_model([net], [], "node1 (10.77.0.11)", remote=[("node2 (10.77.0.12)", far)])
    [node] = topo.containers
    assert (node.name, node.host, node.status) == ("far", "node2 (10.77.0.12)", "running")
    assert node.endpoints[0].ipv4 == "10.0.0.3"
    assert "cluster_host" in dot.render(topo)


def test_macvlan_network_names_its_parent():
    net = Network(id="m" * 64, name="lan", driver="macvlan", created="x",
                  options={"parent": "eth0", "macvlan_mode": "bridge"})
    topo = from_model([net], [], "vm")
    assert topo.networks[0].parent == "eth0"
    assert "macvlan on eth0" in dot.render(topo)
    assert from_json(topo.to_json()) == topo


def test_macvlan_only_container_has_no_path_through_this_host():
    lan = NetNode("l" * 64, "lan", "macvlan", ("192.168.50.0/24",), ("192.168.50.1",),
                  parent="eth0")
    m = ctr("mac", (lan, "192.168.50.5", ()))
    v = why("mac", "web", 80, topo=Topology((*TOPO.networks, lan), (*TOPO.containers, m)))
    assert (v.reachable, v.reason) == (False, "no-host-path")
    assert "lan (macvlan)" in v.explanation
