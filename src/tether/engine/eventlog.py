"""Which events a change of a record means, as Docker reports them: pure functions.

`State` calls `container_changed(old, new, networks)` for every container write and the
network functions for network writes, so each event is derived in one place from what
actually changed, not announced by whichever handler made the change. Orders follow
dockerd: `network connect` events before `start`; `die` before `network disconnect`.
Actions that change no record (kill, stop, attach, exec...) are built with `container`;
image events (import, tag, untag, delete) with `image`.
"""

from __future__ import annotations

from typing import Mapping

from tether.engine.clock import parse_rfc3339
from tether.model import Container, Image, Network
from tether.model.event import Event


def container(c: Container, action: str, **extra: str) -> Event:
    """A container event: Docker's attributes are the labels, `image` and `name`, plus
    the action's own (exitCode, signal, execID...)."""
    attrs = {**c.spec.labels, "image": c.spec.image, "name": c.name, **extra}
    return Event("container", action, c.id, attrs)


def image(img: Image, action: str, name: str = "") -> Event:
    """An image event: the labels and `name` (the tag for `tag`, else the image id)."""
    return Event("image", action, img.id, {**img.labels, "name": name or img.id})


def image_imported(img: Image) -> list[Event]:
    return [image(img, "import")] + [image(img, "tag", tag) for tag in img.repo_tags]


def image_removed(img: Image, report: list[dict[str, str]]) -> list[Event]:
    """dockerd's events for what `rmi` did: `untag` per removed tag, `delete` at the end."""
    return [image(img, "untag") for r in report if "Untagged" in r] + [
        image(img, "delete") for r in report if "Deleted" in r]


def network(net: Network, action: str, container_id: str = "") -> Event:
    attrs = {"name": net.name, "type": net.driver}
    if container_id:
        attrs["container"] = container_id
    return Event("network", action, net.id, attrs)


def network_created(net: Network) -> list[Event]:
    return [] if net.config_only else [network(net, "create")]


def network_removed(net: Network) -> list[Event]:
    return [] if net.config_only else [network(net, "destroy")]


def container_changed(old: Container | None, new: Container | None,
                      networks: Mapping[str, Network]) -> list[Event]:
    """The events between two versions of one container record (None: absent)."""
    if old is None and new is not None:
        return [container(new, "create")]
    if new is None:
        return [container(old, "destroy")] if old is not None else []
    out: list[Event] = []
    if old.name != new.name:
        out.append(container(new, "rename", oldName="/" + old.name))
    if not old.state.running and new.state.running:
        out += _joins(new, new.endpoints, networks, "connect")
        out.append(container(new, "start"))
    elif old.state.running and not new.state.running:
        out.append(container(new, "die", execDuration=_ran_for(new),
                             exitCode=str(new.state.exit_code)))
        out += _joins(new, new.endpoints, networks, "disconnect")
    else:
        added = [n for n in new.endpoints if n not in old.endpoints]
        gone = [n for n in old.endpoints if n not in new.endpoints]
        if new.state.running:
            out += _joins(new, added, networks, "connect")
        out += _joins(new, gone, networks, "disconnect")
    return out


def _joins(c: Container, net_ids, networks: Mapping[str, Network], action: str) -> list[Event]:
    return [network(networks[n], action, c.id) for n in net_ids if n in networks]


def _ran_for(c: Container) -> str:
    """Whole seconds between start and finish (dockerd's `execDuration`)."""
    try:
        return str(max(0, int(parse_rfc3339(c.state.finished_at)
                              - parse_rfc3339(c.state.started_at))))
    except ValueError:
        return "0"
