"""Keep tether's ruleset in place when another program deletes or flushes it.

`nft flush ruleset` (a firewall reload, a distribution's nftables.service) wipes every
table; Docker and netavark lose their rules until they restart. tether watches nftables'
notifications (kernel.nftwatch) and, after a transaction that damaged its tables, applies
the whole ruleset of the current state again: the skeleton, every network's elements and
every published port. A burst of changes is coalesced into one restore (DEBOUNCE). The
restore only adds (never deletes), so it cannot undo a change the engine makes meanwhile.
The guard stops before the daemon shuts down, so it never fights a deliberate teardown.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from tether.kernel import nft
from tether.kernel.nftwatch import NftMonitor

if TYPE_CHECKING:
    from tether.engine.engine import Engine

log = logging.getLogger(__name__)
DEBOUNCE = 0.05


class FirewallGuard:
    """Restores the ruleset after someone else damaged it; `restores` counts them."""

    def __init__(self, engine: "Engine") -> None:
        self.engine = engine
        self.monitor: NftMonitor | None = None
        self.wanted = asyncio.Event()
        self.task: asyncio.Task | None = None
        self.restores = 0
        self.closing = False
        self.sure = self.unsure = False  # seen damage / lost notifications since the last restore

    def start(self) -> None:
        table = getattr(self.engine.firewall, "table", None)
        if table is None:  # a daemon without a firewall has nothing to guard
            return
        self.monitor = NftMonitor.for_table(table, self.damaged)
        self.monitor.start()

    def damaged(self, lost: bool = False) -> None:
        if self.closing:
            return
        self.unsure = self.unsure or lost
        self.sure = self.sure or not lost
        self.wanted.set()
        if self.task is None or self.task.done():
            self.task = asyncio.get_running_loop().create_task(self.restore_soon(),
                                                               name="firewall-guard")

    async def restore_soon(self) -> None:
        while self.wanted.is_set() and not self.closing:
            await asyncio.sleep(DEBOUNCE)  # let the rest of a flush or reload arrive
            self.wanted.clear()
            sure, self.sure, self.unsure = self.sure, False, False
            try:
                if sure or await self.tables_missing():
                    await self.restore()
            except Exception:  # noqa: BLE001 - the next damage (or restart) tries again
                log.exception("restoring tether's nftables rules failed")

    async def tables_missing(self) -> bool:
        """After lost notifications: restore only if a table is gone (a full restore costs
        more than the listing, and overflow comes with heavy, legitimate churn)."""
        table = self.engine.firewall.table
        present = set(await nft.list_tables())
        return not {("inet", table), ("bridge", table)} <= present

    async def restore(self) -> None:
        from tether.engine.reconcile import firewall_state

        await self.engine.firewall.restore(*firewall_state(self.engine))
        self.restores += 1
        log.warning("tether's nftables rules were deleted by another program: restored")

    async def close(self) -> None:
        self.closing = True
        if self.monitor is not None:
            self.monitor.close()
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
