"""Containers through the real daemon: lifecycle, exec, logs, network modes, restart."""

import json

import docker
import pytest

pytestmark = pytest.mark.integration


def test_run_logs_wait_exit_code(docker_client, busybox_image):
    c = docker_client.containers.run("busybox:local", "sh -c 'echo out; echo err >&2; exit 3'",
                                     detach=True, name="exiter")
    try:
        assert c.wait(timeout=20)["StatusCode"] == 3
        assert b"out" in c.logs(stdout=True, stderr=False)
        assert b"err" in c.logs(stdout=False, stderr=True)
        c.reload()
        assert c.status == "exited" and c.attrs["State"]["ExitCode"] == 3
        assert c.attrs["NetworkSettings"]["Networks"]["bridge"]["IPAddress"] == ""
    finally:
        c.remove(force=True)


def test_foreground_run_returns_output(docker_client, busybox_image):
    out = docker_client.containers.run("busybox:local", "echo hello-tether", remove=True)
    assert out == b"hello-tether\n"
    assert not docker_client.containers.list(all=True, filters={"ancestor": "busybox:local",
                                                                 "status": "exited"})


def test_default_bridge_container(docker_client, busybox_image):
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True, name="onbridge",
                                     hostname="myhost", extra_hosts={"extra.example": "10.1.2.3"})
    try:
        c.reload()
        ns = c.attrs["NetworkSettings"]
        assert ns["IPAddress"].startswith("172.17.") and ns["Gateway"] == "172.17.0.1"
        assert ns["MacAddress"] == "02:42:" + ":".join(
            f"{int(b):02x}" for b in ns["IPAddress"].split("."))
        assert ns["SandboxKey"]
        assert c.exec_run("hostname").output == b"myhost\n"
        hosts = c.exec_run("cat /etc/hosts").output.decode()
        assert "10.1.2.3\textra.example" in hosts and f"{ns['IPAddress']}\tmyhost" in hosts
        route = c.exec_run("ip route").output.decode()
        assert "default via 172.17.0.1 dev eth0" in route
        assert c.exec_run("ping -c1 -W2 172.17.0.1").exit_code == 0
        inspect = docker_client.api.inspect_network("bridge")
        assert c.id in inspect["Containers"]
        assert inspect["Containers"][c.id]["Name"] == "onbridge"
    finally:
        c.remove(force=True)
    assert c.id not in docker_client.api.inspect_network("bridge")["Containers"]


def test_exec_output_and_exit_code(docker_client, busybox_image):
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True)
    try:
        r = c.exec_run("sh -c 'echo from-exec; exit 7'")
        assert r.exit_code == 7 and r.output == b"from-exec\n"
        r = c.exec_run("nosuchcommand")
        assert r.exit_code in (126, 127)
    finally:
        c.remove(force=True)


def test_none_and_host_modes(docker_client, busybox_image):
    none = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                        network_mode="none")
    host = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                        network_mode="host")
    try:
        links = none.exec_run("ip -o link").output.decode()
        assert "lo" in links and "eth0" not in links
        assert none.exec_run("ip route").output.strip() == b""
        host_links = host.exec_run("ip -o link").output.decode()
        assert "tether0" in host_links
        with pytest.raises(docker.errors.APIError):
            docker_client.networks.get("bridge").connect(none)
    finally:
        none.remove(force=True)
        host.remove(force=True)


def test_stop_kill_rename_and_remove_running(docker_client, busybox_image):
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True, name="victim")
    try:
        with pytest.raises(docker.errors.APIError) as err:
            c.remove()
        assert err.value.status_code == 409
        c.rename("victim2")
        assert docker_client.containers.get("victim2").id == c.id
        c.stop(timeout=1)
        c.reload()
        assert c.status == "exited" and c.attrs["State"]["ExitCode"] in (137, 143)
        c.start()
        c.kill()
        c.reload()
        assert c.attrs["State"]["ExitCode"] == 137
    finally:
        c.remove(force=True)


def test_name_conflict(docker_client, busybox_image):
    c = docker_client.containers.create("busybox:local", "true", name="dupe")
    try:
        with pytest.raises(docker.errors.APIError) as err:
            docker_client.containers.create("busybox:local", "true", name="dupe")
        assert err.value.status_code == 409
        assert 'The container name "/dupe" is already in use' in err.value.explanation
    finally:
        c.remove()


