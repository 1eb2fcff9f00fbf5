"""macvlan (and ipvlan where the kernel has it) with real packets on a "LAN".

Each parent is one end of a veth pair whose other end sits in a LAN namespace holding an
outside host (10.77.0.100 on lanp0, 10.88.0.100 on lanp1) that answers HTTP with the source
address it saw: macvlan containers must reach it and be reached from it without NAT.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import tempfile
import time
import urllib.request

import pytest

from tether.kernel import sublinks

pytestmark = pytest.mark.integration

SERVER = r"""
import http.server, socketserver, sys
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = self.client_address[0].encode()
        self.send_response(200); self.send_header("Content-Length", str(len(body)))
        self.end_headers(); self.wfile.write(body)
    def log_message(self, *a): pass
class S(socketserver.ThreadingMixIn, http.server.HTTPServer): pass
S(("0.0.0.0", 8080), H).serve_forever()
"""
SERVE = "httpd -f -p 80 -h /"
LANS = (("lanp0", "10.77.0"), ("lanp1", "10.88.0"))


def sh(*args: str) -> None:
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: {r.stderr.strip()}")


@pytest.fixture(scope="module")
def lan():
    """The LAN namespace path; host ends lanp0/lanp1 are up in the test's namespace."""
    from tether.kernel.netns import create_netns, remove_netns

    path = os.path.join(tempfile.mkdtemp(prefix="tether-lan-"), "ns")
    asyncio.run(create_netns(path))
    ns = ["nsenter", f"--net={path}"]
    server = None
    try:
        for i, (parent, prefix) in enumerate(LANS):
            sh("ip", "link", "add", parent, "type", "veth", "peer", "name", f"lanq{i}")
            sh("ip", "link", "set", f"lanq{i}", "netns", path)
            sh("ip", "link", "set", parent, "up")
            sh(*ns, "ip", "addr", "add", f"{prefix}.100/24", "dev", f"lanq{i}")
            sh(*ns, "ip", "link", "set", f"lanq{i}", "up")
        sh(*ns, "ip", "link", "set", "lo", "up")
        server = subprocess.Popen([*ns, sys.executable, "-c", SERVER])
        yield path
    finally:
        if server:
            server.kill()
            server.wait()
        for parent, _ in LANS:
            subprocess.run(["ip", "link", "del", parent], check=False, capture_output=True)
        asyncio.run(remove_netns(path))


def in_lan(lan, *argv):
    return subprocess.run(["nsenter", f"--net={lan}", *argv], capture_output=True, text=True)


def ip_of(c, net):
    c.reload()
    return c.attrs["NetworkSettings"]["Networks"][net]["IPAddress"]


def link_details(c, ifname="eth0"):
    """`ip -d link show` of the container's interface, by the host's ip (busybox has no -d)."""
    c.reload()
    return subprocess.run(["nsenter", f"--net={c.attrs['NetworkSettings']['SandboxKey']}",
                           "ip", "-d", "link", "show", ifname],
                          capture_output=True, text=True).stdout


def wget(c, url):
    """busybox's `wget -T` segfaults (busybox 1.35): `timeout` bounds it instead."""
    r = c.exec_run(f"timeout 5 wget -qO- {url}")
    return r.exit_code, r.output.decode(errors="replace")


def wait_http(url, seconds=5.0):
    deadline = time.monotonic() + seconds
    while True:
        try:
            return urllib.request.urlopen(url, timeout=1).read().decode()
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture
def mv(daemon, docker_client, busybox_image, lan):
    """A macvlan network on lanp0 with an ip-range and two httpd containers."""
    net = docker_client.networks.create(
        "mv", driver="macvlan", options={"parent": "lanp0"},
        ipam={"Config": [{"Subnet": "10.77.0.0/24", "Gateway": "10.77.0.1",
                          "IPRange": "10.77.0.128/25"}]})
    cs = [docker_client.containers.run("busybox:local", SERVE, detach=True, name=n, network="mv")
          for n in ("mva", "mvb")]
    yield net, cs
    for c in cs:
        c.remove(force=True)
    net.remove()


