"""Golden rulesets and properties of the pure nft rule builders (no root, no kernel).

Regenerate the golden files with TETHER_REGEN_GOLDEN=1 after an intended change, and review
the diff like code.
"""

from __future__ import annotations

import ipaddress
import os
from pathlib import Path

import pytest

from tether.firewall import rules
from tether.firewall.nftables import net_rules
from tether.firewall.rules import NetRules
from tether.model import IPAMPool, Network

GOLDEN = Path(__file__).resolve().parent.parent / "golden"

A = NetRules("aaaaaaaaaaaa", "tb-aaaaaaaaaaaa",
             (ipaddress.ip_network("172.18.0.0/16"), ipaddress.ip_network("fd00:a::/64")))
B = NetRules("bbbbbbbbbbbb", "tb-bbbbbbbbbbbb", (ipaddress.ip_network("172.19.0.0/16"),))
INTERNAL = NetRules("cccccccccccc", "tb-cccccccccccc", (ipaddress.ip_network("172.20.0.0/16"),),
                    internal=True)
NO_ICC = NetRules("dddddddddddd", "tether0", (ipaddress.ip_network("172.17.0.0/16"),), icc=False)
NO_MASQ = NetRules("eeeeeeeeeeee", "tb-eeeeeeeeeeee", (ipaddress.ip_network("10.9.0.0/24"),),
                   masquerade=False)


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("TETHER_REGEN_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"missing golden file {path}; run with TETHER_REGEN_GOLDEN=1"
    assert text == path.read_text(), f"{name} differs from its golden file"


def test_full_ruleset_matches_golden():
    text = rules.full_ruleset("tether", [NO_MASQ, B, A, INTERNAL, NO_ICC], [(NO_ICC, "tv0123456789")])
    check_golden("full_ruleset.nft", text)


@pytest.mark.parametrize("net", [A, INTERNAL, NO_ICC], ids=["normal", "internal", "no_icc"])
def test_add_network_matches_golden(net):
    check_golden(f"add_network_{net.key[:1]}.nft", rules.add_network("tether", net))


def test_remove_network_matches_golden():
    check_golden("remove_network_a.nft", rules.remove_network("tether", A))


def test_empty_ruleset_matches_golden():
    check_golden("empty_ruleset.nft", rules.full_ruleset("tether", []))


def test_change_size_does_not_grow_with_networks():
    """Adding a network is the same few lines whatever else exists: O(1) per change."""
    script = rules.add_network("tether", B)
    assert script.count("\n") < 30
    assert "172.18.0.0/16" not in script and "tb-aaaaaaaaaaaa" not in script


def test_internal_network_drops_everything_but_its_bridge_and_is_not_masqueraded():
    script = rules.add_network("tether", INTERNAL)
    assert 'add element inet tether internal { "tb-cccccccccccc" }' in script
    assert "internal" not in rules.add_network("tether", A).split("add element", 1)[1]
    assert not any(line.startswith("add element inet tether masq ")
                   for line in rules.add_network("tether", INTERNAL).splitlines())


def test_a_network_is_elements_only_with_the_icc_verdict():
    """No chain, rule or jump per network: the kernel re-validates every jump target on each
    commit that adds one, which made per-network chains linear in the networks."""
    for net in (A, INTERNAL, NO_ICC):
        own = [line for line in rules.add_network("tether", net).splitlines()
               if net.bridge in line]
        assert own and all(line.startswith("add element") for line in own)
    assert '{ "tether0" . "tether0" : drop }' in rules.add_network("tether", NO_ICC)
    assert '{ "tb-aaaaaaaaaaaa" . "tb-aaaaaaaaaaaa" : accept }' in rules.add_network("tether", A)


def test_masquerade_is_keyed_by_bridge_and_off_keeps_it_out():
    assert not NO_MASQ.masqueraded and not INTERNAL.masqueraded and A.masqueraded
    assert 'add element inet tether masq { "tb-aaaaaaaaaaaa" }' in rules.add_network("tether", A)
    assert not any(line.startswith("add element inet tether masq ")
                   for line in rules.add_network("tether", NO_MASQ).splitlines())
    assert "interval" not in rules.full_ruleset("tether", [A, NO_MASQ, INTERNAL])


def test_remove_is_idempotent_by_adding_first():
    lines = rules.remove_network("tether", A).splitlines()
    first_add = lines.index('add element inet tether bridges { "tb-aaaaaaaaaaaa" }')
    first_delete = lines.index('delete element inet tether bridges { "tb-aaaaaaaaaaaa" }')
    assert first_add < first_delete


def test_endpoint_elements_only_for_no_icc_networks():
    assert rules.add_endpoint("tether", A, "tv0123456789") == ""
    script = rules.add_endpoint("tether", NO_ICC, "tv0123456789")
    assert 'add element bridge tether no_icc_ports { "tv0123456789" }' in script


def test_table_name_is_used_everywhere():
    script = rules.full_ruleset("other", [A])
    assert " tether " not in script and "inet other" in script and "bridge other" in script


def test_net_rules_reads_bridge_options():
    net = Network(
        id="f" * 64, name="n", driver="bridge", created="", internal=True,
        pools=(IPAMPool(ipaddress.ip_network("10.3.0.0/24"), ipaddress.ip_address("10.3.0.1")),),
        options={"com.docker.network.bridge.name": "mybr", "com.docker.network.bridge.enable_icc": "false"},
    )
    r = net_rules(net)
    assert r == NetRules("ffffffffffff", "mybr", (ipaddress.ip_network("10.3.0.0/24"),),
                         internal=True, icc=False, masquerade=True)
    assert net_rules(Network(id="1" * 64, name="h", driver="host", created="")) is None


def test_default_bridge_name_is_tagged():
    net = Network(id="0123456789abcdef" * 4, name="n", driver="bridge", created="")
    assert net_rules(net).bridge == "tb-0123456789ab"
