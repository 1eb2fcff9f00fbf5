"""BridgeOptions.parse: Docker's option strings into a typed record, with clear refusals."""

from __future__ import annotations

import ipaddress

import pytest

from tether.drivers.bridge_options import BridgeOptions, bridge_name_for
from tether.errors import InvalidArgument

NAME = "com.docker.network.bridge.name"
ICC = "com.docker.network.bridge.enable_icc"
MASQ = "com.docker.network.bridge.enable_ip_masquerade"
MTU = "com.docker.network.driver.mtu"


def test_defaults():
    assert BridgeOptions.parse({}) == BridgeOptions()
    assert BridgeOptions().enable_icc and BridgeOptions().enable_ip_masquerade


def test_docker_default_bridge_options():
    opts = BridgeOptions.parse({
        "com.docker.network.bridge.default_bridge": "true", ICC: "true", MASQ: "true",
        "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0", NAME: "tether0", MTU: "1500",
    })
    assert opts.default_bridge and opts.bridge_name == "tether0" and opts.mtu == 1500
    assert opts.host_binding_ipv4 == ipaddress.ip_address("0.0.0.0")


@pytest.mark.parametrize("raw,value", [("false", False), ("0", False), ("TRUE", True), ("1", True)])
def test_booleans(raw, value):
    assert BridgeOptions.parse({ICC: raw}).enable_icc is value


@pytest.mark.parametrize("options", [
    {ICC: "yes"}, {MASQ: "maybe"}, {MTU: "abc"}, {MTU: "67"}, {MTU: "65536"},
    {NAME: "a" * 16}, {NAME: "bad/name"}, {NAME: "with space"},
    {"com.docker.network.bridge.host_binding_ipv4": "nope"},
])
def test_bad_values_are_invalid_argument(options):
    with pytest.raises(InvalidArgument):
        BridgeOptions.parse(options)


def test_mtu_zero_means_default():
    assert BridgeOptions.parse({MTU: "0"}).mtu is None


def test_kernel_name():
    nid = "0123456789abcdef" * 4
    assert bridge_name_for(nid) == "tb-0123456789ab"
    assert BridgeOptions.parse({}).kernel_name(nid) == "tb-0123456789ab"
    assert BridgeOptions.parse({NAME: "br7"}).kernel_name(nid) == "br7"
