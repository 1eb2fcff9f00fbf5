"""Exec instances: commands run inside a running container, with output and exit code."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import AsyncIterator

from tether.engine import eventlog
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
        self.registry.report(inst, "exec_die", exitCode=str(code))
        return code


class Execs:
    """Keeps exec instances in memory, as Docker does (they do not survive a restart)."""

    def __init__(self, containers: Containers, runtime, events=None) -> None:
        self.containers = containers
        self.runtime = runtime
        self.events = events  # engine.eventbus.EventBus, or None (no events)
        self.instances: dict[str, ExecInstance] = {}
        self.processes: dict[str, object] = {}  # started execs, for resize

    async def create(self, container_ref: str, spec: ExecSpec) -> str:
        c = self.containers.get(container_ref)
        if not c.state.running:
            raise Conflict(f"Container {c.id} is not running")
        if c.state.paused:
            raise Conflict(f"Container {c.id} is paused, unpause the container before exec")
        exec_id = secrets.token_hex(32)
        self.instances[exec_id] = inst = ExecInstance(id=exec_id, container_id=c.id, spec=spec)
        self.report(inst, "exec_create: " + command_line(spec.cmd))
        return exec_id

    def report(self, inst: ExecInstance, action: str, **attributes: str) -> None:
        """Publish an exec event on its container, with `execID`, as dockerd does."""
        c = self.containers.state.containers.get(inst.container_id)
        if self.events is not None and c is not None:
            self.events.publish([eventlog.container(c, action, execID=inst.id, **attributes)])

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
        self.report(inst, "exec_start: " + command_line(inst.spec.cmd))
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


def command_line(cmd: tuple[str, ...]) -> str:
    """dockerd's words for an exec in its events: entrypoint, a space, the arguments joined
    (so `ls` alone reads "ls ", trailing space included)."""
    return f"{cmd[0]} {' '.join(cmd[1:])}" if cmd else " "
