"""The engine: one object that the API calls, composed of networks, containers and execs.

It holds no logic of its own beyond delegation, the cross-cutting checks that need several
parts (an image in use, a network in use) and reconciling the kernel with the store at start.
"""

from __future__ import annotations

import asyncio
import logging
from typing import AsyncIterator, Awaitable

from tether.engine import eventlog
from tether.engine.clock import parse_rfc3339
from tether.engine.cluster_networks import ScopedIpam
from tether.engine.containers import Containers
from tether.engine.discovery import Discovery
from tether.engine.endpoints import Endpoints
from tether.engine.etcwriter import EtcWriter
from tether.engine.execs import Execs
from tether.engine.facade import ContainerView, ExecInstance, NetworkView
from tether.engine.fwguard import FirewallGuard
from tether.engine.lifecycle import Lifecycle
from tether.engine.limits import NeighbourBudget
from tether.engine.networks import DEFAULT_BRIDGE, Networks, labels_match
from tether.engine.reconcile import reconcile
from tether.engine.state import State
from tether.errors import Conflict, NotFound
from tether.kernel.probe import ProbeResult, probe
from tether.engine.topology import snapshot
from tether.engine.volumes import Volumes
from tether.netview.topology import Topology
from tether.runtime.signals import parse_signal
from tether.runtime.volumes import volumes_root
from tether.model import Container, ContainerSpec, ContainerState, EndpointRequest, ExecSpec, Image, Network, NetworkSpec, Volume

log = logging.getLogger(__name__)


