"""The cluster's pure parts: endpoint records, VNIs, gateway choice, scoped IPAM, etcd URLs."""

from __future__ import annotations

import ipaddress

import pytest

from tether.engine import cluster_records as keys
from tether.engine.cluster_networks import ScopedIpam, needs_gateway
from tether.engine.lifecycle import gateway_networks
from tether.errors import InvalidArgument
from tether.ipam.allocator import Ipam
from tether.model import Container, ContainerSpec, Endpoint, EndpointRequest, IPAMPool, Network
from tether.store.etcd import parse_store_url, range_end, unb64
from tether.store.memory import MemoryStore


def net(nid: str, name: str, driver="bridge", scope="local", internal=False) -> Network:
    return Network(id=nid, name=name, driver=driver, created="", scope=scope, internal=internal)


def container(*net_ids: str) -> Container:
    eps = {n: Endpoint(id="e" + n, network_id=n, container_id="c" * 64, ifname="eth0",
                       mac="02:42:0a:00:00:02", request=EndpointRequest(aliases=("web",)),
                       ipv4=ipaddress.IPv4Interface("10.0.0.2/24")) for n in net_ids}
    return Container(id="c" * 64, name="app", created="", spec=ContainerSpec(image="x"),
                     image_id="", path="", args=(), env=(), hostname="app-host", endpoints=eps)


def test_record_round_trip_and_remote_container():
    c = container("n1")
    rec = keys.record_of("host-a", "10.77.0.11", c, c.endpoints["n1"])
    assert keys.EndpointRecord.decode(rec.encode()) == rec
    remote = keys.remote_container([rec])
    assert remote.id == c.id and remote.name == "app" and remote.hostname == "app-host"
    ep = remote.endpoints["n1"]
    assert ep.ipv4 == ipaddress.IPv4Interface("10.0.0.2/24") and ep.request.aliases == ("web",)


def test_endpoint_keys():
    assert keys.split_endpoint_key(keys.endpoint_key("n", "e")) == ("n", "e")
    assert keys.split_endpoint_key("endpoints/n") is None
    assert keys.split_endpoint_key("hosts/x") is None


def test_free_vni_starts_at_docker_first():
    assert keys.free_vni(set()) == 4096
    assert keys.free_vni({4096, 4097, 4099}) == 4098


def test_needs_gateway_only_when_overlays_are_the_only_way_out():
    nets = {"o": net("o", "ov", "overlay", "global"), "b": net("b", "br"),
            "i": net("i", "ovi", "overlay", "global", internal=True)}
    assert needs_gateway(container("o"), nets)
    assert not needs_gateway(container("o", "b"), nets)
    assert not needs_gateway(container("i"), nets)
    assert not needs_gateway(container("b"), nets)


def test_default_route_prefers_a_local_way_out_over_an_overlay():
    o, gw = net("o", "ov", "overlay", "global"), net("g", "docker_gwbridge")
    assert gateway_networks([o, gw]) == ("g", None)
    assert gateway_networks([o]) == ("o", None)


async def test_scoped_ipam_routes_global_networks_to_the_cluster_store():
    local, remote = MemoryStore(), MemoryStore()
    ipam = ScopedIpam(Ipam(local), Ipam(remote))
    ipam.global_ids.add("g")
    pool = (IPAMPool(subnet=ipaddress.ip_network("10.0.0.0/24"),
                     gateway=ipaddress.ip_address("10.0.0.1")),)
    a = await ipam.allocate_address("g", pool, 4, owner="x")
    b = await ipam.allocate_address("l", pool, 4, owner="y")
    assert a == b == ipaddress.ip_interface("10.0.0.2/24")
    assert [k for k, _, _ in await remote.list("ipam/")] == ["ipam/addresses/g/10.0.0.2"]
    assert [k for k, _, _ in await local.list("ipam/")] == ["ipam/addresses/l/10.0.0.2"]
    await ipam.release_address("g", a.ip)
    assert await remote.list("ipam/") == []


def test_parse_store_url_refuses_what_it_cannot_use():
    for bad in ("consul://h:1", "etcd://", "etcd://hostonly"):
        with pytest.raises(InvalidArgument):
            parse_store_url(bad, {})
    with pytest.raises(InvalidArgument):
        parse_store_url("etcd://h:1", {"kv.bogus": "1"})
    cfg = parse_store_url("etcd://h:1", {"kv.namespace": "/x/", "kv.timeout": "0.5"})
    assert cfg.namespace == "/x/" and cfg.timeout == 0.5 and cfg.scheme == "http"


def test_range_end_is_the_prefix_plus_one():
    assert unb64(range_end("/tether/a/")) == b"/tether/a0"
    assert unb64(range_end("\xff")) != b""
