"""What `up`, `down`, `start`, `stop` must do: pure functions of the project and the state.

The plan is a list of actions, printable (`up --dry-run`) and executed in order by
`tether.compose.run`. Convergence follows compose 1.29.2: a service whose config hash
changed is recreated, and so are dependents that link to a recreated service.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from tether.compose.confighash import config_hash
from tether.compose.model import NetworkDef, Project, Service
from tether.errors import Conflict, NotFound


@dataclass(frozen=True)
class Existing:
    """A project container the daemon has (labels say which service)."""

    id: str
    name: str
    service: str
    config_hash: str
    running: bool
    host_links: bool = False  # HostConfig.Links is set (legacy links on the default bridge)


@dataclass(frozen=True)
class ExistingNetwork:
    """What compose compares of a network the daemon already has."""

    id: str
    driver: str = "bridge"
    options: dict[str, str] = field(default_factory=dict)
    internal: bool = False
    enable_ipv6: bool = False
    subnets: tuple[str, ...] = ()


@dataclass(frozen=True)
class State:
    """The daemon's side: networks by name, the project's containers, image ids."""

    networks: dict[str, ExistingNetwork] = field(default_factory=dict)
    containers: tuple[Existing, ...] = ()
    image_ids: dict[str, str | None] = field(default_factory=dict)

    def of_service(self, name: str) -> list[Existing]:
        return [c for c in self.containers if c.service == name]


@dataclass(frozen=True)
class CreateNetwork:
    network: NetworkDef

    def describe(self) -> str:
        """compose's line: it names the driver only when the file does."""
        net = self.network
        driver = f'driver "{net.driver}"' if net.configured.get("driver") else "the default driver"
        return f'Creating network "{net.name}" with {driver}'


@dataclass(frozen=True)
class CreateContainer:
    service: Service
    name: str
    config_hash: str
    start: bool = True  # False for `up --no-start`

    def describe(self) -> str:
        return f"Creating {self.name}"


@dataclass(frozen=True)
class RecreateContainer:
    service: Service
    old: Existing
    config_hash: str
    start: bool = True

    def describe(self) -> str:
        return f"Recreating {self.old.name}"


@dataclass(frozen=True)
class StartContainer:
    container: Existing

    def describe(self) -> str:
        return f"Starting {self.container.name}"


@dataclass(frozen=True)
class UpToDate:
    container: Existing

    def describe(self) -> str:
        return f"{self.container.name} is up-to-date"


@dataclass(frozen=True)
class StopContainer:
    container: Existing

    def describe(self) -> str:
        return f"Stopping {self.container.name}"


@dataclass(frozen=True)
class RemoveContainer:
    container: Existing

    def describe(self) -> str:
        return f"Removing {self.container.name}"


@dataclass(frozen=True)
class RemoveNetwork:
    name: str

    def describe(self) -> str:
        return f"Removing network {self.name}"


@dataclass(frozen=True)
class SkipExternal:
    name: str

    def describe(self) -> str:
        return f"Network {self.name} is external, skipping"


def container_name(project: Project, service: Service) -> str:
    return f"{project.name}_{service.name}_1"


def selected_services(project: Project, names: list[str], with_deps: bool = True) -> list[Service]:
    """The named services (all when none are named) and, unless told not to, what they
    depend on; in start order."""
    if not names:
        return list(project.services)
    wanted = {project.service(n).name for n in names}
    grew = with_deps
    while grew:
        deps = {d for s in project.services if s.name in wanted for d in s.dependencies()}
        grew = not deps <= wanted
        wanted |= deps
    return [s for s in project.services if s.name in wanted]


def plan_up(project: Project, state: State, names: list[str] = (), *,
            force_recreate: bool = False, no_recreate: bool = False, no_deps: bool = False,
            always_recreate_deps: bool = False, no_start: bool = False) -> list:
    """Networks first (creating the missing ones), then each service in dependency order.

    Raises:
        NotFound: an external network that does not exist, with compose's sentence.
    """
    services = selected_services(project, list(names), with_deps=not no_deps)
    actions: list = plan_networks(project, state, services)
    changed: set[str] = set()
    for svc in services:
        action = converge(project, state, svc, changed, force_recreate, no_recreate,
                          always_recreate_deps)
        if isinstance(action, (CreateContainer, RecreateContainer)):
            changed.add(svc.name)
            action = replace(action, start=not no_start)
        elif no_start and isinstance(action, StartContainer):
            continue
        actions.append(action)
    return actions


