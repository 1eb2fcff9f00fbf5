"""Execute compose plans through the daemon's API, printing compose's progress lines.

The only module of `tether.compose` with effects: it reads the daemon's state into a
`plan.State`, and performs each action with `tether.client.Client`. A recreation that fails
half-way puts the old container back under its name.
"""

from __future__ import annotations

import shlex
import sys
from typing import TextIO

from tether.client.api import Client
from tether.client.network_body import EndpointOptions, IPAMRequest
from tether.client.run_body import RunOptions
from tether.compose import plan as p
from tether.compose.model import NetworkDef, Project, Service
from tether.errors import NotFound, TetherError

COMPOSE_VERSION = "1.29.2"  # what both tools write in com.docker.compose.version
LABEL = "com.docker.compose"
STOP_TIMEOUT = 10


def read_state(client: Client, project: Project) -> p.State:
    """The networks, the project's containers (label-filtered, as compose) and image ids."""
    networks = {n["Name"]: _network(n) for n in client.list_networks()}
    found = client.list_containers(all=True, filters=[
        f"label={LABEL}.project={project.name}", f"label={LABEL}.oneoff=False"])
    containers = tuple(_existing(client, c) for c in found)
    images = {s.image: _image_id(client, s.image) for s in project.services}
    return p.State(networks, containers, images)


def _network(found: dict) -> p.ExistingNetwork:
    pools = (found.get("IPAM") or {}).get("Config") or ()
    return p.ExistingNetwork(
        id=found["Id"], driver=found.get("Driver", ""), options=found.get("Options") or {},
        internal=bool(found.get("Internal")), enable_ipv6=bool(found.get("EnableIPv6")),
        subnets=tuple(c["Subnet"] for c in pools if c.get("Subnet")))


def _existing(client: Client, summary: dict) -> p.Existing:
    info = client.inspect_container(summary["Id"])
    labels = info["Config"].get("Labels") or {}
    return p.Existing(
        id=info["Id"], name=info["Name"].lstrip("/"), service=labels.get(f"{LABEL}.service", ""),
        config_hash=labels.get(f"{LABEL}.config-hash", ""),
        running=bool(info["State"].get("Running")),
        host_links=bool(info["HostConfig"].get("Links")))


def _image_id(client: Client, image: str) -> str | None:
    try:
        return client.inspect_image(image)["Id"]
    except NotFound:
        return None


class Progress:
    """compose's non-interactive progress: `Creating x ... ` then `Creating x ... done`."""

    def __init__(self, out: TextIO, width: int):
        self.out, self.width = out, width

    def step(self, verb: str, name: str, func, *args) -> None:
        label = f"{verb} {name:<{self.width}} ..."
        self.out.write(label + " \n")
        self.out.flush()
        try:
            func(*args)
        except TetherError:
            self.out.write(label + " error\n")
            raise
        self.out.write(label + " done\n")
        self.out.flush()


def execute(client: Client, project: Project, actions: list, out: TextIO = sys.stdout,
            timeout: int | None = None) -> None:
    """Perform `actions` in order; the first failure stops the run and is raised.

    Args:
        timeout: seconds a stop waits before SIGKILL; default each service's
            stop_grace_period, else 10 as compose.
    """
    names = [_name(a) for a in actions if _name(a)]
    progress = Progress(out, max(map(len, names), default=0))
    ctx = _Run(client, project, progress, out, timeout)
    for action in actions:
        ctx.perform(action)


def _name(action) -> str:
    if isinstance(action, p.CreateContainer):
        return action.name
    for attr in ("old", "container"):
        if hasattr(action, attr):
            return getattr(action, attr).name
    return ""


class _Run:
    """One execution: the client, the project and where progress goes."""

    def __init__(self, client: Client, project: Project, progress: Progress, out: TextIO,
                 timeout: int | None):
        self.client, self.project, self.progress, self.out = client, project, progress, out
        self.timeout = timeout

    def stop_timeout(self, service: str) -> int:
        """-t wins, then the service's stop_grace_period, then compose's 10 seconds."""
        if self.timeout is not None:
            return self.timeout
        known = {s.name: s for s in self.project.services}
        grace = known[service].stop_grace_period if service in known else None
        return STOP_TIMEOUT if grace is None else int(round(grace))

    def perform(self, action) -> None:
        client, step = self.client, self.progress.step
        if isinstance(action, p.CreateNetwork):
            self.say(action.describe())
            create_network(client, self.project, action.network)
        elif isinstance(action, p.CreateContainer):
            step("Creating", action.name, create_service_container, client, self.project,
                 action.service, action.name, action.config_hash, action.start)
        elif isinstance(action, p.RecreateContainer):
            step("Recreating", action.old.name, recreate, client, self.project, action,
                 self.stop_timeout(action.service.name))
        elif isinstance(action, p.StartContainer):
            step("Starting", action.container.name, client.start_container, action.container.id)
        elif isinstance(action, p.StopContainer):
            step("Stopping", action.container.name, client.stop_container, action.container.id,
                 self.stop_timeout(action.container.service))
        elif isinstance(action, p.RemoveContainer):
            step("Removing", action.container.name, client.remove_container,
                 action.container.id)
        elif isinstance(action, p.RemoveNetwork):
            self.say(action.describe())
            client.remove_network(action.name)
        else:  # UpToDate, SkipExternal: nothing to do but say so
            self.say(action.describe())

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


