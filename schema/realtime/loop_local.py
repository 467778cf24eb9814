"""One object per asyncio event loop (the hub, the session guard): kept on the loop, so it goes away with it."""

from __future__ import annotations

import asyncio
from typing import Callable, TypeVar

T = TypeVar("T")
_elsewhere: dict = {}  # (loop, name) -> object, for loops that take no attributes


def loop_local(name: str, factory: Callable[[], T]) -> T:
    """The running loop's object called ``name``, made by ``factory`` the first time."""
    loop = asyncio.get_running_loop()
    attribute = f"_graphql_{name}"
    found = getattr(loop, attribute, None) or _elsewhere.get((loop, name))
    if found is None:
        found = factory()
        try:
            setattr(loop, attribute, found)
        except AttributeError:
            _elsewhere[(loop, name)] = found
    return found
