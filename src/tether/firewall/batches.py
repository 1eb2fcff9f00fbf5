"""The per-network and per-endpoint changes of `rules`, as nfnetlink batches (kernel.nfnl).

Pure: NetRules in, a Batch out. Each batch makes exactly what the matching `rules` script
makes (tests/integration/test_nfnl.py lists both and compares), but costs the same with
10,000 networks as with one, where a script costs time in proportion to the ruleset
(libnftables reads it all first). The batches assume the skeleton exists (the daemon sets
it up at start); when it does not, sending fails and the caller falls back to the script,
which re-declares it.
"""

from __future__ import annotations

from tether.firewall.rules import NetRules
from tether.kernel import nfnl
from tether.kernel.nfnl import Batch, Element


def _own_rules(table: str, net: NetRules, batch: Batch) -> Batch:
    """The chain's rules, in the order `rules.network_chain` writes them."""
    oif = nfnl.meta(nfnl.META_OIFNAME)
    own = "accept" if net.icc else "drop"
    batch.add_rule("inet", table, net.chain, oif, nfnl.cmp_eq(nfnl.ifname(net.bridge)),
                   nfnl.immediate(own))
    if net.internal:
        return batch.add_rule("inet", table, net.chain, nfnl.immediate("drop"))
    batch.add_rule("inet", table, net.chain, oif, nfnl.lookup("bridges"),
                   nfnl.immediate("drop"))
    return batch.add_rule("inet", table, net.chain, nfnl.immediate("accept"))


def _elements(table: str, net: NetRules, verb: str, batch: Batch) -> Batch:
    name = nfnl.ifname(net.bridge)
    batch.elements(verb, "inet", table, "bridges", [Element(name)])
    batch.elements(verb, "inet", table, "net_chains",
                   [Element(name, verdict=("jump", net.chain) if verb == "add" else None)])
    for version in (4, 6):
        elems = [Element(key, flags) for subnet in net.masq_subnets(version)
                 for key, flags in nfnl.interval(subnet)]
        batch.elements(verb, "inet", table, f"masq{version}", elems)
    return batch


def add_network(table: str, net: NetRules) -> Batch:
    """What `rules.add_network` does, for a table whose skeleton exists (idempotent)."""
    batch = Batch().add_chain("inet", table, net.chain).flush_chain("inet", table, net.chain)
    return _elements(table, net, "add", _own_rules(table, net, batch))


def remove_network(table: str, net: NetRules) -> Batch:
    """What `rules.remove_network` does: adding first makes an absent part no error."""
    batch = Batch().add_chain("inet", table, net.chain)
    _elements(table, net, "add", batch)
    _elements(table, net, "delete", batch)
    return (batch.flush_chain("inet", table, net.chain)
            .delete_chain("inet", table, net.chain))


def endpoint(table: str, net: NetRules, host_ifname: str, verb: str) -> Batch:
    """An icc=false endpoint's port joins (`verb` "add") or leaves ("delete")
    `no_icc_ports`; nothing to do for other endpoints."""
    batch = Batch()
    if net.icc:
        return batch
    port = [Element(nfnl.ifname(host_ifname))]
    if verb == "delete":
        batch.elements("add", "bridge", table, "no_icc_ports", port)
    return batch.elements(verb, "bridge", table, "no_icc_ports", port)
