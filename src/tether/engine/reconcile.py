"""Make the kernel agree with the store at daemon start.

The store is the truth: every network's objects are re-made (idempotently), the firewall is
replaced in one transaction, and tagged leftovers that no record owns (sandboxes of
containers that are gone, bridges of removed networks) are deleted. Objects without tether's
tags are never touched.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from tether.engine import recovery
from tether.kernel.links import reap_leftovers, remove_link
from tether.kernel.netns import list_netns, remove_netns

if TYPE_CHECKING:
    from tether.engine.engine import Engine

log = logging.getLogger(__name__)


async def reconcile(engine: "Engine") -> None:
    state = engine.state
    for c in [c for c in state.containers.values() if c.state.running]:
        await recovery.complete_disconnects(engine, c)
    await recovery.release_orphan_addresses(engine)
    await recovery.release_orphan_pools(engine)
    running = [c for c in state.containers.values() if c.state.running]
    await engine.firewall.setup(*firewall_state(engine))
    await remove_orphan_sandboxes(engine, {c.sandbox_key for c in running})
    await abandon_strays(engine, {c.id for c in running})
    await remove_orphan_bridges(engine)
    for path in await engine.runtime.sweep({c.id for c in running}):
        log.info("removed leftover cgroup %s", path)
    await reap_leftovers()  # deletions a previous daemon did not see through


def firewall_state(engine: "Engine") -> tuple[list, list, tuple]:
    """What the firewall holds for the current state: networks, running endpoints, ports."""
    state = engine.state
    endpoints = [
        (state.networks[n], ep) for c in state.containers.values() if c.state.running
        for n, ep in c.endpoints.items() if n in state.networks and ep.id
    ]
    return (list(state.networks.values()), endpoints,
            engine.lifecycle.ports.all_mappings())


async def remove_orphan_sandboxes(engine: "Engine", keep: set[str]) -> None:
    netns_dir = os.path.join(engine.exec_root, "netns")
    for path in list_netns(netns_dir):
        if path not in keep:
            log.info("removing leftover sandbox %s", path)
            await remove_netns(path)


async def abandon_strays(engine: "Engine", keep: set[str]) -> None:
    """Stop containers that run (or are mounted) with no record saying so: a start the
    crash cut before its record was saved never answered its client, so it is undone, as
    its rollback would have. Files of containers with no record at all are deleted."""
    for cid in sorted(engine.runtime.started_ids() - keep):
        log.info("stopping container %s: its start was cut short by a crash", cid[:12])
        try:
            await engine.runtime.abandon(cid)
            if cid not in engine.state.containers:
                await engine.runtime.remove(cid)
        except Exception:  # noqa: BLE001 - one stray must not keep the daemon from starting
            log.exception("cleaning up container %s failed", cid[:12])


async def remove_orphan_bridges(engine: "Engine") -> None:
    """Remove bridges this daemon recorded making but no network owns (a crash mid-create
    or mid-remove). Bridges it never recorded, another daemon's among them, stay."""
    owned = engine.networks.own_links()
    for name in await engine.state.owned_links():
        if name not in owned:
            log.info("removing leftover bridge %s", name)
            await remove_link(name)
            await engine.state.disown_link(name)