def test_inspect_shows_driver_options_and_ipam(daemon, mv):
    out = daemon.docker("network", "inspect", "mv", "--format",
                        "{{.Driver}} {{json .Options}} {{json .IPAM.Config}}", check=True)
    assert out.stdout.strip() == (
        'macvlan {"parent":"lanp0"} '
        '[{"Subnet":"10.77.0.0/24","IPRange":"10.77.0.128/25","Gateway":"10.77.0.1"}]')


def test_addresses_come_from_the_ip_range_and_route_via_the_lan_gateway(mv):
    _, (a, b) = mv
    assert {ip_of(a, "mv"), ip_of(b, "mv")} == {"10.77.0.128", "10.77.0.129"}
    routes = a.exec_run("ip route").output.decode()
    assert "default via 10.77.0.1 dev eth0" in routes
    link = link_details(a)
    assert "macvlan" in link and "mode bridge" in link


def test_container_reaches_the_lan_without_nat(mv):
    _, (a, _) = mv
    code, body = wget(a, "http://10.77.0.100:8080/")
    assert code == 0 and body == ip_of(a, "mv")  # the LAN host saw the container's own address


def test_lan_reaches_the_containers(mv, lan):
    _, (a, b) = mv
    for c in (a, b):
        assert in_lan(lan, "ping", "-c1", "-W2", ip_of(c, "mv")).returncode == 0
        connect = f"import socket; socket.create_connection(('{ip_of(c, 'mv')}', 80), 3)"
        assert in_lan(lan, sys.executable, "-c", connect).returncode == 0


def test_containers_reach_each_other_by_name(mv):
    _, (a, b) = mv
    assert a.exec_run("cat /etc/resolv.conf").output.decode().startswith("nameserver 127.0.0.11")
    assert a.exec_run("nslookup mvb").output.decode().count(ip_of(b, "mv")) == 1
    assert a.exec_run("ping -c1 -W2 mvb").exit_code == 0
    assert b.exec_run("ping -c1 -W2 mva").exit_code == 0


def test_host_cannot_reach_its_macvlan_containers(mv):
    """The kernel's design: frames between a parent and its macvlans never pass."""
    _, (a, _) = mv
    r = subprocess.run(["ping", "-c1", "-W1", ip_of(a, "mv")], capture_output=True)
    assert r.returncode != 0


def test_host_access_interface(daemon, docker_client, busybox_image, lan):
    net = docker_client.networks.create(
        "mvh", driver="macvlan", options={"parent": "lanp1", "tether.host_access": "true"},
        ipam={"Config": [{"Subnet": "10.88.0.0/24", "Gateway": "10.88.0.1"}]})
    try:
        c = docker_client.containers.run("busybox:local", SERVE, detach=True, name="mvh1",
                                         network="mvh")
        try:
            net.reload()
            host = net.attrs["Options"]["tether.host_address"]
            assert host == "10.88.0.2/24"  # IPAM reserved it: the container got the next one
            ip = ip_of(c, "mvh")
            assert ip == "10.88.0.3"
            assert subprocess.run(["ping", "-c1", "-W2", ip], capture_output=True).returncode == 0
            assert c.exec_run("ping -c1 -W2 10.88.0.2").exit_code == 0
            # the host's other LAN traffic is untouched: the container still reaches the LAN
            assert wget(c, "http://10.88.0.100:8080/") == (0, ip)
        finally:
            c.remove(force=True)
        assert "10.88.0.3" not in subprocess.run(["ip", "route"], capture_output=True,
                                                 text=True).stdout
    finally:
        net.remove()
    assert subprocess.run(["ip", "link", "show", "th-" + net.id[:12]],
                          capture_output=True).returncode != 0


