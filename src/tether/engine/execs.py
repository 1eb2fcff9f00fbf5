"""Exec instances: commands run inside a running container, with output and exit code."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import AsyncIterator

from tether.engine.containers import Containers
from tether.engine.facade import ExecInstance
from tether.errors import Conflict, NotFound
from tether.model import ExecSpec


class ExecRun:
    """A started exec: wraps the runtime's process and records its exit in the registry."""

    def __init__(self, registry: "Execs", exec_id: str, process) -> None:
        self.registry = registry
        self.exec_id = exec_id
        self.process = process

    def output(self) -> AsyncIterator[tuple[int, bytes]]:
        return self.process.output()

    async def write_stdin(self, data: bytes) -> None:
        await self.process.write_stdin(data)

    def close_stdin(self) -> None:
        self.process.close_stdin()

    async def wait(self) -> int:
        code = await self.process.wait()
        inst = self.registry.instances[self.exec_id]
        self.registry.instances[self.exec_id] = replace(inst, running=False, exit_code=code)
        self.registry.processes.pop(self.exec_id, None)
        return code


class Execs:
    """Keeps exec instances in memory, as Docker does (they do not survive a restart)."""

    def __init__(self, containers: Containers, runtime) -> None:
        self.containers = containers
        self.runtime = runtime
        self.instances: dict[str, ExecInstance] = {}
        self.processes: dict[str, object] = {}  # started execs, for resize

    async def create(self, container_ref: str, spec: ExecSpec) -> str:
        c = self.containers.get(container_ref)
        if not c.state.running:
            raise Conflict(f"Container {c.id} is not running")
        exec_id = secrets.token_hex(32)
        self.instances[exec_id] = ExecInstance(id=exec_id, container_id=c.id, spec=spec)
        return exec_id

    def get(self, exec_id: str) -> ExecInstance:
        try:
            return self.instances[exec_id]
        except KeyError:
            raise NotFound(f"No such exec instance: {exec_id}") from None

    async def start(self, exec_id: str) -> ExecRun:
        inst = self.get(exec_id)
        if inst.running or inst.exit_code is not None:
            raise Conflict(f"Exec {exec_id} has already been started")
        c = self.containers.get(inst.container_id)
        if not c.state.running:
            raise Conflict(f"Container {c.id} is not running")
        process = await self.runtime.exec(c.id, inst.spec)
        self.instances[exec_id] = replace(inst, running=True, pid=process.pid)
        self.processes[exec_id] = process
        return ExecRun(self, exec_id, process)

    def resize(self, exec_id: str, height: int, width: int) -> None:
        """Resize a running exec's terminal; an exec without one ignores it, as in Docker.

        Raises:
            NotFound: unknown exec. Conflict: it is not running.
        """
        inst = self.get(exec_id)
        process = self.processes.get(exec_id)
        if not inst.running or process is None:
            raise Conflict(f"Exec {exec_id} is not running")
        if hasattr(process, "resize"):
            process.resize(height, width)
