"""macvlan/ipvlan: options, validation and the RTM_NEWLINK requests (no root, no kernel)."""

from __future__ import annotations

import struct

import pytest
from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

from tether.drivers.macvlan import (
    IpvlanDriver, MacvlanDriver, check_parent, has_default_route, vlan_tag,
)
from tether.drivers.macvlan_options import (
    IpvlanOptions, MacvlanOptions, Vlan, parse_vlan, shim_name, stub_name,
)
from tether.errors import DriverError, InvalidArgument, Unavailable
from tether.kernel import rtmsg, sublinks
from tether.model import Network, NetworkSpec

LO = "lo"  # the one interface every namespace has


def net(driver="macvlan", options=None, internal=False, nid="a" * 64, name="other"):
    return Network(id=nid, name=name, driver=driver, created="", options=options or {},
                   internal=internal)


# ----- options ---------------------------------------------------------------------------

def test_macvlan_defaults_and_modes():
    assert MacvlanOptions.parse({}) == MacvlanOptions(parent="", mode="bridge")
    for mode in ("bridge", "private", "vepa", "passthru"):
        assert MacvlanOptions.parse({"macvlan_mode": mode}).mode == mode
    with pytest.raises(InvalidArgument, match="requested macvlan mode 'nat' is not valid, "
                       "'bridge' mode is the macvlan driver default"):
        MacvlanOptions.parse({"macvlan_mode": "nat"})


def test_ipvlan_defaults_modes_and_flags():
    assert IpvlanOptions.parse({}) == IpvlanOptions(parent="", mode="l2", flag="bridge")
    assert IpvlanOptions.parse({"ipvlan_mode": "l3s", "ipvlan_flag": "vepa"}).flag == "vepa"
    with pytest.raises(InvalidArgument, match="requested ipvlan mode 'l4' is not valid"):
        IpvlanOptions.parse({"ipvlan_mode": "l4"})
    with pytest.raises(InvalidArgument, match="requested ipvlan flag 'x' is not valid, "
                       "'bridge' is the ipvlan driver default"):
        IpvlanOptions.parse({"ipvlan_flag": "x"})


def test_loopback_and_malformed_parents_are_refused():
    with pytest.raises(InvalidArgument, match="loopback interface is not a valid macvlan"):
        MacvlanOptions.parse({"parent": "lo"})
    with pytest.raises(InvalidArgument, match="loopback interface is not a valid ipvlan"):
        IpvlanOptions.parse({"parent": "lo"})
    with pytest.raises(InvalidArgument):
        MacvlanOptions.parse({"parent": "a" * 16})


def test_host_access_needs_a_mode_that_can_reach_the_containers():
    assert MacvlanOptions.parse({"tether.host_access": "true"}).host_access
    for mode in ("private", "passthru"):
        with pytest.raises(InvalidArgument, match="host_access"):
            MacvlanOptions.parse({"tether.host_access": "true", "macvlan_mode": mode})
    with pytest.raises(InvalidArgument):
        MacvlanOptions.parse({"tether.host_access": "maybe"})


def test_vlan_names():
    assert parse_vlan("eth0.10") == Vlan("eth0.10", "eth0", 10)
    assert parse_vlan("eth0") is None and parse_vlan("br.x") is None
    with pytest.raises(InvalidArgument, match="vlan id must be between 1-4094"):
        parse_vlan("eth0.4095")


def test_kernel_names_are_tagged_and_fit():
    assert stub_name("b" * 64) == "tm-bbbbbbbbbbbb" and len(stub_name("b" * 64)) == 15
    assert shim_name("b" * 64) == "th-bbbbbbbbbbbb"
    assert MacvlanOptions.parse({}).kernel_parent("b" * 64) == "tm-bbbbbbbbbbbb"
    assert vlan_tag("c" * 64) == "tether:cccccccccccc"


# ----- validation ------------------------------------------------------------------------

