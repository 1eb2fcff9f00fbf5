"""Events, graph and why on a project brought up by `tether compose` (several networks, a
hub), watched by docker-compose 1.29.2's own `events --json`, a real events client."""

from __future__ import annotations

import json
import queue
import shutil
import subprocess
import textwrap
import threading

import pytest

pytestmark = pytest.mark.integration

PROJECT = "nvc"
FILE = textwrap.dedent("""\
    services:
      web:
        image: busybox:local
        stop_grace_period: 0s
        command: httpd -f -p 80
        networks: [front]
        ports: ["8099:80"]
      api:
        image: busybox:local
        stop_grace_period: 0s
        command: httpd -f -p 80
        networks: [front, back]
      db:
        image: busybox:local
        stop_grace_period: 0s
        command: httpd -f -p 80
        networks: [back]
    networks:
      front: {}
      back:
        internal: true
    """)


@pytest.fixture(scope="module")
def up(daemon, busybox_image, tmp_path_factory):
    path = tmp_path_factory.mktemp("nvc") / "docker-compose.yml"
    path.write_text(FILE)
    r = daemon.cli("compose", "-f", str(path), "-p", PROJECT, "up", "-d", timeout=180)
    assert r.returncode == 0, r.stderr
    yield path
    daemon.cli("compose", "-f", str(path), "-p", PROJECT, "down", timeout=180)


def name(service: str) -> str:
    return f"{PROJECT}_{service}_1"


def test_graph_of_the_compose_project(daemon, up):
    r = daemon.cli("network", "graph", "--format", "json", f"{PROJECT}_front",
                   f"{PROJECT}_back")
    assert r.returncode == 0, r.stderr
    topo = json.loads(r.stdout)
    ctrs = {c["name"]: c for c in topo["containers"]}
    assert set(ctrs) == {name(s) for s in ("web", "api", "db")}
    assert len(ctrs[name("api")]["endpoints"]) == 2  # the hub
    assert ctrs[name("web")]["ports"][0]["host_port"] == 8099
    assert all(c["labels"]["com.docker.compose.project"] == PROJECT for c in ctrs.values())
    svg = daemon.cli("network", "graph", "--format", "svg")
    assert svg.returncode == 0 and name("api") in svg.stdout


def test_why_on_the_compose_project(daemon, up):
    for a, b, rc, reason in ((name("api"), name("db"), 0, "shared-network"),
                             (name("web"), name("db"), 1, "no-common-network")):
        r = daemon.cli("network", "why", "--probe", "--format", "json", a, b, timeout=30)
        verdict = json.loads(r.stdout)
        assert (r.returncode, verdict["reason"], verdict["probe"]["agrees"]) == (
            rc, reason, True), r.stdout


def test_docker_compose_events_sees_a_restart(daemon, up):
    if not shutil.which("docker-compose"):
        pytest.skip("docker-compose is not installed")
    proc = subprocess.Popen(["docker-compose", "-f", str(up), "-p", PROJECT, "events", "--json"],
                            env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    lines: queue.Queue = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    try:
        subscribed = False
        for _ in range(40):  # docker-compose subscribes once it has read the project
            daemon.cli("exec", name("db"), "true")
            try:
                subscribed = json.loads(lines.get(timeout=0.5))["service"] == "db"
                break
            except queue.Empty:
                continue
        assert subscribed, proc.stderr.read() if proc.poll() is not None else "no events"
        r = daemon.cli("compose", "-f", str(up), "-p", PROJECT, "restart", "db", timeout=60)
        assert r.returncode == 0, r.stderr
        seen = []
        while ("db", "start") not in seen:
            event = json.loads(lines.get(timeout=20))
            seen.append((event["service"], event["action"]))
        assert ("db", "die") in seen and seen.index(("db", "die")) < seen.index(("db", "start"))
    finally:
        proc.kill()
        proc.wait()
