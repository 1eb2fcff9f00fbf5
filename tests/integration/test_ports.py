"""Published ports with real traffic: every path (outside, host addresses, loopback, hairpin,
other networks), conflicts with nothing left behind, -P, ranges, UDP re-publish, restart."""

import socket
import subprocess
import urllib.request

import pytest

from .support.http import fetch

pytestmark = pytest.mark.integration
HOST = "198.51.100.1"  # the host's address on the outside host's link
WEB = "sh -c 'mkdir -p /www && echo hello-$HOSTNAME > /www/index.html && httpd -f -p 80 -h /www'"


def fetch_refused(host: str, port: int) -> bool:
    """Connecting reaches the container (nothing listens there: refused, not timed out)."""
    try:
        socket.create_connection((host, port), timeout=3).close()
    except ConnectionRefusedError:
        return True
    return False


def nft_text() -> str:
    return subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def web(docker_client, busybox_image):
    c = docker_client.containers.run("busybox:local", WEB, detach=True, name="pubweb",
                                     hostname="pubweb", ports={"80/tcp": 8080})
    fetch("http://127.0.0.1:8080/")
    yield c
    c.remove(force=True)


def test_reaches_from_outside_host_and_loopback(web, outside_host):
    out = subprocess.run(["nsenter", f"--net={outside_host.netns}", "busybox", "wget", "-qO-",
                          f"http://{HOST}:8080/"], capture_output=True, text=True, timeout=20)
    assert out.stdout == "hello-pubweb\n", out.stderr
    assert fetch(f"http://{HOST}:8080/") == "hello-pubweb\n"
    assert fetch("http://127.0.0.1:8080/") == "hello-pubweb\n"


def test_hairpin_and_other_networks(docker_client, web):
    docker_client.networks.create("pubother", driver="bridge")
    try:
        for net in ("bridge", "pubother"):
            c = docker_client.containers.run("busybox:local", f"wget -qO- http://{HOST}:8080/",
                                             network=net, remove=True)
            assert c == b"hello-pubweb\n", net
    finally:
        docker_client.networks.get("pubother").remove()


def test_port_inspect_and_ps_as_docker_shows(daemon, web):
    out = daemon.docker("port", "pubweb").stdout
    assert out.splitlines() == ["80/tcp -> 0.0.0.0:8080", "80/tcp -> [::]:8080"]
    ps = daemon.docker("ps", "--filter", "name=pubweb", "--format", "{{.Ports}}").stdout
    assert ps.strip() == "0.0.0.0:8080->80/tcp, [::]:8080->80/tcp"
    web.reload()
    assert web.attrs["HostConfig"]["PortBindings"] == {"80/tcp": [{"HostIp": "",
                                                                   "HostPort": "8080"}]}


def test_already_allocated_leaves_nothing(daemon, web, docker_client):
    before = nft_text()
    r = daemon.docker("run", "-d", "--name", "pubweb2", "-p", "8080:80", "busybox:local", "true")
    assert r.returncode != 0
    assert "Bind for 0.0.0.0:8080 failed: port is already allocated" in r.stderr
    c = docker_client.containers.get("pubweb2")
    assert c.status == "created"
    c.remove()
    assert nft_text() == before
    assert fetch("http://127.0.0.1:8080/") == "hello-pubweb\n"


def test_port_held_by_host_process_is_refused(daemon, docker_client, busybox_image):
    s = socket.socket()
    s.bind(("0.0.0.0", 8181))
    s.listen()
    try:
        r = daemon.docker("run", "--rm", "-p", "8181:80", "busybox:local", "true")
        assert r.returncode != 0 and "address already in use" in r.stderr, r.stderr
        assert "8181" not in nft_text()
    finally:
        s.close()


def test_held_socket_keeps_host_processes_off(web):
    s = socket.socket()
    with pytest.raises(OSError):
        s.bind(("0.0.0.0", 8080))
    s.close()


def test_publish_all_ranges_random_and_specific_ip(daemon, docker_client, busybox_image):
    r = daemon.docker("run", "-d", "--name", "pubmany", "--expose", "7000", "-P",
                      "-p", "127.0.0.1:8091:80", "-p", "9000-9001:80-81", "-p", "80",
                      "busybox:local", "sh", "-c", WEB.split("'")[1])
    assert r.returncode == 0, r.stderr
    try:
        lines = daemon.docker("port", "pubmany").stdout.splitlines()
        assert "80/tcp -> 127.0.0.1:8091" in lines
        assert "80/tcp -> 0.0.0.0:9000" in lines and "81/tcp -> 0.0.0.0:9001" in lines
        lo, hi = map(int, open("/proc/sys/net/ipv4/ip_local_port_range").read().split())
        rand = [int(x.rsplit(":", 1)[1]) for x in lines if x.startswith("7000/tcp -> 0.0.0.0")]
        assert rand and lo <= rand[0] <= hi
        assert fetch("http://127.0.0.1:8091/").startswith("hello-")
        assert fetch("http://127.0.0.1:9000/").startswith("hello-")
        # bound to 127.0.0.1 only: the other host address does not answer
        with pytest.raises(OSError):
            urllib.request.urlopen(f"http://{HOST}:8091/", timeout=1)
    finally:
        docker_client.containers.get("pubmany").remove(force=True)
    assert "8091" not in nft_text()


def test_internal_network_refuses_publishing(daemon, docker_client, busybox_image):
    docker_client.networks.create("pubint", driver="bridge", internal=True)
    try:
        r = daemon.docker("run", "--rm", "--network", "pubint", "-p", "8084:80",
                          "busybox:local", "true")
        assert r.returncode != 0 and "internal" in r.stderr
    finally:
        docker_client.networks.get("pubint").remove()


def udp_flows(port: int) -> str:
    return subprocess.run(["conntrack", "-L", "-p", "udp", "--orig-port-dst", str(port)],
                          capture_output=True, text=True).stdout


def test_udp_conntrack_flushed_on_republish(docker_client, busybox_image):
    """A client keeps sending to a published UDP port: its conntrack entry (which pins the
    old DNAT) must be gone once the mapping changes, so the next packet maps afresh."""
    client = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    client.bind(("127.0.0.1", 0))
    try:
        c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                         ports={"53/udp": 5353})
        c.reload()
        ip = c.attrs["NetworkSettings"]["IPAddress"]
        client.sendto(b"x", ("127.0.0.1", 5353))
        assert f"src={ip}" in udp_flows(5353)  # DNAT'ed to the container
        c.remove(force=True)
        assert "dport=5353" not in udp_flows(5353)
        client.sendto(b"x", ("127.0.0.1", 5353))  # unmapped now: a flow to the host
        c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                         ports={"53/udp": 5353})
        try:
            assert "dport=5353" not in udp_flows(5353)
        finally:
            c.remove(force=True)
    finally:
        client.close()


def test_thousand_ports_one_container(daemon, docker_client, busybox_image):
    r = daemon.docker("run", "-d", "--name", "pub1000", "-p", "20000-20999:20000-20999",
                      "busybox:local", "sleep", "600")
    assert r.returncode == 0, r.stderr
    try:
        assert "20999" in nft_text()
        assert len(daemon.docker("port", "pub1000").stdout.splitlines()) >= 1000
        assert fetch_refused("127.0.0.1", 20500)
    finally:
        docker_client.containers.get("pub1000").remove(force=True)
    assert "20999" not in nft_text()


def test_mappings_survive_restart(daemon, web):
    daemon.restart(kill=True)
    assert fetch("http://127.0.0.1:8080/") == "hello-pubweb\n"
