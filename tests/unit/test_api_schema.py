"""Docker JSON <-> model, checked field by field against raw captures of real dockerd."""

from __future__ import annotations

import dataclasses
import ipaddress
import json
import re
from pathlib import Path

import pytest

from tether.api.schema_containers import parse_container_create, parse_exec_create
from tether.api.schema_inspect import render_container, render_summary
from tether.api.schema_networks import parse_connect, parse_network_create, render_network
from tether.engine.facade import ContainerView
from tether.errors import InvalidArgument
from tether.model import (
    Container, ContainerState, Endpoint, EndpointRequest, IPAMPool, Image, Network,
)

CAPTURES = Path("/work/shared/reference/docker-behaviour/api-captures")
V141 = (1, 41)


def capture_json(prefix: str, start: str) -> list:
    """Every complete JSON document in a capture whose text starts with `start`."""
    text = next(CAPTURES.glob(f"{prefix}-*.http")).read_bytes().decode("utf-8", "replace")
    return [json.loads(m.group(0)) for m in re.finditer(r"^[\[{].*$", text, re.M)
            if m.group(0).startswith(start)]


NET_ID = "0114f95d9da010e3e135d81a0c3fa4c47a22900f3290a35e38c8ccc991369dc8"
CID = "1eee181dfc0f8b70400a9618c121de564d8a725f529581bb6a8e22505ce75d10"
IMAGE_ID = "sha256:b87c76501e01a29accf632043b1eca6745736985ed5fdd5c154659c473659d51"


def my_net() -> Network:
    pool = IPAMPool(subnet=ipaddress.ip_network("172.18.0.0/16"),
                    gateway=ipaddress.ip_address("172.18.0.1"))
    return Network(id=NET_ID, name="my_isolated_bridge_network", driver="bridge",
                   created="2026-11-28T02:47:40.916163551Z", ipam_options={}, pools=(pool,))


def psql_endpoint() -> Endpoint:
    return Endpoint(id="4d762eea3369369ff89323a0845b7907613ff6d96d4ae2b138eb8377c5e485d1",
                    network_id=NET_ID, container_id=CID, ifname="eth0",
                    mac="02:42:ac:12:00:02", ipv4=ipaddress.ip_interface("172.18.0.2/16"),
                    gateway4=ipaddress.ip_address("172.18.0.1"))


def test_network_create_body_from_cli_parses_to_spec():
    body = capture_json("006", '{"Driver"')[0]
    spec = parse_network_create(body)
    assert (spec.name, spec.driver, spec.ipam_driver) == ("my_isolated_bridge_network",
                                                          "bridge", "default")
    assert spec.ipam_options == {} and spec.pools == () and spec.config_from == ""


def test_network_create_with_pools_and_compose_nulls():
    spec = parse_network_create({
        "Name": "demo_front", "Driver": "bridge", "CheckDuplicate": True, "Attachable": True,
        "IPAM": {"Driver": "default", "Config": [
            {"Subnet": "172.16.238.0/24", "IPRange": None, "Gateway": "172.16.238.1",
             "AuxiliaryAddresses": None},
            {"Subnet": "10.77.0.0/24", "IPRange": "10.77.0.128/25",
             "AuxiliaryAddresses": {"router": "10.77.0.2"}}]}})
    assert spec.ipam_options is None and spec.attachable
    first, second = spec.pools
    assert first.gateway == ipaddress.ip_address("172.16.238.1") and first.ip_range is None
    assert second.ip_range == ipaddress.ip_network("10.77.0.128/25")
    assert second.aux_addresses == (("router", ipaddress.ip_address("10.77.0.2")),)


@pytest.mark.parametrize("config, message", [
    ({"Subnet": "10.50.0.300/24"}, "invalid CIDR address: 10.50.0.300/24"),
    ({"Subnet": "10.50.0.0"}, "invalid CIDR address: 10.50.0.0"),
    ({"Subnet": "10.50.0.0/24", "Gateway": "10.50.0.x"}, "invalid address: 10.50.0.x"),
])
def test_network_create_rejects_bad_addresses(config, message):
    with pytest.raises(InvalidArgument, match=re.escape(message)):
        parse_network_create({"Name": "x", "IPAM": {"Config": [config]}})


