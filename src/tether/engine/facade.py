"""The engine's public face: every operation the API offers, as typed coroutines.

The API layer turns Docker JSON into model objects, calls one of these, and turns the result
back into Docker JSON. References (`ref`) are what users type: a full id, a unique id prefix or
a name. Every method raises only `tether.errors` kinds.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Awaitable, Protocol

from tether.engine.eventbus import Subscription
from tether.kernel.probe import ProbeResult
from tether.netview.topology import Topology
from tether.model import Container, ContainerSpec, ContainerState, Endpoint, EndpointRequest, ExecSpec, Image, Network, NetworkSpec, Volume


@dataclass(frozen=True)
class NetworkView:
    """A network with the endpoints of its containers, as `network inspect` shows it."""

    network: Network
    endpoints: tuple[tuple[str, Endpoint], ...] = ()  # (container name without "/", endpoint)


@dataclass(frozen=True)
class ContainerView:
    """A container with the networks its endpoints belong to (keyed by network id)."""

    container: Container
    networks: dict[str, Network]
    image: Image | None


@dataclass(frozen=True)
class ExecInstance:
    """An exec instance's state, as `GET /exec/{id}/json` shows it."""

    id: str
    container_id: str
    spec: ExecSpec
    running: bool = False
    exit_code: int | None = None
    pid: int = 0


class ExecStream(Protocol):
    """A started exec: output chunks as (stream 1|2, bytes), stdin, and the exit code."""

    def output(self) -> AsyncIterator[tuple[int, bytes]]: ...

    async def write_stdin(self, data: bytes) -> None: ...

    def close_stdin(self) -> None: ...

    async def wait(self) -> int: ...


class StdinSink(Protocol):
    """An attached client's writer on a container's stdin; `close` may give it EOF."""

    async def write(self, data: bytes) -> None: ...

    async def finish(self) -> None:
        """Close once the container holds its end of stdin (it may not have started yet)."""

    def close(self) -> None: ...


class EngineApi(Protocol):
    """What `tether.api` may call. `tether.engine.Engine` implements it."""

    # networks
    async def list_networks(self) -> list[Network]: ...
    async def inspect_network(self, ref: str) -> NetworkView: ...
    async def create_network(self, spec: NetworkSpec) -> Network: ...
    async def remove_network(self, ref: str) -> None: ...
    async def prune_networks(self, labels: list[str], until: float | None) -> list[str]: ...
    async def connect(self, net_ref: str, container_ref: str, request: EndpointRequest) -> None: ...
    async def disconnect(self, net_ref: str, container_ref: str, force: bool) -> None: ...

    # containers
    async def create_container(self, spec: ContainerSpec) -> tuple[Container, list[str]]: ...
    async def start_container(self, ref: str) -> None: ...
    async def stop_container(self, ref: str, timeout: int | None, signal: str | None) -> None: ...
    async def kill_container(self, ref: str, signal: str) -> None: ...
    async def pause_container(self, ref: str, pause: bool) -> None:
        """`pause` (True) or `unpause` (False)."""
    async def restart_container(self, ref: str, timeout: int | None) -> None: ...
    async def remove_container(self, ref: str, force: bool) -> None: ...
    async def prune_containers(self, labels: list[str], until: float | None) -> list[str]: ...
    async def rename_container(self, ref: str, new_name: str) -> None: ...
    async def list_containers(self, all: bool) -> list[ContainerView]: ...
    async def inspect_container(self, ref: str) -> ContainerView: ...
    async def wait_container(self, ref: str, condition: str) -> Awaitable[ContainerState]:
        """Resolve `ref` and register the waiter now (so `next-exit` before `start` works);
        the returned awaitable completes with the final state. condition: not-running |
        next-exit | removed."""
    def logs(self, ref: str, *, stdout: bool, stderr: bool, follow: bool, tail: int | None,
             timestamps: bool) -> AsyncIterator[tuple[int, bytes]]: ...

    async def attach(self, ref: str, *, stdout: bool, stderr: bool
                     ) -> AsyncIterator[tuple[int, bytes]]:
        """Output from now until the container's next exit; registered before it returns."""

    def attach_stdin(self, ref: str) -> StdinSink:
        """A writer on the container's stdin, for one attached client."""

    def resize_container(self, ref: str, height: int, width: int) -> None: ...
    def resize_exec(self, exec_id: str, height: int, width: int) -> None: ...

    # exec
    async def create_exec(self, container_ref: str, spec: ExecSpec) -> str: ...
    async def start_exec(self, exec_id: str) -> ExecStream: ...
    async def inspect_exec(self, exec_id: str) -> ExecInstance: ...

    # images
    async def import_image(self, chunks: AsyncIterator[bytes], repo_tags: tuple[str, ...],
                           changes: list[str], message: str) -> Image: ...
    async def list_images(self) -> list[Image]: ...
    async def inspect_image(self, ref: str) -> Image: ...
    async def remove_image(self, ref: str, force: bool) -> list[dict[str, str]]: ...
    async def tag_image(self, ref: str, new_tag: str) -> None: ...
    async def prune_images(self, dangling_only: bool, labels: list[str],
                           until: float | None) -> list[dict[str, str]]: ...

    # volumes (the local driver's directories)
    async def create_volume(self, name: str, driver: str, options: dict[str, str],
                            labels: dict[str, str]) -> Volume: ...
    async def list_volumes(self) -> list[tuple[Volume, int]]:
        """Every volume with the number of containers that mount it."""
    async def inspect_volume(self, ref: str) -> Volume: ...
    async def remove_volume(self, name: str, force: bool) -> None: ...
    async def prune_volumes(self, everything: bool, labels: list[str]) -> list[str]: ...

    # system
    def subscribe_events(self, since_nano: int | None, until_nano: int | None) -> Subscription:
        """Events from now on (and, with since/until, the kept ones in that window)."""

    async def topology(self, host: str) -> Topology:
        """A snapshot of every network and container (`host`: this daemon's host name)."""

    async def probe(self, ref: str, address: str, port: int | None, proto: str) -> ProbeResult:
        """Send one packet from container `ref`'s namespace (see kernel.probe).

        Raises: NotFound. Conflict: the container is not running."""

    def info(self) -> dict[str, object]:
        """Counts and paths for `/info`: containers, running, stopped, images, data_root, ..."""
