"""tether's own CLI against the real daemon: commands, output and exit codes like docker's."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.integration


def ok(r):
    assert r.returncode == 0, r.stderr
    return r.stdout


def test_cli_network_and_container_walkthrough(daemon, busybox_image):
    net_id = ok(daemon.cli("network", "create", "--subnet", "10.96.0.0/24", "cli_net")).strip()
    assert len(net_id) == 64
    try:
        ls = ok(daemon.cli("network", "ls")).splitlines()
        assert ls[0].split() == ["NETWORK", "ID", "NAME", "DRIVER", "SCOPE"]
        assert any(line.split()[1:] == ["cli_net", "bridge", "local"] for line in ls[1:])
        ok(daemon.cli("run", "-d", "--name", "cli_web", "--network", "cli_net", "--ip",
                      "10.96.0.10", "--link-local-ip", "169.254.7.7", "busybox:local",
                      "httpd", "-f", "-p", "80", "-h", "/var/www"))
        ok(daemon.cli("run", "-d", "--name", "cli_hub", "busybox:local", "sleep", "600"))
        ok(daemon.cli("network", "connect", "--ip", "10.96.0.20", "cli_net", "cli_hub"))
        addr = ok(daemon.cli("exec", "cli_web", "ip", "-4", "addr", "show", "eth0"))
        assert "10.96.0.10/24" in addr and "169.254.7.7" in addr
        page = ok(daemon.cli("exec", "cli_hub", "timeout", "3", "wget", "-qO-",
                             "http://10.96.0.10/"))
        assert page.strip()
        r = daemon.cli("exec", "cli_hub", "sh", "-c", "echo err >&2; exit 4")
        assert r.returncode == 4 and r.stderr.strip() == "err"
        info = json.loads(ok(daemon.cli("network", "inspect", "cli_net")))[0]
        names = {c["Name"]: c["IPv4Address"] for c in info["Containers"].values()}
        assert names == {"cli_web": "10.96.0.10/24", "cli_hub": "10.96.0.20/24"}
        ps = ok(daemon.cli("ps", "--format", "{{.Names}} {{.Networks}}")).split("\n")
        assert "cli_hub bridge,cli_net" in ps or "cli_hub cli_net,bridge" in ps
        assert ok(daemon.cli("run", "--rm", "busybox:local", "echo", "hi")) == "hi\n"
        r = daemon.cli("run", "--rm", "busybox:local", "sh", "-c", "exit 3")
        assert r.returncode == 3
        ok(daemon.cli("network", "disconnect", "cli_net", "cli_hub"))
        assert "eth1" not in ok(daemon.cli("exec", "cli_hub", "ip", "link"))
        r = daemon.cli("network", "rm", "cli_net")
        assert r.returncode == 1 and "has active endpoints" in r.stderr
    finally:
        daemon.cli("rm", "-f", "cli_web", "cli_hub")
        daemon.cli("network", "rm", "cli_net")


def test_cli_errors_and_missing_daemon(daemon, tmp_path):
    r = daemon.cli("network", "rm", "nosuchnet")
    assert r.returncode == 1
    assert r.stderr.startswith("Error response from daemon: network nosuchnet not found")
    r = daemon.cli("run", "--network", "none", "--network-alias", "x", "busybox:local", "true")
    assert r.returncode == 125
    env = {**os.environ, "TETHER_HOST": f"unix://{tmp_path}/nobody.sock"}
    r = subprocess.run([os.path.join(os.path.dirname(sys.executable), "tether"), "network",
                        "ls"], env=env, capture_output=True, text=True)
    assert r.returncode != 0
    assert "nobody.sock" in r.stderr and "tetherd" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
