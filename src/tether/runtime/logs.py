"""Read a container's log files, optionally following them until the container exits."""

from __future__ import annotations

import asyncio
import os
from typing import AsyncIterator, Awaitable, Callable

from tether.runtime.watch import DirWatch

CHUNK = 64 * 1024


def tail_offset(path: str, lines: int) -> int:
    """The offset where the last `lines` lines of `path` begin (0 for the whole file)."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return 0
    with f:
        end = f.seek(0, os.SEEK_END)
        if lines <= 0:
            return end
        pos, seen = end, 0
        while pos > 0:
            step = min(CHUNK, pos)
            f.seek(pos - step)
            block = f.read(step)
            if pos == end and block.endswith(b"\n"):
                block = block[:-1]  # the final newline ends the last line, it starts none
            for i in range(len(block) - 1, -1, -1):
                if block[i] == 0x0A:
                    seen += 1
                    if seen == lines:
                        return pos - step + i + 1
            pos -= step
        return 0


def _read_from(path: str, offset: int) -> bytes:
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read(CHUNK)
    except FileNotFoundError:
        return b""


async def _drain(directory: str, offsets: dict[int, tuple[str, int]]
                 ) -> AsyncIterator[tuple[int, bytes]]:
    """Yield everything written since the last call, stream by stream."""
    for stream, (name, offset) in offsets.items():
        while True:
            data = await asyncio.to_thread(_read_from, os.path.join(directory, name), offset)
            if not data:
                break
            offset += len(data)
            offsets[stream] = (name, offset)
            yield stream, data


async def read(directory: str, streams: list[tuple[int, str]], *, tail: int | None,
               exited: Callable[[], Awaitable[int]] | None,
               starts: dict[int, int] | None = None) -> AsyncIterator[tuple[int, bytes]]:
    """Yield (stream, bytes) from each log file; with `exited`, follow until it completes.
    `starts` gives each stream's first offset (then `tail` is not used)."""
    offsets: dict[int, tuple[str, int]] = {}
    for stream, name in streams:
        start = 0
        if starts is not None:
            start = starts.get(stream, 0)
        elif tail is not None and tail >= 0:
            start = await asyncio.to_thread(tail_offset, os.path.join(directory, name), tail)
        offsets[stream] = (name, start)
    if exited is None:
        async for item in _drain(directory, offsets):
            yield item
        return
    async with DirWatch(directory) as watch:
        done = asyncio.ensure_future(exited())
        try:
            while True:
                async for item in _drain(directory, offsets):
                    yield item
                if done.done():
                    break
                changed = asyncio.ensure_future(watch.changed())
                try:  # a reader cancelled here (a detached client) must not leak the task
                    await asyncio.wait({done, changed}, return_when=asyncio.FIRST_COMPLETED)
                finally:
                    changed.cancel()
            async for item in _drain(directory, offsets):
                yield item
        finally:
            done.cancel()


def ends(directory: str) -> dict[int, int]:
    """The current size of each stream's log file (0 when it does not exist yet): where a
    reader that wants only what comes next starts."""
    out = {}
    for stream, name in ((1, "stdout.log"), (2, "stderr.log")):
        try:
            out[stream] = os.path.getsize(os.path.join(directory, name))
        except OSError:
            out[stream] = 0
    return out
