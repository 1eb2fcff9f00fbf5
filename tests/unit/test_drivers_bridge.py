"""The bridge driver's pure parts: validation and names (the kernel side is integration)."""

from __future__ import annotations

import ipaddress

import pytest

from tether.drivers.bridge import BridgeDriver, _sandbox_addresses, veth_name
from tether.drivers.registry import make_drivers
from tether.errors import Forbidden, InvalidArgument
from tether.model import Endpoint, EndpointRequest, Network, NetworkSpec

NAME = "com.docker.network.bridge.name"


def net(name, options=None, nid="a" * 64):
    return Network(id=nid, name=name, driver="bridge", created="", options=options or {})


def test_validate_shows_options_as_given():
    assert BridgeDriver().validate(NetworkSpec(name="n"), []) == {}
    opts = {"com.docker.network.driver.mtu": "1400"}
    assert BridgeDriver().validate(NetworkSpec(name="n", options=opts), []) == opts


def test_validate_refuses_bad_option():
    with pytest.raises(InvalidArgument):
        BridgeDriver().validate(NetworkSpec(name="n", options={NAME: "x" * 20}), [])


def test_validate_refuses_bridge_name_of_another_network():
    other = net("other", {NAME: "brx"})
    with pytest.raises(Forbidden) as err:
        BridgeDriver().validate(NetworkSpec(name="n", options={NAME: "brx"}), [other],
                                net_id="f" * 64)
    assert str(err.value) == (f"cannot create network {'f' * 64} (brx): conflicts with network "
                              f"{other.id} (brx): networks have same bridge name")
    with pytest.raises(Forbidden):
        BridgeDriver().validate(NetworkSpec(name="n", options={NAME: "tb-aaaaaaaaaaaa"}),
                                [net("other")])


def test_validate_refuses_existing_host_interface():
    with pytest.raises(Forbidden):
        BridgeDriver().validate(NetworkSpec(name="n", options={NAME: "lo"}), [])


def test_veth_name_is_tagged_deterministic_and_fits():
    a = veth_name("e" * 64)
    assert a == veth_name("e" * 64) and a.startswith("tv") and len(a) == 12
    assert a != veth_name("f" * 64)


def test_sandbox_addresses_include_link_local():
    ep = Endpoint(id="1", network_id="n", container_id="c", ifname="eth0", mac="",
                  ipv4=ipaddress.ip_interface("10.0.0.2/24"),
                  request=EndpointRequest(link_local_ips=(ipaddress.ip_address("169.254.1.1"),)))
    assert _sandbox_addresses(ep) == [ipaddress.ip_interface("10.0.0.2/24"),
                                      ipaddress.ip_interface("169.254.1.1/16")]


def test_registry_names():
    drivers = make_drivers()
    assert set(drivers) == {"bridge", "host", "null", "macvlan", "ipvlan", "overlay"}
    assert all(d.name == k for k, d in drivers.items())
