"""`tether compose` and docker-compose 1.29.2 against a real tetherd, with probes between
services: names, aliases, links, static addresses, recreation, external networks."""

from __future__ import annotations

import json
import re
import shutil
import textwrap
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

DOCKER_COMPOSE = "/usr/bin/docker-compose"
HTTPD = "httpd -f -p 80 -h /var/www"

DEMO = textwrap.dedent(f"""\
    services:
      proxy:
        image: busybox:local
        stop_grace_period: 0s
        command: {HTTPD}
        networks: [front]
        ports: ["8088:80"]
      app:
        image: busybox:local
        stop_grace_period: 0s
        command: sh -c "echo app says hello; exec {HTTPD}"
        hostname: appbox
        links: ["db:database"]
        networks:
          front:
            ipv4_address: 172.16.238.10
            ipv6_address: "2001:db8:3989::10"
            aliases: [api]
          back:
            mac_address: "02:42:0a:4d:00:99"
            priority: 10
      db:
        image: busybox:local
        stop_grace_period: 0s
        command: {HTTPD}
        environment:
          REVISION: "${{REVISION:-1}}"
        networks: [back]
      web:
        image: busybox:local
        stop_grace_period: 0s
        command: {HTTPD}
    networks:
      front:
        enable_ipv6: true
        ipam:
          config:
            - subnet: 172.16.238.0/24
              gateway: 172.16.238.1
            - subnet: "2001:db8:3989::/64"
        labels: {{tier: front}}
      back:
        internal: true
        ipam:
          config:
            - subnet: 10.77.0.0/24
              ip_range: 10.77.0.128/25
              aux_addresses: {{router: 10.77.0.130}}
      default:
        driver: bridge
        driver_opts:
          com.docker.network.driver.mtu: "1450"
    """)


def ok(r) -> str:
    assert r.returncode == 0, (r.args, r.stdout, r.stderr)
    return r.stdout


@pytest.fixture
def demo_file(tmp_path) -> Path:
    path = tmp_path / "docker-compose.yml"
    path.write_text(DEMO)
    return path


def compose(daemon, path: Path, *args: str, project: str = "tdemo", env: dict | None = None):
    if env:
        from subprocess import run

        from tetherlab import VENV_BIN

        return run([str(VENV_BIN / "tether"), "compose", "-f", str(path), "-p", project, *args],
                   env={**daemon.env, **env}, capture_output=True, text=True, timeout=180)
    return daemon.cli("compose", "-f", str(path), "-p", project, *args, timeout=180)


def sh(daemon, container: str, script: str) -> tuple[int, str]:
    r = daemon.cli("exec", container, "sh", "-c", script)
    return r.returncode, r.stdout + r.stderr


def reaches(daemon, src: str, name: str) -> bool:
    code, _ = sh(daemon, src, f"timeout 3 wget -qO- http://{name}/ >/dev/null")
    return code == 0


def inspect(daemon, name: str) -> dict:
    return json.loads(ok(daemon.cli("inspect", name)))[0]


def test_tether_compose_up_probe_recreate_down(daemon, busybox_image, demo_file):
    out = ok(compose(daemon, demo_file, "up", "-d"))
    assert out.splitlines()[:3] == [
        'Creating network "tdemo_front" with the default driver',
        'Creating network "tdemo_back" with the default driver',
        'Creating network "tdemo_default" with driver "bridge"']
    assert "Creating tdemo_app_1   ... done" in out
    try:
        _probe_demo(daemon)
        _check_labels(daemon)
        assert ok(compose(daemon, demo_file, "up", "-d")).splitlines() == [
            f"tdemo_{s}_1 is up-to-date" for s in ("proxy", "db", "app", "web")]
        _recreate(daemon, demo_file)
        ps = ok(compose(daemon, demo_file, "ps")).splitlines()
        assert ps[0].split() == ["Name", "Command", "State", "Ports"]
        assert any(line.startswith("tdemo_proxy_1") and "0.0.0.0:8088->80/tcp" in line
                   for line in ps)
        assert "tdemo_app_1 | app says hello" in ok(compose(daemon, demo_file, "logs", "app"))
        stop = ok(compose(daemon, demo_file, "stop", "web"))
        assert "Stopping tdemo_web_1 ... done" in stop
        assert re.search(r"Starting tdemo_web_1 +\.\.\. done",
                         ok(compose(daemon, demo_file, "up", "-d")))
    finally:
        down = ok(compose(daemon, demo_file, "down"))
    assert down.splitlines()[-3:] == ["Removing network tdemo_front",
                                      "Removing network tdemo_back",
                                      "Removing network tdemo_default"]
    assert "tdemo" not in ok(daemon.cli("network", "ls")) + ok(daemon.cli("ps", "-a"))


