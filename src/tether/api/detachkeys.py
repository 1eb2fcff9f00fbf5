"""Detach keys: Docker's key-spec syntax, and a matcher run over an attached client's stdin.

A spec is a comma-separated list of keys, each a single character or `ctrl-<c>` with <c> a
letter or one of `@ [ \\ ] ^ _` ("ctrl-p,ctrl-q", the default; "ctrl-a,x"). The matcher holds
back bytes that may begin the sequence and releases them when the sequence breaks, so the
container sees every byte except a complete detach sequence.
"""

from __future__ import annotations

from tether.errors import InvalidArgument

DEFAULT_DETACH_KEYS = "ctrl-p,ctrl-q"
_CTRL_SPECIALS = {"@": 0, "[": 27, "\\": 28, "]": 29, "^": 30, "_": 31}


def _key_byte(key: str, spec: str) -> int:
    if len(key) == 1:
        return ord(key)
    lowered = key.lower()
    if lowered.startswith("ctrl-") and len(key) == 6:
        c = lowered[5]
        if "a" <= c <= "z":
            return ord(c) - ord("a") + 1
        if c in _CTRL_SPECIALS:
            return _CTRL_SPECIALS[c]
    raise InvalidArgument(f"Invalid detach keys ({spec}) provided")


def parse_detach_keys(spec: str) -> bytes:
    """The byte sequence of a key spec; "" means Docker's default (CTRL-p CTRL-q).

    Raises:
        InvalidArgument: a key is neither one character nor `ctrl-<letter or @[\\]^_>`.
    """
    spec = spec or DEFAULT_DETACH_KEYS
    return bytes(_key_byte(key, spec) for key in spec.split(","))


class DetachMatcher:
    """Feed stdin through `feed`; it returns the bytes to forward and whether to detach."""

    def __init__(self, keys: bytes) -> None:
        self.keys = keys
        self.held = b""

    def feed(self, data: bytes) -> tuple[bytes, bool]:
        out = bytearray()
        for byte in data:
            candidate = self.held + bytes([byte])
            if self.keys.startswith(candidate):
                self.held = candidate
                if candidate == self.keys:
                    self.held = b""
                    return bytes(out), True
                continue
            out += self.held
            self.held = b""
            if self.keys.startswith(bytes([byte])):
                self.held = bytes([byte])
                if self.held == self.keys:
                    self.held = b""
                    return bytes(out), True
            else:
                out.append(byte)
        return bytes(out), False
