"""The client sends the same request bodies as docker CLI 28 (compared with real captures)."""

import json
from pathlib import Path

import pytest

from tether.cli.runflags import parse as parse_run
from tether.client.bodies import exec_body, filters_query
from tether.client.network_body import (
    EndpointOptions, IPAMRequest, connect_body, network_create_body,
)
from tether.client.run_body import container_create_body
from tether.errors import InvalidArgument

CAPTURES = Path("/work/shared/reference/docker-behaviour/api-captures")


def captured_bodies(prefix: str) -> list[str]:
    """Every JSON request body in a capture file (lines starting with `{`)."""
    files = sorted(CAPTURES.glob(f"{prefix}-*.http"))
    if not files:
        pytest.skip(f"capture {prefix} not available")
    text = files[0].read_bytes().decode("utf-8", "replace")
    return [line for line in text.splitlines() if line.startswith("{")]


def wire(body: dict) -> str:
    return json.dumps(body, separators=(",", ":"))


@pytest.mark.parametrize("prefix, argv", [
    ("010", ["-d", "--net=my_isolated_bridge_network", "--name=my_psql_db", "busybox:local",
             "httpd", "-f", "-p", "80", "-h", "/var/www"]),
    ("047", ["--rm", "--hostname", "myhost", "--add-host", "extra.example:10.1.2.3",
             "busybox:local", "sh", "-c", "hostname; cat /etc/hosts"]),
    ("060", ["-d", "--name", "linker", "--link", "linkweb:webalias", "busybox:local",
             "sleep", "3600"]),
    ("068", ["-d", "--name", "es1", "--net", "my_isolated_bridge_network", "--network-alias",
             "search", "busybox:local", "httpd", "-f", "-p", "80", "-h", "/var/www"]),
    ("101", ["-d", "--name", "pubweb3", "-p", "127.0.0.1:8081:80", "-p", "8082:80/udp", "-P",
             "--expose", "7000", "busybox:local", "httpd", "-f", "-p", "80", "-h", "/var/www"]),
    ("208", ["--rm", "--net", "static_net", "--ip", "10.10.0.11", "--ip6", "fd00:1::5",
             "busybox:local", "true"]),
])
def test_run_body_matches_docker(prefix, argv):
    opts, _ = parse_run("run", argv)
    assert wire(container_create_body(opts)) in captured_bodies(prefix)


@pytest.mark.parametrize("prefix, name, kw", [
    ("006", "my_isolated_bridge_network", {}),
    ("197", "static_net", {"ipam": IPAMRequest(("10.10.0.0/24",), ("10.10.0.254",),
                                               ("10.10.0.128/25",))}),
    ("219", "v6net", {"ipv6": True, "ipam": IPAMRequest(("fd00:dead:beef::/64",))}),
    ("261", "opts_net", {"attachable": True, "labels": {"team": "net", "env": "dev"},
                         "ipam": IPAMRequest(("10.77.0.0/24",),
                                             aux_addresses={"router": "10.77.0.2"}),
                         "options": {"com.docker.network.bridge.name": "mybr0",
                                     "com.docker.network.driver.mtu": "1400",
                                     "com.docker.network.bridge.enable_icc": "false"}}),
])
def test_network_create_body_matches_docker(prefix, name, kw):
    assert wire(network_create_body(name, **kw)) in captured_bodies(prefix)


def test_connect_bodies_match_docker():
    assert wire(connect_body("hub", EndpointOptions())) in captured_bodies("025")
    assert wire(connect_body("es1", EndpointOptions(aliases=("otheralias",)))) \
        in captured_bodies("074")
    assert wire(connect_body("hub", EndpointOptions(ipv4="10.10.0.20"))) \
        in captured_bodies("209")


def test_exec_body_matches_docker():
    assert wire(exec_body(["ip", "addr"])) in captured_bodies("013")


@pytest.mark.parametrize("ipam, sentence", [
    (IPAMRequest(gateways=("10.50.0.1",)),
     "every ip-range or gateway must have a corresponding subnet"),
    (IPAMRequest(("10.50.0.0/24",), ("10.60.0.1",)), "no matching subnet for gateway 10.60.0.1"),
    (IPAMRequest(("10.50.0.0/24",), ip_ranges=("10.51.0.0/28",)),
     "no matching subnet for range 10.51.0.0/28"),
])
def test_ipam_client_side_errors_are_dockers(ipam, sentence):
    with pytest.raises(InvalidArgument, match=sentence):
        network_create_body("x", ipam=ipam)


def test_alias_on_default_network_is_refused_before_sending():
    opts, _ = parse_run("run", ["--rm", "--network-alias", "foo", "busybox:local", "true"])
    with pytest.raises(InvalidArgument, match="only supported for user-defined networks"):
        container_create_body(opts)


def test_filters_encode_as_json_map_of_sets():
    assert filters_query(["driver=bridge"]) == '{"driver":{"bridge":true}}'
    assert filters_query(["label=env=dev"]) == '{"label":{"env=dev":true}}'
    assert filters_query(None) is None
    with pytest.raises(InvalidArgument):
        filters_query(["nonsense"])


def test_publish_ranges_and_ipv6_host():
    opts, _ = parse_run("run", ["-p", "[::1]:8080-8081:80-81", "busybox", "true"])
    body = container_create_body(opts)
    assert body["HostConfig"]["PortBindings"] == {
        "80/tcp": [{"HostIp": "::1", "HostPort": "8080"}],
        "81/tcp": [{"HostIp": "::1", "HostPort": "8081"}]}
    assert body["ExposedPorts"] == {"80/tcp": {}, "81/tcp": {}}
