"""Embedded DNS with real containers and real queries: busybox nslookup inside containers,
raw packets sent from the test into a container's namespace, and a fake upstream resolver
on the outside host."""

from __future__ import annotations

import ipaddress
import socket
import struct
import subprocess
import sys
import time

import pytest

from tether.dns import wire

UPSTREAM = r"""
import socket, struct, threading
counts = {}
def reply(q):
    qid, flags = q[:2], q[2]
    end = 12
    while q[end]: end += q[end] + 1
    name = q[12:end + 1].lower(); end += 5
    labels = []
    i = 0
    while name[i]: labels.append(name[i + 1:i + 1 + name[i]].decode()); i += name[i] + 1
    host = ".".join(labels)
    counts[host] = counts.get(host, 0) + 1
    if host == "outside.test": ips = ["203.0.113.7"]
    elif host == "count.test": ips = ["203.0.113.%d" % counts[host]]
    elif host == "big.test": ips = ["203.0.113.%d" % i for i in range(1, 61)]
    else: ips = []
    rr = b"".join(b"\xc0\x0c\x00\x01\x00\x01\x00\x00\x00\x3c\x00\x04" + socket.inet_aton(ip) for ip in ips)
    rcode = 0 if ips else 3
    return qid + bytes((0x81, 0x80 | rcode)) + struct.pack("!HHHH", 1, len(ips), 0, 0) + q[12:end] + rr
def udp():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("198.51.100.2", 53))
    while True:
        q, a = s.recvfrom(4096); r = reply(q)
        if len(r) > 512: r = r[:2] + bytes((r[2] | 2, r[3])) + b"\x00\x01\x00\x00\x00\x00\x00\x00" + q[12:len(q)]
        s.sendto(r, a)
def tcp():
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("198.51.100.2", 53)); s.listen()
    while True:
        c, _ = s.accept(); n = struct.unpack("!H", c.recv(2))[0]; q = c.recv(n)
        r = reply(q); c.sendall(struct.pack("!H", len(r)) + r); c.close()
threading.Thread(target=tcp, daemon=True).start()
print("ready", flush=True)
udp()
"""


