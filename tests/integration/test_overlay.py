"""Overlay networks across three simulated hosts (network namespaces, one tetherd each),
joined by an underlay bridge, with etcd in a namespace of its own: real VXLAN packets."""

from __future__ import annotations

import subprocess

import pytest

from .support.cluster import running_cluster, wait_for


@pytest.fixture(scope="module")
def cluster(daemon_factory, tmp_path_factory, busybox_tarball):
    yield from running_cluster("cluster", daemon_factory, tmp_path_factory, busybox_tarball,
                               n_hosts=3)


def run(d, name: str, network: str, *extra: str) -> str:
    r = d.docker("run", "-d", "--name", name, "--network", network, *extra, "busybox:local",
                 "sleep", "3600")
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def ip_of(d, name: str, network: str) -> str:
    info = d.api("GET", f"/containers/{name}/json").json()
    return info["NetworkSettings"]["Networks"][network]["IPAddress"]


def test_network_shows_on_every_host(cluster):
    h1, h2, h3 = cluster.hosts
    r = h1.docker("network", "create", "-d", "overlay", "--attachable", "ov1")
    assert r.returncode == 0, r.stderr
    net_id = r.stdout.strip()
    for d in (h2, h3):
        wait_for(lambda: d.api("GET", f"/networks/{net_id}").status == 200, what="mirror")
        info = d.api("GET", "/networks/ov1").json()
        assert info["Driver"] == "overlay" and info["Scope"] == "global"
        assert info["Attachable"] is True
        assert info["IPAM"]["Config"][0]["Subnet"] == "10.0.0.0/24"
    assert h1.api("GET", "/info").json()["ClusterStore"] == cluster.store_url()
    r = h2.docker("network", "create", "-d", "overlay", "ov1")
    assert r.returncode != 0 and "already exists" in r.stderr
    r = h2.docker("network", "create", "-d", "overlay", "--opt", "encrypted", "ovx")
    assert r.returncode != 0 and "not supported" in r.stderr


def test_containers_reach_each_other_by_address_and_name(cluster):
    h1, h2, h3 = cluster.hosts
    for i, d in enumerate(cluster.hosts, 1):
        run(d, f"c{i}", "ov1")
    addresses = {ip_of(d, f"c{i}", "ov1") for i, d in enumerate(cluster.hosts, 1)}
    assert len(addresses) == 3
    for i, d in enumerate(cluster.hosts, 1):
        for j, other in enumerate(cluster.hosts, 1):
            if i == j:
                continue
            target = ip_of(other, f"c{j}", "ov1")
            wait_for(lambda: d.docker("exec", f"c{i}", "ping", "-c1", "-W1", target
                                      ).returncode == 0, what=f"c{i} -> {target}")
            r = d.docker("exec", f"c{i}", "ping", "-c1", "-W2", f"c{j}")
            assert r.returncode == 0, r.stdout + r.stderr
            assert target in r.stdout
    net_id = h1.api("GET", "/networks/ov1").json()["Id"]
    for d in cluster.hosts:  # unicast to known peers only: no learning, no default flood entry
        dev = "txv" + net_id[:12]
        link = subprocess.run([*d.prefix(), "ip", "-d", "link", "show", dev],
                              capture_output=True, text=True).stdout
        assert "nolearning" in link and "proxy" in link and "dstport 4789" in link
        fdb = subprocess.run([*d.prefix(), "bridge", "fdb", "show", "dev", dev],
                             capture_output=True, text=True).stdout
        assert "00:00:00:00:00:00" not in fdb and fdb.count(" dst ") == 2, fdb


def test_rename_reaches_the_other_hosts(cluster):
    h1, h2, _ = cluster.hosts
    assert h1.docker("rename", "c1", "c1x").returncode == 0
    wait_for(lambda: h2.docker("exec", "c2", "ping", "-c1", "-W1", "c1x").returncode == 0,
             what="the new name on host2")
    assert h2.docker("exec", "c2", "nslookup", "c1").returncode != 0
    assert h1.docker("rename", "c1x", "c1").returncode == 0
    wait_for(lambda: h2.docker("exec", "c2", "ping", "-c1", "-W1", "c1").returncode == 0,
             what="the old name back on host2")


