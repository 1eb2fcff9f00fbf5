"""An in-memory EngineApi for the API layer's unit tests (no kernel, no store).

It follows facade.py's contract closely enough for handlers and real clients to run against
it: references resolve by id, name or unique prefix, errors are tether.errors kinds.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import ipaddress
import itertools
from typing import AsyncIterator, Awaitable

from tether.engine.facade import ContainerView, ExecInstance, NetworkView
from tether.engine.refs import resolve
from tether.errors import Conflict, Forbidden, NotFound, NotModified
from tether.model import (
    Container, ContainerSpec, ContainerState, Endpoint, EndpointRequest, ExecSpec, IPAMPool,
    Image, Network, NetworkSpec,
)

NOW = "2026-11-28T02:47:40.916163551Z"
_counter = itertools.count(1)


def make_id(seed: str) -> str:
    return hashlib.sha256(f"{seed}-{next(_counter)}".encode()).hexdigest()


def builtin_networks() -> list[Network]:
    bridge_opts = {
        "com.docker.network.bridge.default_bridge": "true",
        "com.docker.network.bridge.enable_icc": "true",
        "com.docker.network.bridge.enable_ip_masquerade": "true",
        "com.docker.network.bridge.host_binding_ipv4": "0.0.0.0",
        "com.docker.network.bridge.name": "docker0",
        "com.docker.network.driver.mtu": "1500",
    }
    pool = IPAMPool(subnet=ipaddress.ip_network("172.17.0.0/16"),
                    gateway=ipaddress.ip_address("172.17.0.1"), show_gateway=False)
    return [
        Network(id=make_id("bridge"), name="bridge", driver="bridge", created=NOW,
                pools=(pool,), options=bridge_opts),
        Network(id=make_id("host"), name="host", driver="host", created=NOW),
        Network(id=make_id("none"), name="none", driver="null", created=NOW),
    ]


class FakeExec:
    """A scripted exec: echoes stdin to stdout, then prints `output`, exits `code`."""

    def __init__(self, output: list[tuple[int, bytes]], code: int, echo_stdin: bool) -> None:
        self._output = output
        self._code = code
        self._echo = echo_stdin
        self._stdin: asyncio.Queue[bytes | None] = asyncio.Queue()
        self.done = asyncio.Event()

    async def output(self) -> AsyncIterator[tuple[int, bytes]]:
        await asyncio.sleep(0.05)  # a real process needs a moment; clients rely on that
        if self._echo:
            while (data := await self._stdin.get()) is not None:
                yield 1, data
        for item in self._output:
            yield item
        self.done.set()

    async def write_stdin(self, data: bytes) -> None:
        await self._stdin.put(data)

    def close_stdin(self) -> None:
        self._stdin.put_nowait(None)

    async def wait(self) -> int:
        await self.done.wait()
        return self._code


class FakeEngine:
    """The in-memory engine."""

    def __init__(self) -> None:
        self.networks: dict[str, Network] = {n.id: n for n in builtin_networks()}
        self.containers: dict[str, Container] = {}
        self.execs: dict[str, ExecInstance] = {}
        self.exec_output: list[tuple[int, bytes]] = [(1, b"hello\n"), (2, b"oops\n")]
        self.images: dict[str, Image] = {}
        self.waiters: list[tuple[str, asyncio.Future[ContainerState]]] = []
        self.calls: list[tuple] = []
        self._next_subnet = 18
        self.add_image(Image(id="sha256:" + "b8" * 32, repo_tags=("busybox:local",),
                             created=NOW, size=1234, env=("PATH=/bin",)))

    def add_image(self, image: Image) -> None:
        self.images[image.id] = image

    # networks
    def _net(self, ref: str) -> Network:
        return resolve(ref, self.networks.values(), id_of=lambda n: n.id,
                       name_of=lambda n: n.name, kind="network",
                       not_found="network {ref} not found")

    async def list_networks(self) -> list[Network]:
        return list(self.networks.values())

    async def inspect_network(self, ref: str) -> NetworkView:
        net = self._net(ref)
        eps = tuple((c.name, c.endpoints[net.id]) for c in self.containers.values()
                    if net.id in c.endpoints)
        return NetworkView(network=net, endpoints=eps)

    async def create_network(self, spec: NetworkSpec) -> Network:
        if any(n.name == spec.name for n in self.networks.values()):
            raise Conflict(f"network with name {spec.name} already exists")
        pools = []
        for req in spec.pools or (None,):
            subnet = req.subnet if req and req.subnet else ipaddress.ip_network(
                f"172.{self._next_subnet}.0.0/16")
            gateway = req.gateway if req and req.gateway else next(subnet.hosts())
            pools.append(IPAMPool(subnet=subnet, gateway=gateway,
                                  ip_range=req.ip_range if req else None,
                                  aux_addresses=req.aux_addresses if req else (),
                                  show_gateway=not (req and req.subnet and not req.gateway)))
        self._next_subnet += 1
        net = Network(id=make_id(spec.name), name=spec.name, driver=spec.driver, created=NOW,
                      ipam_options=spec.ipam_options, pools=tuple(pools),
                      enable_ipv6=spec.enable_ipv6, internal=spec.internal,
                      attachable=spec.attachable, options=spec.options, labels=spec.labels)
        self.networks[net.id] = net
        return net

    async def remove_network(self, ref: str) -> None:
        net = self._net(ref)
        if net.builtin:
            raise Forbidden(f"{net.name} is a pre-defined network and cannot be removed")
        del self.networks[net.id]

    async def prune_networks(self, labels: list[str], until: float | None) -> list[str]:
        self.calls.append(("prune", labels, until))
        gone = [n for n in self.networks.values() if not n.builtin]
        for n in gone:
            del self.networks[n.id]
        return [n.name for n in gone]

    def _endpoint(self, c: Container, net: Network, req: EndpointRequest) -> Endpoint:
        index = len(c.endpoints) + 2
        pool = net.pools[0] if net.pools else None
        ipv4 = None
        if pool is not None:
            addr = req.ipv4 or pool.subnet.network_address + index
            ipv4 = ipaddress.ip_interface(f"{addr}/{pool.subnet.prefixlen}")
        mac = "02:42:" + ":".join(f"{b:02x}" for b in ipv4.ip.packed) if ipv4 else ""
        return Endpoint(id=make_id("ep"), network_id=net.id, container_id=c.id,
                        ifname=f"eth{len(c.endpoints)}", mac=mac, request=req, ipv4=ipv4,
                        gateway4=pool.gateway if pool else None)

    async def connect(self, net_ref: str, container_ref: str, request: EndpointRequest) -> None:
        net, c = self._net(net_ref), self._ctr(container_ref)
        if net.id in c.endpoints:
            raise Forbidden(f"endpoint with name {c.name} already exists in network {net.name}")
        self._put(dataclasses.replace(
            c, endpoints={**c.endpoints, net.id: self._endpoint(c, net, request)}))

    async def disconnect(self, net_ref: str, container_ref: str, force: bool) -> None:
        net, c = self._net(net_ref), self._ctr(container_ref)
        if net.id not in c.endpoints:
            raise KeyError("deliberately not a TetherError")
        self._put(dataclasses.replace(
            c, endpoints={k: v for k, v in c.endpoints.items() if k != net.id}))

    # containers
    def _ctr(self, ref: str) -> Container:
        return resolve(ref, self.containers.values(), id_of=lambda c: c.id,
                       name_of=lambda c: c.name, kind="container",
                       not_found="No such container: {ref}")

    def _put(self, c: Container) -> None:
        self.containers[c.id] = c

    def _image(self, ref: str) -> Image:
        for img in self.images.values():
            if ref in (img.id, *img.repo_tags) or img.id.startswith("sha256:" + ref):
                return img
        raise NotFound(f"No such image: {ref}")

    async def create_container(self, spec: ContainerSpec) -> tuple[Container, list[str]]:
        image = self._image(spec.image)
        name = spec.name or f"fake_{len(self.containers)}"
        for other in self.containers.values():
            if other.name == name:
                raise Conflict(
                    f'Conflict. The container name "/{name}" is already in use by container '
                    f'"{other.id}". You have to remove (or rename) that container to be able '
                    "to reuse that name.")
        cid = make_id(name)
        argv = (*(spec.entrypoint or ()), *(spec.cmd or image.cmd))
        c = Container(id=cid, name=name, created=NOW, spec=spec, image_id=image.id,
                      path=argv[0] if argv else "", args=tuple(argv[1:]),
                      env=(*image.env, *spec.env), hostname=spec.hostname or cid[:12],
                      sandbox_id=make_id("sb"), sandbox_key=f"/run/tether/netns/{cid[:12]}")
        mode = "bridge" if spec.network_mode == "default" else spec.network_mode
        if mode not in ("none", "host") and not mode.startswith("container:"):
            net = self._net(mode)
            req = spec.endpoints.get(mode) or spec.endpoints.get(net.name) or EndpointRequest()
            c = dataclasses.replace(c, endpoints={net.id: self._endpoint(c, net, req)})
        self._put(c)
        return c, []

    async def start_container(self, ref: str) -> None:
        c = self._ctr(ref)
        if c.state.running:
            raise NotModified("container already started")
        self._put(dataclasses.replace(c, ports=c.spec.port_bindings, state=ContainerState(
            status="running", pid=4242, started_at="2026-11-28T02:47:42.355328164Z")))

    def _finish(self, c: Container, code: int) -> None:
        state = dataclasses.replace(c.state, status="exited", pid=0, exit_code=code,
                                    finished_at="2026-11-28T02:48:42.355328164Z")
        self._put(dataclasses.replace(c, state=state))
        for cid, fut in list(self.waiters):
            if cid == c.id and not fut.done():
                fut.set_result(state)
                self.waiters.remove((cid, fut))

    async def stop_container(self, ref: str, timeout: int | None, signal: str | None) -> None:
        c = self._ctr(ref)
        self.calls.append(("stop", c.name, timeout, signal))
        if not c.state.running:
            raise NotModified("container already stopped")
        self._finish(c, 137)

    async def kill_container(self, ref: str, signal: str) -> None:
        c = self._ctr(ref)
        self.calls.append(("kill", c.name, signal))
        self._finish(c, 137)

    async def restart_container(self, ref: str, timeout: int | None) -> None:
        self._finish(self._ctr(ref), 0)
        await self.start_container(ref)

    async def remove_container(self, ref: str, force: bool) -> None:
        c = self._ctr(ref)
        if c.state.running and not force:
            raise Conflict(f"You cannot remove a running container {c.id}. Stop the "
                           "container before attempting removal or force remove")
        del self.containers[c.id]

    async def rename_container(self, ref: str, new_name: str) -> None:
        c = self._ctr(ref)
        self._put(dataclasses.replace(c, name=new_name))

    def _view(self, c: Container) -> ContainerView:
        return ContainerView(container=c, networks={k: self.networks[k] for k in c.endpoints
                                                    if k in self.networks},
                             image=self.images.get(c.image_id))

    async def list_containers(self, all: bool) -> list[ContainerView]:
        return [self._view(c) for c in self.containers.values() if all or c.state.running]

    async def inspect_container(self, ref: str) -> ContainerView:
        return self._view(self._ctr(ref))

    async def wait_container(self, ref: str, condition: str) -> Awaitable[ContainerState]:
        c = self._ctr(ref)
        fut: asyncio.Future[ContainerState] = asyncio.get_running_loop().create_future()
        if condition == "not-running" and not c.state.running:
            fut.set_result(c.state)
        else:
            self.waiters.append((c.id, fut))
        return fut

    async def logs(self, ref: str, *, stdout: bool, stderr: bool, follow: bool,
                   tail: int | None, timestamps: bool) -> AsyncIterator[tuple[int, bytes]]:
        self.calls.append(("logs", ref, stdout, stderr, follow, tail, timestamps))
        for kind, data in [(1, b"out line\n"), (2, b"err line\n")]:
            if (kind == 1 and stdout) or (kind == 2 and stderr):
                yield kind, data

    # exec
    async def create_exec(self, container_ref: str, spec: ExecSpec) -> str:
        c = self._ctr(container_ref)
        if not c.state.running:
            raise Conflict(f"Container {c.id} is not running")
        exec_id = make_id("exec")
        self.execs[exec_id] = ExecInstance(id=exec_id, container_id=c.id, spec=spec)
        return exec_id

    async def start_exec(self, exec_id: str) -> FakeExec:
        inst = await self.inspect_exec(exec_id)
        stream = FakeExec(self.exec_output, 3, inst.spec.attach_stdin)
        self.execs[inst.id] = dataclasses.replace(inst, running=False, exit_code=3, pid=99)
        return stream

    async def inspect_exec(self, exec_id: str) -> ExecInstance:
        if exec_id not in self.execs:
            raise NotFound(f"No such exec instance: {exec_id}")
        return self.execs[exec_id]

    # images
    async def import_image(self, chunks: AsyncIterator[bytes], repo_tags: tuple[str, ...],
                           changes: list[str], message: str) -> Image:
        digest, size = hashlib.sha256(), 0
        async for chunk in chunks:
            digest.update(chunk)
            size += len(chunk)
        image = Image(id="sha256:" + digest.hexdigest(), repo_tags=repo_tags, created=NOW,
                      size=size, comment=message)
        self.calls.append(("import", repo_tags, changes, message))
        self.add_image(image)
        return image

    async def list_images(self) -> list[Image]:
        return list(self.images.values())

    async def inspect_image(self, ref: str) -> Image:
        return self._image(ref)

    async def remove_image(self, ref: str, force: bool) -> list[dict[str, str]]:
        image = self._image(ref)
        del self.images[image.id]
        return [*({"Untagged": t} for t in image.repo_tags), {"Deleted": image.id}]

    def info(self) -> dict[str, object]:
        running = sum(c.state.running for c in self.containers.values())
        return {"containers": len(self.containers), "running": running,
                "stopped": len(self.containers) - running, "images": len(self.images),
                "data_root": "/var/lib/tether", "id": "FAKE"}
