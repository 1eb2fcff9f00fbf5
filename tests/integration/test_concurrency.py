"""Concurrency: many requests at once give distinct addresses and unique names.

Requests go straight to the API from threads, so they really overlap in the daemon.
"""

from __future__ import annotations

import ipaddress
from concurrent.futures import ThreadPoolExecutor

RUNS = 100
CREATES = 20


def run_one(daemon, image: str, i: int) -> tuple[int, str]:
    body = {"Image": image, "Cmd": ["sleep", "300"], "HostConfig": {"NetworkMode": "crowd"}}
    r = daemon.api("POST", f"/containers/create?name=crowd{i}", body, timeout=300)
    if r.status != 201:
        return r.status, r.body.decode()
    cid = r.json()["Id"]
    r = daemon.api("POST", f"/containers/{cid}/start", timeout=300)
    return r.status, cid


def test_100_concurrent_runs_on_one_network_get_100_distinct_addresses(daemon, busybox_image):
    assert daemon.api("POST", "/networks/create", {"Name": "crowd"}).status == 201
    try:
        with ThreadPoolExecutor(RUNS) as pool:
            results = list(pool.map(lambda i: run_one(daemon, busybox_image, i), range(RUNS)))
        failed = [r for r in results if r[0] not in (201, 204)]
        assert not failed, failed[:5]
        net = daemon.api("GET", "/networks/crowd").json()
        addrs = [ipaddress.ip_interface(c["IPv4Address"]).ip
                 for c in net["Containers"].values()]
        assert len(addrs) == RUNS and len(set(addrs)) == RUNS
        subnet = ipaddress.ip_network(net["IPAM"]["Config"][0]["Subnet"])
        assert all(a in subnet for a in addrs)
        gateway = ipaddress.ip_address(net["IPAM"]["Config"][0]["Gateway"])
        assert gateway not in addrs
    finally:
        with ThreadPoolExecutor(16) as pool:
            list(pool.map(lambda i: daemon.api("DELETE", f"/containers/crowd{i}?force=1",
                                               timeout=300), range(RUNS)))
        daemon.api("DELETE", "/networks/crowd")


def test_concurrent_creates_of_one_name_give_one_success_and_409s(daemon):
    def create(_):
        return daemon.api("POST", "/networks/create", {"Name": "samename"}).status

    with ThreadPoolExecutor(CREATES) as pool:
        statuses = sorted(pool.map(create, range(CREATES)))
    try:
        assert statuses.count(201) == 1, statuses
        assert statuses.count(409) == CREATES - 1, statuses
        listed = [n for n in daemon.api("GET", "/networks").json() if n["Name"] == "samename"]
        assert len(listed) == 1
    finally:
        daemon.api("DELETE", "/networks/samename")


def test_concurrent_creates_of_one_container_name_give_one_success(daemon, busybox_image):
    def create(_):
        return daemon.api("POST", "/containers/create?name=samec",
                          {"Image": busybox_image, "Cmd": ["true"]}).status

    with ThreadPoolExecutor(CREATES) as pool:
        statuses = sorted(pool.map(create, range(CREATES)))
    daemon.api("DELETE", "/containers/samec?force=1")
    assert statuses.count(201) == 1 and statuses.count(409) == CREATES - 1, statuses
