"""A create body's filesystem mounts -> MountSpecs. Pure.

Four fields ask for mounts, as in dockerd: HostConfig.Binds (`-v SRC:DST[:MODE]`: an
absolute SRC is a host path, anything else names a volume), HostConfig.Mounts (`--mount`,
typed bind/volume/tmpfs), HostConfig.Tmpfs (`--tmpfs DST[:OPTS]`) and Config.Volumes (an
anonymous volume on each path no other field mounts). The sentences are dockerd's.
"""

from __future__ import annotations

import posixpath
from typing import Any

from tether.api.jsonbody import get_bool, get_int, get_obj, get_str, get_str_list, get_str_map
from tether.engine.volumes import check_name
from tether.errors import InvalidArgument
from tether.model import MountSpec

PROPAGATIONS = frozenset({"shared", "rshared", "slave", "rslave", "private", "rprivate"})
# SELinux labels, copy control and macOS consistency: accepted and without effect here
QUIET_MODES = frozenset({"z", "Z", "nocopy", "consistent", "cached", "delegated"})
MOUNT_TYPES = ("bind", "volume", "tmpfs")
# what --tmpfs and --mount type=tmpfs get before the user's options, as in dockerd
TMPFS_DEFAULTS = ("noexec", "nosuid", "nodev")


def parse_mounts(body: dict[str, Any], host: dict[str, Any]) -> tuple[MountSpec, ...]:
    """Every mount the body asks for, in Binds, Mounts, Tmpfs then Config.Volumes order.

    Raises:
        InvalidArgument: a malformed spec, a relative target, a bad volume name or mode, or
            two mounts on one target.
    """
    out = [parse_bind(spec) for spec in get_str_list(host, "Binds")]
    raw = host.get("Mounts")
    if raw is not None and not isinstance(raw, list):
        raise InvalidArgument("Mounts must be a list of objects")
    out += [parse_mount(m) for m in raw or ()]
    out += [parse_tmpfs(target, opts) for target, opts in get_str_map(host, "Tmpfs").items()]
    seen: set[str] = set()
    for m in out:
        if m.target in seen:
            raise InvalidArgument(f"Duplicate mount point: {m.target}")
        seen.add(m.target)
    for target in get_obj(body, "Volumes"):
        clean = _target(target, f"invalid volume specification: '{target}'", "volume")
        if clean not in seen:  # compose lists its binds here too
            seen.add(clean)
            out.append(MountSpec(type="volume", target=clean, anonymous=True, origin="Volumes"))
    return tuple(out)


def parse_bind(spec: str) -> MountSpec:
    """One HostConfig.Binds entry: `DST`, `SRC:DST` or `SRC:DST:MODE`."""
    bad = f"invalid volume specification: '{spec}'"
    parts = spec.split(":")
    if not spec or len(parts) > 3 or not all(parts[:2]):
        raise InvalidArgument(bad)
    if len(parts) == 1:
        return MountSpec(type="volume", target=_target(parts[0], bad, "volume"),
                         anonymous=True, origin="Binds")
    source, target = parts[0], parts[1]
    mode = parts[2] if len(parts) == 3 else ""
    words = mode.split(",") if mode else []
    read_only, propagation = False, ""
    access = [w for w in words if w in ("ro", "rw")]
    for word in words:
        if word in ("ro", "rw"):
            read_only = word == "ro"
        elif word in PROPAGATIONS:
            propagation = word
        elif word not in QUIET_MODES:
            raise InvalidArgument(f"{bad}: invalid mode: {mode}")
    if len(access) > 1 or (propagation and not source.startswith("/")):
        raise InvalidArgument(f"{bad}: invalid mode: {mode}")
    if source.startswith("/"):
        return MountSpec(type="bind", target=_target(target, bad, "bind"),
                         source=posixpath.normpath(source), read_only=read_only, mode=mode,
                         propagation=propagation or "rprivate", origin="Binds",
                         create_source=True)
    check_name(source)
    return MountSpec(type="volume", target=_target(target, bad, "volume"), source=source,
                     read_only=read_only, mode=mode or "z", origin="Binds")


def parse_mount(raw: Any) -> MountSpec:
    """One HostConfig.Mounts entry ({"Type", "Source", "Target", "ReadOnly", ...})."""
    if not isinstance(raw, dict):
        raise InvalidArgument("Mounts must be a list of objects")
    kind = get_str(raw, "Type")
    bad = f'invalid mount config for type "{kind}"'
    if kind not in MOUNT_TYPES:
        raise InvalidArgument(f"{bad}: mount type unknown")
    target = get_str(raw, "Target")
    if not target:
        raise InvalidArgument(f"{bad}: field Target must not be empty")
    target = _target(target, bad, kind)
    source = get_str(raw, "Source")
    read_only = get_bool(raw, "ReadOnly")
    if kind == "tmpfs":
        if source:
            raise InvalidArgument(f"{bad}: field Source must not be specified")
        opts = get_obj(raw, "TmpfsOptions")
        size, mode = get_int(opts, "SizeBytes"), get_int(opts, "Mode")
        extra = ([f"size={size}"] if size else []) + ([f"mode={mode:o}"] if mode else [])
        return MountSpec(type="tmpfs", target=target, read_only=read_only,
                         options=(*TMPFS_DEFAULTS, *(["ro"] if read_only else []), *extra))
    if kind == "bind":
        if not source:
            raise InvalidArgument(f"{bad}: field Source must not be empty")
        if not source.startswith("/"):
            raise InvalidArgument(f"{bad}: invalid mount path: '{source}' mount path must "
                                  "be absolute")
        propagation = get_str(get_obj(raw, "BindOptions"), "Propagation")
        if propagation and propagation not in PROPAGATIONS:
            raise InvalidArgument(f"{bad}: invalid propagation mode: {propagation}")
        return MountSpec(type="bind", target=target, source=posixpath.normpath(source),
                         read_only=read_only, propagation=propagation or "rprivate")
    if source:
        check_name(source)
    return MountSpec(type="volume", target=target, source=source, read_only=read_only,
                     anonymous=not source)


def parse_tmpfs(target: str, options: str) -> MountSpec:
    """One HostConfig.Tmpfs entry: target -> "size=64m,mode=1777" (may be empty)."""
    bad = f"invalid tmpfs specification: '{target}'"
    extra = tuple(o for o in options.split(",") if o)
    return MountSpec(type="tmpfs", target=_target(target, bad, "tmpfs"),
                     read_only="ro" in extra, options=(*TMPFS_DEFAULTS, *extra), origin="Tmpfs")


def _target(path: str, bad: str, kind: str) -> str:
    if not path.startswith("/"):
        raise InvalidArgument(f'{bad}: invalid mount config for type "{kind}": invalid mount '
                              f"path: '{path}' mount path must be absolute")
    clean = posixpath.normpath(path)
    if clean == "/" or clean == "//":
        raise InvalidArgument(f"{bad}: invalid specification: destination can't be '/'")
    return clean
