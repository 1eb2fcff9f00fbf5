"""Events: derivation from record changes, the bus's ring and replay, Docker's JSON and filters."""

import asyncio
import json
from dataclasses import replace

import pytest

from tether.api import schema_events
from tether.api.filters import parse_filters
from tether.engine import eventlog
from tether.engine.eventbus import EventBus
from tether.engine.execs import command_line
from tether.errors import InvalidArgument
from tether.model import Container, ContainerSpec, ContainerState, Endpoint, Network
from tether.model.event import Event

NET = Network(id="n" * 64, name="front", driver="bridge", created="2026-01-01T00:00:00Z")
NET2 = Network(id="m" * 64, name="back", driver="bridge", created="2026-01-01T00:00:00Z")
NETS = {NET.id: NET, NET2.id: NET2}


def ctr(status="created", endpoints=(NET.id,), name="web", **state) -> Container:
    eps = {n: Endpoint(id="", network_id=n, container_id="c" * 64, ifname="", mac="")
           for n in endpoints}
    return Container(id="c" * 64, name=name, created="2026-01-01T00:00:00Z",
                     spec=ContainerSpec(image="busybox:local", labels={"tier": "web"}),
                     image_id="sha256:" + "0" * 64, path="sh", args=(), env=(),
                     hostname="h", state=ContainerState(status=status, **state),
                     endpoints=eps)


def actions(events):
    return [(e.type, e.action) for e in events]


def test_create_and_destroy_carry_labels_image_and_name():
    [create] = eventlog.container_changed(None, ctr(), NETS)
    assert (create.type, create.action, create.actor_id) == ("container", "create", "c" * 64)
    assert create.attributes == {"tier": "web", "image": "busybox:local", "name": "web"}
    assert actions(eventlog.container_changed(ctr(), None, NETS)) == [("container", "destroy")]


def test_start_connects_every_network_before_start():
    events = eventlog.container_changed(ctr(endpoints=(NET.id, NET2.id)),
                                        ctr("running", endpoints=(NET.id, NET2.id)), NETS)
    assert actions(events) == [("network", "connect"), ("network", "connect"),
                               ("container", "start")]
    assert events[0].attributes == {"name": "front", "type": "bridge", "container": "c" * 64}
    assert events[1].actor_id == NET2.id


def test_exit_dies_before_disconnecting_with_exit_code_and_duration():
    old = ctr("running", started_at="2026-01-01T00:00:00.5Z")
    new = ctr("exited", exit_code=137, started_at="2026-01-01T00:00:00.5Z",
              finished_at="2026-01-01T00:00:03.7Z")
    events = eventlog.container_changed(old, new, NETS)
    assert actions(events) == [("container", "die"), ("network", "disconnect")]
    assert events[0].attributes["exitCode"] == "137"
    assert events[0].attributes["execDuration"] == "3"


def test_live_connect_and_disconnect_only_what_changed():
    one, two = ctr("running"), ctr("running", endpoints=(NET.id, NET2.id))
    assert [(e.action, e.actor_id) for e in eventlog.container_changed(one, two, NETS)] == [
        ("connect", NET2.id)]
    assert [(e.action, e.actor_id) for e in eventlog.container_changed(two, one, NETS)] == [
        ("disconnect", NET2.id)]


def test_stopped_container_connect_is_silent_but_disconnect_is_reported():
    one, two = ctr(), ctr(endpoints=(NET.id, NET2.id))
    assert eventlog.container_changed(one, two, NETS) == []
    assert actions(eventlog.container_changed(two, one, NETS)) == [("network", "disconnect")]


def test_rename_reports_old_name_with_slash_and_unchanged_saves_report_nothing():
    [ev] = eventlog.container_changed(ctr(), ctr(name="api"), NETS)
    assert (ev.action, ev.attributes["name"], ev.attributes["oldName"]) == ("rename", "api", "/web")
    assert eventlog.container_changed(ctr("running"), ctr("running"), NETS) == []


def test_network_events_skip_config_only_networks():
    assert actions(eventlog.network_created(NET)) == [("network", "create")]
    assert eventlog.network_removed(replace(NET, config_only=True)) == []


def test_exec_action_words_as_dockerd():
    assert command_line(("ls",)) == "ls "
    assert command_line(("sh", "-c", "echo hi")) == "sh -c echo hi"


def clock(values):
    it = iter(values)
    return lambda: next(it)


def test_bus_stamps_strictly_increasing_and_replays_window():
    bus = EventBus(capacity=3, clock=clock([10, 10, 30, 40]))
    bus.publish(Event("network", a, "x") for a in ("a", "b", "c", "d"))
    assert [e.time_nano for e in bus.ring] == [11, 30, 40]  # ring keeps the last three
    assert [e.action for e in bus.subscribe(since_nano=30).buffered] == ["c", "d"]
    assert [e.action for e in bus.subscribe(until_nano=30).buffered] == ["b", "c"]
    assert bus.subscribe().buffered == []