@pytest.fixture(scope="module")
def upstream(outside_host):
    proc = subprocess.Popen(["nsenter", f"--net={outside_host.netns}", sys.executable, "-c",
                             UPSTREAM], stdout=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "ready"
    yield "198.51.100.2"
    proc.kill()
    proc.wait()


@pytest.fixture(scope="module")
def daemon(daemon_factory, tmp_path_factory, upstream):
    resolv = tmp_path_factory.mktemp("resolv") / "resolv.conf"
    resolv.write_text(f"nameserver 127.0.0.53\nnameserver {upstream}\noptions timeout:1\n")
    d = daemon_factory.start("dnsd", extra_args=("--resolv-conf", str(resolv)))
    d.resolv = resolv
    return d


def run(daemon, *args: str) -> str:
    r = daemon.docker(*args)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def lookup(daemon, client: str, name: str, qtype: str = "A") -> str:
    opt = (f"-type={qtype}",) if qtype != "A" else ()
    return daemon.docker("exec", client, "nslookup", *opt, name).stdout


def ip_of(daemon, name: str, net: str) -> str:
    return run(daemon, "inspect", "-f", f"{{{{.NetworkSettings.Networks.{net}.IPAddress}}}}", name)


def ask(daemon, container: str, msg: bytes, tcp: bool = False) -> bytes:
    """Send raw bytes to 127.0.0.11:53 from inside the container's namespace."""
    key = run(daemon, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", container)
    code = ("import socket,sys,struct;m=sys.stdin.buffer.read();"
            + ("s=socket.create_connection(('127.0.0.11',53),3);s.sendall(struct.pack('!H',len(m))+m);"
               "n=struct.unpack('!H',s.recv(2))[0];d=b''\nwhile len(d)<n: d+=s.recv(n)\n"
               if tcp else
               "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM);s.settimeout(3);"
               "s.sendto(m,('127.0.0.11',53));d=s.recv(65535)\n")
            + "sys.stdout.buffer.write(d)")
    r = subprocess.run(["nsenter", f"--net={key}", sys.executable, "-c", code], input=msg,
                       capture_output=True, timeout=20)
    return r.stdout


def query(name: str, qtype: int = wire.A) -> bytes:
    return struct.pack("!HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0) + wire.encode_name(name) + \
        struct.pack("!HH", qtype, 1)


@pytest.fixture(scope="module")
def nets(daemon, busybox_image):
    run(daemon, "network", "create", "front")
    run(daemon, "network", "create", "back")
    run(daemon, "run", "-d", "--name", "web1", "--network", "front", "--network-alias", "svc",
        busybox_image, "sleep", "600")
    run(daemon, "run", "-d", "--name", "web2", "--network", "front", "--network-alias", "svc",
        busybox_image, "sleep", "600")
    run(daemon, "run", "-d", "--name", "db", "--network", "back", busybox_image, "sleep", "600")
    run(daemon, "run", "-d", "--name", "cli", "--network", "front", busybox_image, "sleep", "600")
    return busybox_image


def test_resolv_conf_points_at_the_embedded_resolver(daemon, nets):
    assert run(daemon, "exec", "cli", "cat", "/etc/resolv.conf") == (
        "nameserver 127.0.0.11\noptions ndots:0 timeout:1")
    out = run(daemon, "run", "--rm", "--network", "front", "--dns-search", "x.test",
              "--dns-option", "timeout:2", nets, "cat", "/etc/resolv.conf")
    assert out == "nameserver 127.0.0.11\nsearch x.test\noptions ndots:0 timeout:2"
    # the default bridge keeps the host's resolvers, loopback ones removed
    assert run(daemon, "run", "--rm", nets, "cat", "/etc/resolv.conf") == (
        "nameserver 198.51.100.2\noptions timeout:1")


def test_names_aliases_short_id_and_network_form(daemon, nets):
    web1 = ip_of(daemon, "web1", "front")
    short = run(daemon, "inspect", "-f", "{{.Id}}", "web1")[:12]
    for name in ("web1", "web1.front", short):
        out = lookup(daemon, "cli", name)
        assert "Server:\t\t127.0.0.11" in out and f"Address: {web1}" in out, out
    out = lookup(daemon, "cli", "svc")
    assert f"Address: {web1}" in out and f"Address: {ip_of(daemon, 'web2', 'front')}" in out
    ptr = ".".join(reversed(web1.split("."))) + ".in-addr.arpa"
    assert "name = web1.front" in lookup(daemon, "cli", ptr, "PTR")


def test_aliases_come_back_shuffled(daemon, nets):
    firsts = set()
    for _ in range(30):
        resp = ask(daemon, "cli", query("svc"))
        assert struct.unpack_from("!H", resp, 6)[0] == 2
        firsts.add(resp[-4:])
    assert len(firsts) == 2


def test_names_are_scoped_to_the_askers_networks(daemon, nets):
    assert "NXDOMAIN" in lookup(daemon, "cli", "db")
    assert "NXDOMAIN" in lookup(daemon, "db", "web1")
    run(daemon, "network", "connect", "back", "cli")
    try:
        assert f"Address: {ip_of(daemon, 'db', 'back')}" in lookup(daemon, "cli", "db")
    finally:
        run(daemon, "network", "disconnect", "back", "cli")
    assert "NXDOMAIN" in lookup(daemon, "cli", "db")


def test_records_follow_start_stop_rm_rename_and_recreate(daemon, nets):
    run(daemon, "run", "-d", "--name", "tmp", "--network", "front", nets, "sleep", "600")
    first = ip_of(daemon, "tmp", "front")
    assert f"Address: {first}" in lookup(daemon, "cli", "tmp")
    run(daemon, "rename", "tmp", "tmp2")
    assert "NXDOMAIN" in lookup(daemon, "cli", "tmp")
    assert f"Address: {first}" in lookup(daemon, "cli", "tmp2")
    run(daemon, "stop", "-t", "0", "tmp2")
    assert "NXDOMAIN" in lookup(daemon, "cli", "tmp2")
    run(daemon, "rm", "tmp2")
    run(daemon, "run", "-d", "--name", "filler", "--network", "front", nets, "sleep", "600")
    run(daemon, "run", "-d", "--name", "tmp2", "--network", "front", nets, "sleep", "600")
    second = ip_of(daemon, "tmp2", "front")
    assert second != first
    out = lookup(daemon, "cli", "tmp2")
    assert f"Address: {second}" in out and first not in out
    run(daemon, "rm", "-f", "tmp2", "filler")
    assert "NXDOMAIN" in lookup(daemon, "cli", "tmp2")


def test_other_names_go_upstream_over_udp_and_tcp_with_a_cache(daemon, nets):
    assert "Address: 203.0.113.7" in lookup(daemon, "cli", "outside.test")
    assert "NXDOMAIN" in lookup(daemon, "cli", "nothere.test")
    one = ask(daemon, "cli", query("count.test"))
    two = ask(daemon, "cli", query("count.test"))
    assert one[-4:] == two[-4:] == bytes((203, 0, 113, 1))  # the second came from the cache
    big = ask(daemon, "cli", query("big.test"))
    assert big[2] & 0x02 and len(big) <= 512  # truncated over UDP...
    full = ask(daemon, "cli", query("big.test"), tcp=True)
    assert struct.unpack_from("!H", full, 6)[0] == 60  # ...whole over TCP
    local = ask(daemon, "cli", query("web1"), tcp=True)
    assert struct.unpack_from("!H", local, 6)[0] == 1


def test_dns_flag_servers_become_the_upstreams_and_dead_ones_servfail_fast(daemon, nets):
    run(daemon, "run", "-d", "--name", "deadup", "--network", "front", "--dns", "198.51.100.1",
        nets, "sleep", "600")
    try:
        start = time.monotonic()
        resp = ask(daemon, "deadup", query("outside.test"))
        assert resp[3] & 0x0F == wire.SERVFAIL
        assert time.monotonic() - start < 10  # an answer, never the client's timeout
        assert f"Address: {ip_of(daemon, 'web1', 'front')}" in lookup(daemon, "deadup", "web1")
    finally:
        run(daemon, "rm", "-f", "deadup")


def test_bad_packets_get_an_rcode_or_are_dropped_and_service_goes_on(daemon, nets):
    q = query("web1")
    assert ask(daemon, "cli", q[:2] + b"\x28" + q[3:])[3] & 0x0F == wire.NOTIMP
    assert ask(daemon, "cli", q[:12] + b"\xc0\x0c\x00\x01\x00\x01")[3] & 0x0F == wire.FORMERR
    big = q[:12] + b"".join(b"\x3f" + b"a" * 63 for _ in range(5)) + b"\x00\x00\x01\x00\x01"
    assert ask(daemon, "cli", big)[3] & 0x0F == wire.FORMERR
    assert ask(daemon, "cli", b"\x00\x01junk") == b""  # too short: dropped
    unknown = ask(daemon, "cli", query("web1", 99))
    assert unknown[3] & 0x0F == wire.NOERROR and struct.unpack_from("!H", unknown, 6)[0] == 0
    assert struct.unpack_from("!H", ask(daemon, "cli", q), 6)[0] == 1


def test_links_on_user_networks_are_private_aliases(daemon, nets):
    out = run(daemon, "run", "--rm", "--network", "front", "--link", "web1:pal", nets,
              "sh", "-c", "cat /etc/hosts; nslookup pal")
    assert f"Address: {ip_of(daemon, 'web1', 'front')}" in out and "pal" not in out.split(
        "Server:")[0]
    assert "NXDOMAIN" in lookup(daemon, "cli", "pal")


def test_aaaa_and_ipv6_ptr_on_a_dual_stack_network(daemon, nets):
    run(daemon, "network", "create", "--ipv6", "--subnet", "fd00:5::/64", "dual")
    try:
        run(daemon, "run", "-d", "--name", "v6a", "--network", "dual", nets, "sleep", "600")
        run(daemon, "run", "-d", "--name", "v6b", "--network", "dual", nets, "sleep", "600")
        v6 = run(daemon, "inspect", "-f",
                 "{{.NetworkSettings.Networks.dual.GlobalIPv6Address}}", "v6a")
        assert v6.startswith("fd00:5::")
        assert f"Address: {v6}" in lookup(daemon, "v6b", "v6a", "AAAA")
        aaaa = ask(daemon, "v6b", query("v6a", wire.AAAA))
        assert struct.unpack_from("!H", aaaa, 6)[0] == 1
        assert socket.inet_ntop(socket.AF_INET6, aaaa[-16:]) == v6
        rev = ".".join(reversed(ipaddress.ip_address(v6).exploded.replace(":", ""))) + ".ip6.arpa"
        assert "v6a.dual" in lookup(daemon, "v6b", rev, "PTR")
        assert "NXDOMAIN" in lookup(daemon, "cli", "v6a", "AAAA")  # scoped, as A
    finally:
        daemon.docker("rm", "-f", "v6a", "v6b")
        daemon.docker("network", "rm", "dual")


def test_link_without_alias_and_to_other_networks_as_docker(daemon, nets):
    run(daemon, "run", "-d", "--name", "web0", nets, "sleep", "600")
    try:
        short = run(daemon, "inspect", "-f", "{{.Id}}", "web0")[:12]
        out = run(daemon, "run", "--rm", "--name", "lnk0", "--link", "web0", nets, "sh", "-c",
                  "grep web0 /etc/hosts; env | grep -i web0")
        assert out.splitlines() == [f"{ip_of(daemon, 'web0', 'bridge')}\tweb0 {short}",
                                    "WEB0_NAME=/lnk0/web0"]
        # on a user network, linking to a container elsewhere is accepted (and resolves nothing)
        out = daemon.docker("run", "--rm", "--network", "front", "--link", "db:x", nets,
                            "nslookup", "x")
        assert "NXDOMAIN" in out.stdout
        bad = daemon.docker("run", "--rm", "--link", "nosuchcontainer:x", nets, "true")
        assert bad.returncode == 125 and ("could not get container for nosuchcontainer: "
                                          "No such container: nosuchcontainer") in bad.stderr
    finally:
        daemon.docker("rm", "-f", "web0")


def test_links_on_the_default_bridge_write_hosts_and_env(daemon, nets):
    run(daemon, "run", "-d", "--name", "linkweb", "--expose", "80", nets, "sleep", "600")
    try:
        ip = ip_of(daemon, "linkweb", "bridge")
        short = run(daemon, "inspect", "-f", "{{.Id}}", "linkweb")[:12]
        out = run(daemon, "run", "--rm", "--name", "lnk", "--link", "linkweb:webalias", nets,
                  "sh", "-c", "cat /etc/hosts; env | sort | grep WEBALIAS")
        assert f"{ip}\twebalias {short} linkweb" in out
        for line in ("WEBALIAS_NAME=/lnk/webalias", f"WEBALIAS_PORT=tcp://{ip}:80",
                     f"WEBALIAS_PORT_80_TCP=tcp://{ip}:80", f"WEBALIAS_PORT_80_TCP_ADDR={ip}",
                     "WEBALIAS_PORT_80_TCP_PORT=80", "WEBALIAS_PORT_80_TCP_PROTO=tcp"):
            assert line in out.splitlines()
        run(daemon, "run", "-d", "--name", "linker", "--link", "linkweb:webalias", nets,
            "sleep", "600")
        run(daemon, "stop", "-t", "0", "linkweb")
        run(daemon, "run", "-d", "--name", "filler2", nets, "sleep", "600")
        run(daemon, "start", "linkweb")
        new = ip_of(daemon, "linkweb", "bridge")
        assert new != ip
        hosts = run(daemon, "exec", "linker", "grep", "webalias", "/etc/hosts")
        assert hosts == f"{new}\twebalias {short} linkweb"
    finally:
        daemon.docker("rm", "-f", "linkweb", "linker", "filler2")


def test_resolver_survives_a_daemon_restart(daemon, nets):
    daemon.restart()
    out = lookup(daemon, "cli", "web1")
    assert f"Address: {ip_of(daemon, 'web1', 'front')}" in out


def test_the_container_keeps_port_53_for_its_own_server(daemon, nets):
    out = run(daemon, "run", "--rm", "--network", "front", nets, "sh", "-c",
              "httpd -p 53 -h /tmp && echo bound; nslookup web1")
    assert "bound" in out and f"Address: {ip_of(daemon, 'web1', 'front')}" in out


def test_host_resolv_conf_is_read_again_when_it_changes(daemon, nets):
    saved = daemon.resolv.read_text()
    daemon.resolv.write_text("nameserver 198.51.100.1\n")  # nothing listens there: SERVFAIL
    try:
        deadline = time.monotonic() + 10
        while ask(daemon, "cli", query("fresh.test"))[3] & 0x0F != wire.SERVFAIL:
            assert time.monotonic() < deadline, "the new resolv.conf was never read"
            time.sleep(0.2)
    finally:
        daemon.resolv.write_text(saved)
    deadline = time.monotonic() + 10
    while "Address: 203.0.113.7" not in lookup(daemon, "cli", "outside.test"):
        assert time.monotonic() < deadline
        time.sleep(0.2)


FLOOD = r"""
import socket, struct, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.11", 53))
for i in range(3000):
    name = b"\x05flood" + bytes((len(str(i)),)) + str(i).encode() + b"\x04test\x00"
    s.send(struct.pack("!HHHHHH", i, 0x100, 1, 0, 0, 0) + name + b"\x00\x01\x00\x01")
    s.send(b"\xff" * (i % 40))  # garbage in between
q = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
q.settimeout(1)
for attempt in range(5):  # a client retries: the flood may have filled the socket buffer
    q.sendto(bytes.fromhex(sys.argv[1]), ("127.0.0.11", 53))
    try:
        sys.stdout.buffer.write(q.recv(512))
        break
    except socket.timeout:
        continue
"""


def test_a_flood_to_a_silent_upstream_does_not_stop_local_answers(daemon, nets):
    # 198.51.100.99 does not exist: every forwarded query waits for the full timeout
    run(daemon, "run", "-d", "--name", "flooder", "--network", "front", "--dns",
        "198.51.100.99", nets, "sleep", "600")
    try:
        key = run(daemon, "inspect", "-f", "{{.NetworkSettings.SandboxKey}}", "flooder")
        r = subprocess.run(["nsenter", f"--net={key}", sys.executable, "-c", FLOOD,
                            query("web1").hex()], capture_output=True, timeout=30)
        assert struct.unpack_from("!H", r.stdout, 6)[0] == 1, r.stderr
        assert f"Address: {ip_of(daemon, 'web1', 'front')}" in lookup(daemon, "cli", "web1")
    finally:
        run(daemon, "rm", "-f", "flooder")


def test_a_default_bridge_container_connected_to_a_user_network_gets_the_resolver(daemon, nets):
    run(daemon, "run", "-d", "--name", "late", nets, "sleep", "600")
    try:
        assert "127.0.0.11" not in run(daemon, "exec", "late", "cat", "/etc/resolv.conf")
        run(daemon, "network", "connect", "front", "late")
        assert run(daemon, "exec", "late", "cat", "/etc/resolv.conf").startswith(
            "nameserver 127.0.0.11\n")
        assert f"Address: {ip_of(daemon, 'web1', 'front')}" in lookup(daemon, "late", "web1")
        assert f"Address: {ip_of(daemon, 'late', 'front')}" in lookup(daemon, "cli", "late")
        run(daemon, "network", "disconnect", "front", "late")
        assert "NXDOMAIN" in lookup(daemon, "cli", "late")
    finally:
        run(daemon, "rm", "-f", "late")
