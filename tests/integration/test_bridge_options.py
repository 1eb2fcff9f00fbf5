"""IPv6, bridge driver options and endpoint options through the real daemon."""

import subprocess

import docker
import pytest

pytestmark = pytest.mark.integration


def settings(c, net):
    c.reload()
    return c.attrs["NetworkSettings"]["Networks"][net]


def test_ipv6_dual_stack(docker_client, busybox_image):
    ipam = docker.types.IPAMConfig(pool_configs=[
        docker.types.IPAMPool(subnet="fd00:dead:beef::/64")])
    net = docker_client.networks.create("v6net", enable_ipv6=True, ipam=ipam)
    try:
        cfg = net.attrs["IPAM"]["Config"]
        subnets = [p["Subnet"] for p in cfg]
        assert "fd00:dead:beef::/64" in subnets and any("." in s for s in subnets)
        a = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                         network="v6net")
        b = docker_client.containers.create("busybox:local", "sleep 600", network="v6net")
        docker_client.networks.get("v6net").disconnect(b)
        docker_client.networks.get("v6net").connect(b, ipv6_address="fd00:dead:beef::100")
        b.start()
        try:
            sa, sb = settings(a, "v6net"), settings(b, "v6net")
            assert sa["GlobalIPv6Address"].startswith("fd00:dead:beef::")
            assert sa["GlobalIPv6PrefixLen"] == 64 and sa["IPv6Gateway"] == "fd00:dead:beef::1"
            assert sb["GlobalIPv6Address"] == "fd00:dead:beef::100"
            r = a.exec_run("ping -6 -c1 -W3 fd00:dead:beef::100")
            assert r.exit_code == 0, r.output
            inspect = docker_client.api.inspect_network("v6net")["Containers"][a.id]
            assert inspect["IPv6Address"] == sa["GlobalIPv6Address"] + "/64"
        finally:
            a.remove(force=True)
            b.remove(force=True)
    finally:
        net.remove()


def test_ipv6_without_subnet_gets_a_ula_pool(docker_client):
    net = docker_client.networks.create("v6auto", enable_ipv6=True)
    try:
        v6 = [p for p in net.attrs["IPAM"]["Config"] if ":" in p["Subnet"]]
        assert v6 and v6[0]["Subnet"].startswith("fd") and v6[0]["Subnet"].endswith("/64")
    finally:
        net.remove()


def test_bridge_name_mtu_and_conflicts(docker_client, busybox_image):
    net = docker_client.networks.create("opts_net", options={
        "com.docker.network.bridge.name": "mybr0",
        "com.docker.network.driver.mtu": "1400",
    })
    try:
        assert net.attrs["Options"]["com.docker.network.bridge.name"] == "mybr0"
        link = subprocess.run(["ip", "-o", "link", "show", "mybr0"], capture_output=True,
                              text=True).stdout
        assert "mtu 1400" in link
        c = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                         network="opts_net")
        try:
            assert "mtu 1400" in c.exec_run("ip link show eth0").output.decode()
        finally:
            c.remove(force=True)
        with pytest.raises(docker.errors.APIError) as err:
            docker_client.networks.create("opts_net2", options={
                "com.docker.network.bridge.name": "mybr0"})
        assert err.value.status_code == 403
        assert "networks have same bridge name" in err.value.explanation
        with pytest.raises(docker.errors.APIError):
            docker_client.networks.create("steal_default", options={
                "com.docker.network.bridge.name": "tether0"})
        with pytest.raises(docker.errors.APIError) as err:
            docker_client.networks.create("badmtu", options={
                "com.docker.network.driver.mtu": "huge"})
        assert err.value.status_code == 400
    finally:
        net.remove()
    assert subprocess.run(["ip", "link", "show", "mybr0"], capture_output=True).returncode != 0


def test_icc_disabled_blocks_neighbours(docker_client, busybox_image):
    net = docker_client.networks.create("noicc", options={
        "com.docker.network.bridge.enable_icc": "false"})
    a = docker_client.containers.run("busybox:local", "sleep 600", detach=True, network="noicc")
    b = docker_client.containers.run("busybox:local", "sleep 600", detach=True, network="noicc")
    try:
        ip_b = settings(b, "noicc")["IPAddress"]
        gw = settings(a, "noicc")["Gateway"]
        assert a.exec_run(f"ping -c1 -W2 {ip_b}").exit_code != 0
        assert a.exec_run(f"ping -c1 -W2 {gw}").exit_code == 0
    finally:
        a.remove(force=True)
        b.remove(force=True)
        net.remove()


def test_mac_address_and_aliases_on_user_network(docker_client, busybox_image):
    net = docker_client.networks.create("epopts")
    try:
        cfg = docker_client.api.create_networking_config({
            "epopts": docker_client.api.create_endpoint_config(aliases=["db", "database"])})
        cid = docker_client.api.create_container(
            "busybox:local", "sleep 600", networking_config=cfg, mac_address="02:42:0a:0b:0c:0d",
            host_config=docker_client.api.create_host_config(network_mode="epopts"))["Id"]
        docker_client.api.start(cid)
        c = docker_client.containers.get(cid)
        try:
            s = settings(c, "epopts")
            assert s["MacAddress"] == "02:42:0a:0b:0c:0d"
            assert s["Aliases"] == ["db", "database"]  # API >= 1.45: the short id is in
            assert c.id[:12] in s["DNSNames"]  # DNSNames only, as dockerd does
            assert "02:42:0a:0b:0c:0d" in c.exec_run("ip link show eth0").output.decode()
        finally:
            c.remove(force=True)
    finally:
        net.remove()


def test_alias_on_default_bridge_is_refused(docker_client, busybox_image):
    cfg = docker_client.api.create_networking_config({
        "bridge": docker_client.api.create_endpoint_config(aliases=["nope"])})
    with pytest.raises(docker.errors.APIError) as err:
        docker_client.api.create_container("busybox:local", "true", networking_config=cfg)
    assert err.value.status_code == 400
    assert "user defined networks" in err.value.explanation
