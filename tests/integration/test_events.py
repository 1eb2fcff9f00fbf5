"""`GET /events` through the unmodified docker CLI and docker-py, on a compose-shaped project."""

import json
import subprocess
import time

import pytest

from .support.project import Project

pytestmark = pytest.mark.integration


def read_json_lines(proc: subprocess.Popen, want, timeout: float = 20.0) -> list[dict]:
    """Lines from a `docker events --format '{{json .}}'` process until `want(lines)`."""
    lines: list[dict] = []
    deadline = time.monotonic() + timeout
    while not want(lines):
        assert time.monotonic() < deadline, f"timed out; got {lines}"
        line = proc.stdout.readline()
        assert line, f"docker events ended early: {proc.stderr.read()}"
        lines.append(json.loads(line))
    return lines


def docker_cli(daemon) -> str:
    r = daemon.docker("version", "--format", "{{.Client.Version}}")
    assert r.returncode == 0
    return "/usr/local/bin/docker"


def test_docker_cli_streams_live_events_of_a_project(daemon, busybox_image):
    proc = subprocess.Popen([docker_cli(daemon), "events", "--format", "{{json .}}"],
                            env=daemon.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    p = Project("evlive", daemon)
    try:
        time.sleep(0.3)  # the CLI connects before the first change
        p.up(web_port=8091)
        lines = read_json_lines(proc, lambda ls: any(
            e["Action"] == "start" and e["Actor"]["Attributes"]["name"] == p.ctr("web")
            for e in ls))
    finally:
        proc.kill()
        proc.wait()
        p.down()
    seen = [(e["Type"], e["Action"], e["Actor"]["Attributes"].get("name")) for e in lines]
    for expected in [("network", "create", p.net("front")), ("network", "create", p.net("back")),
                     ("container", "create", p.ctr("db")), ("network", "connect", p.net("back")),
                     ("container", "start", p.ctr("api")), ("container", "start", p.ctr("web"))]:
        assert expected in seen, (expected, seen)
    hub = [e for e in lines if e["Type"] == "network" and e["Action"] == "connect"
           and e["Actor"]["Attributes"]["name"] == p.net("back")]
    assert len(hub) == 2  # db at start, then the hub api by `network connect`
    start = next(e for e in lines if e["Action"] == "start")
    assert start["status"] == "start" and start["from"] == "busybox:local"
    assert start["scope"] == "local" and start["time"] == start["timeNano"] // 10**9
    assert start["Actor"]["Attributes"]["com.docker.compose.project"] == "evlive"


def test_docker_cli_replays_since_until_with_filters(daemon, busybox_image):
    t0 = time.time()
    p = Project("evpast", daemon).up(web_port=8092)
    daemon.docker("stop", "-t", "0", p.ctr("db"))
    p.down()
    t1 = time.time()
    r = daemon.docker("events", "--since", f"{t0:.6f}", "--until", f"{t1:.6f}",
                      "--filter", "type=container", "--filter", "container=" + p.ctr("db"),
                      "--format", "{{.Action}} {{.Actor.Attributes.exitCode}}", timeout=20)
    assert r.returncode == 0, r.stderr
    # -t 0: the stop signal, then SIGKILL at once, each reported as a kill
    assert r.stdout.split("\n")[:6] in (
        ["create <no value>", "start <no value>", "kill <no value>", "kill <no value>",
         "die 137", "stop <no value>"],
        ["create <no value>", "start <no value>", "kill <no value>", "die 143",
         "stop <no value>", "destroy <no value>"])
    r = daemon.docker("events", "--since", f"{t0:.6f}", "--until", f"{t1:.6f}",
                      "--filter", "network=" + p.net("back"), "--filter", "event=disconnect",
                      "--format", "{{.Type}} {{.Action}} {{.Actor.Attributes.name}}")
    assert r.returncode == 0, r.stderr
    assert set(r.stdout.splitlines()) == {f"network disconnect {p.net('back')}"}
    assert len(r.stdout.splitlines()) == 2  # db stopped, then the hub api removed
    bad = daemon.docker("events", "--since", f"{t1:.0f}", "--until", f"{t0 - 5:.0f}")
    assert bad.returncode != 0 and "cannot be after" in bad.stderr


def test_docker_py_decoded_events_live_and_replayed(daemon, docker_client, busybox_image):
    t0 = time.time()
    stream = docker_client.events(decode=True, filters={"type": "network", "event": "connect"})
    p = Project("evpy", daemon)
    try:
        p.up(web_port=8093)
        first = next(stream)
        assert first["Type"] == "network" and first["Action"] == "connect"
        assert first["Actor"]["Attributes"]["name"] == p.net("back")
        assert "status" not in first
        stream.close()
        past = list(docker_client.events(
            decode=True, since=t0, until=time.time(),
            filters={"label": "com.docker.compose.project=evpy", "event": "start"}))
    finally:
        p.down()
    assert sorted(e["Actor"]["Attributes"]["name"] for e in past) == sorted(
        p.ctr(s) for s in ("db", "api", "web"))
    assert all(e["Type"] == "container" for e in past)
    deadline = time.monotonic() + 5
    while docker_client.info()["NEventsListener"] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert docker_client.info()["NEventsListener"] == 0  # closed streams unsubscribed


def test_tether_events_prints_what_docker_events_prints(daemon, busybox_image):
    t0 = time.time()
    p = Project("evcli", daemon).up(web_port=8094)
    p.down()
    t1 = time.time()
    window = ("--since", f"{t0:.6f}", "--until", f"{t1:.6f}",
              "--filter", "label=com.docker.compose.project=evcli")
    mine, theirs = daemon.cli("events", *window), daemon.docker("events", *window)
    assert mine.returncode == theirs.returncode == 0, mine.stderr
    assert mine.stdout == theirs.stdout and len(mine.stdout.splitlines()) == 15
    fmt = ("--format", "{{json .}}")
    mine, theirs = daemon.cli("events", *window, *fmt), daemon.docker("events", *window, *fmt)
    assert [json.loads(x) for x in mine.stdout.splitlines()] == [
        json.loads(x) for x in theirs.stdout.splitlines()]
    recent = daemon.cli("events", "--since", "10m", "--until", "0s", "--filter",
                        "container=" + p.ctr("db"), "--format", "{{.Action}}")
    assert recent.returncode == 0, recent.stderr
    assert recent.stdout.split() == ["create", "start", "kill", "die", "destroy"]


def test_kill_signals_and_image_events(daemon, busybox_image, busybox_tarball):
    t0 = time.time()
    daemon.docker("run", "-d", "--name", "evsig", "busybox:local", "sleep", "600")
    daemon.docker("stop", "-t", "1", "evsig")  # sleep ignores SIGTERM as pid 1
    daemon.docker("rm", "evsig")
    image_id = daemon.docker("import", str(busybox_tarball), "evimg:1").stdout.strip()
    assert daemon.docker("rmi", "evimg:1").returncode == 0
    t1 = time.time()
    r = daemon.docker("events", "--since", f"{t0:.6f}", "--until", f"{t1:.6f}", "--format",
                      "{{.Type}} {{.Action}} {{.Actor.Attributes.signal}}")
    assert r.returncode == 0, r.stderr
    lines = [x.replace(" <no value>", "") for x in r.stdout.splitlines()]
    assert lines[lines.index("container kill 15"):][:4] == [
        "container kill 15", "container kill 9", "container die", "network disconnect"]
    images = [x for x in lines if x.startswith("image")]
    assert images == ["image import", "image tag", "image untag", "image delete"]
    r = daemon.docker("events", "--since", f"{t0:.6f}", "--until", f"{t1:.6f}", "--filter",
                      "type=image", "--format", "{{json .}}")
    tag = [json.loads(x) for x in r.stdout.splitlines()][1]
    assert tag["status"] == "tag" and tag["id"] == image_id and "from" not in tag
    assert tag["Actor"]["Attributes"]["name"] == "evimg:1"