def test_internal_network_without_parent(daemon, docker_client, busybox_image):
    """No parent: tether makes a private one (an empty bridge); no way out, as in Docker."""
    net = docker_client.networks.create("mvi", driver="macvlan", internal=True)
    cs = []
    try:
        cs = [docker_client.containers.run("busybox:local", SERVE, detach=True, name=n,
                                           network="mvi") for n in ("mvi1", "mvi2")]
        assert "default" not in cs[0].exec_run("ip route").output.decode()
        assert cs[0].exec_run("ping -c1 -W2 mvi2").exit_code == 0
        assert subprocess.run(["ip", "link", "show", "tm-" + net.id[:12]],
                              capture_output=True).returncode == 0
    finally:
        for c in cs:
            c.remove(force=True)
        net.remove()
    assert subprocess.run(["ip", "link", "show", "tm-" + net.id[:12]],
                          capture_output=True).returncode != 0


def test_host_access_to_an_internal_network_without_parent(daemon, docker_client, busybox_image):
    """The host's interface hangs off the stub parent too: the host, and only the host,
    reaches containers that have no way out."""
    net = docker_client.networks.create("mvih", driver="macvlan", internal=True,
                                        options={"tether.host_access": "true"},
                                        ipam={"Config": [{"Subnet": "10.66.0.0/24"}]})
    c = None
    try:
        c = docker_client.containers.run("busybox:local", SERVE, detach=True, name="mvih1",
                                         network="mvih")
        assert subprocess.run(["ping", "-c1", "-W2", ip_of(c, "mvih")],
                              capture_output=True).returncode == 0
        assert "default" not in c.exec_run("ip route").output.decode()
    finally:
        if c is not None:
            c.remove(force=True)
        net.remove()
    for prefix in ("tm-", "th-"):
        assert subprocess.run(["ip", "link", "show", prefix + net.id[:12]],
                              capture_output=True).returncode != 0


def test_private_mode_keeps_containers_apart(daemon, docker_client, busybox_image, lan):
    net = docker_client.networks.create(
        "mvp", driver="macvlan", options={"parent": "lanp1", "macvlan_mode": "private"},
        ipam={"Config": [{"Subnet": "10.88.0.0/24"}]})
    cs = []
    try:
        cs = [docker_client.containers.run("busybox:local", SERVE, detach=True, name=n,
                                           network="mvp") for n in ("mvp1", "mvp2")]
        assert "mode private" in link_details(cs[0])
        assert cs[0].exec_run(f"ping -c1 -W1 {ip_of(cs[1], 'mvp')}").exit_code != 0
        assert cs[0].exec_run("ping -c1 -W2 10.88.0.100").exit_code == 0
    finally:
        for c in cs:
            c.remove(force=True)
        net.remove()


def test_connect_and_disconnect_a_running_container(daemon, docker_client, busybox_image, lan):
    net = docker_client.networks.create("mvc", driver="macvlan", options={"parent": "lanp1"},
                                        ipam={"Config": [{"Subnet": "10.88.0.0/24"}]})
    c = docker_client.containers.run("busybox:local", SERVE, detach=True, name="mvc1")
    try:
        net.connect(c)
        assert c.exec_run("ping -c1 -W2 10.88.0.100").exit_code == 0
        net.disconnect(c)
        assert "eth1" not in c.exec_run("ip link").output.decode()
    finally:
        c.remove(force=True)
        net.remove()