def test_restart_keeps_networks_addresses_and_containers(daemon, docker_client, busybox_image):
    docker_client.networks.create("persist_net")
    c = docker_client.containers.run("busybox:local", "sleep 600", detach=True, name="survivor",
                                     network="persist_net")
    c.reload()
    ip = c.attrs["NetworkSettings"]["Networks"]["persist_net"]["IPAddress"]
    daemon.restart()
    client = docker.DockerClient(base_url="unix://" + daemon.socket)
    try:
        again = client.containers.get("survivor")
        assert again.status == "running"
        assert again.attrs["NetworkSettings"]["Networks"]["persist_net"]["IPAddress"] == ip
        other = client.containers.run("busybox:local", "sleep 600", detach=True,
                                      network="persist_net")
        other.reload()
        assert other.attrs["NetworkSettings"]["Networks"]["persist_net"]["IPAddress"] != ip
        assert other.exec_run(f"ping -c1 -W2 {ip}").exit_code == 0
        other.remove(force=True)
    finally:
        client.containers.get("survivor").remove(force=True)
        client.networks.get("persist_net").remove()


def test_docker_cli_seed_walkthrough(daemon, busybox_image):
    ls = daemon.docker("network", "ls")
    assert ls.returncode == 0, ls.stderr
    lines = ls.stdout.splitlines()
    assert lines[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
    names = [line.split()[1] for line in lines[1:]]
    assert names == sorted(names) and {"bridge", "host", "none"} <= set(names)
    bridge = json.loads(daemon.docker("network", "inspect", "bridge").stdout)
    assert bridge[0]["Name"] == "bridge"
    r = daemon.docker("network", "create", "--driver", "bridge", "my_isolated_bridge_network")
    assert r.returncode == 0 and len(r.stdout.strip()) == 64
    try:
        r = daemon.docker("run", "--net=my_isolated_bridge_network", "-itd", "--name=container3",
                          "busybox:local")
        assert r.returncode == 0, r.stderr
        info = json.loads(daemon.docker("network", "inspect",
                                        "my_isolated_bridge_network").stdout)[0]
        (ep,) = info["Containers"].values()
        assert ep["Name"] == "container3" and ep["IPv4Address"].endswith("/16")
        r = daemon.docker("exec", "container3", "ip", "-4", "addr", "show", "eth0")
        assert ep["IPv4Address"] in r.stdout
        r = daemon.docker("network", "rm", "my_isolated_bridge_network")
        assert r.returncode == 1 and "has active endpoints" in r.stderr
    finally:
        daemon.docker("rm", "-f", "container3")
        daemon.docker("network", "rm", "my_isolated_bridge_network")


def test_crash_restart_adopts_running_and_reaps_exited(daemon, docker_client, busybox_image):
    """SIGKILL the daemon: a running container keeps running and is adopted; one that exits
    while the daemon is down gets its exit code, and its sandbox and address are released."""
    import os
    import time

    docker_client.networks.create("crash_net", ipam=docker.types.IPAMConfig(
        pool_configs=[docker.types.IPAMPool(subnet="10.97.0.0/24")]))
    keep = docker_client.containers.run("busybox:local", "sleep 600", detach=True,
                                        network="crash_net", name="crash_keep")
    short = docker_client.containers.run("busybox:local", "sh -c 'sleep 2; exit 5'",
                                         detach=True, network="crash_net", name="crash_short")
    short.reload()
    short_ip = short.attrs["NetworkSettings"]["Networks"]["crash_net"]["IPAddress"]
    short_sandbox = short.attrs["NetworkSettings"]["SandboxKey"]
    daemon.restart(kill=True)
    client = docker.DockerClient(base_url="unix://" + daemon.socket)
    try:
        deadline = time.monotonic() + 20
        while client.containers.get("crash_short").status == "running":
            assert time.monotonic() < deadline
            time.sleep(0.2)
        gone = client.containers.get("crash_short")
        assert gone.attrs["State"]["ExitCode"] == 5
        assert not os.path.exists(short_sandbox)
        kept = client.containers.get("crash_keep")
        assert kept.status == "running"
        assert kept.exec_run("true").exit_code == 0
        cfg = client.api.create_networking_config({
            "crash_net": client.api.create_endpoint_config(ipv4_address=short_ip)})
        again = client.api.create_container(
            "busybox:local", "sleep 600", networking_config=cfg,
            host_config=client.api.create_host_config(network_mode="crash_net"))["Id"]
        client.api.start(again)  # the exited container's address was released
        client.api.remove_container(again, force=True)
        kept.stop(timeout=1)
        kept.reload()
        assert kept.attrs["State"]["ExitCode"] in (137, 143)
    finally:
        for name in ("crash_keep", "crash_short"):
            client.containers.get(name).remove(force=True)
        client.networks.get("crash_net").remove()


def test_info_reports_a_stable_id_counts_and_drivers(daemon, docker_client):
    info = docker_client.info()
    assert len(info["ID"]) == 64
    assert {"bridge", "host", "null"} <= set(info["Plugins"]["Network"])
    assert info["Containers"] == len(docker_client.containers.list(all=True))
    daemon.restart()
    again = docker.DockerClient(base_url="unix://" + daemon.socket).info()
    assert again["ID"] == info["ID"]