def _probe_demo(daemon) -> None:
    """Who reaches whom, as in compose-transcripts.md section 2 (plus an alias)."""
    assert reaches(daemon, "tdemo_app_1", "database") and reaches(daemon, "tdemo_app_1", "db")
    assert reaches(daemon, "tdemo_app_1", "tdemo_db_1")
    assert reaches(daemon, "tdemo_proxy_1", "api") and reaches(daemon, "tdemo_proxy_1", "app")
    assert reaches(daemon, "tdemo_db_1", "app")
    assert not reaches(daemon, "tdemo_proxy_1", "db")  # not on a shared network
    code, text = sh(daemon, "tdemo_web_1", "nslookup db")
    assert code != 0 and "NXDOMAIN" in text
    code, text = sh(daemon, "tdemo_proxy_1", "nslookup api")
    assert "172.16.238.10" in text
    _, addrs = sh(daemon, "tdemo_app_1", "ip addr; hostname")
    assert "172.16.238.10/24" in addrs and "2001:db8:3989::10/64" in addrs and "appbox" in addrs
    _, link = sh(daemon, "tdemo_web_1", "ip link show eth0")
    assert "mtu 1450" in link
    assert reaches(daemon, "tdemo_proxy_1", "172.16.238.10")
    # the published port, from the daemon's own namespace (the test runs in it)
    with urllib.request.urlopen("http://127.0.0.1:8088/", timeout=5) as resp:
        assert resp.status == 200


def _check_labels(daemon) -> None:
    app = inspect(daemon, "tdemo_app_1")
    labels = app["Config"]["Labels"]
    assert labels["com.docker.compose.project"] == "tdemo"
    assert labels["com.docker.compose.service"] == "app"
    assert labels["com.docker.compose.container-number"] == "1"
    assert len(labels["com.docker.compose.config-hash"]) == 64
    assert app["HostConfig"]["NetworkMode"] == "tdemo_back"  # priority 10
    back = app["NetworkSettings"]["Networks"]["tdemo_back"]
    assert back["MacAddress"] == "02:42:0a:4d:00:99"
    assert back["IPAddress"].startswith("10.77.0.1") and back["IPAddress"] != "10.77.0.130"
    assert int(back["IPAddress"].rsplit(".", 1)[1]) > 128  # inside ip_range
    nets = app["NetworkSettings"]["Networks"]
    assert "app" in nets["tdemo_front"]["Aliases"] and "api" in nets["tdemo_front"]["Aliases"]
    assert nets["tdemo_front"]["IPAMConfig"]["IPv4Address"] == "172.16.238.10"
    net = json.loads(ok(daemon.cli("network", "inspect", "tdemo_front")))[0]
    assert net["Labels"] == {"tier": "front", "com.docker.compose.project": "tdemo",
                             "com.docker.compose.network": "front",
                             "com.docker.compose.version": "1.29.2"}
    assert net["EnableIPv6"] and net["Attachable"]
    assert json.loads(ok(daemon.cli("network", "inspect", "tdemo_back")))[0]["Internal"]


