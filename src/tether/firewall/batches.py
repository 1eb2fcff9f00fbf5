"""The per-network and per-endpoint changes of `rules`, as nfnetlink batches (kernel.nfnl).

Pure: NetRules in, a Batch out. Each batch makes exactly what the matching `rules` script
makes (tests/integration/test_nfnl.py lists both and compares), but costs the same with
10,000 networks as with one, where a script costs time in proportion to the ruleset
(libnftables reads it all first). A network is elements only (see `rules`), so a batch is a
handful of element messages. The batches assume the skeleton exists (the daemon sets it up
at start); when it does not, sending fails and the caller falls back to the script, which
re-declares it.
"""

from __future__ import annotations

from tether.firewall.rules import NetRules
from tether.kernel import nfnl
from tether.kernel.nfnl import Batch, Element


def _elements(table: str, net: NetRules, verb: str, batch: Batch) -> Batch:
    name = nfnl.ifname(net.bridge)
    batch.elements(verb, "inet", table, "bridges", [Element(name)])
    batch.elements(verb, "inet", table, "intra",
                   [Element(name + name, verdict=net.intra_verdict if verb == "add" else None)])
    if net.internal:
        batch.elements(verb, "inet", table, "internal", [Element(name)])
    if net.masqueraded:
        batch.elements(verb, "inet", table, "masq", [Element(name)])
    return batch


def add_network(table: str, net: NetRules) -> Batch:
    """What `rules.add_network` does, for a table whose skeleton exists (idempotent)."""
    return _elements(table, net, "add", Batch())


def remove_network(table: str, net: NetRules) -> Batch:
    """What `rules.remove_network` does: adding first makes an absent element no error."""
    return _elements(table, net, "delete", _elements(table, net, "add", Batch()))


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


def _port_elements(table: str, mappings, verb: str, batch: Batch) -> Batch:
    by_map: dict[str, list[Element]] = {}
    for m in mappings:
        name, key, data = m.encoded()
        by_map.setdefault(name, []).append(Element(key, data=data if verb == "add" else None))
    for name, elems in sorted(by_map.items()):
        batch.elements(verb, "inet", table, name, elems)
    return batch


def publish(table: str, mappings) -> Batch:
    """What `portrules.publish` does: every mapping of a container, one transaction."""
    return _port_elements(table, mappings, "add", Batch())


def unpublish(table: str, mappings) -> Batch:
    """What `portrules.unpublish` does (adding first makes an absent mapping no error)."""
    return _port_elements(table, mappings, "delete", _port_elements(table, mappings, "add",
                                                                    Batch()))
