"""Deleting links off the event loop, off the caller's critical path, and in batches.

The kernel answers a link deletion only after an RCU grace period (15-35 ms measured here)
and holds the rtnl lock all that time, so every other netlink request, the daemon's own
included, queues behind it. So a removal renames the link to a tombstone name, sets it down
and puts it in the tombstone link group (one message, well under a millisecond; the old name
is free at once). The reaper then deletes the whole group with one request, which the kernel
does with one grace period however many links it holds: after a short quiet spell, and at the
latest MAX_DELAY after the first pending tombstone, on a worker thread. A daemon that dies
first leaves tombstones behind: reconcile hands them to `reap` at the next start.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import secrets

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

log = logging.getLogger(__name__)

TOMBSTONE_PREFIX = "txd"  # + 12 hex digits: 15 characters, the kernel's limit
TOMBSTONE_GROUP = 0x74787464  # "txtd": a link group no other software uses
QUIET = 0.05  # seconds without a new tombstone before the batch goes
MAX_DELAY = 0.5  # seconds a tombstone waits at most
_GONE = (errno.ENODEV, errno.ENOENT)
_pending: set[asyncio.Task] = set()


class _Batch:
    """Tombstones waiting for the next group deletion, and the timer that starts it."""

    names: set[str] = set()
    first: float | None = None
    timer: asyncio.TimerHandle | None = None


def tombstone_name() -> str:
    return TOMBSTONE_PREFIX + secrets.token_hex(6)


def _delete_blocking(names: set[str]) -> None:
    """Runs on a worker thread (in the daemon's network namespace), with its own socket.

    Deletes the tombstone group at once, then each named link that may predate groups (a
    name already gone answers ENODEV without waiting on RCU).
    """
    with IPRoute() as ipr:
        try:
            ipr.link("del", index=0, group=TOMBSTONE_GROUP)
        except NetlinkError as exc:
            if exc.code not in _GONE:
                log.warning("cannot delete the tombstone links: %s", exc)
        for name in sorted(names):
            try:
                ipr.link("del", ifname=name)
            except NetlinkError as exc:
                if exc.code not in _GONE:
                    log.warning("cannot delete link %s: %s", name, exc)


def reap(name: str) -> None:
    """Delete the (already renamed and down) link `name` in the background, batched."""
    loop = asyncio.get_running_loop()
    now = loop.time()
    _Batch.names.add(name)
    if _Batch.first is None:
        _Batch.first = now
    if _Batch.timer is not None:
        _Batch.timer.cancel()
    delay = min(QUIET, max(0.0, _Batch.first + MAX_DELAY - now))
    _Batch.timer = loop.call_later(delay, _start_batch)


def _start_batch() -> None:
    names = _Batch.names
    _Batch.names, _Batch.first, _Batch.timer = set(), None, None
    task = asyncio.ensure_future(asyncio.to_thread(_delete_blocking, names))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def drain() -> None:
    """Delete every waiting tombstone now and wait for it (shutdown, tests)."""
    if _Batch.timer is not None:
        _Batch.timer.cancel()
        _start_batch()
    if _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)
