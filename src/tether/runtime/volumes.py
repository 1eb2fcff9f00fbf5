"""Where a container's mounts come from, and the runc mounts they become.

A volume is a directory, `<data-root>/volumes/<name>/_data`, as dockerd's local driver keeps
it; it is made on first use. A volume tether named (`-v /data`, `--mount type=volume` with no
source, an image-less Config.Volumes path) carries an `anonymous` marker beside `_data` and
goes with the last container that mounts it; a named one stays. A `-v` bind of a missing host
directory makes it, as dockerd does; a `--mount` bind of a missing path is refused.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable

from tether.errors import InvalidArgument
from tether.model import MountSpec

ANONYMOUS_MARK = "anonymous"


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
            os.makedirs(volume_data(root, m.source), exist_ok=True)
            if m.anonymous:
                open(os.path.join(root, m.source, ANONYMOUS_MARK), "a").close()


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
