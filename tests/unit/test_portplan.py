"""Pure port planning and DNAT rule text: wanted bindings, allocation, conflicts, mappings."""

import ipaddress

import pytest

from tether.engine import portplan
from tether.engine.portplan import PortTaken
from tether.firewall import portrules
from tether.firewall.portrules import Mapping
from tether.model import Endpoint, PortBinding


def ep(v6: bool = False) -> Endpoint:
    return Endpoint(id="e", network_id="n", container_id="c", ifname="eth0", mac="",
                    ipv4=ipaddress.ip_interface("172.17.0.2/16"),
                    ipv6=ipaddress.ip_interface("fd00::2/64") if v6 else None)


def test_fixed_port_conflict_says_already_allocated():
    taken = [PortBinding(80, host_port=8080)]
    with pytest.raises(PortTaken, match=r"^Bind for 0.0.0.0:8080 failed: port is already "
                                        r"allocated$"):
        portplan.allocate([PortBinding(80, host_port=8080)], taken, (32768, 60999),
                          lambda b: True)


def test_other_proto_or_other_ip_does_not_conflict():
    taken = [PortBinding(80, host_port=8080, host_ip="127.0.0.1")]
    got = portplan.allocate([PortBinding(80, "udp", host_port=8080),
                             PortBinding(80, host_ip="127.0.0.2", host_port=8080)],
                            taken, (1, 2), lambda b: True)
    assert [b.host_port for b in got] == [8080, 8080]
    with pytest.raises(PortTaken):
        portplan.allocate([PortBinding(80, host_port=8080)], taken, (1, 2), lambda b: True)


def test_random_ports_skip_taken_and_unusable():
    taken = [PortBinding(1, host_port=32768)]
    got = portplan.allocate([PortBinding(80), PortBinding(81)], taken, (32768, 32800),
                            lambda b: b.host_port != 32769)
    assert [b.host_port for b in got] == [32770, 32771]


def test_range_picks_first_free_and_exhaustion_fails():
    got = portplan.allocate([PortBinding(80, host_port=9000, host_port_end=9002)],
                            [PortBinding(1, host_port=9000)], (1, 2), lambda b: True)
    assert got[0].host_port == 9001 and got[0].host_port_end == 0
    with pytest.raises(PortTaken):
        portplan.allocate([PortBinding(80, host_port=9000, host_port_end=9000)],
                          [PortBinding(1, host_port=9000)], (1, 2), lambda b: True)


def test_mappings_follow_host_ip_family():
    bs = [PortBinding(80, host_port=8080), PortBinding(81, host_ip="127.0.0.1", host_port=81),
          PortBinding(82, host_ip="::", host_port=82)]
    got = portplan.mappings(bs, ep(v6=True))
    assert got == (Mapping("tcp", "", 8080, "172.17.0.2", 80),
                   Mapping("tcp", "", 8080, "fd00::2", 80),
                   Mapping("tcp", "127.0.0.1", 81, "172.17.0.2", 81),
                   Mapping("tcp", "", 82, "fd00::2", 82))
    assert len(portplan.mappings(bs, ep())) == 2


def test_publish_script_is_one_element_line_per_map():
    maps = [Mapping("tcp", "", 20000 + i, "172.17.0.2", i + 1) for i in range(1000)]
    script = portrules.publish("tether", maps)
    elem_lines = [x for x in script.splitlines() if " element " in x]
    assert elem_lines and len(elem_lines) == 1 and "tcp . 20999 : 172.17.0.2 . 1000" in script
    assert "fib daddr type local meta nfproto ipv4 dnat ip to meta l4proto . th dport " \
           "map @pub4" in script
    un = portrules.unpublish("tether", maps[:1])
    assert "delete element inet tether pub4 { tcp . 20000 }" in un
    assert portrules.publish("tether", []) == ""
