"""Running containers: start, stop, kill, exit, wait, live connect/disconnect, and adoption.

Start: sandbox (netns) -> endpoints (IPAM, driver, firewall) -> /etc files -> process, every
step undone on failure. Exit (however it happens) runs the same steps backwards, best effort,
before anyone waiting on the container is told: records and kernel objects are gone before
`stop` or `rm` returns.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from dataclasses import replace
from pathlib import Path

from tether.drivers.base import JoinInfo
from tether.drivers.macvlan import has_default_route
from tether.engine.clock import now_rfc3339
from tether.engine.containers import Containers
from tether.engine.discovery import Discovery
from tether.engine.endpoints import Endpoints, next_ifname, placeholder
from tether.engine.etcwriter import EtcWriter
from tether.engine.marks import Marks
from tether.engine.ports import Ports
from tether.engine.rollback import Rollback
from tether.engine.state import State
from tether.engine.volumes import volume_users
from tether.errors import Conflict, Forbidden, InvalidArgument, NotFound, NotModified
from tether.kernel.netns import create_netns, remove_netns
from tether.model import Container, ContainerState, Endpoint, EndpointRequest, Network

log = logging.getLogger(__name__)


class Lifecycle:
    """Starts and stops containers; one lock per container serialises changes to it."""

    def __init__(self, state: State, containers: Containers, endpoints: Endpoints, runtime,
                 images, exec_root: str, discovery: Discovery, etc: EtcWriter) -> None:
        self.state = state
        self.discovery = discovery
        self.etc = etc
        self.containers = containers
        self.endpoints = endpoints
        self.runtime = runtime
        self.images = images
        self.netns_dir = Path(exec_root) / "netns"
        self.locks: dict[str, asyncio.Lock] = {}
        self.exited: dict[str, asyncio.Event] = {}
        self.waiters: dict[str, list[tuple[str, asyncio.Future]]] = {}
        self.watchers: set[asyncio.Task] = set()
        self.readers: dict[str, set[asyncio.Future]] = {}
        self.ports = Ports(state, endpoints.firewall)
        self.cluster = None  # engine.cluster.Cluster when the daemon has a cluster store

    def lock(self, cid: str) -> asyncio.Lock:
        return self.locks.setdefault(cid, asyncio.Lock())

    # ---- start -------------------------------------------------------------------------

    async def start(self, ref: str) -> None:
        """Start `ref`. A failed start of an auto-remove container removes it, as dockerd
        does: `docker run --rm` waits for that removal before it reports the error."""
        c = self.containers.get(ref)
        try:
            async with self.lock(c.id):
                c = self.state.containers[c.id]
                if c.state.running:
                    raise NotModified(f"container {c.name} is already running")
                nets = [self.containers.network_of(c, key).id for key in c.endpoints]
                with self.containers.networks.use.joining(nets):
                    await self.start_locked(c)
        except NotModified:
            raise
        except Exception:
            if c.spec.auto_remove:
                await self.discard(c.id)
            raise

    async def discard(self, cid: str) -> None:
        """Remove a container whose start failed; the start error is what the caller hears."""
        try:
            await self.remove(cid, force=True)
        except Exception:  # noqa: BLE001 - the original error matters more than this one
            log.exception("auto-remove of %s after a failed start failed", cid[:12])

    async def start_locked(self, c: Container) -> None:
        marks = Marks()
        image = await self.images.get(c.image_id)
        sandbox_id = secrets.token_hex(32)
        netns = self.sandbox_path(c, sandbox_id)
        async with Rollback() as undo:
            if netns and not c.spec.network_mode.startswith("container:"):
                await create_netns(netns, ipv6=self.wants_ipv6(c))
                undo.push(remove_netns, netns)
            marks.mark("netns")
            endpoints = (await self.plumb_all(c, netns, undo) if netns
                         else {n: plain_endpoint(ep) for n, ep in c.endpoints.items()})
            c = replace(c, endpoints=endpoints, sandbox_id=sandbox_id if netns else "",
                        sandbox_key=netns or "")
            marks.mark("plumb")
            c = await self.ports.publish(c, image.exposed_ports, undo)
            await self.discovery.attach(c)
            undo.push(self.discovery.detach, c.id)
            marks.mark("ports+dns")
            await self.etc.write(c)
            await self.runtime.prepare(self.etc.with_link_env(c, image), image)
            undo.push(self.runtime.cleanup, c.id)
            marks.mark("bundle")
            self.exited[c.id] = asyncio.Event()
            pid = await self.runtime.start(c, netns or None)
            marks.mark("runc")
            c = replace(c, state=ContainerState(status="running", pid=pid,
                                                started_at=now_rfc3339()))
            await self.state.save_container(c)
        await self.etc.relink(c)
        self.watch(c.id)
        marks.mark("save")
        log.info("started container %s (%s)", c.name, c.short_id)
        log.debug("start of %s took (ms) %s", c.short_id, marks)

    def sandbox_path(self, c: Container, sandbox_id: str) -> str:
        mode = c.spec.network_mode
        if mode == "host":
            return ""
        if mode.startswith("container:"):
            other = self.containers.get(mode.partition(":")[2])
            if not other.state.running:
                raise Conflict(f"cannot join network of a non running container: {other.id}")
            return other.sandbox_key
        return str(self.netns_dir / sandbox_id[:12])

    def wants_ipv6(self, c: Container) -> bool:
        return any(self.state.networks[n].enable_ipv6 for n in c.endpoints
                   if n in self.state.networks)

    async def plumb_all(self, c: Container, netns: str, undo: Rollback) -> dict:
        """Plumb every configured endpoint in order (eth0, eth1...), default routes through
        the gateway `gateway_networks` picks."""
        done: dict = {}
        if self.cluster is not None:  # overlay-only containers get docker_gwbridge
            c = await self.cluster.with_gateway(c)
        pairs = [(self.containers.network_of(c, key), ep) for key, ep in c.endpoints.items()]
        gw4, gw6 = gateway_networks([net for net, _ in pairs])
        for net, ep in pairs:
            if net.driver == "null":
                done[net.id] = plain_endpoint(ep)
                continue
            info = JoinInfo(netns, default_route4=net.id == gw4, default_route6=net.id == gw6)
            ready = await self.endpoints.plumb(c, net, ep, info, next_ifname(
                {e.ifname for e in done.values()}))
            undo.push(self.endpoints.unplumb, net, ready, info, live=False)
            done[net.id] = ready
        return done

    # ---- exit, stop, kill, wait -----------------------------------------------------------

    def watch(self, cid: str) -> None:
        """Follow the container's process; when it exits, tear down and tell the waiters."""
        task = asyncio.create_task(self.follow(cid), name=f"watch-{cid[:12]}")
        self.watchers.add(task)
        task.add_done_callback(self.watchers.discard)

    async def follow(self, cid: str) -> None:
        try:
            code = await self.runtime.wait_exit(cid)
        except Exception:  # noqa: BLE001 - an unknown exit still has to be torn down
            log.exception("lost track of container %s", cid[:12])
            code = 255
        await self.on_exit(cid, code)

    async def on_exit(self, cid: str, code: int) -> None:
        async with self.lock(cid):
            c = self.state.containers.get(cid)
            if c is None:
                return
            await self.teardown(c)
            c = self.state.containers[cid]
            c = replace(c, state=replace(c.state, status="exited", pid=0, exit_code=code,
                                         finished_at=now_rfc3339(), paused=False))
            await self.state.save_container(c)
        self.exited.setdefault(cid, asyncio.Event()).set()
        self.notify(cid, "next-exit", c.state)
        self.notify(cid, "not-running", c.state)
        log.info("container %s exited with %d", c.name, code)
        if c.spec.auto_remove:
            await self.readers_drained(cid)
            await self.remove(cid, force=True)

    async def readers_drained(self, cid: str, timeout: float = 5.0) -> None:
        """Give attached readers (bounded) time to read the last output before removal."""
        readers = self.readers.pop(cid, set())
        if readers:
            await asyncio.wait(readers, timeout=timeout)

    async def teardown(self, c: Container) -> None:
        """Undo a running container's network and mounts, best effort, logging failures."""
        await self.discovery.detach(c.id)
        try:
            await self.ports.unpublish(c)
        except Exception:  # noqa: BLE001 - teardown goes on; reconcile rebuilds the maps
            log.exception("unpublishing the ports of %s failed", c.name)
        own_netns = c.sandbox_key and not c.spec.network_mode.startswith("container:")
        for net_id, ep in c.endpoints.items():
            net = self.state.networks.get(net_id)
            if net is None or not ep.id:
                continue
            try:
                await self.endpoints.unplumb(net, ep, JoinInfo(c.sandbox_key), live=not own_netns)
            except Exception:  # noqa: BLE001 - teardown goes on; reconcile catches the rest
                log.exception("unplumb of %s on %s failed", c.name, net.name)
        if own_netns:
            await remove_netns(c.sandbox_key)
        try:
            await self.runtime.cleanup(c.id)
        except Exception:  # noqa: BLE001
            log.exception("runtime cleanup of %s failed", c.name)
        eps = {n: placeholder(self.state.networks[n], c.id, ep.request)
               for n, ep in c.endpoints.items() if n in self.state.networks}
        await self.state.save_container(replace(c, endpoints=eps, sandbox_key="", sandbox_id="",
                                                ports=()))

    async def stop(self, ref: str, timeout: int | None, signal: str | None) -> None:
        c = self.containers.get(ref)
        if not c.state.running:
            raise NotModified(f"container {c.name} is not running")
        t = timeout if timeout is not None else (c.spec.stop_timeout or 10)
        sig = signal or c.spec.stop_signal or "SIGTERM"
        done = self.exited.setdefault(c.id, asyncio.Event())
        await self.runtime.stop(c.id, t, sig, paused=c.state.paused)
        await done.wait()

    async def kill(self, ref: str, signal: str) -> None:
        c = self.containers.get(ref)
        if not c.state.running:
            raise Conflict(f"Cannot kill container: {c.name}: Container {c.id} is not running")
        await self.runtime.kill(c.id, signal or "SIGKILL", paused=c.state.paused)
        if (signal or "SIGKILL").upper().removeprefix("SIG") in ("KILL", "9"):
            await self.exited.setdefault(c.id, asyncio.Event()).wait()

    async def pause(self, ref: str, pause: bool) -> Container:
        """Freeze (or thaw) a running container's processes; its network stays as it is.

        Raises:
            Conflict: not running, or already in the state asked for (dockerd's words).
        """
        c = self.containers.get(ref)
        async with self.lock(c.id):
            c = self.state.containers[c.id]
            if not c.state.running:
                raise Conflict(f"Container {c.id} is not running")
            if c.state.paused == pause:
                raise Conflict(f"Container {c.id} is {'already' if pause else 'not'} paused")
            await (self.runtime.pause if pause else self.runtime.resume)(c.id)
            c = replace(c, state=replace(c.state, paused=pause))
            await self.state.save_container(c)
        return c

    async def wait(self, ref: str, condition: str) -> asyncio.Future:
        c = self.containers.get(ref)
        loop = asyncio.get_running_loop()
        fut: asyncio.Future = loop.create_future()
        condition = condition or "not-running"
        if condition not in ("not-running", "next-exit", "removed"):
            raise InvalidArgument(f"invalid condition: {condition!r}")
        if condition == "not-running" and not c.state.running:
            fut.set_result(c.state)
        else:
            self.waiters.setdefault(c.id, []).append((condition, fut))
        return fut

    def notify(self, cid: str, condition: str, state: ContainerState) -> None:
        keep = []
        for cond, fut in self.waiters.get(cid, []):
            if cond == condition and not fut.done():
                fut.set_result(state)
            elif not fut.done():
                keep.append((cond, fut))
        self.waiters[cid] = keep

    async def remove(self, ref: str, force: bool) -> None:
        c = self.containers.get(ref)
        if c.state.running:
            if not force:
                raise Conflict(
                    f"You cannot remove a running container {c.id}. Stop the container before "
                    "attempting removal or force remove"
                )
            await self.runtime.kill(c.id, "SIGKILL", paused=c.state.paused)
            await self.exited.setdefault(c.id, asyncio.Event()).wait()
        async with self.lock(c.id):
            c = self.state.containers.get(c.id)
            if c is None:
                return
            await self.runtime.remove(c.id)
            await self.state.remove_container(c)
            if c.spec.mounts:
                await self.runtime.release_volumes(
                    c, set(volume_users(self.state.containers.values())))
        self.notify(c.id, "removed", c.state)
        for cond in ("next-exit", "not-running"):
            self.notify(c.id, cond, c.state)
        self.locks.pop(c.id, None)
        self.exited.pop(c.id, None)
        self.waiters.pop(c.id, None)

    # ---- live connect / disconnect ----------------------------------------------------------

    async def connect(self, net: Network, ref: str, request: EndpointRequest) -> None:
        c = self.containers.get(ref)
        async with self.lock(c.id):
            c = self.state.containers[c.id]
            self.check_connect(c, net)
            with self.containers.networks.use.joining([net.id]):
                await self.connect_locked(c, net, request)

    async def connect_locked(self, c: Container, net: Network, request: EndpointRequest) -> None:
        ep = placeholder(net, c.id, request)
        if c.state.running:
            used = {e.ifname for e in c.endpoints.values()}
            # every started endpoint with a gateway holds the default route: only a
            # container without one (all its networks gateway-less) gets it now
            has_route = any(e.gateway4 for e in c.endpoints.values())
            info = JoinInfo(c.sandbox_key, default_route4=not has_route)
            ep = await self.endpoints.plumb(c, net, ep, info, next_ifname(used))
        old, c = c, replace(c, endpoints={**c.endpoints, net.id: ep})
        await self.state.save_container(c)
        if c.state.running:
            await self.ports.retarget(old, c)
            await self.discovery.update(c)
            await self.etc.write(c)

    def check_connect(self, c: Container, net: Network) -> None:
        mode = c.spec.network_mode
        if mode.startswith("container:"):
            raise InvalidArgument("container sharing network namespace with another container or "
                                  "host cannot be connected to any other network")
        if net.driver == "host":
            raise InvalidArgument("container cannot be disconnected from host network or "
                                  "connected to host network")
        if mode == "host":
            raise InvalidArgument("container sharing network namespace with another container or "
                                  "host cannot be connected to any other network")
        if net.driver == "null" or mode == "none":
            raise InvalidArgument("container cannot be connected to multiple networks with one "
                                  "of the networks in private (none) mode")
        if net.id in c.endpoints:
            raise Forbidden(f"endpoint with name {c.name} already exists in network {net.name}")

    async def disconnect(self, net: Network, ref: str, force: bool) -> None:
        c = self.containers.get(ref)
        async with self.lock(c.id):
            c = self.state.containers[c.id]
            if net.driver == "host" or c.spec.network_mode == "host":
                raise InvalidArgument("container cannot be disconnected from host network or "
                                      "connected to host network")
            if net.id not in c.endpoints:
                raise NotFound(f"container {c.id} is not connected to network {net.name}")
            ep = c.endpoints[net.id]
            old, c = c, replace(c, endpoints={k: v for k, v in c.endpoints.items()
                                              if k != net.id})
            if c.state.running:
                await self.ports.retarget(old, c)  # before the address can go to another
            if c.state.running and ep.id:
                await self.endpoints.unplumb(net, ep, JoinInfo(c.sandbox_key), live=True)
            await self.state.save_container(c)
            await self.discovery.update(c)

    # ---- adoption at daemon start ----------------------------------------------------------

    async def adopt(self) -> None:
        """Follow containers that kept running while the daemon was down; tear down the rest."""
        for c in list(self.state.containers.values()):
            if not c.state.running:
                continue
            running, _pid = await self.runtime.state(c.id)
            if running:
                await self.ports.adopt(c)
                await self.discovery.attach(c)
                self.exited[c.id] = asyncio.Event()
                self.watch(c.id)
            else:
                code = await self.runtime.wait_exit(c.id)
                await self.on_exit(c.id, code)

    async def close(self) -> None:
        """Stop following containers (they keep running) and end every pending wait."""
        for waiters in self.waiters.values():
            for _, fut in waiters:
                fut.cancel()
        for task in list(self.watchers):
            task.cancel()
        await asyncio.gather(*self.watchers, return_exceptions=True)
        await self.runtime.close()


def plain_endpoint(ep: Endpoint) -> Endpoint:
    """A running endpoint on `none` or `host`: nothing to plumb, but an id, so that network
    inspect lists the container there as dockerd does."""
    return replace(ep, id=secrets.token_hex(32))


def gateway_networks(nets: list[Network]) -> tuple[str | None, str | None]:
    """The ids of the networks whose gateways become the default routes (IPv4, IPv6).

    The first network with a way out wins; failing that, the first internal one, as in
    Docker (its containers get a default route whose traffic the firewall stops at the
    host, so the host's own addresses still answer).
    """
    routed = [n for n in nets if n.driver not in ("null", "host") and has_default_route(n)]
    # an overlay's gateway is no host's address: a local way out (docker_gwbridge) goes first
    ordered = ([n for n in routed if not n.internal and n.scope != "global"]
               + [n for n in routed if not n.internal and n.scope == "global"]
               + [n for n in routed if n.internal])
    gw4 = next((n.id for n in ordered), None)
    gw6 = next((n.id for n in ordered if n.enable_ipv6), None)
    return gw4, gw6
