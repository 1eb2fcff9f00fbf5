"""Fuzz compose loading with hypothesis: any file gives a project or one clear error.

`load_project` (YAML, interpolation, the compose-spec schema, merging, the typed model) and
`plan_up` on what it accepts must raise nothing but tether's own errors (InvalidArgument,
NotFound...), each with a sentence, whatever the file: random text, random YAML trees, and
compose-shaped documents whose every value may be of the wrong type. Derandomized, so CI
sees the same examples every run.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import pytest
import yaml

pytest.importorskip("hypothesis", reason="hypothesis is in the test extras: make install")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tether.compose.load import load_project  # noqa: E402
from tether.compose.plan import State, plan_up  # noqa: E402
from tether.errors import TetherError  # noqa: E402

FUZZ = settings(max_examples=int(os.environ.get("TETHER_FUZZ_EXAMPLES", "200")), deadline=None, derandomize=True,
                suppress_health_check=list(HealthCheck))

names = st.text(alphabet="abcxyz019_-.", min_size=1, max_size=8)
scalars = st.one_of(st.none(), st.booleans(), st.integers(-70000, 70000),
                    st.floats(allow_nan=False), names,
                    st.sampled_from(["${X}", "$${Y}", "${Z:-1}", "${W:?gone}", "$", "80:80",
                                     "127.0.0.1:8080:80/udp", "10.1.0.0/16", "1s", "bridge"]))
trees = st.recursive(scalars, lambda kids: st.one_of(
    st.lists(kids, max_size=4), st.dictionaries(names, kids, max_size=4)), max_leaves=12)
SERVICE_KEYS = ["image", "networks", "ports", "environment", "depends_on", "links",
                "command", "container_name", "hostname", "expose", "dns", "network_mode",
                "restart", "stop_grace_period", "labels", "extra_hosts", "mac_address"]
NETWORK_KEYS = ["driver", "internal", "external", "ipam", "driver_opts", "enable_ipv6",
                "name", "attachable", "labels"]


def shaped(keys: list[str]):
    """A mapping with some of `keys`, each holding any tree (right type or not)."""
    return st.dictionaries(st.sampled_from(keys), trees, max_size=6)


documents = st.fixed_dictionaries({}, optional={
    "services": st.dictionaries(names, st.one_of(shaped(SERVICE_KEYS), trees), max_size=3),
    "networks": st.dictionaries(names, st.one_of(shaped(NETWORK_KEYS), st.none(), trees),
                                max_size=3),
    "version": st.sampled_from(["3", "3.8", "2.4", "1", 3]),
    "name": st.one_of(names, trees),
})


def load(text: str) -> None:
    """Load `text` as a compose file and plan `up` on an empty daemon."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "compose.yaml"
        path.write_text(text)
        try:
            project, _ = load_project([str(path)], None, {"X": "x"}, Path(tmp))
            plan_up(project, State())
        except TetherError as exc:
            assert str(exc).strip(), "an error without a sentence"


@FUZZ
@given(st.text(max_size=200))
def test_any_text(text):
    load(text)


@FUZZ
@given(trees)
def test_any_yaml_tree(tree):
    load(yaml.safe_dump(tree))


@FUZZ
@given(documents)
def test_compose_shaped_documents(doc):
    load(json.dumps(doc))  # JSON is YAML, and keeps every scalar's type


def test_a_valid_file_loads():
    """The fuzz above would pass on a loader that refuses everything: this must load."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "compose.yaml"
        path.write_text("services:\n  web:\n    image: busybox\n    ports: ['8080:80']\n")
        project, _ = load_project([str(path)], "p", {}, Path(tmp))
        assert [s.name for s in project.services] == ["web"]
        assert plan_up(project, State())