def test_parent_used_by_another_network_is_refused_with_dockers_sentence():
    with pytest.raises(DriverError, match="network dm-aaaaaaaaaaaa is already using parent "
                       "interface lo0") as err:
        check_parent("lo0", [net(options={"parent": "lo0"})])
    assert err.value.status == 500  # as Docker answers
    with pytest.raises(DriverError):  # macvlan and ipvlan cannot share a parent either
        check_parent("lo0", [net("ipvlan", {"parent": "lo0"})])
    check_parent(LO, [net("bridge", {"parent": LO})])  # other drivers' options mean nothing


def test_missing_parents_are_named():
    with pytest.raises(DriverError, match="invalid subinterface vlan name nosuchif0, example "
                       "formatting is eth0.10"):
        check_parent("nosuchif0", [])
    with pytest.raises(DriverError, match="-o parent interface was not found on the host: "
                       "nosuch$"):
        check_parent("nosuch.10", [])
    check_parent(LO, [])


def test_validate_keeps_options_as_given_and_refuses_our_own_key():
    spec = NetworkSpec(name="n", driver="macvlan", options={"parent": "", "x": "y"})
    assert MacvlanDriver().validate(spec, []) == {"parent": "", "x": "y"}
    with pytest.raises(InvalidArgument, match="set by tether"):
        MacvlanDriver().validate(NetworkSpec(name="n", options={"tether.host_address": "1"}), [])


def test_ipvlan_validate_names_missing_kernel_support(monkeypatch):
    monkeypatch.setitem(sublinks._support, "ipvlan", False)
    with pytest.raises(Unavailable, match=r"cannot create ipvlan network: this kernel \(.*\) "
                       r"lacks ipvlan support \(CONFIG_IPVLAN, module ipvlan\)"):
        IpvlanDriver().validate(NetworkSpec(name="n", driver="ipvlan"), [])
    monkeypatch.setitem(sublinks._support, "ipvlan", True)
    assert IpvlanDriver().validate(NetworkSpec(name="n", driver="ipvlan"), []) == {}


def test_default_route_only_with_a_parent_and_not_internal():
    assert has_default_route(net(options={"parent": "eth0"}))
    assert not has_default_route(net(options={"parent": "eth0"}, internal=True))
    assert not has_default_route(net(options={}))
    assert not has_default_route(net("ipvlan", {}))
    assert has_default_route(net("bridge", {}, internal=True))  # the bridge decides elsewhere


# ----- RTM_NEWLINK requests --------------------------------------------------------------

def attrs(data: bytes) -> dict[int, bytes]:
    """Attributes of a netlink attribute stream, keyed by type without the flag bits."""
    out, off = {}, 0
    while off + 4 <= len(data):
        length, kind = struct.unpack_from("=HH", data, off)
        out[kind & 0x3FFF] = data[off + 4:off + length]
        off += (length + 3) & ~3
    return out


def decode(msg: bytes):
    length, mtype, flags, seq, _ = struct.unpack_from("=IHHII", msg)
    assert length == len(msg) and mtype == 16  # RTM_NEWLINK
    top = attrs(msg[32:])
    info = attrs(top[18])  # IFLA_LINKINFO
    return flags, seq, top, info[1].decode(), attrs(info.get(2, b""))


def test_macvlan_request():
    req = sublinks.macvlan_request("eth0", 7, "private", mac="02:42:0a:00:00:05", mtu=1400)
    flags, seq, top, kind, data = decode(sublinks.newlink(req, 42, netns_fd=9))
    assert flags == 0x1 | 0x4 | 0x200 | 0x400 and seq == 42  # REQUEST ACK EXCL CREATE
    assert top[3] == b"eth0\0" and struct.unpack("=I", top[5]) == (7,)  # IFNAME, LINK
    assert top[1] == bytes.fromhex("02420a000005") and struct.unpack("=I", top[4]) == (1400,)
    assert struct.unpack("=I", top[28]) == (9,)  # IFLA_NET_NS_FD
    assert kind == "macvlan" and struct.unpack("=I", data[1]) == (1,)  # MACVLAN_MODE_PRIVATE


def test_macvlan_modes_are_the_kernels_values():
    got = {}
    for mode in ("private", "vepa", "bridge", "passthru"):
        _, _, _, _, data = decode(sublinks.newlink(sublinks.macvlan_request("e", 1, mode), 1))
        got[mode] = struct.unpack("=I", data[1])[0]
    assert got == {"private": 1, "vepa": 2, "bridge": 4, "passthru": 8}


