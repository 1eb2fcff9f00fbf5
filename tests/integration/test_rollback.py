"""A failed request leaves nothing half-made: no address, netns, veth, bridge or record."""

import os
import subprocess
import time

import docker
import pytest

pytestmark = pytest.mark.integration


def tagged_links():
    out = subprocess.run(["ip", "-o", "link"], capture_output=True, text=True).stdout
    return {line.split(": ")[1].split("@")[0] for line in out.splitlines()
            if line.split(": ")[1].startswith(("tb-", "tv"))}


def settled(links, timeout=3.0):
    """Whether no tagged link beyond `links` is left: the kernel reaps the veths of a deleted
    namespace in the background, a moment after the deletion returns (so some of `links`,
    an earlier test's, may be gone by now too)."""
    deadline = time.monotonic() + timeout
    while not tagged_links() <= links:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def sandboxes(daemon):
    path = os.path.join(daemon.exec_root, "netns")
    return set(os.listdir(path)) if os.path.isdir(path) else set()


def test_failed_network_create_releases_its_subnet(docker_client):
    before = tagged_links()
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.99.0.0/24")])
    with pytest.raises(docker.errors.APIError):
        docker_client.networks.create("clash", ipam=ipam,
                                      options={"com.docker.network.bridge.name": "lo"})
    assert tagged_links() == before
    assert not docker_client.networks.list(names=["clash"])
    net = docker_client.networks.create("clash", ipam=ipam)  # the subnet was released
    net.remove()


def test_failed_start_leaves_no_sandbox_or_address(daemon, docker_client, busybox_image):
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(subnet="10.98.0.0/24")])
    net = docker_client.networks.create("rb_net", ipam=ipam)
    holder = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                          network="rb_net")
    links, netns = tagged_links(), sandboxes(daemon)
    cfg = docker_client.api.create_networking_config({
        "rb_net": docker_client.api.create_endpoint_config(ipv4_address="10.98.0.2")})
    cid = docker_client.api.create_container(
        "busybox:local", "sleep 600", networking_config=cfg,
        host_config=docker_client.api.create_host_config(network_mode="rb_net"))["Id"]
    try:
        with pytest.raises(docker.errors.APIError) as err:
            docker_client.api.start(cid)
        assert "Address already in use" in err.value.explanation
        assert settled(links) and sandboxes(daemon) == netns
        state = docker_client.api.inspect_container(cid)["State"]
        assert state["Status"] == "created"
        holder.remove(force=True)
        docker_client.api.start(cid)  # the address is free now, and so is the name
        assert docker_client.api.inspect_container(cid)["NetworkSettings"]["Networks"][
            "rb_net"]["IPAddress"] == "10.98.0.2"
    finally:
        docker_client.api.remove_container(cid, force=True)
        net.remove()


def test_missing_command_fails_start_cleanly(daemon, docker_client, busybox_image):
    links, netns = tagged_links(), sandboxes(daemon)
    c = docker_client.containers.create("busybox:local", "nosuchcommand")
    try:
        with pytest.raises(docker.errors.APIError) as err:
            c.start()
        assert err.value.status_code in (400, 500)
        assert "nosuchcommand" in err.value.explanation
        assert settled(links) and sandboxes(daemon) == netns
    finally:
        c.remove(force=True)


def test_removed_container_leaves_no_kernel_objects(daemon, docker_client, busybox_image):
    links, netns = tagged_links(), sandboxes(daemon)
    net = docker_client.networks.create("rb_two")
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True, network="rb_two")
    docker_client.networks.get("bridge").connect(c)
    assert len(tagged_links() - links) == 3  # one bridge, two veths
    c.remove(force=True)
    net.remove()
    assert settled(links) and sandboxes(daemon) == netns
