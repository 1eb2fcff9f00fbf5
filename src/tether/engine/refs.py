"""Resolving what users type (full id, unique id prefix, name) to one object, as Docker does."""

from __future__ import annotations

from typing import Callable, Iterable, Mapping, TypeVar

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
    by_id = {id_of(item): item for item in items}
    return lookup(ref, by_id, {name_of(item): id_of(item) for item in by_id.values()},
                  kind=kind, not_found=not_found)


def lookup(
    ref: str,
    by_id: Mapping[str, T],
    id_by_name: Mapping[str, str],
    *,
    kind: str,
    not_found: str,
) -> T:
    """`resolve` over indexes: a full id or a name costs a dict lookup, whatever the count.

    Only an id prefix walks the ids, as `resolve` does.
    """
    if (item := by_id.get(ref)) is not None:
        return item
    if (item_id := id_by_name.get(ref)) is not None and item_id in by_id:
        return by_id[item_id]
    matches = [i for i in by_id if ref and i.startswith(ref)]
    if len(matches) == 1:
        return by_id[matches[0]]
    if len(matches) > 1:
        raise InvalidArgument(
            f"{len(matches)} matches found based on ID prefix: {kind} {ref} is ambiguous"
        )
    raise NotFound(not_found.format(ref=ref))
