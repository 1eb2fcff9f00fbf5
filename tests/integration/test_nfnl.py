"""kernel.nfnl batches make exactly what the libnftables scripts of `rules` make."""

from __future__ import annotations

import ipaddress
import os
import subprocess

import pytest

from tether.firewall import batches, portrules, rules, spoofrules
from tether.firewall.portrules import Mapping
from tether.firewall.rules import NetRules
from tether.kernel import libnftables, nfnl

pytestmark = pytest.mark.skipif(os.geteuid() != 0 or libnftables.shared() is None,
                                reason="needs root and libnftables")

NETS = [
    NetRules(key="aaaaaaaaaaaa", bridge="tb-aaaaaaaaaaaa",
             subnets=(ipaddress.ip_network("10.50.0.0/16"), ipaddress.ip_network("fd00:50::/64"))),
    NetRules(key="bbbbbbbbbbbb", bridge="tb-bbbbbbbbbbbb",
             subnets=(ipaddress.ip_network("10.51.0.0/24"),), icc=False),
    NetRules(key="cccccccccccc", bridge="tb-cccccccccccc",
             subnets=(ipaddress.ip_network("10.51.1.0/24"),), internal=True),
    NetRules(key="dddddddddddd", bridge="tb-dddddddddddd",
             subnets=(ipaddress.ip_network("10.52.0.0/24"),), masquerade=False),
]


def nft(script: str) -> str:
    status, out, err = libnftables.shared().run_blocking(script)
    assert status == 0, err
    return out


def listing(table: str) -> str:
    """Both tables as the `nft` tool lists them (a fresh process: no cache of ours)."""
    text = "".join(subprocess.run(["nft", "list", "table", family, table], check=True,
                                  capture_output=True, text=True).stdout
                   for family in ("inet", "bridge"))
    return text.replace(table, "T")


@pytest.fixture
def tables():
    yield ("nfnltext", "nfnlraw")
    for t in ("nfnltext", "nfnlraw"):
        nft(rules.teardown(t))


def test_batches_make_what_the_scripts_make(tables):
    text, raw = tables
    for t in tables:
        nft(rules.full_ruleset(t, []))
    for net in NETS:
        nft(rules.add_network(text, net))
        batches.add_network(raw, net).send()
        nft(rules.add_endpoint(text, net, "tvport" + net.key[:4]) or "\n")
        batches.endpoint(raw, net, "tvport" + net.key[:4], "add").send()
    assert listing(raw) == listing(text)
    assert "tb-bbbbbbbbbbbb" in listing(raw) and "10.51.1.0/24" not in listing(raw)

    batches.add_network(raw, NETS[0]).send()  # idempotent, as the script is
    nft(rules.remove_network(text, NETS[1]))
    batches.remove_network(raw, NETS[1]).send()
    batches.remove_network(raw, NETS[1]).send()  # absent parts are no error
    nft(rules.remove_endpoint(text, NETS[1], "tvportbbbb"))
    batches.endpoint(raw, NETS[1], "tvportbbbb", "delete").send()
    assert listing(raw) == listing(text)
    assert "tb-bbbbbbbbbbbb" not in listing(raw)


MAPS = (
    Mapping("tcp", "", 8080, "10.50.0.2", 80),
    Mapping("udp", "", 5353, "10.50.0.2", 53),
    Mapping("tcp", "", 8080, "fd00:50::2", 80),
    Mapping("sctp", "127.0.0.1", 9000, "10.50.0.3", 9),
    Mapping("tcp", "::1", 9001, "fd00:50::3", 9),
    Mapping("tcp", "192.0.2.7", 65535, "10.50.0.4", 1),
)


def test_port_map_batches_make_what_the_scripts_make(tables):
    text, raw = tables
    for t in tables:
        nft(rules.full_ruleset(t, []) + "\n".join(portrules.all_elements(t, ())) + "\n")
    nft(portrules.publish(text, MAPS))
    batches.publish(raw, MAPS).send()
    assert listing(raw) == listing(text)
    assert "tcp . 8080 : fd00:50::2 . 80" in listing(raw)
    assert "192.0.2.7 . tcp . 65535 : 10.50.0.4 . 1" in listing(raw)

    nft(portrules.unpublish(text, MAPS[:3]))
    batches.unpublish(raw, MAPS[:3]).send()
    batches.unpublish(raw, MAPS[:3]).send()  # absent mappings are no error
    assert listing(raw) == listing(text)
    assert "8080" not in listing(raw) and "9001" in listing(raw)


def test_a_refused_batch_changes_nothing(tables):
    _, raw = tables
    nft(rules.full_ruleset(raw, []))
    before = listing(raw)
    bad = batches.add_network(raw, NETS[0])
    bad.elements("add", "inet", raw, "no_such_set", [nfnl.Element(nfnl.ifname("x"))])
    with pytest.raises(OSError):
        bad.send()
    assert listing(raw) == before
    with pytest.raises(OSError):  # no skeleton: the caller falls back to the script
        batches.add_network("nfnl_absent", NETS[0]).send()


SPOOFERS = [
    spoofrules.PortIdentity("tvspoof00001", "02:42:0a:32:00:02",
                            (ipaddress.ip_address("10.50.0.2"),),
                            (ipaddress.ip_address("fd00:50::2"),)),
    spoofrules.PortIdentity("tvspoof00002", "02:42:0a:32:00:03",
                            (ipaddress.ip_address("10.50.0.3"), ipaddress.ip_address("169.254.9.9"))),
]


def test_antispoof_batches_make_what_the_scripts_make(tables):
    text, raw = tables
    for t in tables:
        nft(rules.full_ruleset(t, []) + "\n".join(spoofrules.skeleton(t)) + "\n")
    for who in SPOOFERS:
        nft(spoofrules.add_script(text, who))
        spoofrules.batch(raw, who, "add").send()
    assert listing(raw) == listing(text)
    assert "169.254.9.9" in listing(raw) and "fd00:50::2" in listing(raw)
    for t in (text, raw):  # twice: absent elements are no error
        nft(spoofrules.remove_script(text, SPOOFERS[0]))
    spoofrules.batch(raw, SPOOFERS[0], "delete").send()
    spoofrules.batch(raw, SPOOFERS[0], "delete").send()
    assert listing(raw) == listing(text)
    assert "tvspoof00001" not in listing(raw) and "tvspoof00002" in listing(raw)
