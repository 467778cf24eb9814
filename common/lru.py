"""A thread-safe LRU bounded in bytes: what a process keeps in memory for a cache (the response cache's answers,
the cache lane's requests). Each value's size comes from ``size_of(key, value)``; the limit is read on each
insert (``max_bytes()``: a setting, which tests change)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Callable, Generic, Hashable, TypeVar

V = TypeVar("V")


class BytesLRU(Generic[V]):
    def __init__(self, max_bytes: Callable[[], int], size_of: Callable[[Hashable, V], int]):
        self.max_bytes = max_bytes
        self._size_of = size_of
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> V | None:
        with self._lock:
            value = self._entries.get(key)
            if value is not None:
                self._entries.move_to_end(key)
            return value

    def peek(self, key: Hashable) -> V | None:
        """The value, without counting it as used."""
        return self._entries.get(key)

    def put(self, key: Hashable, value: V) -> None:
        """Keeps ``value`` (unless it alone is over the limit), dropping the least recently used to fit."""
        limit, size = self.max_bytes(), self._size_of(key, value)
        with self._lock:
            self._discard(key)
            if size > limit:
                return
            self._entries[key] = value
            self._bytes += size
            while self._bytes > limit:
                oldest, dropped = self._entries.popitem(last=False)
                self._bytes -= self._size_of(oldest, dropped)

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._discard(key)

    def _discard(self, key: Hashable) -> None:
        old = self._entries.pop(key, None)
        if old is not None:
            self._bytes -= self._size_of(key, old)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self._bytes = 0

    def keys(self) -> list:
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    @property
    def bytes(self) -> int:
        return self._bytes
