"""kernel.nfnl batches make exactly what the libnftables scripts of `rules` make."""

from __future__ import annotations

import ipaddress
import os
import subprocess

import pytest

from tether.firewall import batches, rules
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
