"""Published ports on the paths test_ports.py leaves out, with real traffic: IPv6 (host
addresses and ::1, served by the one in-process proxy where the kernel cannot DNAT), a
container reaching its own published port, host_binding_ipv4, and UDP delivered to the new
owner of a re-published port."""

import os
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from .support.http import fetch

pytestmark = pytest.mark.integration
HOST = "198.51.100.1"  # the host's address on the outside host's link
HOST6 = "2001:db8:ff::1"  # an IPv6 address of the host (the test's namespace)
WEB = "sh -c 'mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && httpd -f -p 80 -h /www'"
BRNF = "/proc/sys/net/bridge/bridge-nf-call-iptables"

UDP_RESPONDER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("0.0.0.0", 53))
print("ready", flush=True)
while True:
    data, addr = s.recvfrom(512)
    s.sendto(sys.argv[1].encode() + b":" + data, addr)
"""


@pytest.fixture(scope="module", autouse=True)
def host_ipv6():
    subprocess.run(["ip", "addr", "add", f"{HOST6}/128", "dev", "lo", "nodad"], check=True)
    yield
    subprocess.run(["ip", "addr", "del", f"{HOST6}/128", "dev", "lo"], check=False)


@pytest.fixture(scope="module")
def v6net(docker_client, busybox_image):
    net = docker_client.networks.create("pubv6", driver="bridge", enable_ipv6=True,
                                        ipam={"Config": [{"Subnet": "fd00:5e::/64"}]})
    yield net
    net.remove()


def run_web(docker_client, name, ports, **kw):
    c = docker_client.containers.run("busybox:local", WEB, detach=True, name=name,
                                     hostname=name, ports=ports, **kw)
    return c


def test_ipv6_host_address_and_loopback(docker_client, v6net):
    c = run_web(docker_client, "web6", {"80/tcp": 8180}, network="pubv6")
    try:
        assert fetch(f"http://[{HOST6}]:8180/") == "hello-web6\n"  # DNAT, in the kernel
        assert fetch("http://[::1]:8180/") == "hello-web6\n"  # the in-process proxy
        assert fetch("http://127.0.0.1:8180/") == "hello-web6\n"
    finally:
        c.remove(force=True)
    with pytest.raises(OSError):  # gone with the container
        socket.create_connection(("::1", 8180), timeout=1).close()


def test_ipv4_only_container_answers_on_ipv6(daemon, docker_client, busybox_image):
    """As docker-proxy does: [::]:port of an IPv4-only container reaches its IPv4 address,
    from ::1 and from the host's IPv6 addresses, with no process per port."""
    c = run_web(docker_client, "web4", {"80/tcp": 8181})
    try:
        assert fetch("http://[::1]:8181/") == "hello-web4\n"
        assert fetch(f"http://[{HOST6}]:8181/") == "hello-web4\n"
        c.reload()
        assert {"HostIp": "::", "HostPort": "8181"} in c.attrs["NetworkSettings"]["Ports"]["80/tcp"]
        listeners = subprocess.run(["ss", "-Hltnp", "sport", "= :8181"],
                                   capture_output=True, text=True).stdout
        assert listeners.count("pid=") == 1 and f"pid={daemon.proc.pid}," in listeners, listeners
    finally:
        c.remove(force=True)


def brnf_modes() -> list[str]:
    return ["routed", "br_netfilter"] if os.path.exists(BRNF) else ["routed"]


@pytest.mark.parametrize("mode", brnf_modes())
def test_container_reaches_its_own_published_port(docker_client, busybox_image, outside_host,
                                                  mode):
    """Self-hairpin: routed when br_netfilter is absent (or off), bridged when it is on."""
    if os.path.exists(BRNF):
        with open(BRNF, "w") as f:  # the test's own network namespace
            f.write("1" if mode == "br_netfilter" else "0")
    c = run_web(docker_client, "selfpin", {"80/tcp": 8182})
    try:
        fetch("http://127.0.0.1:8182/")
        code, out = c.exec_run(f"timeout 5 wget -qO- http://{HOST}:8182/")
        assert (code, out) == (0, b"hello-selfpin\n")
    finally:
        c.remove(force=True)


def test_host_binding_ipv4_option(daemon, docker_client, busybox_image, outside_host):
    docker_client.networks.create("pubbind", driver="bridge", options={
        "com.docker.network.bridge.host_binding_ipv4": "127.0.0.1"})
    c = run_web(docker_client, "bound", {"80/tcp": 8183}, network="pubbind")
    try:
        assert fetch("http://127.0.0.1:8183/") == "hello-bound\n"
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://{HOST}:8183/", timeout=1)
        assert daemon.docker("port", "bound").stdout.strip() == "80/tcp -> 127.0.0.1:8183"
    finally:
        c.remove(force=True)
        docker_client.networks.get("pubbind").remove()


def responder(c, tag: str) -> subprocess.Popen:
    c.reload()
    pid = c.attrs["State"]["Pid"]
    p = subprocess.Popen(["nsenter", f"--net=/proc/{pid}/ns/net", sys.executable, "-c",
                          UDP_RESPONDER, tag], stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "ready"
    return p


def ask(client: socket.socket, msg: bytes) -> bytes:
    """Send `msg` until an answer to it comes (answers to earlier messages, late under load,
    are skipped); return who answered."""
    for _ in range(20):
        client.sendto(msg, (HOST, 5354))
        try:
            while True:
                who, _, echoed = client.recvfrom(512)[0].partition(b":")
                if echoed == msg:
                    return who
        except TimeoutError:
            continue
    raise AssertionError("no UDP answer")


def test_udp_client_reaches_new_owner_after_republish(docker_client, busybox_image,
                                                      outside_host):
    """One client socket (one source port) keeps talking to a published UDP port while its
    container is replaced: the answers come from the new container."""
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind((HOST, 0))
    client.settimeout(0.5)
    procs = []
    try:
        for tag in ("first", "second"):
            c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                             ports={"53/udp": 5354}, name=f"udp-{tag}")
            procs.append(responder(c, tag))
            assert ask(client, f"ping-{tag}".encode()) == tag.encode()
            c.remove(force=True)
    finally:
        client.close()
        for p in procs:
            p.kill()
            p.wait()


def test_a_held_namespace_keeps_no_port_on_the_bridge(docker_client, busybox_image):
    """A process outside the container keeping its netns alive (here nsenter) must not keep
    the old veth on the bridge, answering for an address the next container gets."""
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True)
    c.reload()
    holder = subprocess.Popen(["nsenter", f"--net=/proc/{c.attrs['State']['Pid']}/ns/net",
                               "sleep", "600"])
    try:
        time.sleep(0.2)
        c.remove(force=True)
        ports = subprocess.run(["ip", "-o", "link", "show", "master", "tether0"],
                               capture_output=True, text=True).stdout
        assert ports == "", ports
    finally:
        holder.kill()
        holder.wait()


def test_udp_on_loopback6_goes_through_the_proxy(docker_client, busybox_image):
    """UDP to [::1]:port reaches an IPv4-only container through the in-process relay, and
    its answers come back to the client's own address and port."""
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                     ports={"53/udp": 5355}, name="udp6")
    p = responder(c, "relayed")
    client = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    client.settimeout(0.5)
    try:
        for _ in range(20):
            client.sendto(b"hello", ("::1", 5355))
            try:
                data, addr = client.recvfrom(512)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("no UDP answer through ::1")
        assert data == b"relayed:hello" and addr[:2] == ("::1", 5355)
    finally:
        client.close()
        p.kill()
        p.wait()
        c.remove(force=True)
