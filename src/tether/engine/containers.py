"""Container records: create, rename, remove, and resolving what create asked for.

Create only records: addresses and kernel objects come at start (`lifecycle.py`), as in
Docker, so a created container holds configured but unplumbed endpoints.
"""

from __future__ import annotations

import secrets
from dataclasses import replace

from tether.engine.clock import now_rfc3339
from tether.engine.endpoints import check_request, placeholder
from tether.engine.names import generate_name, validate_container_name
from tether.engine.networks import Networks
from tether.engine.refs import lookup
from tether.engine.state import State
from tether.errors import Conflict, InvalidArgument, NotFound
from tether.model import Container, ContainerSpec, Endpoint, EndpointRequest, Image, Network

HOST_MODES = ("host", "none")


def primary_network_ref(spec: ContainerSpec) -> str:
    """The network a container starts on: "default" means the default bridge, as in Docker."""
    mode = spec.network_mode or "default"
    return "bridge" if mode == "default" else mode


def command_of(spec: ContainerSpec, image: Image) -> tuple[str, ...]:
    """Entrypoint + Cmd with Docker's precedence: an explicit entrypoint drops the image's Cmd."""
    if spec.entrypoint is not None:
        return tuple(spec.entrypoint) + tuple(spec.cmd)
    return tuple(image.entrypoint or ()) + tuple(spec.cmd or image.cmd)


def merged_env(image_env: tuple[str, ...], spec_env: tuple[str, ...]) -> tuple[str, ...]:
    """Image env overridden key by key by the container's env, order kept."""
    env: dict[str, str] = {}
    for item in (*image_env, *spec_env):
        key = item.partition("=")[0]
        env[key] = item
    return tuple(env.values())


def parse_link(text: str) -> tuple[str, str]:
    """"name:alias" or "name" -> (name, alias), as --link takes them."""
    name, _, alias = text.partition(":")
    name = name.lstrip("/")
    return name, (alias or name).rsplit("/", 1)[-1]


class Containers:
    """Owns container records; `lifecycle.Lifecycle` runs them."""

    def __init__(self, state: State, networks: Networks) -> None:
        self.state = state
        self.networks = networks

    def get(self, ref: str) -> Container:
        return lookup(ref.lstrip("/"), self.state.containers, self.state.container_ids,
                      kind="container", not_found="No such container: {ref}")

    def build(self, spec: ContainerSpec, image: Image) -> tuple[Container, list[str]]:
        """Turn a validated spec into a new Container record (no I/O); return warnings too."""
        cid = secrets.token_hex(32)
        taken = self.state.container_ids.keys()
        name = validate_container_name(spec.name) if spec.name else generate_name(taken)
        if name in taken:
            raise Conflict(self.state.name_conflict(name))
        argv = command_of(spec, image)
        if not argv:
            raise InvalidArgument("No command specified")
        warnings = []
        mode = primary_network_ref(spec)
        if mode == "host" and spec.port_bindings:
            warnings.append("Published ports are discarded when using host network mode")
        if any(m.anonymous and not m.source for m in spec.mounts):
            spec = replace(spec, mounts=tuple(
                replace(m, source=secrets.token_hex(32)) if m.anonymous and not m.source
                else m for m in spec.mounts))
        c = Container(
            id=cid, name=name, created=now_rfc3339(), spec=spec, image_id=image.id,
            path=argv[0], args=argv[1:], env=merged_env(image.env, spec.env),
            hostname=spec.hostname or ("" if mode == "host" else cid[:12]),
            links=tuple(parse_link(link) for link in spec.links),
        )
        c = replace(c, endpoints=self.initial_endpoints(c, spec, mode))
        self.check_links(c)
        return c, warnings

    def initial_endpoints(self, c: Container, spec: ContainerSpec, mode: str) -> dict:
        """The primary network's endpoint, then any other EndpointsConfig entries."""
        if mode.startswith("container:"):
            self.get(mode.partition(":")[2])
            return {}
        try:
            primary = self.networks.get(mode)
        except NotFound:
            return self.unresolved_endpoint(c, spec, mode)
        requests = dict(spec.endpoints)
        first = requests.pop(mode, None) or requests.pop(primary.name, None) \
            or requests.pop(primary.id, None) or requests.pop("default", None) or EndpointRequest()
        if spec.mac_address and not first.mac_address:
            first = replace(first, mac_address=spec.mac_address)
        eps = {primary.id: placeholder(primary, c.id, first)}
        for ref, req in requests.items():
            net = self.networks.get(ref)
            if primary.driver in ("host", "null") or net.driver in ("host", "null"):
                raise InvalidArgument("container cannot be connected to multiple networks with "
                                      "one of the networks in private (none) mode")
            eps.setdefault(net.id, placeholder(net, c.id, req))
        for net_id, ep in eps.items():
            check_request(self.state.networks[net_id], ep)
        return eps

    @staticmethod
    def unresolved_endpoint(c: Container, spec: ContainerSpec, ref: str) -> dict:
        """Keep a network that does not exist (yet) by the name given: as in Docker, create
        succeeds and start resolves it, failing with "network X not found" if it still
        does not exist (the docker CLI takes a 404 on create for a missing image)."""
        request = spec.endpoints.get(ref) or spec.endpoints.get("default") or EndpointRequest()
        if spec.mac_address and not request.mac_address:
            request = replace(request, mac_address=spec.mac_address)
        return {ref: Endpoint(id="", network_id="", container_id=c.id, ifname="", mac="",
                              request=request)}

    def check_links(self, c: Container) -> None:
        for name, _alias in c.links:
            try:
                self.get(name)
            except NotFound:
                raise InvalidArgument(
                    f"could not get container for {name}: No such container: {name}"
                ) from None

    async def rename(self, ref: str, new_name: str) -> Container:
        c = self.get(ref)
        name = validate_container_name(new_name)
        if name == c.name:
            raise Conflict(self.state.name_conflict(name))
        renamed = replace(c, name=name)
        await self.state.rename_container(c, renamed)
        return renamed

    def network_of(self, c: Container, key: str) -> Network:
        """The network an endpoint key names: an id, or a name create could not resolve."""
        try:
            return self.state.networks[key]
        except KeyError:
            return self.networks.get(key)
