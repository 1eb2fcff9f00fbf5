"""Resolving what users type (full id, unique id prefix, name) to one object, as Docker does."""

from __future__ import annotations

from typing import Callable, Iterable, TypeVar

from tether.errors import InvalidArgument, NotFound

T = TypeVar("T")


def resolve(
    ref: str,
    items: Iterable[T],
    *,
    id_of: Callable[[T], str],
    name_of: Callable[[T], str],
    kind: str,
    not_found: str,
) -> T:
    """Return the item whose id is `ref`, else whose name is `ref`, else the one id prefix match.

    Raises NotFound with `not_found` (formatted with ref) and InvalidArgument when a prefix
    matches several items, with Docker's sentence.
    """
    items = list(items)
    for item in items:
        if id_of(item) == ref:
            return item
    for item in items:
        if name_of(item) == ref:
            return item
    matches = [i for i in items if ref and id_of(i).startswith(ref)]
    if len(matches) == 1:
        return matches[0]
    if len(matches) > 1:
        raise InvalidArgument(
            f"{len(matches)} matches found based on ID prefix: {kind} {ref} is ambiguous"
        )
    raise NotFound(not_found.format(ref=ref))
