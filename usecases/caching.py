"""The one cache design of the application: bounded, content-addressed, measured.

Only *immutable* things are cached, under a key that names their content:
the parsed content of a published catalog version under its content hash,
a compiled configurator under its model key (content hash, product, backend),
a state under the decisions it was computed from. A key never goes stale, so
no cache ever needs invalidating; status, validity dates and archival are
never cached (they are read from the database on every request).

Caches are objects, not module globals: the application factory, the ``c2m``
command line and tests create a :class:`~usecases.catalogs.ModelCaches` and
hand it to the use cases, and report :meth:`BoundedCache.stats` where the
process exposes its health (``/readyz``, ``c2m model artifacts``).

>>> cache: BoundedCache[str, int] = BoundedCache("numbers", 1)
>>> cache.put("a", 1), cache.put("b", 2), cache.get("a"), cache.get("b")
(1, 2, None, 2)
>>> cache.stats()
CacheStats(name='numbers', size=1, entries=1, hits=1, misses=1, evictions=1)
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import asdict, dataclass
from threading import Lock
from typing import Generic, TypeVar

__all__ = ["BoundedCache", "CacheStats"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True, slots=True)
class CacheStats:
    """What one cache holds and how it has served (since it was created or cleared)."""

    name: str
    size: int
    """Most entries kept; the least recently used goes first."""
    entries: int
    hits: int
    misses: int
    evictions: int

    def as_dict(self) -> dict[str, int | str]:
        return asdict(self)


class BoundedCache(Generic[K, V]):
    """A thread-safe LRU map with hit, miss and eviction counters.

    ``functools.lru_cache`` cannot key on a value computed after a database
    read, nor build a value outside its lock, nor be handed to a use case.
    """

    def __init__(self, name: str, size: int) -> None:
        if size < 1:
            raise ValueError(f"cache {name!r}: size must be at least 1, not {size}")
        self.name = name
        self.size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = Lock()
        self._hits = self._misses = self._evictions = 0

    def get(self, key: K) -> V | None:
        """The value stored under ``key`` (counted as a hit), or None (a miss)."""
        with self._lock:
            value = self._data.get(key)
            if value is None:
                self._misses += 1
                return None
            self._hits += 1
            self._data.move_to_end(key)
            return value

    def peek(self, key: K) -> V | None:
        """Like :meth:`get` without counting or reordering (diagnostics)."""
        with self._lock:
            return self._data.get(key)

    def put(self, key: K, value: V) -> V:
        """Store ``value`` unless another thread stored one first; return the one kept."""
        with self._lock:
            kept = self._data.setdefault(key, value)
            self._data.move_to_end(key)
            while len(self._data) > self.size:
                self._data.popitem(last=False)
                self._evictions += 1
            return kept

    def clear(self) -> None:
        """Forget every entry and reset the counters."""
        with self._lock:
            self._data.clear()
            self._hits = self._misses = self._evictions = 0

    def stats(self) -> CacheStats:
        with self._lock:
            return CacheStats(self.name, self.size, len(self._data), self._hits, self._misses, self._evictions)

    def __len__(self) -> int:
        return len(self._data)

    # The counters as attributes, for callers that read one figure.
    @property
    def hits(self) -> int:
        return self._hits

    @property
    def misses(self) -> int:
        return self._misses

    @property
    def evictions(self) -> int:
        return self._evictions
