"""Networks through the real daemon with docker-py: create/inspect/rm/prune, IPAM and errors."""

import json
import subprocess
import time

import docker
import pytest

from tether.drivers.bridge_options import bridge_name_for
from tether.kernel.reaper import SPARE_GROUP, TOMBSTONE_PREFIX

pytestmark = pytest.mark.integration


def test_predefined_networks(docker_client):
    nets = {n.name: n for n in docker_client.networks.list()}
    assert {"bridge", "host", "none"} <= set(nets)
    bridge = docker_client.networks.get("bridge").attrs
    assert len(bridge["Id"]) == 64
    assert bridge["Driver"] == "bridge" and bridge["Scope"] == "local"
    assert bridge["IPAM"]["Config"] == [{"Subnet": "172.17.0.0/16"}]
    assert bridge["IPAM"]["Options"] is None
    assert bridge["Options"]["com.docker.network.bridge.default_bridge"] == "true"
    assert docker_client.networks.get("none").attrs["Driver"] == "null"
    assert docker_client.networks.get("host").attrs["IPAM"]["Config"] == []


def test_create_inspect_remove(docker_client):
    net = docker_client.networks.create("ipam_a", driver="bridge", labels={"env": "dev"})
    try:
        attrs = docker_client.networks.get("ipam_a").attrs
        assert attrs["Name"] == "ipam_a" and attrs["Labels"] == {"env": "dev"}
        (pool,) = attrs["IPAM"]["Config"]
        assert pool["Subnet"].endswith("/16") and pool["Gateway"].endswith(".1")
        assert attrs["Options"] == {} and attrs["Containers"] == {}
        with pytest.raises(docker.errors.APIError) as err:
            docker_client.networks.create("ipam_a")
        assert err.value.status_code == 409
        assert "already exists" in err.value.explanation
        with pytest.raises(docker.errors.APIError) as err:
            docker_client.networks.create("ipam_overlap", ipam=docker.types.IPAMConfig(
                pool_configs=[docker.types.IPAMPool(subnet=pool["Subnet"])]))
        assert err.value.status_code == 403
        assert err.value.explanation == "Pool overlaps with other one on this address space"
    finally:
        net.remove()
    with pytest.raises(docker.errors.NotFound):
        docker_client.networks.get("ipam_a")


def test_user_subnet_gateway_range_and_static_ip(docker_client, busybox_image):
    ipam = docker.types.IPAMConfig(pool_configs=[docker.types.IPAMPool(
        subnet="10.77.0.0/24", gateway="10.77.0.254", iprange="10.77.0.128/25",
        aux_addresses={"router": "10.77.0.129"})])
    net = docker_client.networks.create("ipam_b", ipam=ipam)
    try:
        (cfg,) = net.attrs["IPAM"]["Config"]
        assert cfg == {"Subnet": "10.77.0.0/24", "IPRange": "10.77.0.128/25",
                       "Gateway": "10.77.0.254", "AuxiliaryAddresses": {"router": "10.77.0.129"}}
        a = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                         network="ipam_b", name="ipam_dyn")
        b = docker_client.containers.create("busybox:local", "sleep 600", name="ipam_static",
                                            network="ipam_b")
        docker_client.networks.get("ipam_b").disconnect(b)
        docker_client.networks.get("ipam_b").connect(b, ipv4_address="10.77.0.5")
        b.start()
        a.reload(), b.reload()
        assert a.attrs["NetworkSettings"]["Networks"]["ipam_b"]["IPAddress"] == "10.77.0.128"
        assert b.attrs["NetworkSettings"]["Networks"]["ipam_b"]["IPAddress"] == "10.77.0.5"
        assert b.attrs["NetworkSettings"]["Networks"]["ipam_b"]["Gateway"] == "10.77.0.254"
        out = a.exec_run("ip -4 addr show eth0").output.decode()
        assert "10.77.0.128/24" in out
        assert a.exec_run("ping -c1 -W2 10.77.0.5").exit_code == 0
        c = docker_client.containers.create("busybox:local", "true", name="ipam_taken",
                                            network="ipam_b")
        docker_client.networks.get("ipam_b").disconnect(c)
        docker_client.networks.get("ipam_b").connect(c, ipv4_address="10.77.0.5")
        with pytest.raises(docker.errors.APIError) as err:
            c.start()
        assert "Address already in use" in err.value.explanation
        c.remove(force=True)
        with pytest.raises(docker.errors.APIError) as err:
            net.remove()
        assert err.value.status_code == 403 and "has active endpoints" in err.value.explanation
        a.remove(force=True), b.remove(force=True)
    finally:
        for name in ("ipam_dyn", "ipam_static", "ipam_taken"):
            try:
                docker_client.containers.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass
        net.remove()


def test_addresses_are_released(docker_client, busybox_image):
    net = docker_client.networks.create("ipam_c", ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet="10.78.0.0/29")]))
    try:
        seen = []
        for i in range(3):
            c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                             network="ipam_c")
            c.reload()
            seen.append(c.attrs["NetworkSettings"]["Networks"]["ipam_c"]["IPAddress"])
            c.remove(force=True)
        assert seen == ["10.78.0.2"] * 3
    finally:
        net.remove()


@pytest.mark.parametrize("ref,status,text", [
    ("bridge", 403, "bridge is a pre-defined network and cannot be removed"),
    ("host", 403, "host is a pre-defined network and cannot be removed"),
    ("nosuchnet", 404, "network nosuchnet not found"),
])
def test_remove_errors(docker_client, ref, status, text):
    with pytest.raises(docker.errors.APIError) as err:
        docker_client.api.remove_network(ref)
    assert err.value.status_code == status
    assert err.value.explanation == text


