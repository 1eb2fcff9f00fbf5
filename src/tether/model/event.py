"""An event: something that happened to a container or a network, as Docker reports it.

Events are plain records; the engine derives them from changes of its records (see
`tether.engine.eventlog`) and the API renders them as Docker's `EventMessage`.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Event:
    """One event. `type` is Docker's object type ("container", "network"), `action` its verb
    ("create", "connect", "exec_start: sh -c ls"...), `attributes` what Docker puts in
    `Actor.Attributes` (name, image, labels, exitCode...), `time_nano` nanoseconds since the
    epoch."""

    type: str
    action: str
    actor_id: str
    attributes: dict[str, str] = field(default_factory=dict)
    time_nano: int = 0

    @property
    def time(self) -> int:
        return self.time_nano // 1_000_000_000
