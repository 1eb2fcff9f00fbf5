"""Isolation between networks, hubs, internal networks and egress, with real packets."""

import subprocess
import sys
import time

import docker
import pytest


pytestmark = pytest.mark.integration


def ip_of(c, net):
    c.reload()
    return c.attrs["NetworkSettings"]["Networks"][net]["IPAddress"]


UDP_ECHO = """
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 9999))
while True:
    data, peer = s.recvfrom(100)
    s.sendto(b"pong", peer)
"""

UDP_PROBE = """
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.settimeout(2)
s.sendto(b"ping", (sys.argv[1], 9999))
sys.exit(0 if s.recv(100) == b"pong" else 1)
"""


def sandbox(c):
    c.reload()
    return c.attrs["NetworkSettings"]["SandboxKey"]


def in_netns(c, *argv, **kw):
    """Run a host program inside `c`'s network namespace (busybox has no UDP client)."""
    return subprocess.run(["nsenter", f"--net={sandbox(c)}", *argv], capture_output=True, **kw)


def reaches(src, ip, proto):
    """One real probe from inside `src`: ICMP echo, an HTTP GET, or a UDP request/response.

    busybox's `wget -T` segfaults (a known busybox 1.35 bug), so `timeout` bounds wget.
    """
    if proto == "icmp":
        return src.exec_run(f"ping -c1 -W2 {ip}").exit_code == 0
    if proto == "tcp":
        return src.exec_run(f"timeout 3 wget -qO- http://{ip}/").exit_code == 0
    try:
        return in_netns(src, sys.executable, "-c", UDP_PROBE, ip, timeout=10).returncode == 0
    except subprocess.TimeoutExpired:
        return False


SERVE = "httpd -f -p 80 -h /var/www"


@pytest.fixture
def two_networks(docker_client, busybox_image):
    made = [docker_client.networks.create("iso_a"), docker_client.networks.create("iso_b")]
    containers = {}
    servers = []
    for name, net in (("a1", "iso_a"), ("a2", "iso_a"), ("b1", "iso_b")):
        containers[name] = docker_client.containers.run(
            "busybox:local", SERVE, detach=True, name=name, network=net)
        servers.append(subprocess.Popen(["nsenter", f"--net={sandbox(containers[name])}",
                                         sys.executable, "-c", UDP_ECHO]))
    time.sleep(0.3)
    yield containers
    for server in servers:
        server.kill()
        server.wait()
    for c in containers.values():
        c.remove(force=True)
    for n in made:
        n.remove()


@pytest.mark.parametrize("proto", ["icmp", "tcp", "udp"])
def test_same_network_reaches_other_network_does_not(two_networks, proto):
    a1, a2, b1 = two_networks["a1"], two_networks["a2"], two_networks["b1"]
    assert reaches(a1, ip_of(a2, "iso_a"), proto)
    assert not reaches(b1, ip_of(a1, "iso_a"), proto)
    assert not reaches(a1, ip_of(b1, "iso_b"), proto)


def test_hub_reaches_both_and_does_not_route(docker_client, two_networks):
    a1, b1 = two_networks["a1"], two_networks["b1"]
    hub = docker_client.containers.run("busybox:local", "sleep 600", detach=True, name="hub",
                                       network="iso_a")
    try:
        docker_client.networks.get("iso_b").connect(hub)
        hub.reload()
        assert set(hub.attrs["NetworkSettings"]["Networks"]) == {"iso_a", "iso_b"}
        out = hub.exec_run("ip -o -4 addr").output.decode()
        assert "eth0" in out and "eth1" in out
        assert reaches(hub, ip_of(a1, "iso_a"), "tcp")
        assert reaches(hub, ip_of(b1, "iso_b"), "tcp")
        # b1 still cannot reach a1, even through the hub's address as a router
        hub_b = ip_of(hub, "iso_b")
        b1.exec_run(f"ip route add {ip_of(a1, 'iso_a')}/32 via {hub_b}")
        assert not reaches(b1, ip_of(a1, "iso_a"), "icmp")
        docker_client.networks.get("iso_b").disconnect(hub)
        assert "eth1" not in hub.exec_run("ip -o -4 addr").output.decode()
        assert not reaches(hub, ip_of(b1, "iso_b"), "icmp")
    finally:
        hub.remove(force=True)


def test_connect_twice_is_refused(docker_client, two_networks):
    with pytest.raises(docker.errors.APIError) as err:
        docker_client.networks.get("iso_a").connect(two_networks["a1"])
    assert err.value.status_code == 403
    assert "already exists in network iso_a" in err.value.explanation


def test_internal_network_has_no_way_out(docker_client, busybox_image, outside_host):
    net = docker_client.networks.create("iso_int", internal=True)
    ext = docker_client.networks.create("iso_ext")
    try:
        inside = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                              network="iso_int")
        out = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                           network="iso_ext")
        try:
            route = inside.exec_run("ip route").output.decode()
            assert route.startswith("default via ")  # as in Docker; the firewall stops it
            gateway = route.split()[2]
            assert reaches(inside, gateway, "icmp")  # the host's own address answers
            assert not reaches(inside, outside_host.address, "icmp")
            assert inside.exec_run(f"timeout 3 wget -qO- {outside_host.url()}").exit_code != 0
            assert out.exec_run(f"timeout 3 wget -qO- {outside_host.url()}").exit_code == 0
            assert reaches(out, outside_host.address, "icmp")
            peer = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                                network="iso_int")
            assert reaches(inside, ip_of(peer, "iso_int"), "icmp")
            peer.remove(force=True)
        finally:
            inside.remove(force=True)
            out.remove(force=True)
    finally:
        net.remove()
        ext.remove()


def test_egress_is_masqueraded(docker_client, busybox_image, outside_host):
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True)
    try:
        assert reaches(c, outside_host.address, "icmp")
        seen = c.exec_run(f"timeout 3 wget -qO- {outside_host.url()}").output.decode()
        assert seen == outside_host.gateway
    finally:
        c.remove(force=True)


def test_no_masquerade_when_the_network_says_so(docker_client, busybox_image, outside_host):
    """enable_ip_masquerade=false: the outside host sees the container's own address."""
    net = docker_client.networks.create(
        "nomasq", driver="bridge", options={"com.docker.network.bridge.enable_ip_masquerade":
                                            "false"},
        ipam={"Config": [{"Subnet": "10.213.0.0/24"}]})
    route = ["nsenter", f"--net={outside_host.netns}", "ip", "route"]
    subprocess.run([*route, "add", "10.213.0.0/24", "via", outside_host.gateway], check=True)
    try:
        c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                         network="nomasq")
        try:
            c.reload()
            ip = c.attrs["NetworkSettings"]["Networks"]["nomasq"]["IPAddress"]
            seen = c.exec_run(f"timeout 3 wget -qO- {outside_host.url()}").output.decode()
            assert seen == ip
        finally:
            c.remove(force=True)
    finally:
        subprocess.run([*route, "del", "10.213.0.0/24"], check=False)
        net.remove()
