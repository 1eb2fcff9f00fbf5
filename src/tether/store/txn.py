"""Compare-and-swap rules shared by the local stores, so both judge expectations alike."""

from __future__ import annotations

from typing import Sequence

from tether.errors import CasFailed, InvalidArgument
from tether.store.base import Delete, Put


def met(expect_rev: int | None, current_rev: int) -> bool:
    """Whether a key at `current_rev` (0 = absent) satisfies `expect_rev`."""
    return expect_rev is None or expect_rev == current_rev


def fail(key: str, expect_rev: int | None, current_rev: int) -> CasFailed:
    return CasFailed(f"key {key!r} is at revision {current_rev}, expected {expect_rev}")


def check_unique(ops: Sequence[Put | Delete]) -> None:
    """Reject a transaction that touches a key twice: its expectations would be ambiguous."""
    keys = [op.key for op in ops]
    if len(set(keys)) != len(keys):
        raise InvalidArgument("a store transaction may touch each key only once")