def test_ipv6_and_static_addresses(daemon, docker_client, busybox_image, lan):
    for key in ("all", "default", "lanq1"):  # create_netns turns IPv6 off in new namespaces
        in_lan(lan, "sysctl", "-qw", f"net.ipv6.conf.{key}.disable_ipv6=0")
    assert in_lan(lan, "ip", "addr", "add", "fd77::100/64", "dev", "lanq1",
                  "nodad").returncode == 0
    net = docker_client.networks.create(
        "mv6", driver="macvlan", options={"parent": "lanp1"}, enable_ipv6=True,
        ipam={"Config": [{"Subnet": "10.88.0.0/24"}, {"Subnet": "fd77::/64"}]})
    c = None
    try:
        c = docker_client.containers.create("busybox:local", SERVE, name="mv61")
        docker_client.api.connect_container_to_network(c.id, "mv6", ipv4_address="10.88.0.50",
                                                      ipv6_address="fd77::50")
        c.start()
        assert ip_of(c, "mv6") == "10.88.0.50"
        assert c.exec_run("ping -c1 -W2 10.88.0.100").exit_code == 0
        assert c.exec_run("ping -c1 -W2 fd77::100").exit_code == 0
        assert in_lan(lan, "ping", "-c1", "-W2", "fd77::50").returncode == 0
    finally:
        if c is not None:
            c.remove(force=True)
        net.remove()
        in_lan(lan, "ip", "addr", "del", "fd77::100/64", "dev", "lanq1")


def test_published_ports_are_ignored_as_in_docker(daemon, mv, lan):
    """No NAT on macvlan: -p is accepted and does nothing; the container's own port answers."""
    r = daemon.docker("run", "-d", "--name", "mvport", "--net", "mv", "-p", "18080:80",
                      "busybox:local", *SERVE.split())
    assert r.returncode == 0, r.stderr
    try:
        ip = daemon.docker("inspect", "-f", "{{.NetworkSettings.Networks.mv.IPAddress}}",
                           "mvport", check=True).stdout.strip()
        connect = f"import socket; socket.create_connection(('{ip}', 80), 3)"
        assert in_lan(lan, sys.executable, "-c", connect).returncode == 0
        ruleset = subprocess.run(["nft", "list", "ruleset"], capture_output=True, text=True)
        assert "18080" not in ruleset.stdout
    finally:
        daemon.docker("rm", "-f", "mvport")


def test_passthru_mode_gives_one_container_the_parent(daemon, docker_client, busybox_image, lan):
    net = docker_client.networks.create(
        "mvpt", driver="macvlan", options={"parent": "lanp1", "macvlan_mode": "passthru"},
        ipam={"Config": [{"Subnet": "10.88.0.0/24"}]})
    c = None
    try:
        c = docker_client.containers.run("busybox:local", SERVE, detach=True, name="mvpt1",
                                         network="mvpt")
        assert "mode passthru" in link_details(c)
        assert c.exec_run("ping -c1 -W2 10.88.0.100").exit_code == 0
    finally:
        if c is not None:
            c.remove(force=True)
        net.remove()


def test_daemon_restart_keeps_macvlan_containers_and_host_access(daemon, docker_client,
                                                                  busybox_image, lan):
    net = docker_client.networks.create(
        "mvr", driver="macvlan", options={"parent": "lanp1", "tether.host_access": "true"},
        ipam={"Config": [{"Subnet": "10.88.0.0/24"}]})
    try:
        c = docker_client.containers.run("busybox:local", SERVE, detach=True, name="mvr1",
                                         network="mvr")
        ip = ip_of(c, "mvr")
        daemon.restart(kill=True)
        assert subprocess.run(["ping", "-c1", "-W2", ip], capture_output=True).returncode == 0
        assert in_lan(lan, "ping", "-c1", "-W2", ip).returncode == 0
        assert daemon.docker("rm", "-f", "mvr1").returncode == 0
    finally:
        daemon.docker("rm", "-f", "mvr1")
        assert daemon.docker("network", "rm", "mvr").returncode == 0
    assert subprocess.run(["ip", "link", "show", "th-" + net.id[:12]],
                          capture_output=True).returncode != 0


def create(daemon, *args):
    return daemon.docker("network", "create", "-d", *args)


