"""Text output of `tether compose`: the resolved config, the ps table, a plan (dry run)."""

from __future__ import annotations

import yaml

from tether.compose.model import PortDef, Project, Service


def config_yaml(project: Project) -> str:
    """The project as compose resolves it: interpolated, merged, every form normalised."""
    doc = {"name": project.name,
           "services": {s.name: _service(s) for s in sorted(project.services, key=_by_name)},
           "networks": {k: _network(n) for k, n in sorted(project.networks.items())}}
    return yaml.safe_dump(doc, sort_keys=True, default_flow_style=False)


def _by_name(svc: Service) -> str:
    return svc.name


def _service(svc: Service) -> dict:
    out: dict = {"image": svc.image}
    if svc.command is not None:
        out["command"] = svc.command
    if svc.environment:
        out["environment"] = dict(svc.environment)
    if svc.hostname:
        out["hostname"] = svc.hostname
    if svc.links:
        out["links"] = [f"{s}:{a}" if a else s for s, a in svc.links]
    if svc.depends_on:
        out["depends_on"] = dict(svc.depends_on)
    if svc.ports:
        out["ports"] = [_port(p) for p in svc.ports]
    out["networks"] = {n.key: dict(n.configured) if n.configured else None for n in svc.networks}
    return out


def _port(port: PortDef) -> dict:
    fields = {"target": port.target, "published": port.published, "protocol": port.protocol,
              "mode": port.mode, "host_ip": port.host_ip}
    return {k: v for k, v in fields.items() if v is not None}


def _network(net) -> dict:
    if net.external:
        return {"external": True, "name": net.name}
    out = dict(net.configured or {})
    out.setdefault("driver", net.driver)
    out["name"] = net.name
    return out


def plan_lines(actions: list) -> str:
    """One line per action, what `up --dry-run` prints."""
    return "".join(f"{a.describe()}\n" for a in actions)


def ps_table(rows: list[dict]) -> str:
    """compose 1.29.2's `ps` table: Name, Command, State, Ports."""
    table = [(r["Names"][0].lstrip("/"), r.get("Command", ""), _state(r), _ports(r))
             for r in sorted(rows, key=lambda r: r["Names"][0])]
    head = ("Name", "Command", "State", "Ports")
    widths = [max([len(h)] + [len(t[i]) for t in table]) for i, h in enumerate(head)]
    line = lambda cells: "   ".join(c.ljust(w) for c, w in zip(cells, widths)).rstrip()
    total = sum(widths) + 3 * (len(widths) - 1)
    return "\n".join([line(head), "-" * total] + [line(t) for t in table]) + "\n"


def _state(row: dict) -> str:
    if row.get("State") == "running":
        return "Up"
    status = row.get("Status", "")
    if status.startswith("Exited ("):
        return "Exit " + status[len("Exited ("):].split(")")[0]
    return row.get("State", "").capitalize()


def _ports(row: dict) -> str:
    out = []
    for p in sorted(row.get("Ports") or (), key=lambda p: (p.get("PrivatePort", 0), p.get("IP", ""))):
        target = f"{p['PrivatePort']}/{p['Type']}"
        if p.get("PublicPort"):
            ip = p.get("IP", "")
            host = f"[{ip}]" if ":" in ip and ip != "::" else ("::" if ip == "::" else ip)
            out.append(f"{host}:{p['PublicPort']}->{target}")
        else:
            out.append(target)
    return ",".join(out)