def test_bad_subnet_sentence_is_dockerds():
    """Transcript §12: the whole sentence, field name first."""
    with pytest.raises(InvalidArgument) as err:
        parse_network_create({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.50.0.300/24"}]}})
    assert str(err.value) == ("Invalid subnet 10.50.0.300/24 : invalid CIDR address: "
                              "10.50.0.300/24")


def test_subnets_and_ranges_with_host_bits_are_refused_with_what_was_meant():
    with pytest.raises(InvalidArgument, match="^invalid subnet 10.9.0.5/24: it should be "
                       "10.9.0.0/24$"):
        parse_network_create({"Name": "x", "IPAM": {"Config": [{"Subnet": "10.9.0.5/24"}]}})
    with pytest.raises(InvalidArgument, match="^invalid ip-range 10.9.0.130/25: it should be "
                       "10.9.0.128/25$"):
        parse_network_create({"Name": "x", "IPAM": {"Config": [
            {"Subnet": "10.9.0.0/24", "IPRange": "10.9.0.130/25"}]}})
    spec = parse_network_create({"Name": "x", "IPAM": {"Config": [{"Subnet": "fd00:9::/64"}]}})
    assert str(spec.pools[0].subnet) == "fd00:9::/64"


def test_network_create_requires_a_name():
    with pytest.raises(InvalidArgument):
        parse_network_create({"Driver": "bridge"})


def test_default_bridge_renders_like_capture_003():
    expected = capture_json("003", '{"Name"')[0]
    pool = IPAMPool(subnet=ipaddress.ip_network("172.17.0.0/16"),
                    gateway=ipaddress.ip_address("172.17.0.1"), show_gateway=False)
    net = Network(id=expected["Id"], name="bridge", driver="bridge",
                  created=expected["Created"], pools=(pool,), options=expected["Options"])
    got = render_network(net, (), V141)
    assert list(got) == list(expected) and got == expected


def test_network_with_container_renders_like_capture_011():
    expected = capture_json("011", '{"Name"')[0]
    got = render_network(my_net(), (("my_psql_db", psql_endpoint()),), V141)
    assert json.dumps(got) == json.dumps(expected)


def test_network_renders_newer_fields_for_newer_clients():
    got = render_network(my_net(), None, (1, 50))
    assert list(got)[:7] == ["Name", "Id", "Created", "Scope", "Driver", "EnableIPv4",
                             "EnableIPv6"]
    assert got["Containers"] == {}


def test_connect_body_from_cli():
    body = {"Container": "hub", "EndpointConfig": {
        "IPAMConfig": {"IPv4Address": "10.10.0.20"}, "Links": None, "Aliases": ["x"],
        "MacAddress": "", "DriverOpts": {}, "GwPriority": 0, "NetworkID": "", "DNSNames": None}}
    container, req = parse_connect(body)
    assert container == "hub" and req.aliases == ("x",)
    assert req.ipv4 == ipaddress.ip_address("10.10.0.20") and req.has_ipam_config


def psql_view(state: ContainerState | None = None) -> ContainerView:
    spec = parse_container_create(capture_json("010", '{"Hostname"')[0], "my_psql_db")
    container = Container(
        id=CID, name="my_psql_db", created="2026-11-28T02:47:41.982074665Z", spec=spec,
        image_id=IMAGE_ID, path="httpd", args=("-f", "-p", "80", "-h", "/var/www"),
        env=("PATH=/bin:/sbin:/usr/bin:/usr/sbin",), hostname=CID[:12],
        state=state or ContainerState(status="running", pid=10982,
                                      started_at="2026-11-28T02:47:42.355328164Z"),
        endpoints={NET_ID: psql_endpoint()},
        sandbox_id="20c97203955e7f506d7adca660e900b2f4e4950cf09cfabc1a9e069b77eb072b",
        sandbox_key="/var/run/docker/netns/20c97203955e")
    image = Image(id=IMAGE_ID, repo_tags=("busybox:local",), created="x", size=1)
    return ContainerView(container=container, networks={NET_ID: my_net()}, image=image)


def test_container_create_body_from_cli_parses_to_spec():
    spec = psql_view().container.spec
    assert spec.image == "busybox:local" and spec.name == "my_psql_db"
    assert spec.cmd == ("httpd", "-f", "-p", "80", "-h", "/var/www")
    assert spec.network_mode == "my_isolated_bridge_network" and spec.endpoints == {}
    assert spec.entrypoint is None and spec.port_bindings == ()


def test_container_create_networking_and_ports():
    spec = parse_container_create({
        "Image": "busybox:local", "Entrypoint": "sh", "ExposedPorts": {"80/tcp": {}},
        "HostConfig": {"PortBindings": {"80/tcp": [{"HostIp": "", "HostPort": "8080"}]},
                       "Links": ["linkweb:webalias"], "ExtraHosts": ["a:1.2.3.4"]},
        "NetworkingConfig": {"EndpointsConfig": {"net": {
            "Aliases": ["search"], "IPAMConfig": {"IPv4Address": "10.10.0.10"}}}}}, "")
    assert spec.entrypoint == ("sh",) and spec.exposed_ports == ("80/tcp",)
    assert spec.port_bindings[0].host_port == 8080 and spec.links == ("linkweb:webalias",)
    assert spec.endpoints["net"] == EndpointRequest(
        ipv4=ipaddress.ip_address("10.10.0.10"), aliases=("search",))


def test_container_create_rejects_bad_name():
    with pytest.raises(InvalidArgument, match=re.escape(
            "Invalid container name (-x), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed")):
        parse_container_create({"Image": "busybox:local"}, "-x")


def test_container_inspect_matches_capture_012():
    expected = capture_json("012", '{"Id"')[0]
    got = render_container(psql_view(), V141, "/var/lib/docker")
    assert list(got) == list(expected)
    for key in ("Id", "Created", "Path", "Args", "State", "Image", "Name", "HostConfig",
                "Config", "NetworkSettings", "Mounts", "ResolvConfPath", "HostsPath"):
        assert got[key] == expected[key], key


def test_container_summary_matches_capture_041():
    expected = capture_json("041", "[")[0][2]
    got = render_summary(psql_view(), V141, now=1795834115.0, data_root="/var/lib/docker")
    expected_without_time = {**expected, "Created": got["Created"], "Status": got["Status"]}
    assert got == expected_without_time
    assert got["Status"].startswith("Up ") and list(got) == list(expected)


def test_newer_clients_get_dns_names_and_moved_mac():
    got = render_container(psql_view(), (1, 50), "/x")["NetworkSettings"]["Networks"]
    ep = got["my_isolated_bridge_network"]
    assert ep["DNSNames"] == ["my_psql_db", CID[:12]] and ep["GwPriority"] == 0
    assert list(ep)[3] == "MacAddress"


def test_exited_container_status_text():
    state = ContainerState(status="exited", exit_code=3,
                           finished_at="2026-11-28T02:48:00.000000001Z")
    view = psql_view(state)
    got = render_summary(view, V141, now=1795834083.0, data_root="/var/lib/docker")
    assert got["Status"] == "Exited (3) 3 seconds ago" and got["Ports"] == []


def test_exec_body_from_capture_013():
    spec = parse_exec_create(capture_json("013", '{"User"')[0])
    assert spec.cmd == ("ip", "addr") and spec.attach_stdout and not spec.attach_stdin
    with pytest.raises(InvalidArgument):
        parse_exec_create({"Cmd": []})


def test_default_bridge_endpoint_fills_top_level_fields():
    view = psql_view()
    bridge = dataclasses.replace(my_net(), name="bridge")
    view = dataclasses.replace(view, networks={NET_ID: bridge})
    ns = render_container(view, V141, "/x")["NetworkSettings"]
    assert ns["IPAddress"] == "172.18.0.2" and ns["Gateway"] == "172.18.0.1"
    assert ns["Networks"]["bridge"]["Aliases"] is None


def test_links_read_null_in_host_config_on_a_user_defined_network_mode():
    """dockerd keeps legacy links in HostConfig only on the default bridge; compose 1.29.2
    recreates a linking service after its dependency only when that field is empty."""
    view = psql_view()
    linked = dataclasses.replace(view.container, links=(("db", "database"),))
    on_user_net = dataclasses.replace(view, container=linked)
    assert on_user_net.container.spec.network_mode == "my_isolated_bridge_network"
    assert render_container(on_user_net, V141, "/x")["HostConfig"]["Links"] is None
    bridge_spec = dataclasses.replace(linked.spec, network_mode="default")
    on_bridge = dataclasses.replace(view, container=dataclasses.replace(linked, spec=bridge_spec))
    assert render_container(on_bridge, V141, "/x")["HostConfig"]["Links"] == [
        "/db:/my_psql_db/database"]
