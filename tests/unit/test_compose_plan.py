"""Pure compose plans: what `up`, `down`, `start` and `stop` do for a given state."""

from __future__ import annotations

from pathlib import Path

import pytest

from tether.compose import plan as p
from tether.compose.confighash import config_hash
from tether.compose.load import load_project
from tether.compose.render import config_yaml, plan_lines
from tether.errors import Conflict, NotFound

FILES = Path(__file__).with_name("compose_files")
IMAGE = "sha256:" + "ab" * 32


def demo():
    project, _ = load_project([str(FILES / "demo.yml")], "demo", {}, FILES)
    return project


def current(project, running=True, host_links=None, **hashes) -> p.State:
    """The state after a successful `up` of `project` (hash overrides per service)."""
    containers = tuple(
        p.Existing(id=f"{s.name}id".ljust(64, "0"), name=f"demo_{s.name}_1", service=s.name,
                   config_hash=hashes.get(s.name, config_hash(s, project.networks, IMAGE)),
                   running=running, host_links=bool(host_links and s.name in host_links))
        for s in project.services)
    nets = {n.name: existing_network(n) for n in project.networks.values()}
    return p.State(nets, containers, {"busybox:local": IMAGE})


def existing_network(net) -> p.ExistingNetwork:
    return p.ExistingNetwork(net.name + "-id", net.driver, dict(net.driver_opts), net.internal,
                             net.enable_ipv6, tuple(c.subnet for c in net.ipam_config))


def verbs(actions) -> list[str]:
    return [a.describe() for a in actions]


def test_first_up_creates_networks_then_services_in_dependency_order():
    project = demo()
    actions = p.plan_up(project, p.State(image_ids={"busybox:local": IMAGE}))
    assert verbs(actions) == [
        'Creating network "demo_front" with driver "bridge"',
        'Creating network "demo_back" with driver "bridge"',
        'Creating network "demo_default" with driver "bridge"',
        "Creating demo_proxy_1", "Creating demo_db_1", "Creating demo_app_1",
        "Creating demo_web_1"]


def test_second_up_leaves_everything_alone():
    project = demo()
    assert verbs(p.plan_up(project, current(project))) == [
        f"demo_{s}_1 is up-to-date" for s in ("proxy", "db", "app", "web")]


def test_changed_service_is_recreated_and_so_is_the_service_linking_to_it():
    project = demo()
    actions = p.plan_up(project, current(project, db="stale"))
    assert verbs(actions) == ["demo_proxy_1 is up-to-date", "Recreating demo_db_1",
                              "Recreating demo_app_1", "demo_web_1 is up-to-date"]
    assert actions[1].old.name == "demo_db_1"


def test_depends_on_alone_does_not_recreate_a_running_dependent(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("services:\n  a:\n    image: busybox:local\n    depends_on: [b]\n"
                    "  b:\n    image: busybox:local\n")
    project, _ = load_project([str(path)], "demo", {}, tmp_path)
    assert verbs(p.plan_up(project, current(project, b="stale"))) == [
        "Recreating demo_b_1", "demo_a_1 is up-to-date"]


def test_force_recreate_and_no_recreate_and_stopped():
    project = demo()
    assert all(v.startswith("Recreating") for v in
               verbs(p.plan_up(project, current(project), force_recreate=True)))
    assert verbs(p.plan_up(project, current(project, db="stale"), no_recreate=True))[1] == \
        "demo_db_1 is up-to-date"
    assert verbs(p.plan_up(project, current(project, running=False)))[0] == "Starting demo_proxy_1"


def test_up_of_one_service_brings_its_dependencies_unless_no_deps():
    project = demo()
    fresh = p.State(image_ids={"busybox:local": IMAGE})
    assert verbs(p.plan_up(project, fresh, ["app"]))[-2:] == ["Creating demo_db_1",
                                                             "Creating demo_app_1"]
    assert verbs(p.plan_up(project, fresh, ["app"], no_deps=True))[-1:] == ["Creating demo_app_1"]
    with pytest.raises(NotFound, match="no such service: nope"):
        p.plan_up(project, fresh, ["nope"])


def test_missing_external_network_is_a_clear_error_and_down_skips_it():
    project, _ = load_project([str(FILES / "seed-external.yml")], "ext", {}, FILES)
    project = project.__class__(project.name, (), project.networks, "/", ())
    with pytest.raises(NotFound, match="Network i-already-created-this declared as external"):
        p.plan_networks(project, p.State(), [_user_of_default()])
    present = p.State({"i-already-created-this": p.ExistingNetwork("id")})
    assert p.plan_networks(project, present, [_user_of_default()]) == []
    assert verbs(p.plan_down(project, present)) == ["Network i-already-created-this is external, skipping"]


def _user_of_default():
    from tether.compose.model import Service, ServiceNetwork

    return Service("alpha", "busybox:local", networks=(ServiceNetwork("default"),))


def test_down_stops_dependents_first_then_removes_networks():
    project = demo()
    assert verbs(p.plan_down(project, current(project))) == [
        "Stopping demo_web_1", "Stopping demo_app_1", "Stopping demo_db_1",
        "Stopping demo_proxy_1", "Removing demo_web_1", "Removing demo_app_1",
        "Removing demo_db_1", "Removing demo_proxy_1", "Removing network demo_front",
        "Removing network demo_back", "Removing network demo_default"]


def test_stop_and_start_only_what_needs_it():
    project = demo()
    assert verbs(p.plan_stop(project, current(project), ["db"])) == ["Stopping demo_db_1"]
    assert p.plan_start(project, current(project)) == []
    assert len(p.plan_start(project, current(project, running=False))) == 4


def test_dry_run_and_config_are_printable():
    project = demo()
    assert plan_lines(p.plan_up(project, current(project))).count("\n") == 4
    text = config_yaml(project)
    assert "ipv4_address: 172.16.238.10" in text and "name: demo_front" in text


@pytest.mark.parametrize("key,field,value,what", [
    ("back", "internal", True, "internal"),
    ("default", "options", {"com.docker.network.driver.mtu": "1400"},
     'option "com.docker.network.driver.mtu"'),
    ("front", "enable_ipv6", False, "enable_ipv6"),
    ("front", "subnets", ("10.0.0.0/24",), "IPAM config"),
])
def test_a_changed_project_network_is_refused_as_compose_does(key, field, value, what):
    import dataclasses

    project = demo()
    state = current(project)
    name = project.networks[key].name
    nets = {**state.networks, name: dataclasses.replace(state.networks[name], **{field: value})}
    with pytest.raises(Conflict, match=f'Network "{name}" needs to be recreated - {what} has'):
        p.plan_up(project, dataclasses.replace(state, networks=nets))


def test_always_recreate_deps_and_no_start(tmp_path):
    path = tmp_path / "c.yml"
    path.write_text("services:\n  a:\n    image: busybox:local\n    depends_on: [b]\n"
                    "  b:\n    image: busybox:local\n")
    project, _ = load_project([str(path)], "demo", {}, tmp_path)
    assert verbs(p.plan_up(project, current(project, b="stale"), always_recreate_deps=True)) == [
        "Recreating demo_b_1", "Recreating demo_a_1"]
    fresh = p.plan_up(project, p.State(image_ids={"busybox:local": IMAGE}), no_start=True)
    assert [a.start for a in fresh if isinstance(a, p.CreateContainer)] == [False, False]
    assert p.plan_up(project, current(project, running=False), no_start=True) == []
