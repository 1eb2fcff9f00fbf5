"""SqliteStore specifics: persistence, crash safety, never blocking the loop."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import textwrap

import pytest

from tether.errors import Unavailable
from tether.store.sqlite import SqliteStore, prefix_end


async def test_state_and_revision_survive_reopen(tmp_path):
    path = str(tmp_path / "s.db")
    store = await SqliteStore.open(path)
    await store.put("a", b"1")
    rev = await store.put("b", b"2")
    await store.delete("a")
    await store.close()
    again = await SqliteStore.open(path)
    assert await again.get("b") == (b"2", rev)
    assert await again.get("a") == (None, 0)
    assert await again.put("c", b"3") == rev + 2
    await again.close()


async def test_unopenable_path_is_unavailable(tmp_path):
    with pytest.raises(Unavailable):
        await SqliteStore.open(str(tmp_path / "no" / "such" / "dir" / "s.db"))


async def test_uses_wal(tmp_path):
    store = await SqliteStore.open(str(tmp_path / "s.db"))
    await store.put("a", b"1")
    assert os.path.exists(tmp_path / "s.db-wal")
    await store.close()


CRASHER = """
import asyncio, sys
from tether.store.sqlite import SqliteStore

async def main():
    store = await SqliteStore.open(sys.argv[1])
    i = 0
    while True:
        await store.put(f"k/{i:06d}", b"x" * 100, expect_rev=0)
        print(i, flush=True)
        i += 1

asyncio.run(main())
"""


async def test_kill_9_loses_no_acknowledged_write(tmp_path):
    path = str(tmp_path / "s.db")
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(CRASHER), path],
                            stdout=subprocess.PIPE, text=True)
    acked = -1
    for line in proc.stdout:
        acked = int(line)
        if acked >= 300:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = await SqliteStore.open(path)
    keys = [k for k, _, _ in await store.list("k/")]
    await store.close()
    assert len(keys) >= acked + 1
    assert keys[: acked + 1] == [f"k/{i:06d}" for i in range(acked + 1)]


async def test_loop_keeps_running_during_writes(tmp_path):
    """Disk work happens on the worker thread: a ticker keeps ticking meanwhile."""
    store = await SqliteStore.open(str(tmp_path / "s.db"))
    ticks = 0
    stop = asyncio.Event()

    async def ticker():
        nonlocal ticks
        while not stop.is_set():
            ticks += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(ticker())
    for i in range(300):
        await store.put(f"x/{i}", b"v")
    stop.set()
    await task
    await store.close()
    assert ticks >= 300


def test_prefix_end():
    assert prefix_end("net/") == "net0"
    assert prefix_end("") is None
    assert prefix_end("a\U0010ffff") == "b"