def test_invalid_cidr_and_gateway(docker_client):
    for pool, text in [
        (docker.types.IPAMPool(subnet="10.50.0.300/24"), "invalid CIDR address"),
        (docker.types.IPAMPool(subnet="10.50.0.0/24", gateway="10.60.0.1"), "10.60.0.1"),
    ]:
        with pytest.raises(docker.errors.APIError) as err:
            docker_client.networks.create("bad", ipam=docker.types.IPAMConfig(pool_configs=[pool]))
        assert err.value.status_code == 400
        assert text in err.value.explanation
    assert not docker_client.networks.list(names=["bad"])


def test_prune_keeps_used_and_builtin(docker_client, busybox_image):
    docker_client.networks.create("prune_used")
    docker_client.networks.create("prune_idle", labels={"keep": "no"})
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                     network="prune_used")
    try:
        result = docker_client.networks.prune()
        assert "prune_idle" in result["NetworksDeleted"]
        names = {n.name for n in docker_client.networks.list()}
        assert {"bridge", "host", "none", "prune_used"} <= names
        assert "prune_idle" not in names
    finally:
        c.remove(force=True)
        docker_client.networks.get("prune_used").remove()


def test_many_networks_beyond_dockers_pools(docker_client):
    """Docker's default pools give about 30 networks; tether must keep going."""
    made = []
    try:
        for i in range(40):
            made.append(docker_client.networks.create(f"many{i}"))
        subnets = {n.attrs["IPAM"]["Config"][0]["Subnet"] for n in made}
        assert len(subnets) == 40
    finally:
        for n in made:
            n.remove()


def test_config_only_and_config_from(daemon, docker_client, busybox_image):
    r = daemon.docker("network", "create", "--config-only", "--subnet", "10.88.0.0/24", "cfgonly")
    assert r.returncode == 0, r.stderr
    r = daemon.docker("network", "create", "--config-from", "cfgonly", "fromcfg")
    assert r.returncode == 0, r.stderr
    try:
        out = daemon.docker("network", "inspect", "-f",
                            "{{.Name}} {{.ConfigOnly}} {{json .ConfigFrom}} {{json .IPAM.Config}}",
                            "cfgonly", "fromcfg").stdout.splitlines()
        assert out == ['cfgonly true {"Network":""} [{"Subnet":"10.88.0.0/24"}]',
                       'fromcfg false {"Network":"cfgonly"} [{"Subnet":"10.88.0.0/24"}]']
        c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                         network="fromcfg")
        c.reload()
        assert c.attrs["NetworkSettings"]["Networks"]["fromcfg"]["IPAddress"].startswith("10.88.0.")
        c.remove(force=True)
    finally:
        r = daemon.docker("network", "rm", "fromcfg", "cfgonly")
        assert r.stdout.split() == ["fromcfg", "cfgonly"], r.stderr


def test_swarm_scope_is_refused(daemon):
    r = daemon.docker("network", "create", "--scope", "swarm", "scoped")
    assert r.returncode == 1
    assert "cannot create a swarm scoped network when swarm is not active" in r.stderr


def test_a_network_made_after_a_removal_reuses_the_bridge_cleanly(daemon, docker_client,
                                                                   busybox_image):
    """network rm keeps the bridge as a spare (kernel.reaper) and the next create renames
    it: the new network must look and carry packets as on a fresh bridge."""
    def bridge(net) -> dict:
        name = bridge_name_for(net.id)
        out = subprocess.run([*daemon.prefix(), "ip", "-j", "-d", "addr", "show", "dev", name],
                             capture_output=True, text=True, check=True)
        (link,) = json.loads(out.stdout)
        return link

    old = docker_client.networks.create("reuse_old", ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet="10.79.0.0/24")]))
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                     network="reuse_old", ports={"80/tcp": ("127.0.0.1", None)})
    index = bridge(old)["ifindex"]
    c.remove(force=True)
    old.remove()
    # the spares serve once the container's removed veth is deleted (it may still be a port)
    deadline = time.monotonic() + 10
    while True:
        tombs = [link for link in json.loads(subprocess.run(
            [*daemon.prefix(), "ip", "-j", "link", "show"], capture_output=True, text=True,
            check=True).stdout) if link["ifname"].startswith(TOMBSTONE_PREFIX)]
        spares = {link["ifindex"] for link in tombs if link.get("group") == str(SPARE_GROUP)}
        if len(spares) == len(tombs) or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert index in spares
    new = docker_client.networks.create("reuse_new", ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet="10.79.1.0/24")]))
    try:
        link = bridge(new)
        assert link["ifindex"] in spares  # a removed network's bridge, renamed
        assert link["group"] == "default" and link["mtu"] == 1500
        assert "UP" in link["flags"]
        assert [(a["family"], a["local"]) for a in link["addr_info"]] == [("inet", "10.79.1.1")]
        path = f"/proc/sys/net/ipv4/conf/{bridge_name_for(new.id)}/route_localnet"
        assert subprocess.run([*daemon.prefix(), "cat", path], capture_output=True,
                              text=True, check=True).stdout.strip() == "0"
        a = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                         network="reuse_new", name="reuse_a")
        b = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                         network="reuse_new", name="reuse_b")
        assert a.exec_run("ping -c1 -W2 reuse_b").exit_code == 0
        assert a.exec_run("ping -c1 -W2 10.79.1.1").exit_code == 0
        a.remove(force=True), b.remove(force=True)
    finally:
        for name in ("reuse_a", "reuse_b"):
            try:
                docker_client.containers.get(name).remove(force=True)
            except docker.errors.NotFound:
                pass
        new.remove()