def plan_networks(project: Project, state: State, services: list[Service]) -> list:
    used = {sn.key for s in services for sn in s.networks}
    actions = []
    for key, net in project.networks.items():
        if key not in used:
            continue
        if net.name in state.networks:
            if not net.external:
                check_network(net, state.networks[net.name])
            continue
        if net.external:
            raise NotFound(
                f"Network {net.name} declared as external, but could not be found. Please "
                f"create the network manually using `docker network create {net.name}` and "
                f"try again.")
        actions.append(CreateNetwork(net))
    return actions


def check_network(net: NetworkDef, have: ExistingNetwork) -> None:
    """compose 1.29.2 refuses to use a project network whose config the file changed:
    networks are never recreated behind the containers' backs.

    Raises:
        Conflict: with compose's sentence, naming what changed.
    """
    changed = []
    if net.configured.get("driver") and net.driver != have.driver:
        changed.append("option \"driver\"")
    # only the options the file sets: a driver may record options of its own (a macvlan's
    # stub parent) that no file names
    for key in sorted(net.driver_opts):
        if net.driver_opts.get(key) != have.options.get(key):
            changed.append(f'option "{key}"')
    subnets = tuple(sorted(c.subnet for c in net.ipam_config if c.subnet))
    if subnets and subnets != tuple(sorted(have.subnets)):
        changed.append("IPAM config")
    if net.internal != have.internal:
        changed.append("internal")
    if net.enable_ipv6 != have.enable_ipv6:
        changed.append("enable_ipv6")
    if changed:
        raise Conflict(f'Network "{net.name}" needs to be recreated - {changed[0]} has changed')


def converge(project: Project, state: State, svc: Service, changed: set[str],
             force_recreate: bool, no_recreate: bool, always_recreate_deps: bool = False):
    """compose 1.29.2's convergence plan for one service (one container per service)."""
    existing = state.of_service(svc.name)
    digest = config_hash(svc, project.networks, state.image_ids.get(svc.image))
    if not existing:
        return CreateContainer(svc, container_name(project, svc), digest)
    old = existing[0]
    if not no_recreate and (force_recreate or old.config_hash != digest
                            or _dependency_recreated(svc, old, changed, always_recreate_deps)):
        return RecreateContainer(svc, old, digest)
    return UpToDate(old) if old.running else StartContainer(old)


def _dependency_recreated(svc: Service, old: Existing, changed: set[str],
                          always: bool = False) -> bool:
    """compose recreates a dependent of a (re)created service when its container is stopped,
    or when the service has links but the container's HostConfig.Links is empty (links on
    a user-defined network live on the endpoint): in practice, linking services."""
    if not any(dep in changed for dep in svc.dependencies()):
        return False
    return always or (not old.running) or (bool(svc.links) != old.host_links)


def plan_down(project: Project, state: State, remove_orphans: bool = False) -> list:
    """Stop and remove the project's containers, then its networks; never an external one."""
    known = {s.name for s in project.services}
    doomed = [c for c in state.containers if remove_orphans or c.service in known]
    actions: list = [StopContainer(c) for c in _reverse_order(project, doomed) if c.running]
    actions += [RemoveContainer(c) for c in _reverse_order(project, doomed)]
    for net in project.networks.values():
        if net.external:
            actions.append(SkipExternal(net.name))
        elif net.name in state.networks:
            actions.append(RemoveNetwork(net.name))
    return actions


def plan_stop(project: Project, state: State, names: list[str] = ()) -> list:
    chosen = _chosen(project, state, names)
    return [StopContainer(c) for c in _reverse_order(project, chosen) if c.running]


def plan_start(project: Project, state: State, names: list[str] = ()) -> list:
    chosen = _chosen(project, state, names)
    order = {s.name: i for i, s in enumerate(project.services)}
    return [StartContainer(c) for c in sorted(chosen, key=lambda c: order.get(c.service, 0))
            if not c.running]


def _chosen(project: Project, state: State, names: list[str]) -> list[Existing]:
    wanted = {project.service(n).name for n in names} or {s.name for s in project.services}
    return [c for c in state.containers if c.service in wanted]


def _reverse_order(project: Project, containers: list[Existing]) -> list[Existing]:
    """Dependents first, so nothing loses a dependency while it still runs."""
    order = {s.name: i for i, s in enumerate(project.services)}
    return sorted(containers, key=lambda c: order.get(c.service, len(order)), reverse=True)