def _recreate(daemon, demo_file: Path) -> None:
    """A changed service is recreated under its name; the service linking to it too."""
    before = inspect(daemon, "tdemo_db_1")["Id"]
    out = ok(compose(daemon, demo_file, "up", "-d", env={"REVISION": "2"}))
    assert "Recreating tdemo_db_1" in out and "Recreating tdemo_app_1" in out
    assert "tdemo_web_1 is up-to-date" in out
    after = inspect(daemon, "tdemo_db_1")
    assert after["Id"] != before and "REVISION=2" in after["Config"]["Env"]
    assert reaches(daemon, "tdemo_app_1", "db") and reaches(daemon, "tdemo_app_1", "database")
    out = ok(compose(daemon, demo_file, "up", "-d", "--force-recreate", "--no-deps", "web"))
    assert out.splitlines() == ["Recreating tdemo_web_1 ... ", "Recreating tdemo_web_1 ... done"]
    plan = ok(compose(daemon, demo_file, "up", "-d", "--dry-run"))
    assert "Recreating tdemo_db_1" in plan  # REVISION is back to 1 in this environment
    assert inspect(daemon, "tdemo_db_1")["Id"] == after["Id"]  # a dry run changes nothing


EXT = textwrap.dedent(f"""\
    services:
      alpha:
        image: busybox:local
        stop_grace_period: 0s
        command: {HTTPD}
      beta:
        image: busybox:local
        stop_grace_period: 0s
        command: {HTTPD}
        depends_on: [alpha]
    networks:
      default:
        external:
          name: tc-preexisting
    """)


def test_external_network_is_used_never_created_nor_removed(daemon, busybox_image, tmp_path):
    path = tmp_path / "compose.yml"
    path.write_text(EXT)
    r = compose(daemon, path, "up", "-d", project="ext")
    assert r.returncode == 1
    assert "Network tc-preexisting declared as external, but could not be found" in r.stderr
    ok(daemon.cli("network", "create", "tc-preexisting"))
    try:
        ok(compose(daemon, path, "up", "-d", project="ext"))
        assert reaches(daemon, "ext_beta_1", "alpha") and reaches(daemon, "ext_alpha_1", "beta")
        down = ok(compose(daemon, path, "down", project="ext"))
        assert down.splitlines()[-1] == "Network tc-preexisting is external, skipping"
        assert "tc-preexisting" in ok(daemon.cli("network", "ls"))
    finally:
        compose(daemon, path, "down", project="ext")
        daemon.cli("network", "rm", "tc-preexisting")


def test_file_errors_name_file_path_and_line(daemon, tmp_path):
    legacy = tmp_path / "legacy.yml"
    legacy.write_text("web:\n  image: busybox:local\n  links: [db]\ndb:\n  image: busybox:local\n")
    r = compose(daemon, legacy, "up", "-d")
    assert r.returncode == 1 and "legacy.yml: web, line 1" in r.stderr
    assert "version 1" in r.stderr and "no networking" in r.stderr
    seed_links = tmp_path / "seed.yml"
    seed_links.write_text("version: '2'\nservices:\n    web:\n        build: . \n")
    r = compose(daemon, seed_links, "config")
    assert r.returncode == 1 and "services.web.build, line 4" in r.stderr


def test_seed_links_example_with_an_image_instead_of_build(daemon, busybox_image, tmp_path):
    """The seed's links example, `build: .` replaced by an image (and a command to serve)."""
    path = tmp_path / "docker-compose.yml"
    path.write_text(textwrap.dedent(f"""\
        version: '2'
        services:
            web:
                image: busybox:local
                stop_grace_period: 0s
                command: {HTTPD}
                links:
                    - "db:database"
            db:
                image: busybox:local
                stop_grace_period: 0s
                command: {HTTPD}
        """))
    try:
        out = ok(compose(daemon, path, "up", "--no-start", project="seed"))
        assert "Creating seed_db_1  ... done" in out
        assert " Created" in ok(daemon.cli("ps", "-a", "--filter", "name=seed_db_1",
                                           "--format", " {{.Status}}"))
        assert "Starting seed_db_1" in ok(compose(daemon, path, "up", "-d", project="seed"))
        assert reaches(daemon, "seed_web_1", "database") and reaches(daemon, "seed_web_1", "db")
        assert reaches(daemon, "seed_db_1", "web")
    finally:
        ok(compose(daemon, path, "down", project="seed"))


