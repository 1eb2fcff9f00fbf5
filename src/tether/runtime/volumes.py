"""Where a container's mounts come from, and the runc mounts they become.

A volume is a directory, `<data-root>/volumes/<name>/_data`, as dockerd's local driver keeps
it; it is made on first use. A volume tether named (`-v /data`, `--mount type=volume` with no
source, an image-less Config.Volumes path) carries an `anonymous` marker beside `_data` and
goes with the last container that mounts it; a named one stays. A `-v` bind of a missing host
directory makes it, as dockerd does; a `--mount` bind of a missing path is refused.
`volume create` adds a `meta.json` beside `_data` with its labels and options; the directory
itself is the record, so a volume is there exactly when its directory is.
"""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import Iterable

from tether.errors import InvalidArgument
from tether.model import MountSpec, Volume
from tether.runtime.files import atomic_write_json, read_json

ANONYMOUS_MARK = "anonymous"
META = "meta.json"


def volumes_root(data_root: str) -> str:
    return os.path.join(data_root, "volumes")


def volume_data(root: str, name: str) -> str:
    return os.path.join(root, name, "_data")


def source_path(root: str, m: MountSpec) -> str:
    """The host path a bind or volume mount shows in the container."""
    return volume_data(root, m.source) if m.type == "volume" else m.source


def make_sources(root: str, mounts: Iterable[MountSpec]) -> None:
    """Make every volume's directory and every `-v` bind's missing host directory.

    Raises:
        InvalidArgument: a `--mount` bind source that does not exist (dockerd's sentence).
    """
    for m in mounts:
        if m.type == "bind" and not os.path.exists(m.source):
            if not m.create_source:
                raise InvalidArgument(f'invalid mount config for type "bind": bind source '
                                      f"path does not exist: {m.source}")
            os.makedirs(m.source, exist_ok=True)
        elif m.type == "volume":
            _make(root, m.source, m.anonymous)


def release(root: str, mounts: Iterable[MountSpec], in_use: set[str]) -> None:
    """Delete the anonymous volumes among `mounts` that no name in `in_use` still holds."""
    for m in mounts:
        if m.type != "volume" or not m.source or m.source in in_use:
            continue
        path = os.path.join(root, m.source)
        if os.path.exists(os.path.join(path, ANONYMOUS_MARK)):
            shutil.rmtree(path, ignore_errors=True)


def runc_mounts(root: str, mounts: Iterable[MountSpec]) -> list[dict]:
    """The OCI mount entries, after the container's standard ones."""
    out = []
    for m in mounts:
        if m.type == "tmpfs":
            out.append({"destination": m.target, "type": "tmpfs", "source": "tmpfs",
                        "options": list(m.options)})
            continue
        options = ["rbind", m.propagation or "rprivate"] + (["ro"] if m.read_only else [])
        out.append({"destination": m.target, "type": "bind",
                    "source": source_path(root, m), "options": options})
    return out


def create(root: str, name: str, labels: dict[str, str], options: dict[str, str],
           anonymous: bool = False) -> Volume:
    """Make volume `name` with its labels and options; an existing one is returned as is."""
    found = read(root, name)
    if found is not None:
        return found
    _make(root, name, anonymous)
    atomic_write_json(os.path.join(root, name, META), {"Labels": labels, "Options": options})
    return read(root, name)  # type: ignore[return-value]


def _make(root: str, name: str, anonymous: bool) -> None:
    """The volume's `_data` directory, and its marker when tether named it."""
    os.makedirs(volume_data(root, name), exist_ok=True)
    if anonymous:
        open(os.path.join(root, name, ANONYMOUS_MARK), "a").close()


def read(root: str, name: str) -> Volume | None:
    """Volume `name`, or None when it has no directory."""
    path = os.path.join(root, name)
    if not os.path.isdir(volume_data(root, name)):
        return None
    created = os.stat(path).st_mtime  # its entries are all made at once
    meta = read_json(os.path.join(path, META))
    meta = meta if isinstance(meta, dict) else {}
    stamp = datetime.datetime.fromtimestamp(created, datetime.timezone.utc)
    return Volume(name=name, mountpoint=volume_data(root, name),
                  created=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"),
                  labels=dict(meta.get("Labels") or {}), options=dict(meta.get("Options") or {}),
                  anonymous=os.path.exists(os.path.join(path, ANONYMOUS_MARK)))


def all_volumes(root: str) -> list[Volume]:
    try:
        names = sorted(os.listdir(root))
    except FileNotFoundError:
        return []
    return [v for v in (read(root, n) for n in names) if v is not None]


def delete(root: str, name: str) -> None:
    shutil.rmtree(os.path.join(root, name), ignore_errors=True)
