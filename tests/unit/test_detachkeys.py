"""Detach keys (Docker's key-spec syntax) and the matcher over stdin; the stream frames."""

from __future__ import annotations

import pytest

from tether.api.detachkeys import DetachMatcher, parse_detach_keys
from tether.api.streams import frame
from tether.errors import InvalidArgument


@pytest.mark.parametrize("spec, keys", [
    ("", b"\x10\x11"), ("ctrl-p,ctrl-q", b"\x10\x11"), ("ctrl-a,x", b"\x01x"),
    ("CTRL-Z", b"\x1a"), ("ctrl-@,ctrl-[,ctrl-\\,ctrl-],ctrl-^,ctrl-_", b"\x00\x1b\x1c\x1d\x1e\x1f"),
    ("a,b,c", b"abc"),
])
def test_parse(spec, keys):
    assert parse_detach_keys(spec) == keys


@pytest.mark.parametrize("spec", ["ctrl-1", "ctrl-", "ab", "ctrl-p,,ctrl-q", "alt-x"])
def test_parse_rejects(spec):
    with pytest.raises(InvalidArgument, match="Invalid detach keys"):
        parse_detach_keys(spec)


def test_matcher_holds_a_prefix_and_releases_it_when_broken():
    m = DetachMatcher(b"\x10\x11")
    assert m.feed(b"ab\x10") == (b"ab", False)
    assert m.feed(b"c") == (b"\x10c", False)
    assert m.feed(b"\x10\x10") == (b"\x10", False)
    assert m.feed(b"\x11rest") == (b"", True)


def test_matcher_across_chunks_and_single_key():
    m = DetachMatcher(b"\x10\x11")
    assert m.feed(b"ls\r\x10") == (b"ls\r", False)
    assert m.feed(b"\x11") == (b"", True)
    assert DetachMatcher(b"q").feed(b"abq") == (b"ab", True)


def test_frame_header():
    assert frame(1, b"hi") == b"\x01\x00\x00\x00\x00\x00\x00\x02hi"
    assert frame(2, b"") == b"\x02\x00\x00\x00\x00\x00\x00\x00"
