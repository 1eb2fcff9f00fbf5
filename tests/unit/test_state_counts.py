"""State keeps counts the engine reads on every start, so that no start scans every
container: endpoints of running containers, and which containers have --link."""

from __future__ import annotations

import asyncio
from dataclasses import replace

from tether.engine.state import State
from tether.model import Container, ContainerSpec, Endpoint
from tether.model.container import ContainerState
from tether.store.memory import MemoryStore


def container(name: str, nets: int, links=()) -> Container:
    cid = name * 64
    eps = {f"n{i}": Endpoint(id=f"e{i}{name}", network_id=f"n{i}", container_id=cid,
                             ifname=f"eth{i}", mac="") for i in range(nets)}
    return Container(id=cid, name=name, created="", spec=ContainerSpec(image="x"), image_id="",
                     path="", args=(), env=(), hostname=name, endpoints=eps, links=links)


def running(c: Container) -> Container:
    return replace(c, state=ContainerState(status="running"))


def test_counts_follow_every_change_and_a_reload():
    async def main():
        store = MemoryStore()
        state = State(store)
        a, b = container("a", 2), container("b", 1, links=(("a", "db"),))
        await state.add_container(a)
        await state.add_container(b)
        assert state.running_endpoints == 0 and state.linking == {b.id}
        await state.save_container(running(a))
        await state.save_container(running(b))
        assert state.running_endpoints == 3
        await state.rename_container(running(b), replace(running(b), name="c"))
        assert state.running_endpoints == 3 and state.linking == {b.id}

        reloaded = State(store)
        await reloaded.load()
        assert reloaded.running_endpoints == 3 and reloaded.linking == {b.id}

        await state.save_container(a)  # exited
        assert state.running_endpoints == 1
        await state.remove_container(state.containers[b.id])
        assert state.running_endpoints == 0 and state.linking == set()
    asyncio.run(main())
