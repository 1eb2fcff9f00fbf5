"""kernel.rtwatch against the real kernel: its tables always agree with a fresh dump."""

from __future__ import annotations

import asyncio
import ipaddress
import os
import subprocess

import pytest

from tether.kernel import links, rtwatch

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")


def ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


async def agree(watcher: rtwatch.HostPrefixes, exclude=None) -> list:
    """Poll until the watcher's answer equals a dump's (notifications are asynchronous)."""
    for _ in range(200):
        want = await links.host_prefixes(exclude)
        if watcher.prefixes(exclude) == want:
            return want
        await asyncio.sleep(0.01)
    assert watcher.prefixes(exclude) == await links.host_prefixes(exclude)
    return want


@pytest.fixture
async def watcher():
    w = await rtwatch.watch_host_prefixes()
    yield w
    w.close()
    for name in ("rwt0", "rwt1", "tetherrwt"):
        subprocess.run(["ip", "link", "del", name], capture_output=True)


async def test_addresses_routes_and_links_follow_the_kernel(watcher):
    net = ipaddress.ip_network
    ip("link", "add", "rwt0", "type", "bridge")
    ip("addr", "add", "10.77.1.1/24", "dev", "rwt0")
    ip("link", "set", "rwt0", "up")
    ip("route", "add", "10.78.0.0/16", "via", "10.77.1.2", "dev", "rwt0")
    found = await agree(watcher)
    assert {net("10.77.1.0/24"), net("10.78.0.0/16")} <= set(found)

    ip("link", "set", "rwt0", "down")  # IPv4 drops the routes without a notification
    found = await agree(watcher)
    assert net("10.78.0.0/16") not in found and net("10.77.1.0/24") in found

    ip("link", "add", "rwt1", "type", "bridge")
    ip("addr", "add", "fd00:77::1/64", "dev", "rwt1")
    ip("addr", "add", "10.79.0.1/20", "dev", "rwt1")
    ip("link", "set", "rwt1", "name", "tetherrwt")  # a rename makes it ours by default
    found = await agree(watcher)
    assert net("10.79.0.0/20") not in found
    found = await agree(watcher, exclude=set())
    assert net("10.79.0.0/20") in found
    found = await agree(watcher, exclude={"rwt0"})
    assert net("10.77.1.0/24") not in found

    ip("addr", "del", "10.77.1.1/24", "dev", "rwt0")
    ip("link", "del", "tetherrwt")
    found = await agree(watcher, exclude=set())
    assert net("10.77.1.0/24") not in found and net("10.79.0.0/20") not in found


async def test_an_overflow_resyncs_from_a_dump(watcher):
    """Lost notifications (ENOBUFS) are repaired by a fresh dump, not guessed at."""
    watcher.addrs.clear()  # as if the notifications had been lost
    watcher.routes.clear()
    await watcher.resync()
    await agree(watcher)


async def test_foreign_prefixes_leave_out_only_what_the_caller_owns(watcher):
    """The split kept as notifications arrive agrees with a dump that excludes the owned
    links: a tether-named link the caller does not own (another daemon's) still counts."""
    net = ipaddress.ip_network
    watcher.own(["rwt0"])
    ip("link", "add", "rwt0", "type", "bridge")
    ip("addr", "add", "10.81.0.1/24", "dev", "rwt0")
    ip("link", "add", "tetherrwt", "type", "bridge")
    ip("addr", "add", "10.82.0.1/24", "dev", "tetherrwt")
    found = await agree(watcher, exclude={"rwt0"})
    assert watcher.foreign_prefixes() == found
    assert net("10.82.0.0/24") in found and net("10.81.0.0/24") not in found

    watcher.disown(["rwt0"])
    ip("link", "set", "tetherrwt", "name", "rwt1")
    found = await agree(watcher, exclude=set())
    assert watcher.foreign_prefixes() == found
    assert {net("10.81.0.0/24"), net("10.82.0.0/24")} <= set(found)
