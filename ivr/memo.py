"""The most recent answers of a pure step, kept: callers and texters say the same few words.

A spoken choice ("methadone", "counselor") or a keyword text ("DETOX") is read the same way
every time against the same loaded menu, so reading it again is wasted work on a busy night.
Only short words are kept (`LONGEST_KEPT`): a long message is a person's own and never
repeats, so keeping it would only hold their words in memory. Nothing here is written
anywhere; a new menu (a new `Line`) starts with nothing kept.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

V = TypeVar("V")
MOST = 2048  # answers kept per step, the least recently used dropped first
LONGEST_KEPT = 40  # characters: the words of a keyword or a short spoken choice, not a story


class Memo(Generic[V]):
    """A bounded, thread-safe store of one pure step's answers, by its arguments."""

    def __init__(self, most: int = MOST) -> None:
        self._most = most
        self._kept: dict[Hashable, V] = {}
        self._lock = threading.Lock()

    def get(self, words: str, key: Hashable, make: Callable[[], V]) -> V:
        """The step's answer for `key` (which holds `words`): kept, or made now and kept when
        the words are short."""
        if len(words) > LONGEST_KEPT:
            return make()
        with self._lock:
            if key in self._kept:
                value = self._kept.pop(key)  # most recent last: dropped last
                self._kept[key] = value
                return value
        value = make()
        with self._lock:
            self._kept[key] = value
            while len(self._kept) > self._most:
                del self._kept[next(iter(self._kept))]
        return value

    def __len__(self) -> int:
        return len(self._kept)
