"""The live topology page (`tetherd --ui`), in headless Chromium, on a compose-shaped project.

The page is opened first; then a container starts; the page must show it (DOM) and draw it
(screenshot pixels inside its node have the "changed in the last 10 s" colour).
"""

import json
import socket
import urllib.request

import pytest

from .support.browser import Browser
from .support.png import decode
from .support.project import Project

pytestmark = pytest.mark.integration

RECENT = (0xBB, 0xF7, 0xD0)  # the page's fill for a container that just changed


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def ui_port():
    return free_port()


@pytest.fixture(scope="module")
def daemon(daemon_factory, ui_port):
    """This module's daemon serves the page as well."""
    return daemon_factory.start("uid", extra_args=("--ui", f"127.0.0.1:{ui_port}"))


@pytest.fixture(scope="module")
def project(daemon, busybox_image):
    p = Project("ui", daemon).up(web_port=8096)
    yield p
    p.down()


def get(url: str) -> tuple[int, str, bytes]:
    with urllib.request.urlopen(url, timeout=10) as r:
        return r.status, r.headers["Content-Type"], r.read()


def test_page_topology_and_svg_are_served(ui_port, project):
    base = f"http://127.0.0.1:{ui_port}"
    status, kind, body = get(base + "/")
    assert status == 200 and kind.startswith("text/html") and b"EventSource" in body
    status, kind, body = get(base + "/topology.json")
    names = {c["name"] for c in json.loads(body)["containers"]}
    assert names >= {project.ctr(s) for s in ("web", "api", "db")}
    status, kind, body = get(base + "/graph.svg")
    assert kind == "image/svg+xml" and b"ui_back" in body


async def test_a_container_started_after_the_page_loaded_is_drawn(daemon, ui_port, project,
                                                                  tmp_path):
    browser = Browser(tmp_path / "profile")
    try:
        await browser.open(f"http://127.0.0.1:{ui_port}/")
        await browser.wait_for("document.getElementById('status').className === 'live'")
        await browser.wait_for("Number(document.body.dataset.renders) >= 1")
        assert project.ctr("api") in await browser.evaluate("document.body.dataset.containers")
        before = decode(await browser.screenshot())
        assert RECENT not in before.colours(0, 0, before.width - 340, before.height)
        cid = project.run("late", "front")  # started while the page is open
        rect = json.loads(await browser.wait_for(
            f"(() => {{ const n = document.querySelector('g.node.recent[data-container=\"{cid}\"]');"
            " return n && JSON.stringify(n.getBoundingClientRect()); })()"))
        text = await browser.evaluate("document.getElementById('graph').textContent")
        assert project.ctr("late") in text
        log = await browser.evaluate("document.getElementById('events').textContent")
        assert "start" in log and project.ctr("late") in log
        png = await browser.screenshot()
        (tmp_path / "page.png").write_bytes(png)  # kept by pytest, for a look when it fails
        shot = decode(png)
        assert (shot.width, shot.height) == (1280, 800)
        inside = shot.colours(int(rect["left"]), int(rect["top"]), int(rect["right"]),
                              int(rect["bottom"]))
        assert inside.get(RECENT, 0) > 0.3 * sum(inside.values()), inside
        assert len(shot.colours(0, 0, shot.width, shot.height)) > 50  # not blank
    finally:
        await browser.close()
        daemon.docker("rm", "-f", project.ctr("late"))
