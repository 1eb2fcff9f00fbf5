"""Handlers through aiohttp's test client, against the in-memory engine."""

from __future__ import annotations

import asyncio
import json
import struct

import pytest
from aiohttp.test_utils import TestClient, TestServer

from test_api_support import FakeEngine
from tether.api.app import make_app


@pytest.fixture
async def api():
    engine = FakeEngine()
    client = TestClient(TestServer(make_app(engine, version_info={"Version": "9.9.9"})))
    await client.start_server()
    client.engine = engine
    yield client
    await client.close()


async def test_ping_headers_and_body(api):
    resp = await api.get("/_ping")
    assert resp.status == 200 and await resp.text() == "OK"
    assert resp.headers["Api-Version"] == "1.50" and resp.headers["Ostype"] == "linux"
    assert resp.headers["Docker-Experimental"] == "false"
    assert resp.headers["Server"] == "tether/9.9.9 (linux)"
    assert resp.headers["Cache-Control"] == "no-cache, no-store, must-revalidate"
    head = await api.head("/_ping")
    assert head.status == 200 and head.headers["Pragma"] == "no-cache"


async def test_version_range(api):
    body = await (await api.get("/v1.41/version")).json()
    assert body["ApiVersion"] == "1.50" and body["MinAPIVersion"] == "1.41"
    old = await api.get("/v1.40/version")
    assert old.status == 400
    assert (await old.json())["message"].startswith(
        "client version 1.40 is too old. Minimum supported API version is 1.41")
    new = await api.get("/v1.51/networks")
    assert new.status == 400 and "too new" in (await new.json())["message"]


async def test_info_fields(api):
    body = await (await api.get("/v1.50/info")).json()
    assert body["Driver"] == "overlay2" and body["Swarm"]["LocalNodeState"] == "inactive"
    assert body["ServerVersion"] == "9.9.9" and body["Images"] == 1
    assert "bridge" in body["Plugins"]["Network"] and body["Warnings"] is None


async def test_unknown_route_and_bad_json(api):
    resp = await api.get("/v1.41/nothing/here")
    assert resp.status == 404 and await resp.json() == {"message": "page not found"}
    bad = await api.post("/networks/create", data=b"{not json",
                         headers={"Content-Type": "application/json"})
    assert bad.status == 400 and "invalid JSON" in (await bad.json())["message"]
    big = await api.post("/networks/create", data=b" " * (2 << 20))
    assert big.status in (400, 413)


async def test_unexpected_exception_is_500_with_one_sentence(api):
    await api.post("/containers/create?name=c1", json={"Image": "busybox:local"})
    resp = await api.post("/networks/host/disconnect", json={"Container": "c1"})
    assert resp.status == 500
    assert (await resp.json())["message"].startswith("internal error in tether")


async def test_network_lifecycle_and_filters(api):
    created = await api.post("/v1.41/networks/create", json={
        "Name": "dev_net", "Labels": {"env": "dev"}, "IPAM": {"Config": [
            {"Subnet": "10.77.0.0/24"}]}, "CheckDuplicate": True})
    assert created.status == 201
    net_id = (await created.json())["Id"]
    assert (await created.json())["Warning"] == ""
    dup = await api.post("/networks/create", json={"Name": "dev_net"})
    assert dup.status == 409

    async def names(filters):
        resp = await api.get("/networks", params={"filters": json.dumps(filters)})
        return sorted(n["Name"] for n in await resp.json())

    assert await names({"name": {"o": True}}) == ["host", "none"]
    assert await names({"type": {"custom": True}}) == ["dev_net"]
    assert await names({"type": {"builtin": True}}) == ["bridge", "host", "none"]
    assert await names({"label": ["env=dev"]}) == ["dev_net"]
    assert await names({"label": ["env=prod"]}) == []
    assert await names({"driver": {"null": True}}) == ["none"]
    assert await names({"id": {net_id[:6]: True}}) == ["dev_net"]
    assert await names({"dangling": {"true": True}}) == ["dev_net"]
    bad = await api.get("/networks", params={"filters": '{"nope":{"x":true}}'})
    assert bad.status == 400

    inspect = await (await api.get(f"/networks/{net_id[:10]}")).json()
    assert inspect["IPAM"]["Config"] == [{"Subnet": "10.77.0.0/24"}]
    assert (await api.delete("/networks/bridge")).status == 403
    assert (await api.delete("/networks/dev_net")).status == 204
    missing = await api.get("/networks/dev_net")
    assert missing.status == 404
    assert await missing.json() == {"message": "network dev_net not found"}


async def test_connect_disconnect_and_prune(api):
    await api.post("/networks/create", json={"Name": "other"})
    await api.post("/containers/create?name=hub", json={"Image": "busybox:local"})
    resp = await api.post("/networks/other/connect", json={
        "Container": "hub", "EndpointConfig": {"Aliases": ["x"]}})
    assert resp.status == 200 and await resp.read() == b""
    view = await (await api.get("/networks/other")).json()
    (entry,) = view["Containers"].values()
    assert entry["Name"] == "hub" and entry["IPv4Address"].endswith("/16")
    listed = await (await api.get("/networks")).json()
    assert all(n["Containers"] == {} for n in listed)
    again = await api.post("/networks/other/connect", json={"Container": "hub"})
    assert again.status == 403
    assert (await api.post("/networks/other/disconnect",
                           json={"Container": "hub", "Force": False})).status == 200
    pruned = await (await api.post(
        "/networks/prune", params={"filters": '{"label":{"keep=yes":true},"until":{"1h":true}}'}
    )).json()
    assert pruned == {"NetworksDeleted": ["other"]}
    assert api.engine.calls[-1][1] == ["keep=yes"] and api.engine.calls[-1][2] is not None
    assert await (await api.post("/networks/prune")).json() == {"NetworksDeleted": None}


