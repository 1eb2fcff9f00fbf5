"""Fixtures of the integration tests: a real tetherd, clients bound to it, the busybox image.

    daemon          module scope: a TestDaemon (support/harness.py) already answering /_ping:
                    .socket (str), .url ("unix://..."), .env (TETHER_HOST and DOCKER_HOST set),
                    .cli(*args) and .docker(*args) -> CompletedProcess (text; docker skips the
                    test when the CLI is absent), .api(method, path, body) -> Response,
                    .restart(kill=False), .data_root, .exec_root, .log_tail().
    daemon_factory  module scope: .start(name, netns=None, extra_args=()) more daemons (one per
                    "host" in multi-host tests), .finish(d) -> list of problems.
    docker_client   module scope: docker.DockerClient on the daemon's socket.
    busybox_tarball session scope: the rootfs tarball from tools/make_busybox_image.py.
    busybox_image   module scope: "busybox:local", imported into the daemon as `docker import`.

Every daemon is finished at the end of its scope: all containers and user networks are removed
through the API, and the scope errors if processes, mounts or tagged links remain.
"""

from __future__ import annotations

import os

import pytest

from .support import harness, kernelstate  # noqa: F401
from .support.harness import tetherlab

HERE = os.path.dirname(os.path.abspath(__file__))


def _skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "integration tests need root (run `sudo make test`)"
    if not tetherlab.in_namespace():
        return ("integration tests run only inside the private namespace tests/conftest.py "
                "enters (unset TETHER_NO_NS and run pytest as root)")
    return None


def pytest_collection_modifyitems(config, items):
    reason = _skip_reason()
    for item in items:
        if str(item.path).startswith(HERE + os.sep):
            item.add_marker(pytest.mark.integration)
            if reason:
                item.add_marker(pytest.mark.skip(reason=reason))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Attach the daemon's log to a failed test: the first thing anyone asks for."""
    report = yield
    d = item.funcargs.get("daemon") if hasattr(item, "funcargs") else None
    if report.failed and d is not None and report.when != "teardown":
        report.sections.append(("tetherd log (last 80 lines)", d.log_tail(80)))
    return report


@pytest.fixture(scope="module")
def daemon_factory(tmp_path_factory):
    factory = harness.DaemonFactory(tmp_path_factory.mktemp("daemons"))
    yield factory
    problems = factory.finish_all()
    if problems:
        pytest.fail("tetherd teardown:\n" + "\n".join(problems), pytrace=False)


@pytest.fixture(scope="module")
def daemon(daemon_factory):
    return daemon_factory.start()


@pytest.fixture(scope="module")
def docker_client(daemon):
    docker = pytest.importorskip("docker")
    client = docker.DockerClient(base_url=daemon.url)
    yield client
    client.close()


@pytest.fixture(scope="session")
def busybox_tarball(tmp_path_factory):
    return harness.build_busybox(tmp_path_factory.mktemp("image"))


@pytest.fixture(scope="module")
def busybox_image(daemon, busybox_tarball):
    return harness.import_busybox(daemon, busybox_tarball)
from .outside import outside_host  # noqa: E402,F401 - one session-wide outside host