def test_connect_and_disconnect_live(cluster):
    h1, h2, _ = cluster.hosts
    run(h1, "joiner", "bridge")
    assert h1.docker("network", "connect", "ov1", "joiner").returncode == 0
    wait_for(lambda: h2.docker("exec", "c2", "ping", "-c1", "-W1", "joiner").returncode == 0,
             what="a live-connected container reached from host2")
    assert h1.docker("network", "disconnect", "ov1", "joiner").returncode == 0
    wait_for(lambda: h2.docker("exec", "c2", "nslookup", "joiner").returncode != 0,
             what="its name gone on host2")
    h1.docker("rm", "-f", "joiner")


def test_mtu_is_lowered_for_vxlan(cluster):
    h1 = cluster.hosts[0]
    r = h1.docker("exec", "c1", "cat", "/sys/class/net/eth0/mtu")
    assert r.stdout.strip() == "1450"


def test_egress_through_gwbridge_with_masquerade(cluster):
    h1 = cluster.hosts[0]
    info = h1.api("GET", "/networks/docker_gwbridge").json()
    assert info["Options"]["com.docker.network.bridge.enable_icc"] == "false"
    etcd_node = cluster.etcd[0].address  # on the underlay, knows no container subnet
    r = h1.docker("exec", "c1", "ping", "-c1", "-W2", etcd_node)
    assert r.returncode == 0, r.stdout + r.stderr
    routes = h1.docker("exec", "c1", "ip", "route").stdout
    gw = info["IPAM"]["Config"][0]["Gateway"]
    assert f"default via {gw}" in routes


def test_overlays_are_isolated(cluster):
    h1, h2, _ = cluster.hosts
    assert h2.docker("network", "create", "-d", "overlay", "ov2").returncode == 0
    wait_for(lambda: h1.api("GET", "/networks/ov2").status == 200, what="ov2 on host1")
    run(h2, "iso", "ov2")
    target = ip_of(h2, "iso", "ov2")
    assert target.startswith("10.0.1.")
    for d, name in ((h1, "c1"), (h2, "c2")):
        assert d.docker("exec", name, "ping", "-c1", "-W1", target).returncode != 0
        assert d.docker("exec", name, "nslookup", "iso").returncode != 0
    h2.docker("rm", "-f", "iso")
    assert h1.docker("network", "rm", "ov2").returncode == 0
    assert h1.docker("network", "create", "lb").returncode == 0  # a local bridge network
    run(h1, "local1", "lb")
    local_ip = ip_of(h1, "local1", "lb")
    assert h1.docker("exec", "c1", "ping", "-c1", "-W1", local_ip).returncode != 0
    assert h1.docker("exec", "local1", "ping", "-c1", "-W1",
                     ip_of(h1, "c1", "ov1")).returncode != 0
    h1.docker("rm", "-f", "local1")
    assert h1.docker("network", "rm", "lb").returncode == 0
    wait_for(lambda: h2.api("GET", "/networks/ov2").status == 404, what="ov2 gone on host2")


def test_internal_overlay_has_no_way_out(cluster):
    h1 = cluster.hosts[0]
    assert h1.docker("network", "create", "-d", "overlay", "--internal", "ovi").returncode == 0
    run(h1, "inner", "ovi")
    info = h1.api("GET", "/containers/inner/json").json()
    assert list(info["NetworkSettings"]["Networks"]) == ["ovi"]
    assert "default" not in h1.docker("exec", "inner", "ip", "route").stdout
    assert h1.docker("exec", "inner", "ping", "-c1", "-W1",
                     cluster.etcd[0].address).returncode != 0
    h1.docker("rm", "-f", "inner")
    assert h1.docker("network", "rm", "ovi").returncode == 0


def test_overlay_without_a_cluster_store_is_503(daemon_factory):
    plain = daemon_factory.start("plain")
    r = plain.api("POST", "/networks/create", {"Name": "ov", "Driver": "overlay"})
    assert r.status == 503 and "--cluster-store" in r.json()["message"]
    assert daemon_factory.finish(plain) == []


