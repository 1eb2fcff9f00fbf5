"""The Store contract, run against every local implementation (memory and SQLite)."""

from __future__ import annotations

import asyncio
import time

import pytest

from tether.errors import CasFailed, InvalidArgument, Unavailable
from tether.store.base import Delete, Put, WatchEvent


async def test_absent_key_is_none_at_revision_zero(store):
    assert await store.get("nope") == (None, 0)


async def test_put_get_and_global_revision(store):
    r1 = await store.put("a", b"1")
    r2 = await store.put("b", b"2")
    assert r2 == r1 + 1
    assert await store.get("a") == (b"1", r1)
    r3 = await store.put("a", b"3")
    assert r3 == r2 + 1
    assert await store.get("a") == (b"3", r3)


async def test_put_expectations(store):
    rev = await store.put("k", b"v", expect_rev=0)
    with pytest.raises(CasFailed):
        await store.put("k", b"w", expect_rev=0)
    with pytest.raises(CasFailed):
        await store.put("k", b"w", expect_rev=rev + 7)
    with pytest.raises(CasFailed):
        await store.put("other", b"w", expect_rev=rev)
    assert await store.get("k") == (b"v", rev)
    rev2 = await store.put("k", b"w", expect_rev=rev)
    assert await store.get("k") == (b"w", rev2)


async def test_delete(store):
    rev = await store.put("k", b"v")
    with pytest.raises(CasFailed):
        await store.delete("k", expect_rev=rev + 1)
    assert await store.delete("k", expect_rev=rev) is True
    assert await store.get("k") == (None, 0)
    assert await store.delete("k") is False
    again = await store.put("k", b"x", expect_rev=0)
    assert again > rev


async def test_list_prefix_sorted(store):
    for key in ("net/b", "net/a", "net/c/x", "nets", "ne", "other/a", "net/\u00e9"):
        await store.put(key, key.encode())
    keys = [k for k, _, _ in await store.list("net/")]
    assert keys == ["net/a", "net/b", "net/c/x", "net/\u00e9"]
    assert [k for k, _, _ in await store.list("")] == sorted(
        ["net/b", "net/a", "net/c/x", "nets", "ne", "other/a", "net/\u00e9"])
    assert all(v == k.encode() for k, v, _ in await store.list("net"))


async def test_commit_is_all_or_nothing(store):
    r0 = await store.put("a", b"1")
    with pytest.raises(CasFailed):
        await store.commit([Put("b", b"2", expect_rev=0), Delete("a"), Put("a2", b"", 5)])
    assert await store.get("b") == (None, 0)
    assert await store.get("a") == (b"1", r0)
    rev = await store.commit([Put("b", b"2", expect_rev=0), Delete("a", expect_rev=r0)])
    assert rev == r0 + 1
    assert await store.get("b") == (b"2", rev)
    assert await store.get("a") == (None, 0)


async def test_commit_rejects_a_key_twice(store):
    with pytest.raises(InvalidArgument):
        await store.commit([Put("a", b"1"), Delete("a")])


async def test_noop_commit_keeps_revision(store):
    rev = await store.put("a", b"1")
    assert await store.commit([Delete("missing")]) == rev
    assert await store.put("b", b"1") == rev + 1


async def test_watch_sees_changes_in_order(store):
    watcher = store.watch("net/")
    await store.put("net/a", b"1")
    await store.put("other", b"x")
    await store.commit([Put("net/b", b"2"), Delete("net/a")])
    events = [await asyncio.wait_for(watcher.__anext__(), 1) for _ in range(3)]
    assert [(e.key, e.value) for e in events] == [
        ("net/a", b"1"), ("net/b", b"2"), ("net/a", None)]
    assert events[1].revision == events[2].revision > events[0].revision
    assert all(isinstance(e, WatchEvent) for e in events)
    await watcher.aclose()


async def test_watch_ends_when_store_closes(store):
    watcher = store.watch("")

    async def drain():
        return [e async for e in watcher]

    task = asyncio.create_task(drain())
    await store.put("a", b"1")
    await asyncio.sleep(0.01)
    await store.close()
    events = await asyncio.wait_for(task, 1)
    assert [e.key for e in events] == ["a"]
    with pytest.raises(Unavailable):
        await store.get("a")


async def test_concurrent_cas_counter_reaches_exactly_100(store):
    await store.put("counter", b"0")

    async def increment():
        while True:
            value, rev = await store.get("counter")
            try:
                await store.put("counter", str(int(value) + 1).encode(), expect_rev=rev)
                return
            except CasFailed:
                await asyncio.sleep(0)

    await asyncio.gather(*(increment() for _ in range(100)))
    assert (await store.get("counter"))[0] == b"100"


async def test_concurrent_create_only_one_wins(store):
    async def create(i):
        try:
            await store.put("name/web", str(i).encode(), expect_rev=0)
            return True
        except CasFailed:
            return False

    assert sum(await asyncio.gather(*(create(i) for i in range(50)))) == 1


async def test_round_trip_latency(store):
    """A put+get round trip stays well under a millisecond (median of 200)."""
    samples = []
    for i in range(200):
        t0 = time.perf_counter()
        await store.put("bench", str(i).encode())
        await store.get("bench")
        samples.append(time.perf_counter() - t0)
    median = sorted(samples)[len(samples) // 2]
    print(f"{type(store).__name__}: put+get median {median * 1e6:.0f} us")
    assert median < 1e-3
