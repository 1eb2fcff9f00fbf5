"""The topology as a Graphviz picture: networks as wide boxes, containers between them.

Read at a glance: a network box says name, driver and subnet (internal ones dashed, grey);
a container says name and state, with its address and aliases on the line to each network;
hub containers (on two networks or more) are drawn bold in orange; published ports hang
off a host node ("0.0.0.0:8080 -> 80/tcp"). With an overlay network, or containers on more
than one host, containers are grouped in a box per host.
"""

from __future__ import annotations

from html import escape

from tether.netview.topology import CtrNode, NetNode, Topology

FONT = "Helvetica"
PREDEFINED = ("bridge", "host", "none")  # drawn only when a container uses them
NET_FILL = {"bridge": "#dbeafe", "overlay": "#ede9fe", "macvlan": "#dcfce7",
            "ipvlan": "#dcfce7", "host": "#f3f4f6", "null": "#f3f4f6"}


def select(topo: Topology, networks: list[str]) -> Topology:
    """Only the named networks and the containers attached to them (all when empty)."""
    if not networks:
        return topo
    keep = [n for n in topo.networks if n.name in networks or any(
        r and n.id.startswith(r) for r in networks)]
    ids = {n.id for n in keep}
    ctrs = [c for c in topo.containers if any(e.network_id in ids for e in c.endpoints)]
    return Topology(tuple(keep), tuple(ctrs), topo.host)


def render(topo: Topology) -> str:
    """The DOT text of `topo`."""
    lines = ["graph tether {", '  graph [rankdir=LR, nodesep=0.35, ranksep=1.1, '
             f'fontname="{FONT}", bgcolor="white", pad=0.3];',
             f'  node [fontname="{FONT}", fontsize=11];',
             f'  edge [fontname="{FONT}", fontsize=9, color="#64748b"];']
    used = {e.network_id for c in topo.containers for e in c.endpoints}
    lines += [_network(n) for n in topo.networks
              if n.id in used or n.name not in PREDEFINED]
    hosts = sorted({c.host for c in topo.containers})
    grouped = len(hosts) > 1 or any(n.driver == "overlay" for n in topo.networks)
    for i, host in enumerate(hosts):
        members = [c for c in topo.containers if c.host == host]
        if grouped:
            lines.append(f'  subgraph "cluster_host{i}" {{ label="host {_q(host)}"; '
                         'style="rounded,dashed"; color="#94a3b8"; fontsize=10;')
        lines += ["  " + _container(c, topo) for c in members]
        if grouped:
            lines.append("  }")
    lines += _edges(topo)
    lines.append("}")
    return "\n".join(lines) + "\n"


def _q(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def _network(n: NetNode) -> str:
    subnet = ", ".join(n.subnets) or "no subnet"
    extra = [s for s, on in (("internal", n.internal), ("icc off", not n.icc)) if on]
    driver = f"{n.driver} on {n.parent}" if n.parent else n.driver
    rows = (f"<B>{escape(n.name)}</B><BR/><FONT POINT-SIZE=\"9\">{escape(driver)} · "
            f"{escape(subnet)}{' · ' + ', '.join(extra) if extra else ''}</FONT>")
    style = '"rounded,filled,dashed"' if n.internal else '"rounded,filled"'
    fill = "#f1f5f9" if n.internal else NET_FILL.get(n.driver, "#e0f2fe")
    return (f'  "net:{n.id}" [shape=box, style={style}, fillcolor="{fill}", '
            f'color="#1e3a8a", penwidth=1.5, margin="0.25,0.12", label=<{rows}>];')


def _container(c: CtrNode, topo: Topology) -> str:
    hub = sum(1 for e in c.endpoints if topo.network(e.network_id)) >= 2
    state = "" if c.running else f"<BR/><FONT POINT-SIZE=\"9\">{escape(c.status)}</FONT>"
    tag = "<BR/><FONT POINT-SIZE=\"9\">hub</FONT>" if hub else ""
    fill = "#fed7aa" if hub else ("#ffffff" if c.running else "#e5e7eb")
    style = '"rounded,filled"' if c.running else '"rounded,filled,dashed"'
    return (f'"ctr:{c.id}" [shape=box, style={style}, fillcolor="{fill}", '
            f'color="{"#c2410c" if hub else "#334155"}", penwidth={2.5 if hub else 1}, '
            f'label=<<B>{escape(c.name)}</B>{tag}{state}>];')


def _edges(topo: Topology) -> list[str]:
    out = []
    for c in topo.containers:
        for ep in c.endpoints:
            if topo.network(ep.network_id) is None:
                continue
            addr = " ".join(a for a in (ep.ipv4, ep.ipv6) if a)
            aliases = [a for a in ep.aliases if a not in (c.name, c.id[:12])]
            label = _q(addr) + (f"\\naka {_q(', '.join(aliases))}" if aliases else "")
            out.append(f'  "ctr:{c.id}" -- "net:{ep.network_id}" [label="{label}"];')
    published = [c for c in topo.containers if c.ports]
    if published:
        out.append(f'  "host" [shape=house, style=filled, fillcolor="#fef9c3", '
                   f'label="host {_q(topo.host)}\\npublished ports"];')
    for c in published:
        label = "\\n".join(_q(f"{p.host_ip or '0.0.0.0'}:{p.host_port} -> "
                                f"{p.container_port}/{p.proto}") for p in c.ports)
        out.append(f'  "host" -- "ctr:{c.id}" [label="{label}", color="#a16207", '
                   'fontcolor="#a16207", style=bold];')
    return out
