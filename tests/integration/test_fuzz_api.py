"""Fuzz the API with schemathesis against Docker's own OpenAPI description (v1.50).

Only the operations tetherd implements are generated (streaming ones, which wait on
containers or events, are left out). Every answer must be below 500, the daemon must stay
up, and afterwards nothing may be half-made: tools/crashlab.py's leak checks (links, nft
elements, sandboxes, mounts, processes, addresses) must pass. The daemon listens on a
loopback TCP port (--insecure-tcp) so schemathesis drives it with its own HTTP client.
Hypothesis is derandomized: the same examples every run.
"""

from __future__ import annotations

import os
import re
import socket
from pathlib import Path

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, settings  # noqa: E402

from .support import harness  # noqa: E402

import crashlab  # noqa: E402

REPO = Path(__file__).resolve().parents[2]
SPEC_NAME = "docker-engine-api-v1.50.yaml"
SPEC = next((p / SPEC_NAME for p in (REPO / "tests" / "data",
                                     REPO.parent / "shared" / "reference",
                                     REPO.parent.parent / "shared" / "reference")
             if (p / SPEC_NAME).exists()), None)
EXAMPLES = int(os.environ.get("TETHER_FUZZ_EXAMPLES", "25"))  # more for a local soak
# implemented, and answering at once (no attach, wait, logs, events or exec start streams)
OPERATIONS = [
    ("GET", "/_ping"), ("GET", "/version"), ("GET", "/info"),
    ("GET", "/networks"), ("GET", "/networks/{id}"), ("POST", "/networks/create"),
    ("DELETE", "/networks/{id}"), ("POST", "/networks/{id}/connect"),
    ("POST", "/networks/{id}/disconnect"), ("POST", "/networks/prune"),
    ("POST", "/containers/create"), ("GET", "/containers/json"),
    ("GET", "/containers/{id}/json"), ("POST", "/containers/{id}/start"),
    ("POST", "/containers/{id}/stop"), ("POST", "/containers/{id}/kill"),
    ("POST", "/containers/{id}/restart"), ("POST", "/containers/{id}/rename"),
    ("DELETE", "/containers/{id}"), ("POST", "/containers/{id}/exec"),
    ("GET", "/exec/{id}/json"), ("GET", "/images/json"), ("GET", "/images/{name}/json"),
    ("DELETE", "/images/{name}"), ("POST", "/containers/{id}/resize"),
    ("POST", "/exec/{id}/resize"),
]
PATTERN = "^/v1\\.50(" + "|".join(re.escape(p).replace("\\{", "{").replace("\\}", "}")
                                   for _, p in OPERATIONS) + ")$"

pytestmark = pytest.mark.skipif(SPEC is None, reason=f"{SPEC_NAME} not found next to the repo")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def fuzzed(daemon_factory, busybox_tarball):
    port = free_port()
    d = daemon_factory.start("fuzz", extra_args=("-H", f"tcp://127.0.0.1:{port}",
                                                 "--insecure-tcp", "--log-level", "info"))
    harness.import_busybox(d, busybox_tarball)
    return d, port


@pytest.fixture(scope="module")
def api_schema(fuzzed):
    _, port = fuzzed
    schema = schemathesis.from_path(str(SPEC), base_url=f"http://127.0.0.1:{port}/v1.50")
    return schema.include(path_regex=PATTERN).include(
        method=sorted({m for m, _ in OPERATIONS}))


schema = schemathesis.from_pytest_fixture("api_schema") if SPEC else None


if schema is not None:
    @schema.parametrize()
    @settings(max_examples=EXAMPLES, deadline=None, derandomize=True,
              suppress_health_check=list(HealthCheck))
    def test_no_5xx_and_the_daemon_stays_up(case, fuzzed):
        d, _ = fuzzed
        response = case.call(timeout=30)
        assert response.status_code < 500, (
            f"{case.method} {case.formatted_path} -> {response.status_code}: "
            f"{response.text[:300]}\n{case.as_curl_command()}")
        assert d.alive()


def test_nothing_half_made_after_fuzzing(fuzzed):
    d, _ = fuzzed
    assert d.ping()
    problems = crashlab.settle(d, crashlab.Ledger(), table=crashlab.table_of(d))
    assert not problems, "\n".join(problems)
