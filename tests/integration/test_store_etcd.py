"""The Store contract against a real etcd (its JSON gateway), plus leases."""

from __future__ import annotations

import asyncio

import pytest

from tether.errors import Unavailable
from tether.store.etcd import EtcdConfig, EtcdStore, parse_store_url
from tests.unit import test_store_contract as contract

from .support.etcd import EtcdMember, start_cluster

for _name in dir(contract):
    if _name.startswith("test_") and _name not in (
            "test_watch_ends_when_store_closes", "test_round_trip_latency"):
        globals()[_name] = getattr(contract, _name)


@pytest.fixture(scope="module")
def etcd(tmp_path_factory):
    member = EtcdMember("solo", "127.0.0.1", tmp_path_factory.mktemp("etcd"),
                        client_port=23790, peer_port=23800)
    start_cluster([member])
    yield member
    member.stop()


@pytest.fixture
async def store(etcd, request):
    s = EtcdStore(EtcdConfig((etcd.client,), namespace=f"/t/{request.node.name}/"))
    yield s
    await s.close()


async def test_lease_keys_vanish_on_revoke(store):
    lease = await store.grant(30)
    await store.put("hosts/a", b"x", lease=lease)
    assert await store.keepalive(lease) > 0
    watcher = store.watch("hosts/")
    await store.revoke(lease)
    event = await asyncio.wait_for(watcher.__anext__(), 2)
    assert (event.key, event.value) == ("hosts/a", None)
    assert await store.get("hosts/a") == (None, 0)
    assert await store.keepalive(lease) == 0
    await watcher.aclose()


async def test_unreachable_is_unavailable():
    s = EtcdStore(EtcdConfig(("127.0.0.1:1",), timeout=0.5))
    with pytest.raises(Unavailable):
        await s.get("a")
    await s.close()


def test_parse_store_url():
    cfg = parse_store_url("etcd://10.0.0.1:2379,10.0.0.2:2379",
                          {"kv.cacertfile": "/ca.pem"})
    assert cfg.endpoints == ("10.0.0.1:2379", "10.0.0.2:2379")
    assert cfg.urls()[0] == "https://10.0.0.1:2379"