def test_errors(daemon, mv):
    net, _ = mv
    r = create(daemon, "macvlan", "--subnet", "10.99.1.0/24", "-o", "parent=lanp0", "x1")
    assert r.returncode == 1
    assert f"network dm-{net.id[:12]} is already using parent interface lanp0" in r.stderr
    r = create(daemon, "macvlan", "--subnet", "10.99.2.0/24", "-o", "parent=nosuchif", "x2")
    assert "invalid subinterface vlan name nosuchif, example formatting is eth0.10" in r.stderr
    r = create(daemon, "macvlan", "-o", "parent=lo", "x3")
    assert "loopback interface is not a valid macvlan parent link" in r.stderr
    r = create(daemon, "macvlan", "-o", "parent=lanp1", "-o", "macvlan_mode=nat", "x4")
    assert "requested macvlan mode 'nat' is not valid" in r.stderr
    r = create(daemon, "macvlan", "-o", "parent=nosuch.10", "x5")
    assert "-o parent interface was not found on the host: nosuch" in r.stderr
    names = daemon.docker("network", "ls", "--format", "{{.Name}}", check=True).stdout.split()
    assert not {"x1", "x2", "x3", "x4", "x5"} & set(names)


@pytest.mark.skipif(sublinks.kernel_supports("vlan"), reason="this kernel has 802.1Q support")
def test_vlan_parent_without_8021q_is_a_clear_error(daemon, lan):
    r = create(daemon, "macvlan", "--subnet", "10.99.3.0/24", "-o", "parent=lanp1.10", "x6")
    assert r.returncode == 1
    assert "cannot create the 802.1Q sub-interface lanp1.10" in r.stderr
    assert "lacks 802.1Q VLAN support (CONFIG_VLAN_8021Q, module 8021q)" in r.stderr
    assert subprocess.run(["ip", "link", "show", "lanp1.10"], capture_output=True).returncode != 0


@pytest.mark.skipif(not sublinks.kernel_supports("vlan"), reason="this kernel lacks 802.1Q")
def test_vlan_parent_is_made_and_removed(daemon, docker_client, lan):
    net = docker_client.networks.create("mvv", driver="macvlan", options={"parent": "lanp1.10"},
                                        ipam={"Config": [{"Subnet": "10.99.4.0/24"}]})
    out = subprocess.run(["ip", "-d", "link", "show", "lanp1.10"], capture_output=True, text=True)
    assert "vlan protocol 802.1Q id 10" in out.stdout
    net.remove()
    assert subprocess.run(["ip", "link", "show", "lanp1.10"], capture_output=True).returncode != 0


@pytest.mark.skipif(sublinks.kernel_supports("ipvlan"), reason="this kernel has ipvlan")
def test_ipvlan_without_kernel_support_fails_at_create(daemon, lan):
    r = create(daemon, "ipvlan", "--subnet", "10.99.5.0/24", "-o", "parent=lanp1", "iv")
    assert r.returncode == 1
    assert "cannot create ipvlan network: this kernel" in r.stderr
    assert "lacks ipvlan support (CONFIG_IPVLAN, module ipvlan)" in r.stderr
    names = daemon.docker("network", "ls", "--format", "{{.Name}}", check=True).stdout.split()
    assert "iv" not in names


@pytest.mark.skipif(not sublinks.kernel_supports("ipvlan"),
                    reason="this kernel lacks ipvlan support (CONFIG_IPVLAN)")
@pytest.mark.parametrize("mode", ["l2", "l3"])
def test_ipvlan_traffic(daemon, docker_client, busybox_image, lan, mode):
    net = docker_client.networks.create(
        "iv", driver="ipvlan", options={"parent": "lanp1", "ipvlan_mode": mode},
        ipam={"Config": [{"Subnet": "10.88.0.0/24", "Gateway": "10.88.0.1"}]})
    cs = []
    try:
        cs = [docker_client.containers.run("busybox:local", SERVE, detach=True, name=n,
                                           network="iv") for n in ("iv1", "iv2")]
        assert f"mode {mode}" in link_details(cs[0])
        assert cs[0].exec_run("ping -c1 -W2 iv2").exit_code == 0
        if mode == "l2":
            assert wget(cs[0], "http://10.88.0.100:8080/") == (0, ip_of(cs[0], "iv"))
    finally:
        for c in cs:
            c.remove(force=True)
        net.remove()
