"""Finish what a daemon crash cut short, at the next start: nothing half-made survives it.

Every multi-step operation records its result in the store only at its end, so a crash
leaves kernel objects or IPAM entries that no record owns, or a record whose kernel objects
are gone. Each is found from the store itself (never by guessing from names) and undone or
completed, as the operation's rollback or its last steps would have:

- an address whose owner is no endpoint of any container: an endpoint plumbed by a `start`
  or `connect` whose record was never saved. Its veth (named from the owner, an endpoint
  id) is deleted and the address released;
- the pools of a network with no record: a `network create` cut before its record;
- an endpoint of a running container whose veth is gone: a `disconnect` cut before its
  record. The disconnect is completed (the client never heard back either way).
"""

from __future__ import annotations

import ipaddress
import logging
from dataclasses import replace
from typing import TYPE_CHECKING

from tether.drivers.base import JoinInfo
from tether.drivers.bridge import veth_name
from tether.ipam.allocator import POOLS
from tether.kernel.links import link_exists, remove_link
from tether.model import Container

if TYPE_CHECKING:
    from tether.engine.engine import Engine

log = logging.getLogger(__name__)
OWNERS_KEPT = {"host-access"}


async def release_orphan_addresses(engine: "Engine") -> None:
    """Release addresses no endpoint in the store owns, deleting their endpoints' veths."""
    known = {ep.id for c in engine.state.containers.values() for ep in c.endpoints.values()
             if ep.id}
    ipam = engine.networks.ipam.local
    for net in list(engine.state.networks.values()):
        if net.scope == "global" or not net.pools:
            continue
        for addr, owner in (await ipam.used(net.id)).items():
            if owner in known or owner in OWNERS_KEPT:
                continue
            log.info("releasing %s on %s: its endpoint was never recorded", addr, net.name)
            if net.driver == "bridge":
                await remove_link(veth_name(owner))
            await ipam.release_address(net.id, ipaddress.ip_address(addr))


async def release_orphan_pools(engine: "Engine") -> None:
    """Release the pools of networks that have no record (a create cut short)."""
    ipam = engine.networks.ipam.local
    for key, _, _ in await ipam.store.list(POOLS):
        net_id = key[len(POOLS):]
        if net_id not in engine.state.networks:
            log.info("releasing the pools of network %s: it was never recorded", net_id[:12])
            await ipam.release_pools(net_id)


async def complete_disconnects(engine: "Engine", c: Container) -> Container:
    """Drop endpoints of an adopted container whose veth is gone (a disconnect cut short)."""
    gone = []
    for net_id, ep in c.endpoints.items():
        net = engine.state.networks.get(net_id)
        if net is None or net.driver != "bridge" or not ep.id or not ep.host_ifname:
            continue
        if not await link_exists(ep.host_ifname):
            gone.append(net_id)
            log.info("completing the disconnect of %s from %s", c.name, net.name)
            try:
                await engine.endpoints.unplumb(net, ep, JoinInfo(c.sandbox_key), live=True)
            except Exception:  # noqa: BLE001 - the record must still lose the endpoint
                log.exception("unplumbing %s from %s failed", c.name, net.name)
    if not gone:
        return c
    c = replace(c, endpoints={k: v for k, v in c.endpoints.items() if k not in gone})
    await engine.state.save_container(c)
    return c
