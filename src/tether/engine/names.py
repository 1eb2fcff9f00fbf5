"""Container names: Docker's rules, and generated names for containers created without one."""

from __future__ import annotations

import re
import secrets
from typing import Collection

from tether.errors import InvalidArgument

NAME_RE = re.compile(r"^/?[a-zA-Z0-9][a-zA-Z0-9_.-]*$")

# Our own word lists (adjective + a pioneer of networking), in the spirit of Docker's names.
ADJECTIVES = (
    "agile", "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crisp", "daring",
    "eager", "fancy", "fearless", "gentle", "happy", "humble", "jolly", "keen", "kind", "lively",
    "lucid", "merry", "nimble", "noble", "proud", "quick", "quiet", "rapid", "serene", "sharp",
    "shiny", "silent", "steady", "sunny", "swift", "tender", "upbeat", "vivid", "witty", "zesty",
)
PIONEERS = (
    "baran", "bellovin", "berners", "cerf", "clark", "davies", "deering", "estrin", "floyd",
    "hinden", "jacobson", "kahn", "kleinrock", "lampson", "metcalfe", "mockapetris", "perlman",
    "postel", "pouzin", "roberts", "saltzer", "shannon", "stevens", "tomlinson", "zhang",
)


def validate_container_name(name: str) -> str:
    """Return `name` without a leading "/"; raise InvalidArgument when Docker would refuse it."""
    if not NAME_RE.match(name):
        raise InvalidArgument(
            f"Invalid container name ({name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
        )
    return name.lstrip("/")


def generate_name(taken: Collection[str]) -> str:
    """Pick an unused adjective_pioneer name, adding a digit after many collisions."""
    for attempt in range(50):
        name = f"{secrets.choice(ADJECTIVES)}_{secrets.choice(PIONEERS)}"
        if attempt > 10:
            name += str(secrets.randbelow(10))
        if name not in taken:
            return name
    return f"tether_{secrets.token_hex(4)}"