DC_FILE = textwrap.dedent(f"""\
    version: "2.4"
    services:
      front:
        image: busybox:local
        stop_grace_period: 0s
        command: {HTTPD}
        networks:
          edge:
            aliases: [www]
      api:
        image: busybox:local
        stop_grace_period: 0s
        command: {HTTPD}
        links: ["store:datastore"]
        networks:
          edge:
            ipv4_address: 10.123.0.10
          inner:
            aliases: [backend]
      store:
        image: busybox:local
        stop_grace_period: 0s
        command: {HTTPD}
        networks:
          inner:
            ipv4_address: 10.124.0.20
          shared: {{}}
    networks:
      edge:
        ipam:
          config: [{{subnet: 10.123.0.0/24}}]
      inner:
        ipam:
          config: [{{subnet: 10.124.0.0/24, gateway: 10.124.0.254}}]
      shared:
        external: true
        name: tc-shared
    """)


def test_docker_compose_1292_drives_tetherd(daemon, busybox_image, tmp_path):
    if not shutil.which(DOCKER_COMPOSE):
        pytest.skip(f"{DOCKER_COMPOSE} is not installed (Debian package docker-compose, "
                    f"`make install` puts it there)")
    path = tmp_path / "docker-compose.yml"
    path.write_text(DC_FILE)
    dc = lambda *a: daemon.run([DOCKER_COMPOSE, "-f", str(path), "-p", "dc", *a], timeout=180)
    ok(daemon.cli("network", "create", "tc-shared"))
    try:
        first = dc("up", "-d")
        assert first.returncode == 0, first.stderr
        assert 'Creating network "dc_edge" with the default driver' in first.stderr
        _probe_dc(daemon)
        assert "dc_api_1" in ok(dc("ps")) and " Up " in ok(dc("ps"))
        # tether compose recognises docker-compose's project: same hash, nothing to do
        assert ok(compose(daemon, path, "up", "-d", project="dc")).splitlines() == [
            f"dc_{s}_1 is up-to-date" for s in ("front", "store", "api")]
        ok(compose(daemon, path, "up", "-d", "--force-recreate", "--no-deps", "store",
                   project="dc"))
        second = dc("up", "-d")  # and docker-compose recognises tether's container
        assert "dc_store_1 is up-to-date" in second.stderr, second.stderr
        assert reaches(daemon, "dc_api_1", "datastore")
        _tether_project_for_docker_compose(daemon, path, dc)
        down = dc("down")
        assert down.returncode == 0, down.stderr
        assert "Network tc-shared is external, skipping" in down.stderr
        nets = ok(daemon.cli("network", "ls"))
        assert "tc-shared" in nets and "dc_edge" not in nets and "dc_inner" not in nets
        assert "dc_" not in ok(daemon.cli("ps", "-a"))
    finally:
        dc("down")
        daemon.cli("network", "rm", "tc-shared")


def _tether_project_for_docker_compose(daemon, path: Path, dc) -> None:
    """A project `tether compose` made (networks included) is docker-compose's too."""
    ok(compose(daemon, path, "down", project="dc"))
    assert "dc_" not in ok(daemon.cli("ps", "-a"))
    ok(compose(daemon, path, "up", "-d", project="dc"))
    again = dc("up", "-d")
    assert again.returncode == 0, again.stderr
    assert all(f"dc_{s}_1 is up-to-date" in again.stderr for s in ("front", "store", "api"))
    assert "dc_api_1" in ok(dc("ps"))


def _probe_dc(daemon) -> None:
    assert reaches(daemon, "dc_front_1", "api") and reaches(daemon, "dc_front_1", "10.123.0.10")
    assert reaches(daemon, "dc_api_1", "www") and reaches(daemon, "dc_api_1", "datastore")
    assert reaches(daemon, "dc_store_1", "backend")
    assert not reaches(daemon, "dc_front_1", "store")
    _, addrs = sh(daemon, "dc_store_1", "ip -4 addr")
    assert "10.124.0.20/24" in addrs
    code, _ = daemon.cli("run", "--rm", "--network", "tc-shared", "busybox:local", "timeout", "3",
                         "wget", "-qO-", "http://store/").returncode, None
    assert code == 0