def test_ipv6_overlay(cluster):
    h1, h2, _ = cluster.hosts
    r = h1.docker("network", "create", "-d", "overlay", "--ipv6", "ov6")
    assert r.returncode != 0 and "IPv6 --subnet" in r.stderr
    r = h1.docker("network", "create", "-d", "overlay", "--ipv6", "--subnet", "fd77::/64", "ov6")
    assert r.returncode == 0, r.stderr
    wait_for(lambda: h2.api("GET", "/networks/ov6").status == 200, what="ov6 on host2")
    run(h1, "s1", "ov6")
    run(h2, "s2", "ov6")
    info = h2.api("GET", "/containers/s2/json").json()["NetworkSettings"]["Networks"]["ov6"]
    v6, v4 = info["GlobalIPv6Address"], info["IPAddress"]
    assert v6.startswith("fd77::")
    wait_for(lambda: h1.docker("exec", "s1", "ping", "-c1", "-W1", v6).returncode == 0,
             what="s1 -> s2 over IPv6")
    assert h1.docker("exec", "s1", "ping", "-c1", "-W1", v4).returncode == 0
    assert v6 in h1.docker("exec", "s1", "nslookup", "-type=AAAA", "s2").stdout
    h1.docker("rm", "-f", "s1")
    h2.docker("rm", "-f", "s2")
    assert h2.docker("network", "rm", "ov6").returncode == 0


def test_concurrent_starts_get_distinct_addresses(cluster):
    import concurrent.futures
    assert cluster.hosts[0].docker("network", "create", "-d", "overlay", "race").returncode == 0
    for d in cluster.hosts:
        wait_for(lambda: d.api("GET", "/networks/race").status == 200, what="race network")
    jobs = [(d, f"r{i}-{k}") for i, d in enumerate(cluster.hosts) for k in range(3)]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        list(pool.map(lambda job: run(job[0], job[1], "race"), jobs))
    addresses = [ip_of(d, name, "race") for d, name in jobs]
    assert len(set(addresses)) == len(jobs), addresses
    for d, name in jobs:
        d.docker("rm", "-f", name)
    assert cluster.hosts[1].docker("network", "rm", "race").returncode == 0


def test_concurrent_network_creates(cluster):
    import concurrent.futures

    def create(job):
        d, name = job
        return d.api("POST", "/networks/create", {"Name": name, "Driver": "overlay"}).status

    jobs = [(d, "same") for d in cluster.hosts] + [(d, f"n{i}") for i, d in
                                                    enumerate(cluster.hosts)]
    with concurrent.futures.ThreadPoolExecutor(len(jobs)) as pool:
        statuses = list(pool.map(create, jobs))
    assert sorted(statuses[:3]) == [201, 409, 409], statuses
    assert statuses[3:] == [201, 201, 201], statuses
    h1 = cluster.hosts[0]
    names = ("same", "n0", "n1", "n2")
    for name in names:
        wait_for(lambda: h1.api("GET", f"/networks/{name}").status == 200, what=name)
    infos = [h1.api("GET", f"/networks/{name}").json() for name in names]
    subnets = {i["IPAM"]["Config"][0]["Subnet"] for i in infos}
    vnis = {i["Options"]["com.docker.network.driver.overlay.vxlanid_list"] for i in infos}
    assert len(subnets) == len(vnis) == 4, (subnets, vnis)
    for name in names:
        assert h1.docker("network", "rm", name).returncode == 0


def test_network_in_use_elsewhere_cannot_be_removed(cluster):
    r = cluster.hosts[1].docker("network", "rm", "ov1")
    assert r.returncode != 0 and "active endpoints" in r.stderr
    h1, h2, _ = cluster.hosts
    assert h1.docker("network", "create", "-d", "overlay", "ovp").returncode == 0
    wait_for(lambda: h2.api("GET", "/networks/ovp").status == 200, what="ovp on host2")
    run(h2, "p", "ovp")
    r = h1.docker("network", "prune", "-f")
    assert r.returncode == 0, r.stderr
    assert h1.api("GET", "/networks/ovp").status == 200  # used on host2: not pruned
    h2.docker("rm", "-f", "p")
    assert "ovp" in h1.docker("network", "prune", "-f").stdout


def test_clean_stop_withdraws_and_restart_rejoins(cluster):
    h1, h2, _ = cluster.hosts
    target = ip_of(h2, "c2", "ov1")
    h2.stop()
    wait_for(lambda: h1.docker("exec", "c1", "nslookup", "c2").returncode != 0,
             what="c2's name withdrawn")
    assert target not in neighbours(h1)
    h2.start()
    wait_for(lambda: h1.docker("exec", "c1", "ping", "-c1", "-W1", "c2").returncode == 0,
             what="c2 back after its host restarted")


