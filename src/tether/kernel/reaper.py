"""Deleting links off the event loop, off the caller's critical path, and in batches.

The kernel answers a link deletion only after an RCU grace period (15-35 ms measured here)
and holds the rtnl lock all that time, so every other netlink request, the daemon's own
included, queues behind it. So a removal renames the link to a tombstone name, sets it down
and puts it in the tombstone link group (one message, well under a millisecond; the old name
is free at once). The reaper then deletes the whole group with one request, which the kernel
does with one grace period however many links it holds: after a short quiet spell, and at the
latest MAX_DELAY after the first pending tombstone, on a worker thread. A daemon that dies
first leaves tombstones behind: reconcile hands them back (`links.reap_leftovers`) at the
next start.

Bridges are the exception: a group deletion saves little on them, about 16 ms each (31 ms
for one alone), so 100 bridges hold the rtnl lock for 1.6 s. A removed bridge is kept
instead, down and renamed, as a spare in its own link group, and the next `ensure_bridge`
renames a spare rather than creating a link. A spare's alias names its daemon, which alone
reuses it, or takes it back after a restart. Spares are deleted only after IDLE seconds in
which none was kept or taken, TRIM at a time, so a request that meets the trim waits for
four bridges (about 80 ms) at most. A shutdown deletes spares for DRAIN_BUDGET seconds and
leaves the rest to the next start.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import secrets
from collections import deque
from dataclasses import dataclass

from pyroute2 import IPRoute
from pyroute2.netlink.exceptions import NetlinkError

log = logging.getLogger(__name__)

TOMBSTONE_PREFIX = "txd"  # + 12 hex digits: 15 characters, the kernel's limit
TOMBSTONE_GROUP = 0x74787464  # "txtd": a link group no other software uses
SPARE_GROUP = 0x74787370  # "txsp": spare bridges, waiting for reuse
TRIM_GROUP = 0x74787472  # "txtr": the spares of the trim under way
SPARE_ALIAS = "tether spare"  # + the owner: spares carry it as their alias (IFLA_IFALIAS)
QUIET = 0.05  # seconds without a new tombstone before the batch goes
MAX_DELAY = 0.5  # seconds a tombstone waits at most
IDLE = 2.0  # seconds without a spare kept or taken before the spares are deleted
TRIM = 4  # spare bridges per deletion: about 20 ms each under the rtnl lock
DRAIN_BUDGET = 2.0  # seconds a shutdown spends deleting spares
_GONE = (errno.ENODEV, errno.ENOENT)
_pending: set[asyncio.Task] = set()


class _Batch:
    """Tombstones waiting for the next group deletion, and the timer that starts it."""

    names: set[str] = set()
    first: float | None = None
    timer: asyncio.TimerHandle | None = None
    seq = 1  # the number the batch collecting `names` will have
    unfinished: set[int] = set()


@dataclass(frozen=True)
class Spare:
    """A removed bridge kept for reuse: down, without addresses, in SPARE_GROUP."""

    name: str  # its tombstone name
    index: int
    mtu_set: bool  # its MTU was set by tether (the kernel then stops following its ports)
    ipv6: bool  # IPv6 is on (disable_ipv6=0)
    after: int  # the tombstone batch that must be deleted first: a veth removed before the
    # bridge may still be its port until then


class _Spares:
    plain: deque[Spare] = deque()  # oldest first, in both
    mtu_set: deque[Spare] = deque()
    timer: asyncio.TimerHandle | None = None
    trim: asyncio.Task | None = None


class _Owner:
    tag = ""


def set_owner(tag: str) -> None:
    """Name the daemon whose spares this process keeps: another daemon in the same network
    namespace must neither take them nor adopt them at its start."""
    _Owner.tag = tag


def spare_alias() -> str:
    return f"{SPARE_ALIAS} {_Owner.tag}".strip()


def tombstone_name() -> str:
    return TOMBSTONE_PREFIX + secrets.token_hex(6)


def _delete_blocking(names: set[str]) -> None:
    """Runs on a worker thread (in the daemon's network namespace), with its own socket.

    Puts each named link in the tombstone group first (a leftover of an older daemon may
    be outside it, or among its spares; a name already gone answers ENODEV at once), then
    deletes the group with one request.
    """
    _delete_as_group(TOMBSTONE_GROUP, [{"ifname": name} for name in sorted(names)])


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
    names, seq = _Batch.names, _Batch.seq
    _Batch.names, _Batch.first, _Batch.timer = set(), None, None
    _Batch.seq += 1
    _Batch.unfinished.add(seq)
    task = asyncio.ensure_future(asyncio.to_thread(_delete_blocking, names))
    _pending.add(task)
    task.add_done_callback(_pending.discard)
    task.add_done_callback(lambda _: _Batch.unfinished.discard(seq))


def _settled(spare: Spare) -> bool:
    return spare.after < _Batch.seq and not any(s <= spare.after for s in _Batch.unfinished)


def keep_spare(name: str, index: int, *, mtu_set: bool, ipv6: bool) -> None:
    """Keep the bridge just renamed to `name` (down, no addresses, in SPARE_GROUP) for reuse."""
    after = _Batch.seq if _Batch.names else _Batch.seq - 1
    spare = Spare(name, index, mtu_set, ipv6, after)
    (_Spares.mtu_set if mtu_set else _Spares.plain).append(spare)
    _touch_spares()


def take_spare(*, mtu: bool) -> Spare | None:
    """The oldest spare usable for a bridge with (`mtu`) or without an MTU of its own, or
    None. A bridge whose MTU tether set no longer follows its ports, so it serves only a
    bridge that has its MTU set too."""
    for pool in ((_Spares.mtu_set, _Spares.plain) if mtu else (_Spares.plain,)):
        if pool and _settled(pool[0]):
            _touch_spares()
            return pool.popleft()
    return None


def return_spare(spare: Spare) -> None:
    """Put back a spare `take_spare` gave that was not used."""
    (_Spares.mtu_set if spare.mtu_set else _Spares.plain).appendleft(spare)


def spare_count() -> int:
    return len(_Spares.plain) + len(_Spares.mtu_set)


def _touch_spares() -> None:
    if _Spares.timer is not None:
        _Spares.timer.cancel()
    _Spares.timer = asyncio.get_running_loop().call_later(IDLE, _start_trim)


def _start_trim() -> None:
    """Delete the oldest TRIM spares on a worker thread, then the next TRIM, while idle."""
    _Spares.timer = None
    if _Spares.trim is not None or not spare_count():
        return
    _Spares.trim = asyncio.ensure_future(asyncio.to_thread(_delete_spares, _take_oldest(TRIM)))
    _Spares.trim.add_done_callback(_trimmed)


def _take_oldest(count: int) -> list[Spare]:
    """Take up to `count` spares out of the pools, the plain ones first."""
    taken: list[Spare] = []
    for pool in (_Spares.plain, _Spares.mtu_set):
        while pool and len(taken) < count:
            taken.append(pool.popleft())
    return taken


def _trimmed(_: asyncio.Future) -> None:
    _Spares.trim = None
    if spare_count() and _Spares.timer is None:  # no spare kept or taken meanwhile
        _start_trim()


def _delete_spares(spares: list[Spare]) -> None:
    """Runs on a worker thread: move `spares` to TRIM_GROUP and delete that group."""
    _delete_as_group(TRIM_GROUP, [{"index": spare.index} for spare in spares])


def _delete_as_group(group: int, links: list[dict]) -> None:
    """Runs on a worker thread, with its own socket: put each link (named by the `ifname`
    or `index` of its dict) in `group`, then delete the group with one request."""
    with IPRoute() as ipr:
        for link in links:
            try:
                ipr.link("set", group=group, **link)
            except NetlinkError as exc:
                if exc.code not in _GONE:
                    log.warning("cannot delete link %s: %s", next(iter(link.values())), exc)
        try:
            ipr.link("del", index=0, group=group)
        except NetlinkError as exc:
            if exc.code not in _GONE:
                log.warning("cannot delete the links of group %#x: %s", group, exc)


async def drain() -> None:
    """Delete every waiting tombstone now, and the spare bridges for up to DRAIN_BUDGET
    seconds, and wait for it (shutdown, tests). Spares left then stay down, unaddressed
    and named as tombstones, for the next start's reconcile to delete in the background."""
    if _Batch.timer is not None:
        _Batch.timer.cancel()
        _start_batch()
    if _Spares.timer is not None:
        _Spares.timer.cancel()
        _Spares.timer = None
    left = _take_oldest(spare_count())  # so a trim under way starts no next one
    if _Spares.trim is not None:
        await asyncio.gather(_Spares.trim, return_exceptions=True)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + DRAIN_BUDGET
    while left and loop.time() < deadline:
        batch, left = left[:TRIM], left[TRIM:]
        await asyncio.to_thread(_delete_spares, batch)
    if left:
        log.info("%d spare bridges left for the next start to delete", len(left))
    if _pending:
        await asyncio.gather(*list(_pending), return_exceptions=True)
