"""The `Store` protocol shared by the memory, SQLite and etcd stores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import AsyncIterator, Protocol, Sequence


@dataclass(frozen=True)
class WatchEvent:
    """A change under a watched prefix: `value` is None for a delete."""

    key: str
    value: bytes | None
    revision: int


@dataclass(frozen=True)
class Put:
    """One write in a transaction; `expect_rev` None = unconditional, 0 = must not exist."""

    key: str
    value: bytes
    expect_rev: int | None = None


@dataclass(frozen=True)
class Delete:
    """One delete in a transaction; `expect_rev` None = unconditional."""

    key: str
    expect_rev: int | None = None


class Store(Protocol):
    """Compare-and-swap key-value store.

    Every method is a coroutine and never blocks the event loop. A failed expectation raises
    `tether.errors.CasFailed` and changes nothing. An unreachable backend raises `Unavailable`.
    """

    async def get(self, key: str) -> tuple[bytes | None, int]:
        """Return (value, revision); (None, 0) when the key is absent."""

    async def put(self, key: str, value: bytes, *, expect_rev: int | None = None) -> int:
        """Write `value`; return the new revision."""

    async def delete(self, key: str, *, expect_rev: int | None = None) -> bool:
        """Remove `key`; return whether it existed."""

    async def list(self, prefix: str) -> list[tuple[str, bytes, int]]:
        """Return (key, value, revision) for every key starting with `prefix`, sorted by key."""

    async def commit(self, ops: Sequence[Put | Delete]) -> int:
        """Apply every op atomically, or none when any expectation fails; return the revision."""

    def watch(self, prefix: str) -> AsyncIterator[WatchEvent]:
        """Yield every change under `prefix` from now on, in revision order."""

    async def close(self) -> None:
        """Release the backend."""