def test_restart_forgets_peers_that_vanished_while_down(cluster):
    h1, h2, h3 = cluster.hosts
    run(h3, "gone", "ov1")
    target = ip_of(h3, "gone", "ov1")
    wait_for(lambda: target in neighbours(h2), what="gone programmed on host2")
    h2.stop()
    assert h3.docker("rm", "-f", "gone").returncode == 0
    h2.start()
    wait_for(lambda: h2.docker("exec", "c2", "ping", "-c1", "-W1", "c3").returncode == 0,
             what="host2 back in the overlay")
    wait_for(lambda: ip_of(h1, "c1", "ov1") in neighbours(h2), what="host2 resynced")
    assert target not in neighbours(h2)


def neighbours(d) -> str:
    import subprocess
    return subprocess.run([*d.prefix(), "ip", "neigh", "show", "nud", "permanent"],
                          capture_output=True, text=True).stdout


def test_dead_host_endpoints_disappear(cluster):
    from .support.cluster import cut
    h1, _, h3 = cluster.hosts
    target = ip_of(h3, "c3", "ov1")
    assert target in neighbours(h1)
    net_id = h1.api("GET", "/networks/ov1").json()["Id"]
    address_key = f"ipam/addresses/{net_id}/{target}"
    assert etcd_get(cluster, address_key) is not None
    h3.stop(kill=True)
    cut("host3", up=False)
    wait_for(lambda: target not in neighbours(h1), timeout=cluster.ttl * 4,
             what="the dead host's peer unprogrammed")
    assert h1.docker("exec", "c1", "nslookup", "c3").returncode != 0
    wait_for(lambda: etcd_get(cluster, address_key) is None, what="the dead host's address freed")
    cut("host3", up=True)
    h3.start()
    wait_for(lambda: h1.docker("exec", "c1", "ping", "-c1", "-W1", "c3").returncode == 0,
             what="c3 back after its host came back")
    assert etcd_get(cluster, address_key) is not None  # held again by the returning host


def etcd_get(cluster, key: str) -> bytes | None:
    """Read one key of the cluster store from the test process (over the underlay)."""
    import asyncio

    from tether.store.etcd import EtcdConfig, EtcdStore

    async def get():
        store = EtcdStore(EtcdConfig(tuple(m.client for m in cluster.etcd)))
        try:
            return (await store.get(key))[0]
        finally:
            await store.close()
    return asyncio.run(get())


def test_etcd_outage_keeps_traffic_and_fails_creates_with_503(cluster):
    h1, h2, _ = cluster.hosts
    member = cluster.etcd[0]
    member.stop()
    try:
        assert h1.docker("exec", "c1", "ping", "-c1", "-W2", "c2").returncode == 0
        wait_for(lambda: any("cluster store is unreachable" in w for w in
                             h1.api("GET", "/info").json()["Warnings"] or []),
                 what="the outage in docker info")
        r = h1.api("POST", "/networks/create", {"Name": "during", "Driver": "overlay"})
        assert r.status == 503, r.body
        assert "cluster store" in r.json()["message"]
        r = h1.docker("run", "-d", "--name", "late", "--network", "ov1", "busybox:local",
                      "sleep", "3600")
        assert r.returncode != 0 and "cluster store" in r.stderr
        h1.docker("rm", "-f", "late")
    finally:
        member.start(cluster="", state="existing")
        wait_for(member.healthy, what="etcd back")
    wait_for(lambda: h1.api("POST", "/networks/create", {"Name": "after", "Driver": "overlay"}
                            ).status == 201, what="creates work again")
    run(h1, "late", "ov1")
    wait_for(lambda: h2.docker("exec", "c2", "ping", "-c1", "-W1", "late").returncode == 0,
             what="a container started after the outage is reachable")
    h1.docker("rm", "-f", "late")
    assert h1.docker("network", "rm", "after").returncode == 0


def test_overlay_isolation_over_icmp_tcp_and_udp(cluster):
    """Overlays apart from each other and from local bridges, with real TCP and UDP too."""
    from .support.probes import overlay_isolation

    wrong = overlay_isolation(cluster.hosts[:2], wait_for)
    assert not wrong, "\n".join(wrong)
