"""`docker import --change`: Dockerfile-style instructions applied to an imported image's config.

Pure: strings in, an `ImageConfig` out. Only the instructions Docker accepts for import are
allowed; HEALTHCHECK, ONBUILD, STOPSIGNAL and VOLUME are accepted and have no effect here.
"""

from __future__ import annotations

import json
import posixpath
import shlex
from dataclasses import dataclass, field, replace

from tether.errors import InvalidArgument
from tether.runtime.rootfs import DEFAULT_PATH

IGNORED = ("HEALTHCHECK", "ONBUILD", "STOPSIGNAL", "VOLUME")


@dataclass(frozen=True)
class ImageConfig:
    """The runnable part of an image's config, as the changes leave it."""

    cmd: tuple[str, ...] = ()
    entrypoint: tuple[str, ...] | None = None
    env: tuple[str, ...] = ()
    working_dir: str = ""
    exposed_ports: tuple[str, ...] = ()
    labels: dict[str, str] = field(default_factory=dict)
    user: str = ""


def parse_changes(changes: list[str] | tuple[str, ...]) -> ImageConfig:
    """Apply every instruction in order; PATH defaults to Docker's when no ENV sets it.

    Raises:
        InvalidArgument: an instruction is unknown, not allowed on import, or malformed.
    """
    config = ImageConfig()
    for change in changes:
        for line in change.splitlines():
            if line.strip() and not line.lstrip().startswith("#"):
                config = apply_change(config, line.strip())
    if not any(e.startswith("PATH=") for e in config.env):
        config = replace(config, env=(f"PATH={DEFAULT_PATH}",) + config.env)
    return config


def apply_change(config: ImageConfig, line: str) -> ImageConfig:
    """Return `config` with one instruction applied."""
    word, _, rest = line.partition(" ")
    keyword, rest = word.upper(), rest.strip()
    if keyword == "CMD":
        return replace(config, cmd=command_form(rest))
    if keyword == "ENTRYPOINT":
        return replace(config, entrypoint=command_form(rest))
    if keyword == "ENV":
        return replace(config, env=merge_env(config.env, key_values(rest, keyword)))
    if keyword == "LABEL":
        return replace(config, labels={**config.labels, **dict(key_values(rest, keyword))})
    if keyword == "EXPOSE":
        return replace(config, exposed_ports=_unique(config.exposed_ports + expose(rest)))
    if keyword == "WORKDIR":
        return replace(config, working_dir=posixpath.join(config.working_dir or "/", rest))
    if keyword == "USER":
        return replace(config, user=rest)
    if keyword in IGNORED:
        return config
    raise InvalidArgument(f"{word} is not a valid change command")


def command_form(rest: str) -> tuple[str, ...]:
    """JSON (exec) form as is; anything else is shell form, run by /bin/sh -c."""
    if rest.startswith("["):
        try:
            parsed = json.loads(rest)
        except ValueError:
            parsed = None
        if isinstance(parsed, list) and all(isinstance(a, str) for a in parsed):
            return tuple(parsed)
    return ("/bin/sh", "-c", rest) if rest else ()


def key_values(rest: str, keyword: str) -> list[tuple[str, str]]:
    """`K=V K2="v 2"` pairs, or the legacy `K the value` form (one pair)."""
    try:
        words = shlex.split(rest)
    except ValueError as exc:
        raise InvalidArgument(f"{keyword} {rest}: {exc}") from exc
    if not words:
        raise InvalidArgument(f"{keyword} requires at least one argument")
    if "=" not in words[0]:
        key, _, value = rest.partition(" ")
        if not value.strip():
            raise InvalidArgument(f"{keyword} must have two arguments")
        return [(key, value.strip())]
    pairs = []
    for word in words:
        key, eq, value = word.partition("=")
        if not eq or not key:
            raise InvalidArgument(f"{keyword} names can not be blank and need a value: {word}")
        pairs.append((key, value))
    return pairs


def merge_env(env: tuple[str, ...], pairs: list[tuple[str, str]]) -> tuple[str, ...]:
    """Set each pair, replacing an earlier value of the same name in place."""
    out = list(env)
    for key, value in pairs:
        item = f"{key}={value}"
        index = next((i for i, e in enumerate(out) if e.partition("=")[0] == key), None)
        if index is None:
            out.append(item)
        else:
            out[index] = item
    return tuple(out)


def expose(rest: str) -> tuple[str, ...]:
    """`80 443/udp 8000-8001` -> ("80/tcp", "443/udp", "8000/tcp", "8001/tcp")."""
    ports: list[str] = []
    for word in rest.split():
        spec, _, proto = word.partition("/")
        proto = (proto or "tcp").lower()
        low, _, high = spec.partition("-")
        bad_range = not low.isdigit() or (high and not high.isdigit())
        if bad_range or proto not in ("tcp", "udp", "sctp"):
            raise InvalidArgument(f"invalid containerPort: {word}")
        ports.extend(f"{p}/{proto}" for p in range(int(low), int(high or low) + 1))
    return tuple(ports)


def _unique(items: tuple[str, ...]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(items))
