"""The single-host `Store`: SQLite in WAL mode, driven by one dedicated worker thread.

Durability choice: `journal_mode=WAL` with `synchronous=NORMAL`. In WAL mode NORMAL never
corrupts the database and keeps every committed transaction across a crash of tetherd (even
`kill -9`), because a commit is in the WAL file once `COMMIT` returns. Only an OS crash or power
loss can drop the last transactions before a checkpoint; a reboot also drops every namespace,
bridge and nftables table, and reconcile rebuilds the kernel from whatever the store holds, so
losing the newest few writes then is the same as those operations never having happened.
FULL would fsync on every commit, a millisecond or more here, against a budget of well under
one millisecond for a put+get round trip.

Concurrency: one worker thread owns the connection and runs every statement, so operations are
serialised (no lock needed) and the event loop never blocks on disk. Watchers are notified on
the loop, in commit order, before the writer's await returns.
"""

from __future__ import annotations

import asyncio
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from typing import AsyncIterator, Callable, Sequence, TypeVar

from tether.errors import Unavailable
from tether.store.base import Delete, Put, WatchEvent
from tether.store.txn import check_unique, fail, met
from tether.store.watch import WatchHub

T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value BLOB NOT NULL, rev INTEGER NOT NULL)
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('revision', 0);
"""


def prefix_end(prefix: str) -> str | None:
    """The smallest string greater than every string starting with `prefix` (None: no bound).

    SQLite compares TEXT with memcmp on UTF-8, which orders like Python compares code points.
    """
    while prefix and prefix[-1] == chr(0x10FFFF):
        prefix = prefix[:-1]
    if not prefix:
        return None
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class SqliteStore:
    """Compare-and-swap key-value store in one SQLite file; construct, then use (no await).

    The schema is created by the first job of the worker thread, so every later call queues
    behind it; `await SqliteStore.open(path)` also surfaces a bad path at once.
    """

    def __init__(self, path: str) -> None:
        self.path = path
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tether-sqlite")
        self._db: sqlite3.Connection | None = None
        self._ready = self._pool.submit(self._connect)
        self._hub = WatchHub()
        self._closed = False

    @classmethod
    async def open(cls, path: str) -> SqliteStore:
        """Open (creating if needed) the store at `path`; raise Unavailable if it cannot."""
        store = cls(path)
        await store._run(lambda: None)
        return store

    def _connect(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("PRAGMA synchronous=NORMAL")
        db.executescript(SCHEMA)
        self._db = db

    async def _run(self, job: Callable[[], T]) -> T:
        """Run `job` on the worker thread (after the schema is ready)."""
        if self._closed:
            raise Unavailable("the store is closed")
        loop = asyncio.get_running_loop()
        try:
            return await loop.run_in_executor(self._pool, self._call, job, loop)
        except sqlite3.Error as e:
            raise Unavailable(f"store {self.path}: {e}") from e

    def _call(self, job: Callable[[], T], loop: asyncio.AbstractEventLoop) -> T:
        self._ready.result()
        if self._db is None:
            raise sqlite3.ProgrammingError("the store is closed")
        self._loop = loop
        return job()

    async def get(self, key: str) -> tuple[bytes | None, int]:
        return await self._run(lambda: self._get(key))

    def _get(self, key: str) -> tuple[bytes | None, int]:
        row = self._db.execute("SELECT value, rev FROM kv WHERE key = ?", (key,)).fetchone()
        return (bytes(row[0]), row[1]) if row else (None, 0)

    async def put(self, key: str, value: bytes, *, expect_rev: int | None = None) -> int:
        return await self.commit([Put(key, value, expect_rev)])

    async def delete(self, key: str, *, expect_rev: int | None = None) -> bool:
        return await self._run(lambda: self._delete(key, expect_rev))

    def _delete(self, key: str, expect_rev: int | None) -> bool:
        existed = self._get(key)[1] != 0
        self._commit([Delete(key, expect_rev)])
        return existed

    async def list(self, prefix: str) -> list[tuple[str, bytes, int]]:
        return await self._run(lambda: self._list(prefix))

    def _list(self, prefix: str) -> list[tuple[str, bytes, int]]:
        end = prefix_end(prefix)
        if end is None:
            rows = self._db.execute(
                "SELECT key, value, rev FROM kv WHERE key >= ? ORDER BY key", (prefix,))
        else:
            rows = self._db.execute(
                "SELECT key, value, rev FROM kv WHERE key >= ? AND key < ? ORDER BY key",
                (prefix, end))
        return [(k, bytes(v), r) for k, v, r in rows]

    async def commit(self, ops: Sequence[Put | Delete]) -> int:
        check_unique(ops)
        ops = list(ops)
        return await self._run(lambda: self._commit(ops))

    def _commit(self, ops: list[Put | Delete]) -> int:
        """One IMMEDIATE transaction: check every expectation, then write at one new revision;
        publish the events to the loop before the caller resumes."""
        db = self._db
        db.execute("BEGIN IMMEDIATE")
        try:
            rev, events = self._apply(ops)
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
        if events:
            self._loop.call_soon_threadsafe(self._hub.publish, events)
        return rev

    def _apply(self, ops: list[Put | Delete]) -> tuple[int, list[WatchEvent]]:
        db = self._db
        current = {op.key: self._get(op.key)[1] for op in ops}
        for op in ops:
            if not met(op.expect_rev, current[op.key]):
                raise fail(op.key, op.expect_rev, current[op.key])
        rev = db.execute("SELECT value FROM meta WHERE name = 'revision'").fetchone()[0]
        changes = [op for op in ops if isinstance(op, Put) or current[op.key]]
        if not changes:
            return rev, []
        rev += 1
        db.execute("UPDATE meta SET value = ? WHERE name = 'revision'", (rev,))
        events = []
        for op in changes:
            if isinstance(op, Put):
                db.execute("INSERT OR REPLACE INTO kv (key, value, rev) VALUES (?, ?, ?)",
                           (op.key, bytes(op.value), rev))
                events.append(WatchEvent(op.key, bytes(op.value), rev))
            else:
                db.execute("DELETE FROM kv WHERE key = ?", (op.key,))
                events.append(WatchEvent(op.key, None, rev))
        return rev, events

    def watch(self, prefix: str) -> AsyncIterator[WatchEvent]:
        if self._closed:
            raise Unavailable("the store is closed")
        return self._hub.register(prefix)

    async def close(self) -> None:
        """Close the connection on its own thread, then stop the thread; idempotent."""
        if self._closed:
            return
        self._closed = True
        self._hub.close()
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._pool, self._close_db)
        await loop.run_in_executor(None, self._pool.shutdown)

    def _close_db(self) -> None:
        """Close the connection; jobs already queued behind this one fail with Unavailable."""
        if self._db is not None:
            self._db.close()
            self._db = None
