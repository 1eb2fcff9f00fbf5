"""The daemons integration tests talk to: started, cleaned, checked for leftovers, stopped.

A test gets a real `tetherd` (tools/tetherlab.py) on a temporary socket. At the end of its
scope the harness removes every container and user network through the API, as a user would,
and then fails the scope if the daemon left processes, mounts or tagged links behind; after
stopping it, it wipes whatever remains so the next daemon starts in a clean namespace.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote

import pytest

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "tools"))

import make_busybox_image  # noqa: E402
import tetherlab  # noqa: E402

from . import kernelstate  # noqa: E402

PREDEFINED_NETWORKS = {"bridge", "host", "none"}
DOCKER_CLI = "/usr/local/bin/docker"
SETTLE_SECONDS = 5.0
IMAGE_CMD = 'CMD ["sh"]'


class TestDaemon(tetherlab.Daemon):
    """tetherlab.Daemon plus the docker CLI, which a test skips without."""

    __test__ = False  # not a test class, whatever pytest thinks of the name

    def docker(self, *args: str, check: bool = False, timeout: float = 120.0,
               input: str | None = None) -> subprocess.CompletedProcess:
        """Run the unmodified docker CLI against this daemon; skip the test if it is absent."""
        cli = DOCKER_CLI if os.path.exists(DOCKER_CLI) else shutil.which("docker")
        if cli is None:
            pytest.skip(f"the docker CLI is not installed ({DOCKER_CLI})")
        return self.run([cli, *args], check, timeout, input)


def remove_everything(d: tetherlab.Daemon) -> list[str]:
    """Force-remove all containers and user networks through the API; return what failed."""
    errors = []
    listed = d.api("GET", "/containers/json?all=1")
    if listed.status != 200:
        return [f"GET /containers/json answered {listed.status}"]
    for c in listed.json():
        r = d.api("DELETE", f"/containers/{c['Id']}?force=1")
        if r.status not in (204, 404):
            errors.append(f"removing container {c['Id'][:12]}: {r.status} {r.body[:200]!r}")
    listed = d.api("GET", "/networks")
    if listed.status != 200:
        return errors + [f"GET /networks answered {listed.status}"]
    for n in listed.json():
        if n["Name"] not in PREDEFINED_NETWORKS:
            r = d.api("DELETE", f"/networks/{n['Id']}")
            if r.status not in (204, 404):
                errors.append(f"removing network {n['Name']}: {r.status} {r.body[:200]!r}")
    return errors


class DaemonFactory:
    """Starts daemons under one directory and finishes each: cleanup, leak check, stop."""

    def __init__(self, root: Path):
        self.root = root
        self.live: list[TestDaemon] = []
        self._baselines: dict[int, kernelstate.Snapshot] = {}

    def start(self, name: str = "tetherd", netns: str | None = None,
              extra_args: tuple[str, ...] = ()) -> TestDaemon:
        """Start a daemon in its own directory (and netns file, for multi-host tests)."""
        d = TestDaemon(self.root / f"{name}-{len(self._baselines)}", netns=netns,
                       extra_args=extra_args)
        d.start()
        self.live.append(d)
        self._baselines[id(d)] = self._snapshot(d)
        return d

    def _snapshot(self, d: TestDaemon, monitor: bool = False) -> kernelstate.Snapshot:
        """With `monitor`, the container monitors of this and every live daemon count as
        parts of them."""
        exclude = {1, os.getpid()} | ({d.proc.pid} if d.proc else set())
        if monitor:
            for daemon in (d, *self.live):
                exclude |= kernelstate.monitors(daemon.exec_root)
        return kernelstate.snapshot(d.prefix(), d.root, exclude)

    def _leftovers(self, d: TestDaemon) -> list[str]:
        """What is new since the daemon became ready; waits a little for it to settle."""
        deadline = time.monotonic() + SETTLE_SECONDS
        while True:
            found = self._snapshot(d, monitor=True).added_since(self._baselines[id(d)])
            if not found or time.monotonic() > deadline:
                return found
            time.sleep(0.2)

    def _monitor_gone(self, d: TestDaemon) -> bool:
        deadline = time.monotonic() + SETTLE_SECONDS
        while kernelstate.monitors(d.exec_root):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.05)
        return True

    def finish(self, d: TestDaemon) -> list[str]:
        """Remove everything through the API, check for leftovers, stop and wipe the daemon."""
        self.live.remove(d)
        alone = not any(o.netns == d.netns for o in self.live)
        if not d.alive():
            problems = [f"tetherd died during the tests with status {d.proc.returncode}"]
        else:
            try:
                problems = remove_everything(d)
            except (OSError, ValueError) as e:  # a hung, dead or garbled API: still stop and wipe the daemon
                problems = [f"removing everything through the API failed: {e!r}"]
            if alone and not problems:
                problems += [f"left after removing everything: {x}" for x in self._leftovers(d)]
        try:
            rc = d.stop()
        except tetherlab.DaemonError as e:  # it ignored SIGTERM and was killed
            rc, problems = None, problems + [str(e).splitlines()[0]]
        if rc not in (0, None) and not problems:
            problems.append(f"tetherd exited with status {rc} on SIGTERM")
        if alone and not problems and not self._monitor_gone(d):
            problems.append("the container monitor stayed after the daemon stopped with no "
                            f"container: {sorted(kernelstate.monitors(d.exec_root))}")
        if alone:
            left = self._snapshot(d)
            kernelstate.clean(d.prefix(), d.root, left.orphans - self._baselines[id(d)].orphans)
        if problems:
            problems.append(f"--- tetherd log ({d.log_path}) ---\n{d.log_tail(40)}")
        return problems

    def finish_all(self) -> list[str]:
        problems = []
        for d in reversed(list(self.live)):
            problems += self.finish(d)
        return problems


def import_busybox(d: tetherlab.Daemon, tarball: Path, ref: str = "busybox:local") -> str:
    """Import the rootfs tarball as `docker import` does: POST /images/create?fromSrc=-."""
    query = f"fromSrc=-&repo={quote(ref)}&changes={quote(IMAGE_CMD)}"
    r = tetherlab.unix_request(d.socket, "POST", f"/images/create?{query}", tarball.read_bytes(),
                               {"Content-Type": "application/x-tar"}, timeout=120)
    if r.status != 200 or b'"error' in r.body:
        raise tetherlab.DaemonError(f"importing {ref} failed: {r.status} {r.body[:300]!r}")
    return ref


def build_busybox(directory: Path) -> Path:
    return make_busybox_image.build(directory / "busybox.tar", make_busybox_image.find_busybox())