class Engine:
    """Implements `tether.engine.facade.EngineApi` over the store, drivers, IPAM and runtime."""

    def __init__(self, *, store, ipam, drivers, firewall, runtime, images, host_prefixes,
                 data_root: str, exec_root: str, default_bridge: str = DEFAULT_BRIDGE,
                 resolver=None, resolv_conf: str = "/etc/resolv.conf", cluster=None) -> None:
        self.state = State(store)
        self.cluster = cluster
        ipam = ScopedIpam(ipam, cluster.networks.ipam if cluster else None)
        self.firewall = firewall
        self.runtime = runtime
        self.images = images
        self.data_root = data_root
        self.exec_root = exec_root
        self.networks = Networks(self.state, ipam, drivers, firewall, host_prefixes,
                                 default_bridge)
        self.containers = Containers(self.state, self.networks)
        self.volumes = Volumes(self.state, volumes_root(data_root))
        self.endpoints = Endpoints(ipam, drivers, firewall)
        self.networks.cluster = self.endpoints.cluster = cluster
        self.discovery = Discovery(self.state, resolver)
        etc = EtcWriter(self.state, self.containers, runtime, self.discovery, resolv_conf)
        self.lifecycle = Lifecycle(self.state, self.containers, self.endpoints, runtime, images,
                                   exec_root, self.discovery, etc)
        self.lifecycle.cluster = cluster
        self.execs = Execs(self.containers, runtime, self.state.events)
        self.events = self.state.events
        self.create_lock = asyncio.Lock()
        self.daemon_id = ""
        self.neighbours = NeighbourBudget()
        self.guard = FirewallGuard(self)

    async def start(self) -> None:
        """Load the store, make the predefined networks, and reconcile the kernel with it."""
        await self.state.load()
        self.daemon_id = await self.state.daemon_id()
        await self.networks.restore()
        await self.networks.ensure_predefined()
        await reconcile(self)
        await self.lifecycle.adopt()
        self.guard.start()
        if self.cluster is not None:
            await self.cluster.start(self)
        self.check_limits()

    async def close(self) -> None:
        await self.guard.close()  # first: a shutdown is never "someone else's" change
        await self.lifecycle.close()
        if self.cluster is not None:
            await self.cluster.close()
        await self.discovery.close()
        self.events.close()  # ends every /events stream, so the API can shut down

    # ---- networks --------------------------------------------------------------------------

    async def list_networks(self) -> list[Network]:
        return sorted(self.state.networks.values(), key=lambda n: n.name)

    async def inspect_network(self, ref: str) -> NetworkView:
        net = self.networks.get(ref)
        eps = tuple(
            (c.name, c.endpoints[net.id]) for c in self.state.containers.values()
            if net.id in c.endpoints and c.endpoints[net.id].id
        )
        return NetworkView(net, eps)

    async def create_network(self, spec: NetworkSpec) -> Network:
        async with self.create_lock:
            return await self.networks.create(spec)

    async def remove_network(self, ref: str) -> None:
        async with self.create_lock:
            await self.networks.remove(ref)

    async def prune_networks(self, labels: list[str], until: float | None) -> list[str]:
        async with self.create_lock:
            return await self.networks.prune(labels, until)

    async def connect(self, net_ref: str, container_ref: str, request: EndpointRequest) -> None:
        await self.lifecycle.connect(self.networks.get(net_ref), container_ref, request)
        self.check_limits()

    async def disconnect(self, net_ref: str, container_ref: str, force: bool) -> None:
        await self.lifecycle.disconnect(self.networks.get(net_ref), container_ref, force)

    # ---- containers ------------------------------------------------------------------------

    async def create_container(self, spec: ContainerSpec) -> tuple[Container, list[str]]:
        image = await self.images.get(spec.image)
        async with self.create_lock:
            c, warnings = self.containers.build(spec, image)
            await self.runtime.make_mounts(c)
            try:
                await self.state.add_container(c)
            except BaseException:  # a volume another container mounts by name stays
                await self.runtime.release_volumes(c, set(self.volumes.users()))
                raise
        log.info("created container %s (%s)", c.name, c.short_id)
        return c, warnings

    async def start_container(self, ref: str) -> None:
        await self.lifecycle.start(ref)
        self.check_limits()

    def check_limits(self) -> None:
        """Keep the kernel's shared neighbour table ahead of the endpoints (engine.limits)."""
        self.neighbours.check(self.state.running_endpoints)

    async def stop_container(self, ref: str, timeout: int | None, signal: str | None) -> None:
        c = self.containers.get(ref)
        timer = None
        if c.state.running:
            self.report(c, "kill", signal=str(parse_signal(
                signal or c.spec.stop_signal or "SIGTERM")))
            grace = timeout if timeout is not None else (c.spec.stop_timeout or 10)
            # the runtime sends SIGKILL after the grace period: dockerd reports it as a kill
            timer = asyncio.get_running_loop().call_later(max(grace, 0), self.report_forced,
                                                          c.id)
        try:
            await self.lifecycle.stop(ref, timeout, signal)
        finally:
            if timer is not None:
                timer.cancel()
        self.report(c, "stop")

    def report_forced(self, cid: str) -> None:
        c = self.state.containers.get(cid)
        if c is not None and c.state.running:
            self.report(c, "kill", signal="9")

    async def kill_container(self, ref: str, signal: str) -> None:
        c = self.containers.get(ref)
        if c.state.running:
            self.report(c, "kill", signal=str(parse_signal(signal or "SIGKILL")))
        await self.lifecycle.kill(ref, signal)

    async def pause_container(self, ref: str, pause: bool) -> None:
        c = await self.lifecycle.pause(ref, pause)
        self.report(c, "pause" if pause else "unpause")

    async def restart_container(self, ref: str, timeout: int | None) -> None:
        c = self.containers.get(ref)
        if c.state.running:
            await self.stop_container(c.id, timeout, None)
        await self.lifecycle.start(c.id)
        self.report(c, "restart")

    async def remove_container(self, ref: str, force: bool) -> None:
        c = self.containers.get(ref)
        if c.state.running and force:
            self.report(c, "kill", signal="9")
        await self.lifecycle.remove(ref, force)

    def report(self, c: Container, action: str, **attributes: str) -> None:
        """Publish an action that changes no record (kill, stop, attach...): the latest
        record's name and labels, as dockerd reports them."""
        latest = self.state.containers.get(c.id, c)
        self.events.publish([eventlog.container(latest, action, **attributes)])

    async def rename_container(self, ref: str, new_name: str) -> None:
        async with self.create_lock:
            renamed = await self.containers.rename(ref, new_name)
        await self.discovery.update(renamed)
        if self.cluster is not None:
            await self.cluster.renamed(renamed)

    async def list_containers(self, all: bool) -> list[ContainerView]:
        views = [self.view(c) for c in self.state.containers.values()
                 if all or c.state.running]
        return sorted(views, key=lambda v: v.container.created, reverse=True)

    async def inspect_container(self, ref: str) -> ContainerView:
        return self.view(self.containers.get(ref))

    def view(self, c: Container) -> ContainerView:
        nets = {n: self.state.networks[n] for n in c.endpoints if n in self.state.networks}
        image = self.images.cached(c.image_id)
        return ContainerView(c, nets, image)

    async def wait_container(self, ref: str, condition: str) -> Awaitable[ContainerState]:
        return await self.lifecycle.wait(ref, condition)

    def logs(self, ref: str, *, stdout: bool, stderr: bool, follow: bool, tail: int | None,
             timestamps: bool) -> AsyncIterator[tuple[int, bytes]]:
        c = self.containers.get(ref)
        return self.runtime.logs(c.id, stdout=stdout, stderr=stderr,
                                 follow=follow and c.state.running, tail=tail,
                                 timestamps=timestamps)

    async def attach(self, ref: str, *, stdout: bool, stderr: bool
                     ) -> AsyncIterator[tuple[int, bytes]]:
        """Output written from now until the container's next exit (attach before start).

        The reader is registered with the lifecycle, so an auto-removed container keeps its
        log files until every attached reader has drained them.
        """
        c = self.containers.get(ref)
        exit_future = await self.lifecycle.wait(c.id, "next-exit")
        drained = asyncio.get_running_loop().create_future()
        self.lifecycle.readers.setdefault(c.id, set()).add(drained)
        self.report(c, "attach")
        # where the logs end now, not when the caller first reads: output the container
        # writes while the client finishes its handshake (and sends its first input) is kept
        starts = self.runtime.log_ends(c.id)
        return self._attached(c.id, exit_future, drained, stdout, stderr, starts)

    async def _attached(self, cid, exit_future, drained, stdout, stderr, starts):
        try:
            async for item in self.runtime.logs(cid, stdout=stdout, stderr=stderr,
                                                until=lambda: exit_future, starts=starts):
                yield item
        finally:
            if not drained.done():
                drained.set_result(None)

    def attach_stdin(self, ref: str):
        """A writer on the container's stdin (see runtime.console.StdinWriter)."""
        return self.runtime.stdin_writer(self.containers.get(ref).id)

    def resize_container(self, ref: str, height: int, width: int) -> None:
        """Resize a running container's terminal; without a TTY it is a no-op, as in Docker.

        Raises: NotFound. Conflict: the container is not running.
        """
        c = self.containers.get(ref)
        if not c.state.running:
            raise Conflict(f"Container {c.id} is not running")
        if c.spec.tty:
            self.runtime.resize(c.id, height, width)
        self.report(c, "resize", height=str(height), width=str(width))

    def resize_exec(self, exec_id: str, height: int, width: int) -> None:
        self.execs.resize(exec_id, height, width)

    # ---- exec ------------------------------------------------------------------------------

    async def create_exec(self, container_ref: str, spec: ExecSpec) -> str:
        return await self.execs.create(container_ref, spec)

    async def start_exec(self, exec_id: str):
        return await self.execs.start(exec_id)

    async def inspect_exec(self, exec_id: str) -> ExecInstance:
        return self.execs.get(exec_id)

    # ---- images ----------------------------------------------------------------------------

    async def import_image(self, chunks, repo_tags: tuple[str, ...], changes: list[str],
                           message: str) -> Image:
        image = await self.images.import_tarball(chunks, repo_tags=repo_tags, changes=changes,
                                                 message=message)
        self.events.publish(eventlog.image_imported(image))
        return image

    async def list_images(self) -> list[Image]:
        return await self.images.list()

    async def inspect_image(self, ref: str) -> Image:
        return await self.images.get(ref)

    async def remove_image(self, ref: str, force: bool) -> list[dict[str, str]]:
        image = await self.images.get(ref)
        users = [c for c in self.state.containers.values() if c.image_id == image.id]
        if users and not force:
            raise Conflict(
                f"conflict: unable to remove repository reference \"{ref}\" (must force) - "
                f"container {users[0].short_id} is using its referenced image {image.id[7:19]}"
            )
        report = await self.images.remove(ref, in_use=bool(users))
        self.events.publish(eventlog.image_removed(image, report))
        return report

    async def prune_containers(self, labels: list[str], until: float | None) -> list[str]:
        """Remove every container not running that matches the filters; return their ids."""
        gone = []
        for c in sorted(self.state.containers.values(), key=lambda c: c.created):
            if c.state.running or not labels_match(c.spec.labels, labels):
                continue
            if until is not None and parse_rfc3339(c.created) >= until:
                continue
            try:
                await self.remove_container(c.id, force=False)
            except (Conflict, NotFound):  # started or removed meanwhile
                continue
            gone.append(c.id)
        return gone

    async def tag_image(self, ref: str, new_tag: str) -> None:
        image = await self.images.get(ref)
        await self.images.tag(image.id, new_tag)
        self.events.publish([eventlog.image(image, "tag", name=new_tag)])

    async def prune_images(self, dangling_only: bool, labels: list[str],
                           until: float | None) -> list[dict[str, str]]:
        """Remove the images no container uses (only untagged ones when `dangling_only`)."""
        used = {c.image_id for c in self.state.containers.values()}
        report: list[dict[str, str]] = []
        for image in await self.images.list():
            if image.id in used or (dangling_only and image.repo_tags):
                continue
            if not labels_match(image.labels, labels):
                continue
            if until is not None and parse_rfc3339(image.created) >= until:
                continue
            refs = list(image.repo_tags) or [image.id]
            for ref in refs:
                try:
                    report += await self.remove_image(ref, force=False)
                except (Conflict, NotFound):
                    break
        return report

    # ---- volumes ---------------------------------------------------------------------------

    async def create_volume(self, name: str, driver: str, options: dict[str, str],
                            labels: dict[str, str]) -> Volume:
        return await self.volumes.create(name, driver, options, labels)

    async def list_volumes(self) -> list[tuple[Volume, int]]:
        users = self.volumes.users()
        return [(v, len(users.get(v.name, ()))) for v in await self.volumes.list()]

    async def inspect_volume(self, name: str) -> Volume:
        return await self.volumes.get(name)

    async def remove_volume(self, name: str, force: bool) -> None:
        await self.volumes.remove(name, force)

    async def prune_volumes(self, everything: bool, labels: list[str]) -> list[str]:
        return await self.volumes.prune(everything, labels)

    # ---- system ----------------------------------------------------------------------------

    def subscribe_events(self, since_nano: int | None, until_nano: int | None):
        return self.events.subscribe(since_nano, until_nano)

    async def topology(self, host: str) -> Topology:
        return await snapshot(self, host)

    async def probe(self, ref: str, address: str, port: int | None, proto: str) -> ProbeResult:
        c = self.containers.get(ref)
        if not c.state.running or not c.sandbox_key:
            raise Conflict(f"Container {c.id} is not running")
        return await probe(c.sandbox_key, address, port, proto)

    def info(self) -> dict[str, object]:
        cs = list(self.state.containers.values())
        running = sum(1 for c in cs if c.state.running)
        return {
            "containers": len(cs), "running": running, "paused": 0,
            "stopped": len(cs) - running, "images": self.images.count(),
            "data_root": self.data_root, "exec_root": self.exec_root,
            "network_drivers": sorted(self.networks.drivers), "id": self.daemon_id,
            "warnings": list(self.neighbours.warnings) + (
                self.cluster.warnings() if self.cluster is not None else []),
            "events_listeners": len(self.events.subscribers),
            **(self.cluster.info() if self.cluster is not None else {}),
        }
