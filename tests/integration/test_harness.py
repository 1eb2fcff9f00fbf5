"""The harness itself: the session's namespaces are private, and the daemon fixture works."""

import os
import subprocess

import pytest

from .support.harness import tetherlab

pytestmark = pytest.mark.integration


def test_session_netns_is_private_and_has_only_lo():
    host = os.environ["TETHER_HOST_NETNS"]
    assert str(os.stat("/proc/self/ns/net").st_ino) != host
    out = subprocess.run(["ip", "-o", "link", "show"], capture_output=True, text=True, check=True)
    names = {line.split(": ")[1].split("@")[0] for line in out.stdout.splitlines()}
    assert "lo" in names
    assert not {n for n in names if not n.startswith(("lo", "t"))}, names
    # /sys was remounted for this netns: it shows no interface of the host either.
    assert set(os.listdir("/sys/class/net")) == names


def test_session_is_pid_1_child_with_private_run():
    assert os.getppid() == 1  # nsrun is the init of the session's PID namespace
    assert os.path.ismount("/run")
    assert os.environ["TMPDIR"].startswith("/run/")


def test_loopback_is_up():
    out = subprocess.run(["ip", "-o", "link", "show", "lo"], capture_output=True, text=True)
    assert "UP" in out.stdout.split("<")[1].split(">")[0].split(",")


def test_daemon_answers_ping_and_survives_restart(daemon):
    r = tetherlab.unix_request(daemon.socket, "HEAD", "/_ping")
    assert r.status == 200
    assert daemon.env["DOCKER_HOST"] == daemon.url == "unix://" + daemon.socket
    daemon.restart()
    assert daemon.ping()


def test_busybox_image_is_imported(daemon, busybox_image):
    assert busybox_image == "busybox:local"
    r = daemon.api("GET", "/images/busybox:local/json")
    assert r.status == 200, r.body
