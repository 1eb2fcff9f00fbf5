"""An in-memory `Store` with etcd's revision rules, for tests and throwaway daemons.

Invariants: `_rev` is the global revision and grows by one per successful write (a commit
counts once, whatever its size); a key's revision is the global revision of its last write;
`_keys` is the sorted list of present keys, so prefix listing costs O(log n + k).
"""

from __future__ import annotations

import bisect
from typing import AsyncIterator, Sequence

from tether.errors import Unavailable
from tether.store.base import Delete, Put, WatchEvent
from tether.store.txn import check_unique, fail, met
from tether.store.watch import WatchHub


class MemoryStore:
    """Compare-and-swap key-value store held in a dict; every method is O(log n) or better."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[bytes, int]] = {}
        self._keys: list[str] = []
        self._rev = 0
        self._hub = WatchHub()
        self._closed = False

    async def get(self, key: str) -> tuple[bytes | None, int]:
        self._check_open()
        value, rev = self._data.get(key, (None, 0))
        return value, rev

    async def put(self, key: str, value: bytes, *, expect_rev: int | None = None) -> int:
        return await self.commit([Put(key, value, expect_rev)])

    async def delete(self, key: str, *, expect_rev: int | None = None) -> bool:
        existed = key in self._data
        await self.commit([Delete(key, expect_rev)])
        return existed

    async def list(self, prefix: str) -> list[tuple[str, bytes, int]]:
        self._check_open()
        start = bisect.bisect_left(self._keys, prefix)
        out = []
        for key in self._keys[start:]:
            if not key.startswith(prefix):
                break
            value, rev = self._data[key]
            out.append((key, value, rev))
        return out

    async def commit(self, ops: Sequence[Put | Delete]) -> int:
        """Check every expectation, then apply every op at one new revision (no await inside,
        so the loop sees the transaction whole)."""
        self._check_open()
        check_unique(ops)
        for op in ops:
            current = self._data.get(op.key, (b"", 0))[1]
            if not met(op.expect_rev, current):
                raise fail(op.key, op.expect_rev, current)
        changes = [op for op in ops if isinstance(op, Put) or op.key in self._data]
        if not changes:
            return self._rev
        self._rev += 1
        events = [self._apply(op) for op in changes]
        self._hub.publish(events)
        return self._rev

    def _apply(self, op: Put | Delete) -> WatchEvent:
        if isinstance(op, Put):
            if op.key not in self._data:
                bisect.insort(self._keys, op.key)
            self._data[op.key] = (bytes(op.value), self._rev)
            return WatchEvent(op.key, bytes(op.value), self._rev)
        del self._data[op.key]
        del self._keys[bisect.bisect_left(self._keys, op.key)]
        return WatchEvent(op.key, None, self._rev)

    def watch(self, prefix: str) -> AsyncIterator[WatchEvent]:
        self._check_open()
        return self._hub.register(prefix)

    async def close(self) -> None:
        self._closed = True
        self._hub.close()

    def _check_open(self) -> None:
        if self._closed:
            raise Unavailable("the store is closed")
