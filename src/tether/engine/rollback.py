"""Undo stacks: every step that made something pushes how to unmake it."""

from __future__ import annotations

import inspect
import logging
from typing import Any, Callable

log = logging.getLogger(__name__)


class Rollback:
    """`async with Rollback() as undo:` - on an exception, run the pushed undos newest first.

    Undo failures are logged and never hide the original error. On success nothing is undone.
    """

    def __init__(self) -> None:
        self._steps: list[tuple[Callable[..., Any], tuple[Any, ...], dict[str, Any]]] = []

    def push(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._steps.append((fn, args, kwargs))

    async def __aenter__(self) -> "Rollback":
        return self

    async def __aexit__(self, exc_type, exc, tb) -> bool:
        if exc is not None:
            await self.run()
        return False

    async def run(self) -> None:
        """Undo everything pushed so far, newest first, logging (not raising) failures."""
        while self._steps:
            fn, args, kwargs = self._steps.pop()
            try:
                result = fn(*args, **kwargs)
                if inspect.isawaitable(result):
                    await result
            except Exception:  # noqa: BLE001 - undo is best effort; the first error wins
                log.exception("rollback step %s failed", getattr(fn, "__name__", fn))


async def best_effort(label: str, steps: list[tuple[Callable[..., Any], tuple[Any, ...]]]) -> None:
    """Run every step even when some fail; raise one ExceptionGroup naming all failures."""
    errors: list[Exception] = []
    for fn, args in steps:
        try:
            result = fn(*args)
            if inspect.isawaitable(result):
                await result
        except Exception as err:  # noqa: BLE001 - collected and re-raised below
            errors.append(err)
    if errors:
        raise ExceptionGroup(label, errors)
