"""Fixtures shared by the unit tests."""

import pytest

from tether.store.memory import MemoryStore
from tether.store.sqlite import SqliteStore


@pytest.fixture(params=["memory", "sqlite"])
async def store(request, tmp_path):
    s = MemoryStore() if request.param == "memory" else await SqliteStore.open(
        str(tmp_path / "state.db"))
    yield s
    await s.close()
