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


def make_certs(d) -> dict[str, str]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all signed by it."""
    import subprocess

    def ssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=d, check=True, capture_output=True)

    ssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.pem",
        "-days", "1", "-subj", "/CN=tether-test-ca")
    (d / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth,"
                               "clientAuth\n")
    for name in ("server", "client"):
        ssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out",
            f"{name}.csr", "-subj", f"/CN={name}")
        ssl("x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
            "-CAcreateserial", "-out", f"{name}.pem", "-days", "1", "-extfile", "san.cnf")
    return {k: str(d / f) for k, f in (("ca", "ca.pem"), ("cert", "client.pem"),
                                       ("key", "client.key"), ("scert", "server.pem"),
                                       ("skey", "server.key"))}


async def test_tls_with_client_certificates(tmp_path):
    import subprocess
    import time

    certs = make_certs(tmp_path)
    url = "https://127.0.0.1:23793"
    proc = subprocess.Popen(
        ["etcd", "--data-dir", str(tmp_path / "data"), "--listen-client-urls", url,
         "--advertise-client-urls", url, "--listen-peer-urls", "http://127.0.0.1:23794",
         "--cert-file", certs["scert"], "--key-file", certs["skey"], "--client-cert-auth",
         "--trusted-ca-file", certs["ca"], "--log-level", "error"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        cfg = parse_store_url("etcd://127.0.0.1:23793", {
            "kv.cacertfile": certs["ca"], "kv.certfile": certs["cert"],
            "kv.keyfile": certs["key"]})
        s = EtcdStore(cfg)
        deadline = time.monotonic() + 10
        while True:
            try:
                rev = await s.put("k", b"v")
                break
            except Unavailable:
                assert time.monotonic() < deadline, "etcd with TLS did not answer"
                await asyncio.sleep(0.1)
        assert await s.get("k") == (b"v", rev)
        await s.close()
        plain = EtcdStore(parse_store_url("etcd://127.0.0.1:23793",
                                          {"kv.cacertfile": certs["ca"]}))
        with pytest.raises(Unavailable):  # no client certificate: refused
            await plain.get("k")
        await plain.close()
    finally:
        proc.kill()
        proc.wait()