async def test_subscribers_get_live_events_and_close_ends_them():
    bus = EventBus()
    sub = bus.subscribe()
    bus.publish([Event("network", "create", "x")])
    assert (await sub.next()).action == "create"
    sub.close()
    assert await asyncio.wait_for(sub.next(), 1) is None
    assert bus.subscribers == set()


async def test_a_slow_subscriber_is_dropped_not_buffered_without_bound():
    bus = EventBus(backlog=2)
    sub = bus.subscribe()
    bus.publish(Event("network", str(i), "x") for i in range(5))
    assert sub.closed and bus.subscribers == set()
    got = [await sub.next() for _ in range(2)]
    assert got[-1] is None


def test_render_container_event_has_legacy_fields_and_sorted_attributes():
    ev = Event("container", "start", "c" * 64, {"name": "web", "image": "busybox", "a": "1"},
               1_700_000_000_123_456_789)
    out = schema_events.render(ev)
    assert list(out) == ["status", "id", "from", "Type", "Action", "Actor", "scope", "time",
                         "timeNano"]
    assert out["status"] == "start" and out["from"] == "busybox"
    assert list(out["Actor"]["Attributes"]) == ["a", "image", "name"]
    assert (out["time"], out["timeNano"]) == (1_700_000_000, 1_700_000_000_123_456_789)
    net = schema_events.render(Event("network", "connect", "n" * 64, {"name": "x"}, 5))
    assert "status" not in net and "id" not in net and net["scope"] == "local"


def test_parse_time_as_dockerd():
    assert schema_events.parse_time("1700000000", "since") == 1_700_000_000_000_000_000
    assert schema_events.parse_time("1700000000.5", "since") == 1_700_000_000_500_000_000
    assert schema_events.parse_time("1700000000.000000007", "x") == 1_700_000_000_000_000_007
    assert schema_events.parse_time("", "since") is None
    with pytest.raises(InvalidArgument):
        schema_events.parse_time("yesterday", "since")


START = Event("container", "start", "c1" + "0" * 62,
              {"name": "web", "image": "busybox:local", "com.docker.compose.project": "demo"})
CONNECT = Event("network", "connect", "n1" + "0" * 62, {"name": "front", "type": "bridge",
                                                         "container": START.actor_id})
EXEC = Event("container", "exec_start: ls ", START.actor_id, {"name": "web"})


def passes(ev, **filters):
    return schema_events.matches(ev, parse_filters(json.dumps(filters)))


def test_filters_type_event_and_names_by_prefix():
    assert passes(START, type=["container"]) and not passes(CONNECT, type=["container"])
    assert passes(START, event=["start"]) and not passes(START, event=["sta"])
    assert passes(EXEC, event=["exec_start"])  # dockerd's prefix match for exec events
    assert passes(START, container=["web"]) and passes(START, container=["c1"])
    assert not passes(CONNECT, container=["web"])  # the actor is the network
    assert passes(CONNECT, network=["front"]) and not passes(START, network=["front"])
    assert passes(START, label=["com.docker.compose.project=demo"])
    assert not passes(START, label=["com.docker.compose.project=other"])
    assert passes(START, image=["busybox"]) and not passes(START, image=["alpine"])
    assert passes(START, scope=["local"]) and not passes(START, scope=["swarm"])


def test_image_events_as_dockerd():
    from tether.model import Image

    img = Image(id="sha256:" + "1" * 64, repo_tags=("busybox:local",), created="x", size=1,
                labels={"org": "x"})
    assert [(e.action, e.attributes["name"]) for e in eventlog.image_imported(img)] == [
        ("import", img.id), ("tag", "busybox:local")]
    removed = eventlog.image_removed(img, [{"Untagged": "busybox:local"}, {"Deleted": img.id}])
    assert [e.action for e in removed] == ["untag", "delete"]
    out = schema_events.render(removed[0])
    assert out["status"] == "untag" and out["id"] == img.id and "from" not in out
    assert out["Actor"]["Attributes"] == {"name": img.id, "org": "x"}


def test_cli_timestamps_and_default_line_as_docker_prints_them():
    from tether.cli.events import default_line, timestamp

    assert timestamp("1700000000.5", 0) == "1700000000.5"
    assert timestamp("10m", 1_700_000_600.0) == "1700000000.000000000"
    assert timestamp("1h30m", 1_700_005_400.0) == "1700000000.000000000"
    assert timestamp("2023-11-14T22:13:20Z", 0) == "1700000000.000000000"
    with pytest.raises(InvalidArgument):
        timestamp("last tuesday", 0)
    line = default_line(schema_events.render(Event(
        "network", "connect", "n1", {"name": "front", "container": "c1"}, 1_700_000_000_000_000_042)))
    assert line == ("2023-11-14T22:13:20.000000042Z network connect n1 "
                    "(container=c1, name=front)")


def test_ui_address_parsing():
    from tether.api.ui import parse_address

    assert parse_address("127.0.0.1:8089") == ("127.0.0.1", 8089)
    assert parse_address("[::1]:80") == ("::1", 80)
    with pytest.raises(InvalidArgument):
        parse_address("localhost")