def create_network(client: Client, project: Project, net: NetworkDef) -> None:
    """Create a project network with the labels compose puts on it."""
    pools = net.ipam_config
    ipam = IPAMRequest(subnets=tuple(c.subnet for c in pools if c.subnet),
                       gateways=tuple(c.gateway for c in pools if c.gateway),
                       ip_ranges=tuple(c.ip_range for c in pools if c.ip_range),
                       aux_addresses={k: v for c in pools for k, v in c.aux_addresses.items()})
    labels = {**net.labels, f"{LABEL}.project": project.name, f"{LABEL}.network": net.key,
              f"{LABEL}.version": COMPOSE_VERSION}
    client.create_network(net.name, driver=net.driver, ipam=ipam,
                          ipam_driver=net.ipam_driver or "default",
                          ipam_options=net.ipam_options, ipv6=net.enable_ipv6,
                          internal=net.internal, attachable=net.attachable,
                          options=net.driver_opts, labels=labels)


def create_service_container(client: Client, project: Project, svc: Service, name: str,
                             digest: str, start: bool = True) -> str:
    """Create the container on its primary network, connect the others, start it.

    A failure after create removes the half-made container, so a retry starts clean.
    """
    created = client.create_container(run_options(project, svc, name, digest))["Id"]
    try:
        for sn in svc.networks[1:]:
            client.connect_network(project.networks[sn.key].name, created,
                                   endpoint_options(project, svc, sn))
        if start:
            client.start_container(created)
    except TetherError:
        _quietly(client.remove_container, created, True)
        raise
    return created


def recreate(client: Client, project: Project, action: p.RecreateContainer,
             timeout: int = STOP_TIMEOUT) -> None:
    """compose's order: stop the old one, rename it aside, create and start the new one
    under the same name (so its DNS name stays), then remove the old one. On failure the
    old container gets its name back and is started again if it ran."""
    old = action.old
    client.stop_container(old.id, timeout)
    aside = f"{old.id[:12]}_{old.name}"
    client.rename_container(old.id, aside)
    try:
        create_service_container(client, project, action.service, old.name, action.config_hash,
                                 action.start)
    except TetherError:
        _quietly(client.rename_container, old.id, old.name)
        if old.running:
            _quietly(client.start_container, old.id)
        raise
    client.remove_container(old.id)


def _quietly(func, *args) -> None:
    try:
        func(*args)
    except TetherError as err:
        print(f"warning: cleanup failed: {err}", file=sys.stderr)


def run_options(project: Project, svc: Service, name: str, digest: str) -> RunOptions:
    """The create request compose makes: the primary network's endpoint, links, labels."""
    primary = svc.networks[0] if svc.networks else None
    command = svc.command
    cmd = tuple(shlex.split(command) if isinstance(command, str) else command or ())
    return RunOptions(
        image=svc.image, cmd=cmd, name=name,
        network=project.networks[primary.key].name if primary else "",
        endpoint=endpoint_options(project, svc, primary) if primary else EndpointOptions(),
        hostname=svc.hostname,
        env=tuple(f"{k}={v}" for k, v in svc.environment.items() if v is not None),
        links=tuple(link_strings(project, svc)),
        publish=tuple(publish_strings(svc)), labels=labels(project, svc, digest))


def endpoint_options(project: Project, svc: Service, sn) -> EndpointOptions:
    """The service name is an alias on every network, then the configured aliases."""
    return EndpointOptions(
        ipv4=sn.ipv4_address, ipv6=sn.ipv6_address, mac_address=sn.mac_address,
        aliases=tuple(dict.fromkeys((svc.name, *sn.aliases))),
        links=tuple(link_strings(project, svc)))


def link_strings(project: Project, svc: Service) -> list[str]:
    """`<container>:<alias>` for each link, plus the container's own names, as compose."""
    out = []
    for target, alias in svc.links:
        cname = f"{project.name}_{target}_1"
        out += [f"{cname}:{alias or target}", f"{cname}:{target}_1", f"{cname}:{cname}"]
    return list(dict.fromkeys(out))


def publish_strings(svc: Service) -> list[str]:
    out = []
    for port in svc.ports:
        proto = f"/{port.protocol}" if port.protocol else ""
        host = f"{port.published}:" if port.published is not None else ""
        ip = f"{port.host_ip}:" if port.host_ip else ""
        out.append(f"{ip}{host if (host or not ip) else ':'}{port.target}{proto}")
    return out


def labels(project: Project, svc: Service, digest: str) -> dict[str, str]:
    return {
        f"{LABEL}.config-hash": digest, f"{LABEL}.container-number": "1",
        f"{LABEL}.oneoff": "False", f"{LABEL}.project": project.name,
        f"{LABEL}.project.config_files": ",".join(project.config_files),
        f"{LABEL}.project.working_dir": project.working_dir,
        f"{LABEL}.service": svc.name, f"{LABEL}.version": COMPOSE_VERSION,
    }