def test_macvlan_request_decodes_with_pyroute2():
    msg = ifinfmsg(sublinks.newlink(sublinks.macvlan_request("eth1", 3, "bridge"), 5))
    msg.decode()
    assert msg.get_attr("IFLA_IFNAME") == "eth1" and msg.get_attr("IFLA_LINK") == 3
    info = msg.get_attr("IFLA_LINKINFO")
    assert info.get_attr("IFLA_INFO_KIND") == "macvlan"
    assert info.get_attr("IFLA_INFO_DATA").get_attr("IFLA_MACVLAN_MODE") == "bridge"


@pytest.mark.parametrize("mode,flag,want", [
    ("l2", "bridge", (0, 0)), ("l3", "private", (1, 1)), ("l3s", "vepa", (2, 2)),
])
def test_ipvlan_request(mode, flag, want):
    _, _, top, kind, data = decode(sublinks.newlink(sublinks.ipvlan_request("eth0", 4, mode, flag), 1))
    assert kind == "ipvlan" and 1 not in top  # no IFLA_ADDRESS: it has the parent's MAC
    assert (struct.unpack("=H", data[1])[0], struct.unpack("=H", data[2])[0]) == want


def test_vlan_request():
    _, _, top, kind, data = decode(sublinks.newlink(sublinks.vlan_request("eth0.10", 2, 10), 1))
    assert kind == "vlan" and top[3] == b"eth0.10\0" and struct.unpack("=H", data[1]) == (10,)


def test_probe_request_has_no_parent():
    _, _, top, kind, data = decode(sublinks.newlink(sublinks.LinkRequest("tprobe1", "ipvlan"), 1))
    assert kind == "ipvlan" and 5 not in top and data == {}


def test_ack_codes():
    ack = struct.pack("=IHHII", 36, 2, 0, 9, 0) + struct.pack("=i", -95) + bytes(16)
    assert rtmsg.ack_code(ack, 9) == 95
    assert rtmsg.ack_code(ack, 8) is None


def test_made_links_are_the_stub_and_the_host_interface():
    from tether.drivers.macvlan import made_links
    from tether.engine.networks import kernel_links

    assert made_links(net(options={"parent": "eth0"})) == ()
    assert made_links(net(options={})) == ("tm-aaaaaaaaaaaa",)
    assert made_links(net(options={"tether.host_access": "true"})) == (
        "tm-aaaaaaaaaaaa", "th-aaaaaaaaaaaa")
    assert made_links(net("ipvlan", {"parent": "eth0"})) == ()
    assert kernel_links(net("bridge")) == ("tb-aaaaaaaaaaaa",)
    assert kernel_links(net(options={"parent": "eth0", "tether.host_access": "1"})) == (
        "th-aaaaaaaaaaaa",)


def test_setlink_request_carries_up_master_and_hairpin():
    msg = rtmsg.setlink(7, 3, up=True, master=0, hairpin=True)
    length, mtype, flags, seq, _ = struct.unpack_from("=IHHII", msg)
    assert (length, mtype, seq) == (len(msg), rtmsg.RTM_NEWLINK, 3)
    assert flags == rtmsg.NLM_F_REQUEST | rtmsg.NLM_F_ACK  # no CREATE: an existing link
    index, ifflags, change = struct.unpack_from("=iII", msg, 20)  # after family and type
    assert (index, ifflags, change) == (7, rtmsg.IFF_UP, rtmsg.IFF_UP)
    assert struct.pack("=HHI", 8, rtmsg.IFLA_MASTER, 0) in msg
    assert b"bridge\0" in msg and struct.pack("=HHB", 5, rtmsg.IFLA_BRPORT_MODE, 1) in msg
    down = rtmsg.setlink(7, 4, up=False)
    assert struct.unpack_from("=iII", down, 20) == (7, 0, rtmsg.IFF_UP)
    assert len(rtmsg.setlink(7, 5)) == 32  # nothing asked: header and ifinfomsg only