async def test_container_lifecycle(api):
    bad = await api.post("/containers/create?name=-bad", json={"Image": "busybox:local"})
    assert bad.status == 400
    resp = await api.post("/v1.41/containers/create?name=web", json={
        "Image": "busybox:local", "Cmd": ["httpd", "-f"],
        "HostConfig": {"NetworkMode": "default"}})
    assert resp.status == 201
    cid = (await resp.json())["Id"]
    assert (await resp.json())["Warnings"] == []
    dup = await api.post("/containers/create?name=web", json={"Image": "busybox:local"})
    assert dup.status == 409 and 'The container name "/web" is already in use' in (
        await dup.json())["message"]
    assert (await api.post(f"/containers/{cid}/start")).status == 204
    assert (await api.post("/containers/web/start")).status == 304
    listed = await (await api.get("/containers/json")).json()
    assert [c["Names"] for c in listed] == [["/web"]]
    assert listed[0]["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == "172.17.0.2"
    inspect = await (await api.get("/containers/web/json")).json()
    assert inspect["NetworkSettings"]["IPAddress"] == "172.17.0.2"
    assert (await api.post("/containers/web/stop?t=3")).status == 204
    assert api.engine.calls[-1] == ("stop", "web", 3, None)
    assert (await api.post("/containers/web/stop")).status == 304
    assert await (await api.get("/containers/json")).json() == []
    exited = await (await api.get(
        "/containers/json", params={"all": "1", "filters": '{"status":["exited"]}'})).json()
    assert exited[0]["State"] == "exited"
    assert (await api.post("/containers/web/rename?name=web2")).status == 204
    assert (await api.delete("/containers/web2?force=1&v=0&link=0")).status == 204
    assert (await api.get("/containers/web2/json")).status == 404


async def test_wait_sends_headers_before_the_container_exits(api):
    await api.post("/containers/create?name=w", json={"Image": "busybox:local"})
    await api.post("/containers/w/start")
    resp = await api.post("/containers/w/wait?condition=next-exit")
    assert resp.status == 200 and resp.headers["Transfer-Encoding"] == "chunked"
    body = asyncio.ensure_future(resp.read())
    await asyncio.sleep(0.05)
    assert not body.done()
    await api.post("/containers/w/kill?signal=SIGTERM")
    assert json.loads(await body) == {"Error": None, "StatusCode": 137}
    bad = await api.post("/containers/w/wait?condition=sometime")
    assert bad.status == 400


def unframe(data: bytes) -> list[tuple[int, bytes]]:
    out = []
    while data:
        kind, size = struct.unpack(">BxxxI", data[:8])
        out.append((kind, data[8:8 + size]))
        data = data[8 + size:]
    return out


async def test_exec_without_upgrade_streams_frames(api):
    await api.post("/containers/create?name=e", json={"Image": "busybox:local"})
    await api.post("/containers/e/start")
    created = await api.post("/containers/e/exec", json={
        "Cmd": ["ip", "addr"], "AttachStdout": True, "AttachStderr": True})
    exec_id = (await created.json())["Id"]
    resp = await api.post(f"/exec/{exec_id}/start", json={"Detach": False, "Tty": False})
    assert resp.status == 200
    assert unframe(await resp.read()) == [(1, b"hello\n"), (2, b"oops\n")]
    info = await (await api.get(f"/exec/{exec_id}/json")).json()
    assert info["ExitCode"] == 3 and info["ProcessConfig"]["entrypoint"] == "ip"
    assert info["ProcessConfig"]["arguments"] == ["addr"] and info["OpenStdout"]
    assert (await api.get("/exec/nope/json")).status == 404


async def test_logs_framed(api):
    await api.post("/containers/create?name=l", json={"Image": "busybox:local"})
    resp = await api.get("/containers/l/logs?stdout=1&stderr=1&tail=5&timestamps=1")
    assert unframe(await resp.read()) == [(1, b"out line\n"), (2, b"err line\n")]
    assert api.engine.calls[-1][2:] == (True, True, False, 5, True)


async def test_images(api):
    resp = await api.post("/images/create?fromSrc=-&repo=busybox&tag=two&message=m"
                          "&changes=CMD%20sh&changes=ENV%20A=1", data=b"x" * 300000)
    assert resp.status == 200
    status = json.loads((await resp.read()).decode().strip())
    assert status["status"].startswith("sha256:")
    assert api.engine.calls[-1] == ("import", ("busybox:two",), ["CMD sh", "ENV A=1"], "m")
    inspect = await (await api.get("/v1.41/images/busybox:two/json")).json()
    assert inspect["Os"] == "linux" and inspect["RepoTags"] == ["busybox:two"]
    assert "Cmd" in inspect["Config"] and inspect["RootFS"]["Type"] == "layers"
    listed = await (await api.get("/images/json")).json()
    assert len(listed) == 2
    pull = await api.post("/images/create?fromImage=docker.io/library/alpine&tag=3")
    assert pull.status == 404 and "cannot pull" in (await pull.json())["message"]
    removed = await (await api.delete("/images/busybox:two")).json()
    assert removed[0] == {"Untagged": "busybox:two"} and "Deleted" in removed[1]
