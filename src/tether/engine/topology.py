"""The engine's topology snapshot: local records, plus, with a cluster store, the overlay
endpoints other hosts publish, each container labelled with the host it runs on."""

from __future__ import annotations

import json
import logging
from typing import TYPE_CHECKING

from tether.engine import cluster_records as keys
from tether.errors import Unavailable
from tether.netview.topology import Topology, from_model

if TYPE_CHECKING:
    from tether.engine.engine import Engine

log = logging.getLogger(__name__)


async def snapshot(engine: Engine, host: str) -> Topology:
    """Networks and containers as this daemon knows them; `host` names this host."""
    cluster = engine.cluster
    if cluster is None:
        return from_model(engine.state.networks.values(), engine.state.containers.values(),
                          host)
    names = await host_names(cluster)
    local = f"{host} ({cluster.advertise})"
    by_container: dict[str, list] = {}
    for rec in cluster.remote.values():
        if rec.network_id in engine.state.networks:
            by_container.setdefault(rec.container_id, []).append(rec)
    remote = [(f"{names.get(recs[0].host, '?')} ({recs[0].vtep})", keys.remote_container(recs))
              for recs in by_container.values()]
    return from_model(engine.state.networks.values(), engine.state.containers.values(), local,
                      remote=remote)


async def host_names(cluster) -> dict[str, str]:
    """host id -> host name from the cluster store; empty when it cannot be read."""
    try:
        entries = await cluster.store.list(keys.HOSTS)
    except Unavailable as exc:
        log.warning("host names unavailable for the topology: %s", exc)
        return {}
    out = {}
    for key, value, _ in entries:
        try:
            out[key[len(keys.HOSTS):]] = json.loads(value).get("name", "?")
        except ValueError:
            continue
    return out
