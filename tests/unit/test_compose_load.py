"""Compose files: YAML errors, schema errors, legacy files, names, merging, the config hash.

The golden hashes were computed by docker-compose 1.29.2 itself (compose.service.Service
.config_hash) for the files in compose_files/, with the image ids given here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.compose.confighash import config_hash
from tether.compose.load import load_project, parse_yaml, read_document
from tether.compose.model import normalize_project_name, parse_port, project_name
from tether.errors import InvalidArgument, NotFound

FILES = Path(__file__).with_name("compose_files")


def write(tmp_path: Path, text: str, name: str = "docker-compose.yml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path, env: dict | None = None) -> str:
    with pytest.raises(InvalidArgument) as exc:
        read_document(path, env or {})
    return str(exc.value)


def test_seed_yaml_error_points_at_the_line():
    msg = error_of(FILES / "seed-custom-networks.yml")
    assert "seed-custom-networks.yml: line 15, column 13: invalid YAML" in msg
    assert "at line 12" in msg


def test_legacy_version_1_file_says_it_has_no_networking(tmp_path):
    path = write(tmp_path, "web:\n  image: busybox\n  links:\n    - db\ndb:\n  image: busybox\n")
    msg = error_of(path)
    assert "web, line 1" in msg and "version 1" in msg and "no networking" in msg


def test_build_is_refused_with_its_line():
    msg = error_of(FILES / "seed-links.yml")
    assert "services.web.build, line 4" in msg and "builds no images" in msg


def test_unknown_top_level_key_names_it_and_its_line():
    msg = error_of(FILES / "seed-default-network.yml")
    assert "verision, line 1" in msg and "did you mean 'version'" in msg


def test_schema_error_names_file_path_and_line(tmp_path):
    path = write(tmp_path, "services:\n  a:\n    image: x\nnetworks:\n  n:\n    ipam:\n"
                           "      config:\n        - subnett: 10.0.0.0/24\n")
    msg = error_of(path)
    assert str(path) in msg
    assert "networks.n.ipam.config.0.subnett, line 8" in msg and "unknown key 'subnett'" in msg


def test_wrong_type_is_reported_at_its_line(tmp_path):
    path = write(tmp_path, "services:\n  a:\n    image: x\n    networks:\n      n:\n"
                           "        aliases: 5\nnetworks:\n  n: {}\n")
    assert "services.a.networks.n.aliases, line 6" in error_of(path)


def test_marks_cover_list_items():
    _, marks = parse_yaml("a:\n  - x\n  - y: 1\n", Path("f"))
    assert marks[("a", 1, "y")] == 3


def test_interpolation(tmp_path):
    path = write(tmp_path, "services:\n  a:\n    image: ${IMG:-busybox:local}\n"
                           "    command: echo $$HOME ${WHO}\n")
    doc = read_document(path, {"WHO": "me"})
    assert doc.data["services"]["a"] == {"image": "busybox:local", "command": "echo $HOME me"}
    bad = write(tmp_path, "services:\n  a:\n    image: ${IMG:?set IMG}\n", "b.yml")
    with pytest.raises(InvalidArgument, match="IMG is missing a value: set IMG"):
        read_document(bad, {})


def test_project_name_precedence():
    assert project_name("Flag.Name", {"COMPOSE_PROJECT_NAME": "env"}, {"name": "n"}, "/d") == "flagname"
    assert project_name(None, {"COMPOSE_PROJECT_NAME": "Env"}, {"name": "n"}, "/d") == "env"
    assert project_name(None, {}, {"name": "top"}, "/x/My Dir") == "top"
    assert project_name(None, {}, {}, "/x/My Dir") == "mydir"
    assert normalize_project_name("compose_Django-1") == "compose_django-1"


def test_default_file_search_and_override(tmp_path):
    write(tmp_path, "services:\n  a:\n    image: x\n    environment: [A=1]\n")
    write(tmp_path, "services:\n  a:\n    environment:\n      B: '2'\n    ports: ['80']\n",
          "docker-compose.override.yml")
    sub = tmp_path / "sub"
    sub.mkdir()
    project, _ = load_project([], None, {}, sub)
    assert project.name == tmp_path.name.lower().replace(".", "")
    svc = project.service("a")
    assert svc.environment == {"A": "1", "B": "2"} and len(svc.ports) == 1
    with pytest.raises(NotFound, match="Can't find a suitable configuration file"):
        load_project([], None, {}, Path("/"))


def test_networks_default_external_and_primary_order():
    project, _ = load_project([str(FILES / "demo.yml")], "demo", {}, FILES)
    assert list(project.networks) == ["front", "back", "default"]
    assert project.networks["default"].driver_opts == {"com.docker.network.driver.mtu": "1450"}
    app = project.service("app")
    assert [n.key for n in app.networks] == ["back", "front"]  # by name: demo_back first
    assert app.networks[1].ipv4_address == "172.16.238.10"
    assert [s.name for s in project.services] == ["proxy", "db", "app", "web"]
    ext, _ = load_project([str(FILES / "seed-external.yml")], "p", {}, FILES)
    assert ext.networks["default"].external and ext.networks["default"].name == "i-already-created-this"


def test_ports_as_compose_parses_them():
    assert parse_port("127.0.0.1:8080:80") == [parse_port({"target": 80, "published": 8080})[0]
                                               .__class__(80, 8080, None, None, "127.0.0.1")]
    udp = parse_port("9000-9001:90-91/udp")
    assert [(p.target, p.published, p.protocol) for p in udp] == [(90, 9000, "udp"), (91, 9001, "udp")]
    assert parse_port("81")[0].published is None
    with pytest.raises(InvalidArgument):
        parse_port("80-81:90-92")


IMAGE_DEMO = "sha256:63b4d2061bb809fd5fd7a1493ffdf45615f9f025addfd82f8cea36d663f36af2"
IMAGE_H = "sha256:16b0686f1137af59a98483b97f86ccd619d2538c1d743ad4e8b3c5043364542e"


@pytest.mark.parametrize("file,project,image,expected", [
    ("demo.yml", "demo", IMAGE_DEMO, {
        "proxy": "0d8931636947448f5793601da9fdec87d369a10f93c0a56a69139c3827ff64ae",
        "db": "588aa88d355a9abe66d2a7e871cf8639edd25f421ae0caf3dc214a6495f193c5",
        "app": "b8abfb1522dac0597800f0e8f779951bd81f61081d66e6afebfafd219f7b8d3a",
        "web": "7b4e1eeea4680a384c433468509f7555b3fdc3253a2f23ee74d5baf8b1b7c7f2"}),
    ("hashes.yml", "hp", IMAGE_H, {
        "a": "abc713c78eec824dc96c968e35211da37a3c7d4f46ea803817688f972f0ebca8",
        "b": "ac4964e6aa2eb5634942d6ff26005283a333f4d44d93096eef681b2724db7a30",
        "c": "341c91277556df5714c22181c7eca8e339d57de9021afa840365d15c913b9fd8"}),
    # numbers in environment, values from the caller's environment, port forms, labels
    ("edge.yml", "edge", "sha256:x", {
        "a": "dd28bc76fd7253340e38e478283cf773c0481acfbe18b0d8e8d25c1f8e952a2d",
        "b": "5bc913adf49aad843318da9cc913a64434f1751f12a9392d57da972ab7617dde",
        "c": "49aa9c43aabb1bdf7d24fd8259ee7b0f1d7fa498b345ca0cbb435749c0df9314"}),
])
def test_config_hash_is_docker_compose_129s(file, project, image, expected):
    env = {"FROMENV": "hello", "B": "bval"}
    proj, _ = load_project([str(FILES / file)], project, env, FILES)
    got = {s.name: config_hash(s, proj.networks, image) for s in proj.services}
    assert got == expected


def test_undefined_network_and_cycles(tmp_path):
    path = write(tmp_path, "services:\n  a:\n    image: x\n    networks: [nope]\n")
    with pytest.raises(InvalidArgument, match='undefined network "nope"'):
        load_project([str(path)], "p", {}, tmp_path)
    path = write(tmp_path, "services:\n  a:\n    image: x\n    links: [b]\n"
                           "  b:\n    image: x\n    depends_on: [a]\n", "c.yml")
    with pytest.raises(InvalidArgument, match="circular dependency"):
        load_project([str(path)], "p", {}, tmp_path)


def test_unquoted_colon_in_a_value_points_at_its_line(tmp_path):
    path = write(tmp_path, "services:\n  a:\n    image: x\n    command: echo time: now\n")
    msg = error_of(path)
    assert "line 4, column 23: invalid YAML: mapping values are not allowed here" in msg
    assert "quote values that contain a colon" in msg
