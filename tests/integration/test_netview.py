"""`tether network graph` and `tether network why [--probe]` on a compose-shaped project."""

import html
import json

import pytest

from .support.project import Project

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def project(daemon, busybox_image):
    p = Project("nv", daemon).up(web_port=8095)
    p.docker("network", "create", "--label", "com.docker.compose.project=nv", "nv_other")
    p.docker("run", "-d", "--name", "nv-lone-1", *p.labels("lone"), "--network", "nv_other",
             "busybox:local", "httpd", "-f", "-p", "80")
    yield p
    daemon.docker("rm", "-f", "nv-lone-1")
    p.down()
    daemon.docker("network", "rm", "nv_other")


def test_graph_json_has_networks_containers_hub_and_ports(daemon, project):
    r = daemon.cli("network", "graph", "--format", "json", "nv_front", "nv_back")
    assert r.returncode == 0, r.stderr
    topo = json.loads(r.stdout)
    nets = {n["name"]: n for n in topo["networks"]}
    assert set(nets) == {"nv_front", "nv_back"} and nets["nv_back"]["internal"]
    assert all(n["subnets"] and n["driver"] == "bridge" for n in nets.values())
    ctrs = {c["name"]: c for c in topo["containers"]}
    assert set(ctrs) == {"nv-web-1", "nv-api-1", "nv-db-1"}
    assert len(ctrs["nv-api-1"]["endpoints"]) == 2
    assert all(e["ipv4"] and "api" in e["aliases"] for e in ctrs["nv-api-1"]["endpoints"])
    assert ctrs["nv-web-1"]["ports"] == [{"container_port": 80, "proto": "tcp",
                                          "host_ip": "0.0.0.0", "host_port": 8095}]
    assert all(c["host"] for c in ctrs.values())


def test_graph_svg_and_png_are_laid_out_by_graphviz(daemon, project, tmp_path):
    r = daemon.cli("network", "graph", "--format", "svg")
    assert r.returncode == 0, r.stderr
    svg = html.unescape(r.stdout)  # graphviz writes "-" as &#45;
    assert svg.lstrip().startswith("<?xml") and "<svg" in svg
    for text in ("nv_front", "nv_back", "nv-api-1", "hub", "0.0.0.0:8095 -> 80/tcp"):
        assert text in svg, text
    out = tmp_path / "t.png"
    r = daemon.cli("network", "graph", "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and out.stat().st_size > 5000
    missing = daemon.cli("network", "graph", "nosuchnet")
    assert missing.returncode == 1 and "nosuchnet" in missing.stderr


@pytest.mark.parametrize("a, b, port, rc, reason", [
    ("nv-web-1", "nv-api-1", "80/tcp", 0, "shared-network"),
    ("nv-api-1", "nv-db-1", None, 0, "shared-network"),
    ("nv-web-1", "nv-db-1", None, 1, "no-common-network"),
    ("nv-web-1", "nv-db-1", "80", 1, "port-not-published"),
    ("nv-lone-1", "nv-web-1", "80/tcp", 0, "published-port"),
    ("nv-db-1", "nv-web-1", "80/tcp", 1, "internal"),
])
def test_why_explains_and_the_probe_agrees(daemon, project, a, b, port, rc, reason):
    args = ["network", "why", "--probe", "--format", "json", a, b]
    if port:
        args[2:2] = ["--port", port]
    r = daemon.cli(*args, timeout=30)
    assert r.returncode == rc, (r.stdout, r.stderr)
    verdict = json.loads(r.stdout)
    assert verdict["reason"] == reason
    assert verdict["probe"]["agrees"] is True, verdict
    assert verdict["probe"]["reached"] is (rc == 0)


def test_why_text_and_errors(daemon, project):
    r = daemon.cli("network", "why", "nv-web-1", "nv-api-1")
    assert r.returncode == 0
    assert r.stdout.startswith("nv-web-1 -> nv-api-1: reachable (shared-network)\n")
    assert "share network nv_front" in r.stdout
    stopped = daemon.cli("network", "why", "nv-web-1", "nosuch")
    assert stopped.returncode == 1 and "No such container: nosuch" in stopped.stderr


def test_probe_endpoint_refuses_stopped_containers_and_bad_input(daemon, project):
    daemon.docker("create", "--name", "nv-idle-1", "busybox:local", "true")
    try:
        r = daemon.api("POST", "/tether/probe?from=nv-idle-1&address=172.18.0.2&port=80")
        assert r.status == 409
        bad = daemon.api("POST", f"/tether/probe?from={project.ctr('web')}&address=nope")
        assert bad.status == 400
        closed = daemon.api("POST", f"/tether/probe?from={project.ctr('web')}"
                                    "&address=127.0.0.1&port=9&proto=tcp")
        assert closed.status == 200 and closed.json() == {"reached": True, "detail": "refused"}
    finally:
        daemon.docker("rm", "-f", "nv-idle-1")


def test_why_on_macvlan(daemon, project):
    p = project
    p.docker("network", "create", "-d", "macvlan", "--subnet", "10.99.0.0/24", "nv_lan")
    try:
        for name in ("nv-ma-1", "nv-mb-1"):
            p.docker("run", "-d", "--name", name, "--network", "nv_lan", "busybox:local",
                     "httpd", "-f", "-p", "80")
        for a, b, port, rc, reason in (("nv-ma-1", "nv-mb-1", "80", 0, "shared-network"),
                                       ("nv-ma-1", "nv-web-1", "80", 1, "no-host-path"),
                                       ("nv-web-1", "nv-ma-1", None, 1, "no-common-network")):
            args = ["network", "why", "--probe", "--format", "json", a, b]
            if port:
                args[2:2] = ["--port", port]
            r = daemon.cli(*args, timeout=30)
            verdict = json.loads(r.stdout)
            assert (r.returncode, verdict["reason"]) == (rc, reason), r.stdout
            assert verdict["probe"]["agrees"] is True, verdict
    finally:
        daemon.docker("rm", "-f", "nv-ma-1", "nv-mb-1")
        daemon.docker("network", "rm", "nv_lan")
