"""Conformance with dockerd through the unmodified docker CLI: the sentences, exit codes and
JSON that /work/shared/reference/docker-behaviour/transcripts.md recorded for the same commands.

Each test replays one transcript step (section number in its docstring) and compares what a
user sees; ids, MACs and times are ignored.
"""

import json

import pytest

pytestmark = pytest.mark.integration

RUN_HELP = "\n\nRun 'docker run --help' for more information\n"


def names_of_all_containers(daemon) -> list[str]:
    out = daemon.docker("ps", "-a", "--format", "{{.Names}}", check=True).stdout
    return out.split()


def test_failed_start_of_rm_container_reports_and_removes_it(daemon, busybox_image):
    """§13: `docker run --rm --ip <taken>` prints the start error and exits 125 at once;
    dockerd removes the auto-remove container, which the CLI waits for."""
    daemon.docker("network", "create", "--subnet", "10.10.0.0/24", "conf_static", check=True)
    try:
        daemon.docker("create", "--name", "conf_st1", "--net", "conf_static", "--ip",
                      "10.10.0.10", "busybox:local", "sleep", "600", check=True)
        daemon.docker("start", "conf_st1", check=True)
        r = daemon.docker("run", "--rm", "--net", "conf_static", "--ip", "10.10.0.10",
                          "busybox:local", "true", timeout=10)
        assert (r.returncode, r.stdout, r.stderr) == (
            125, "", "docker: Error response from daemon: Address already in use" + RUN_HELP)
        assert names_of_all_containers(daemon) == ["conf_st1"]
    finally:
        daemon.docker("rm", "-f", "conf_st1")
        daemon.docker("network", "rm", "conf_static")


def test_host_mode_container_cannot_join_another_network(daemon, busybox_image):
    """§8: connect/disconnect of a --net=host container, with dockerd's two sentences."""
    daemon.docker("network", "create", "conf_other", check=True)
    daemon.docker("create", "--name", "conf_hostweb", "--net", "host", "busybox:local", "true",
                  check=True)
    try:
        r = daemon.docker("network", "connect", "conf_other", "conf_hostweb")
        assert (r.returncode, r.stderr) == (1, "Error response from daemon: container sharing "
                                            "network namespace with another container or host "
                                            "cannot be connected to any other network\n")
        r = daemon.docker("network", "disconnect", "host", "conf_hostweb")
        assert (r.returncode, r.stderr) == (1, "Error response from daemon: container cannot be "
                                            "disconnected from host network or connected to host "
                                            "network\n")
    finally:
        daemon.docker("rm", "-f", "conf_hostweb")
        daemon.docker("network", "rm", "conf_other")


@pytest.mark.parametrize("mode", ["none", "host"])
def test_none_and_host_networks_list_their_running_containers(daemon, busybox_image, mode):
    """§8: `network inspect none|host` shows the running container with an endpoint id, and
    its own inspect shows the same endpoint, without aliases or DNS names."""
    name = f"conf_{mode}box"
    daemon.docker("run", "-d", "--name", name, "--net", mode, "busybox:local", "sleep", "600",
                  check=True)
    try:
        cid = daemon.docker("inspect", "-f", "{{.Id}}", name, check=True).stdout.strip()
        out = daemon.docker("network", "inspect", "-f", "{{json .Containers}}", mode,
                            check=True).stdout
        entry = json.loads(out)[cid]
        assert len(entry.pop("EndpointID")) == 64
        assert entry == {"Name": name, "MacAddress": "", "IPv4Address": "", "IPv6Address": ""}
        out = daemon.docker("inspect", "-f", "{{json .NetworkSettings.Networks}}", name,
                            check=True).stdout
        ep = json.loads(out)[mode]
        assert ep["Aliases"] is None and ep["DNSNames"] is None
        assert ep["EndpointID"] and ep["IPAddress"] == "" and ep["MacAddress"] == ""
    finally:
        daemon.docker("rm", "-f", name)


def merged_output(daemon, program: str, *args: str) -> tuple[int, str]:
    """stdout and stderr through one pipe, as a terminal shows them."""
    r = daemon.run(["sh", "-c", '"$@" 2>&1', "sh", program, *args])
    return r.returncode, r.stdout


@pytest.mark.parametrize("args", [
    ("network", "inspect", "nosuch"),
    ("network", "inspect", "-f", "{{.Name}}", "bridge", "nosuch"),
    ("inspect", "-f", "{{.Name}}", "bridge", "nosuch"),
    ("inspect", "--type", "container", "nosuch"),
    ("inspect", "--type", "network", "nosuch"),
    ("inspect", "--type", "image", "nosuch"),
])
def test_tether_cli_prints_inspect_output_before_errors_like_docker(daemon, args):
    """docker prints what it found first, then one line per miss; tether's CLI the same."""
    docker = merged_output(daemon, "/usr/local/bin/docker", *args)
    tether = merged_output(daemon, "/work/main/.venv/bin/tether", *args)
    assert docker[0] == 1 and tether == docker


def test_run_on_a_missing_network_fails_at_start_like_docker(daemon, docker_client, busybox_image):
    r = daemon.docker("run", "-d", "--name", "lostnet", "--net", "nosuchnet", "busybox:local",
                      "sleep", "60")
    try:
        assert r.returncode == 125
        assert "network nosuchnet not found" in r.stderr
        assert "Unable to find image" not in r.stderr
        c = docker_client.containers.get("lostnet")
        assert c.status == "created"
        docker_client.networks.create("nosuchnet")
        c.start()  # resolved by name at start, as dockerd does
        c.reload()
        assert c.attrs["NetworkSettings"]["Networks"]["nosuchnet"]["IPAddress"]
    finally:
        daemon.docker("rm", "-f", "lostnet")
        daemon.docker("network", "rm", "nosuchnet")
