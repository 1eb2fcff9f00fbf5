"""API version range and the `/vX.Y/` path prefix Docker clients put on every call."""

from __future__ import annotations

from tether.errors import InvalidArgument

MIN_API = (1, 41)
MAX_API = (1, 50)
MIN_API_TEXT = "1.41"
MAX_API_TEXT = "1.50"


def parse_version(text: str) -> tuple[int, int]:
    """Parse "1.44" into (1, 44); anything else is a malformed version."""
    major, _, minor = text.partition(".")
    if not (major.isdigit() and minor.isdigit()):
        raise InvalidArgument(f"invalid API version: {text!r}")
    return int(major), int(minor)


def negotiate(prefix: str | None) -> tuple[int, int]:
    """Return the version a request speaks: its prefix, or our maximum when unversioned.

    Raises InvalidArgument with Docker's sentences when the prefix is out of range.
    """
    if not prefix:
        return MAX_API
    version = parse_version(prefix)
    if version < MIN_API:
        raise InvalidArgument(
            f"client version {prefix} is too old. Minimum supported API version is "
            f"{MIN_API_TEXT}, please upgrade your client to a newer version"
        )
    if version > MAX_API:
        raise InvalidArgument(
            f"client version {prefix} is too new. Maximum supported API version is {MAX_API_TEXT}"
        )
    return version
