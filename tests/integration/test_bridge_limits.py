"""Kernel limits at scale: a full bridge is refused with a clear error and nothing left."""

from __future__ import annotations

import os
import subprocess

import docker
import pytest

from .test_rollback import sandboxes, settled, tagged_links

pytestmark = pytest.mark.integration


def fill_bridge(bridge: str, count: int) -> tuple[str, list[str]]:
    """Enslave `count` veths to `bridge` in one `ip -batch` (about 0.6 s for a thousand),
    their peers in a namespace of their own: deleting it removes them all in one batch,
    where deleting them one by one waits for the kernel about 20 ms each."""
    ns = f"tether-fill-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", ns], check=True)
    names = [f"fill{i}" for i in range(count)]
    script = "".join(f"link add {n} type veth peer name p{i} netns {ns}\n"
                     f"link set {n} master {bridge}\n" for i, n in enumerate(names))
    subprocess.run(["ip", "-batch", "-"], input=script, text=True, check=True,
                   capture_output=True)
    return ns, names


def test_a_full_bridge_refuses_the_next_endpoint_and_leaves_nothing(
        daemon, docker_client, busybox_image):
    net = docker_client.networks.create("crowded", driver="bridge")
    bridge = f"tb-{net.id[:12]}"
    ns, fillers = fill_bridge(bridge, 1022)  # the kernel hands out ports 1..1023
    try:
        first = docker_client.containers.run(busybox_image, "sleep 600", detach=True,
                                             network="crowded")
        assert len(os.listdir(f"/sys/class/net/{bridge}/brif")) == 1023
        before_links, before_sandboxes = tagged_links(), sandboxes(daemon)
        second = docker_client.containers.create(busybox_image, "sleep 600",
                                                 network="crowded")
        with pytest.raises(docker.errors.APIError) as err:
            second.start()
        assert err.value.status_code == 403
        assert "network crowded is full" in str(err.value.explanation)
        assert "1023" in str(err.value.explanation)
        second.reload()
        assert second.status == "created"
        assert settled(before_links) and sandboxes(daemon) <= before_sandboxes
        # the refused endpoint's address went back: the next one to fit gets it
        subprocess.run(["ip", "link", "del", fillers.pop()], check=True)
        second.start()
        first.reload()
        second.reload()
        addrs = {c.attrs["NetworkSettings"]["Networks"]["crowded"]["IPAddress"]
                 for c in (first, second)}
        assert addrs == {first.attrs["NetworkSettings"]["Networks"]["crowded"]["Gateway"][:-1]
                         + suffix for suffix in ("2", "3")}
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
