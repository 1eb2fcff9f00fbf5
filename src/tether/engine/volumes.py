"""`/volumes`: the local driver's volumes, with dockerd's in-use rules and sentences.

The directories are runtime/volumes.py's; what this adds is who uses a volume (any container,
running or not, that mounts it) and the API's rules around that.
"""

from __future__ import annotations

import asyncio
import re
import secrets
from collections.abc import Iterable

from tether.engine.networks import labels_match
from tether.engine.state import State
from tether.errors import Conflict, InvalidArgument, NotFound
from tether.model import Container, Volume
from tether.runtime import volumes as store

NAME = re.compile(r"[a-zA-Z0-9][a-zA-Z0-9_.-]+")


class Volumes:
    def __init__(self, state: State, root: str) -> None:
        self.state = state
        self.root = root

    def users(self) -> dict[str, list[str]]:
        return volume_users(self.state.containers.values())

    async def create(self, name: str, driver: str, options: dict[str, str],
                     labels: dict[str, str]) -> Volume:
        """Make a volume (a random name when none is given); an existing name is returned.

        Raises:
            NotFound: a driver other than local.
            InvalidArgument: a name the local driver refuses.
        """
        if driver not in ("", "local"):
            raise NotFound(f'error looking up volume plugin {driver}: plugin "{driver}" not '
                           "found")
        if name:
            check_name(name)
        return await asyncio.to_thread(store.create, self.root, name or secrets.token_hex(32),
                                       labels, options, not name)

    async def list(self) -> list[Volume]:
        return await asyncio.to_thread(store.all_volumes, self.root)

    async def get(self, name: str) -> Volume:
        found = await asyncio.to_thread(store.read, self.root, name) if NAME.fullmatch(
            name) else None
        if found is None:
            raise NotFound(f"get {name}: no such volume")
        return found

    async def remove(self, name: str, force: bool) -> None:
        """Delete a volume no container mounts; `force` only forgives a missing one.

        Raises:
            NotFound: no such volume (unless `force`).
            Conflict: a container mounts it.
        """
        try:
            v = await self.get(name)
        except NotFound:
            if force:
                return
            raise
        users = self.users().get(v.name)
        if users:
            raise Conflict(f"remove {v.name}: volume is in use - [{', '.join(users)}]")
        await asyncio.to_thread(store.delete, self.root, v.name)

    async def prune(self, everything: bool, labels: list[str]) -> list[str]:
        """Delete the volumes no container mounts (only anonymous ones unless
        `everything`) that match the label filters; return their names."""
        used = self.users()
        gone = []
        for v in await self.list():
            if v.name in used or not (everything or v.anonymous):
                continue
            if not labels_match(v.labels, labels):
                continue
            await asyncio.to_thread(store.delete, self.root, v.name)
            gone.append(v.name)
        return gone


def volume_users(containers: Iterable[Container]) -> dict[str, list[str]]:
    """Volume name -> ids of the containers (running or not) that mount it."""
    out: dict[str, list[str]] = {}
    for c in containers:
        for m in c.spec.mounts:
            if m.type == "volume":
                out.setdefault(m.source, []).append(c.id)
    return out


def check_name(name: str) -> None:
    """Refuse a name the local driver cannot take, in dockerd's words (it may be a relative
    path meant as a bind).

    Raises:
        InvalidArgument: always, for a bad name.
    """
    if not NAME.fullmatch(name):
        raise InvalidArgument(
            f'create {name}: "{name}" includes invalid characters for a local volume name, '
            'only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed. If you intended to pass a host '
            "directory, use absolute path")
