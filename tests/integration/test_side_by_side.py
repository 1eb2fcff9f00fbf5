"""Several daemons with different roots in one network namespace keep out of each other's way."""

import subprocess

import docker
import pytest

pytestmark = pytest.mark.integration


def client_of(d):
    return docker.DockerClient(base_url="unix://" + d.socket)


def bridge_of(client):
    return client.networks.get("bridge").attrs["Options"]["com.docker.network.bridge.name"]


def test_two_daemons_share_a_namespace(daemon, daemon_factory, busybox_tarball):
    other = daemon_factory.start("second")
    a, b = client_of(daemon), client_of(other)
    with open(busybox_tarball, "rb") as f:
        b.api.import_image_from_data(f.read(), repository="busybox", tag="local",
                                     changes=['CMD ["sh"]'])
    assert bridge_of(a) == "tether0"
    assert bridge_of(b) != "tether0"
    subnet_a = a.networks.get("bridge").attrs["IPAM"]["Config"][0]["Subnet"]
    subnet_b = b.networks.get("bridge").attrs["IPAM"]["Config"][0]["Subnet"]
    assert subnet_a != subnet_b
    tables = subprocess.run(["nft", "list", "tables"], capture_output=True, text=True).stdout
    assert tables.count("tether") >= 2

    net_b = b.networks.create("only_on_b")
    c = b.containers.run("busybox:local", "sleep 600", detach=True, network="only_on_b")
    try:
        daemon.restart()  # reconcile in A must leave B's bridges and rules alone
        peer = b.containers.run("busybox:local", "sleep 600", detach=True, network="only_on_b")
        c.reload()
        ip = c.attrs["NetworkSettings"]["Networks"]["only_on_b"]["IPAddress"]
        assert peer.exec_run(f"ping -c1 -W2 {ip}").exit_code == 0
        assert "only_on_b" not in {n.name for n in client_of(daemon).networks.list()}
        peer.remove(force=True)
    finally:
        c.remove(force=True)
        net_b.remove()
        daemon_factory.finish(other)
