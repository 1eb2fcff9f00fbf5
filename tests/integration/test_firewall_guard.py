"""Someone else flushes the ruleset or deletes tether's tables: tether puts its rules back.

`nft flush ruleset` is what a firewall reload does; Docker and netavark lose their rules
until they restart. tether notices through nftables' notifications (kernel/nftwatch.py) and
re-applies the whole ruleset of its state within a second (engine/fwguard.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest

RESTORED = "were deleted by another program: restored"


def nft(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["nft", *args], capture_output=True, text=True)


def bridges_set(table: str) -> set[str]:
    out = nft("-j", "list", "set", "inet", table, "bridges")
    if out.returncode != 0:
        return set()
    for item in json.loads(out.stdout)["nftables"]:
        if "set" in item:
            return set(item["set"].get("elem", []))
    return set()


def answers(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"GET / HTTP/1.0\r\n\r\n")
            return s.recv(8).startswith(b"HTTP/1.")
    except OSError:
        return False


@pytest.fixture(scope="module")
def served(daemon, busybox_image):
    net = daemon.api("POST", "/networks/create", {"Name": "guarded"}).json()["Id"]
    body = {"Image": busybox_image, "Cmd": ["httpd", "-f", "-p", "80", "-h", "/"],
            "ExposedPorts": {"80/tcp": {}},
            "HostConfig": {"NetworkMode": "guarded",
                           "PortBindings": {"80/tcp": [{"HostIp": "127.0.0.1"}]}}}
    cid = daemon.api("POST", "/containers/create?name=guarded1", body).json()["Id"]
    assert daemon.api("POST", f"/containers/{cid}/start").status == 204
    info = daemon.api("GET", f"/containers/{cid}/json").json()
    port = int(info["NetworkSettings"]["Ports"]["80/tcp"][0]["HostPort"])
    tables = json.loads(nft("-j", "list", "tables").stdout)["nftables"]
    table = next(t["table"]["name"] for t in tables
                 if "table" in t and t["table"]["family"] == "inet"
                 and t["table"]["name"].startswith("tether"))
    deadline = time.monotonic() + 10
    while not answers(port) and time.monotonic() < deadline:
        time.sleep(0.1)
    yield table, f"tb-{net[:12]}", port
    daemon.api("DELETE", f"/containers/{cid}?force=1")
    daemon.api("DELETE", f"/networks/{net}")


def ruleset(table: str) -> list[str]:
    """Both of tether's tables as sorted lines (element order may differ after a restore)."""
    out = [nft("list", "table", fam, table) for fam in ("inet", "bridge")]
    return sorted(line.strip(" \t,") for o in out for line in o.stdout.splitlines())


def restored_within(table: str, want: list[str], seconds: float) -> float:
    """Seconds until both tables read as they did before the damage."""
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        if ruleset(table) == want:
            return time.monotonic() - t0
        time.sleep(0.01)
    raise AssertionError(f"rules not restored within {seconds} s:\n{nft('list', 'ruleset').stdout}")


@pytest.mark.parametrize("damage", [
    ["flush", "ruleset"],
    ["delete", "table", "inet", "{table}"],
    ["delete", "table", "bridge", "{table}"],
    ["flush", "table", "inet", "{table}"],
    ["flush", "chain", "inet", "{table}", "pub_pre"],
    ["flush chain inet {table} pub_post; delete chain inet {table} pub_post"],
    ["flush chain inet {table} postrouting; flush chain inet {table} pub_post; "
     "delete set inet {table} masq"],
])
def test_damaged_ruleset_is_restored_within_a_second(daemon, served, damage):
    table, bridge, port = served
    assert answers(port)
    want = ruleset(table)
    before = daemon.log_tail(2000).count(RESTORED)
    out = nft(*[a.format(table=table) for a in damage])
    assert out.returncode == 0, out.stderr
    took = restored_within(table, want, 1.0)
    print(f"restored in {took * 1000:.0f} ms")
    assert answers(port)
    time.sleep(0.3)  # one restore per damage: the restore itself must not trigger another
    assert daemon.log_tail(2000).count(RESTORED) - before == 1


def test_own_changes_trigger_no_restore(daemon, served, busybox_image):
    before = daemon.log_tail(2000).count(RESTORED)
    r = daemon.api("POST", "/networks/create", {"Name": "quiet"})
    assert r.status == 201
    body = {"Image": busybox_image, "Cmd": ["sleep", "60"], "ExposedPorts": {"81/tcp": {}},
            "HostConfig": {"NetworkMode": "quiet", "PortBindings": {"81/tcp": [{}]}}}
    cid = daemon.api("POST", "/containers/create?name=quiet1", body).json()["Id"]
    assert daemon.api("POST", f"/containers/{cid}/start").status == 204
    assert daemon.api("DELETE", f"/containers/{cid}?force=1").status == 204
    assert daemon.api("DELETE", f"/networks/{r.json()['Id']}").status == 204
    time.sleep(0.3)
    assert daemon.log_tail(2000).count(RESTORED) == before
