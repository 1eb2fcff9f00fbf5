"""With overlay: the topology says which host each container runs on, and `why --probe`
crosses hosts (two simulated hosts, etcd, real VXLAN)."""

from __future__ import annotations

import json

import pytest

from .support.cluster import running_cluster, wait_for

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def cluster(daemon_factory, tmp_path_factory, busybox_tarball):
    yield from running_cluster("nvcluster", daemon_factory, tmp_path_factory, busybox_tarball,
                               n_hosts=2)


def test_graph_and_why_across_hosts(cluster):
    h1, h2 = cluster.hosts
    assert h1.docker("network", "create", "-d", "overlay", "--attachable", "mesh").returncode == 0
    wait_for(lambda: h2.api("GET", "/networks/mesh").status == 200, what="mesh on host 2")
    for i, d in enumerate((h1, h2), 1):
        r = d.docker("run", "-d", "--name", f"m{i}", "--network", "mesh", "busybox:local",
                     "httpd", "-f", "-p", "80")
        assert r.returncode == 0, r.stderr

    def seen() -> dict:
        topo = json.loads(h1.cli("network", "graph", "--format", "json", "mesh").stdout)
        return {c["name"]: c for c in topo["containers"]}
    wait_for(lambda: {"m1", "m2"} <= set(seen()), what="m2 in host 1's topology")
    ctrs = seen()
    assert ctrs["m1"]["host"] != ctrs["m2"]["host"]
    assert "10.77.0." in ctrs["m2"]["host"] and ctrs["m2"]["endpoints"][0]["ipv4"]
    dot = h1.cli("network", "graph", "--format", "dot", "mesh").stdout
    assert dot.count("subgraph \"cluster_host") == 2
    r = h1.cli("network", "why", "--probe", "--port", "80/tcp", "--format", "json", "m1", "m2",
               timeout=30)
    verdict = json.loads(r.stdout)
    assert r.returncode == 0 and verdict["reason"] == "shared-network", r.stdout
    assert verdict["probe"]["reached"] is True and verdict["probe"]["agrees"] is True
    for i, d in enumerate((h1, h2), 1):
        d.docker("rm", "-f", f"m{i}")
    assert h1.docker("network", "rm", "mesh").returncode == 0
