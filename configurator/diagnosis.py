"""Minimal conflicts (QuickXplain) and minimal diagnoses (FastDiag).

Both algorithms are generic: they see a sequence of items (decisions, rule
ids, anything hashable) and a *consistency oracle* ``consistent(subset) ->
bool`` that already includes whatever background must always hold (the rules,
the value being asked about). Both are divide-and-conquer: they need
``O(k log(n/k))`` oracle calls for a result of size ``k`` out of ``n`` items,
instead of the ``n`` calls of a linear scan, which matters when each call is a
solver query.

Preferences are expressed by the order of ``items``:

- :func:`quickxplain` returns the *preferred* minimal conflict: the one a
  linear scan would find by taking the shortest prefix of ``items`` that is
  inconsistent, keeping its last item, and repeating. Conflicts made of early
  items win.
- :func:`fastdiag` returns the *preferred* minimal diagnosis: the complement
  of the maximal consistent subset built greedily by keeping ``items`` in
  order whenever they stay consistent. Early items are kept, late items are
  dropped.

>>> # items are numbers; a subset is inconsistent when it holds two numbers summing to 10
>>> ok = lambda xs: not any(a + b == 10 for a in xs for b in xs if a < b)
>>> quickxplain([1, 4, 9, 6, 3, 7], ok)
(1, 9)
>>> fastdiag([1, 4, 9, 6, 3, 7], ok)
(9, 6, 7)
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Sequence
from typing import TypeVar

T = TypeVar("T", bound=Hashable)

Oracle = Callable[[Sequence[T]], bool]


def quickxplain(items: Sequence[T], consistent: Callable[[Sequence[T]], bool]) -> tuple[T, ...] | None:
    """A minimal subset of ``items`` that is inconsistent, or ``None`` when all of ``items`` is consistent.

    Returns ``()`` when the background alone (``consistent([])`` false) is inconsistent.
    The result keeps the order of ``items``; removing any one of its elements makes it consistent.
    """
    if consistent(items):
        return None
    if not items or not consistent([]):
        return ()
    found = _qx(consistent, [], False, list(items))
    position = {id(x): i for i, x in enumerate(items)}
    return tuple(sorted(found, key=lambda x: position.get(id(x), 0)))


def _qx(consistent: Callable[[Sequence[T]], bool], background: list[T], delta: bool,
        candidates: list[T]) -> list[T]:
    # Junker's QuickXplain: `delta` says whether something was just added to the
    # background; only then can the background alone already be inconsistent.
    if delta and not consistent(background):
        return []
    if len(candidates) == 1:
        return candidates
    half = len(candidates) // 2
    first, second = candidates[:half], candidates[half:]
    conflict_second = _qx(consistent, background + first, bool(first), second)
    conflict_first = _qx(consistent, background + conflict_second, bool(conflict_second), first)
    return conflict_first + conflict_second


def fastdiag(items: Sequence[T], consistent: Callable[[Sequence[T]], bool]) -> tuple[T, ...] | None:
    """A minimal subset of ``items`` whose removal leaves the rest consistent.

    Returns ``()`` when ``items`` is already consistent and ``None`` when no
    removal helps (the background alone is inconsistent). Putting any one
    element of the result back makes the rest inconsistent again.
    """
    if consistent(items):
        return ()
    if not consistent([]):
        return None
    keep_all = list(items)
    found = _fd(consistent, False, list(items), keep_all)
    position = {id(x): i for i, x in enumerate(items)}
    return tuple(sorted(found, key=lambda x: position.get(id(x), 0)))


def _fd(consistent: Callable[[Sequence[T]], bool], removed_something: bool, candidates: list[T],
        all_items: list[T]) -> list[T]:
    # Felfernig's FastDiag: `all_items` is what is currently kept; a diagnosis is
    # searched among `candidates`. The first half is decided first with the second
    # half removed, so early items are kept whenever possible.
    if removed_something and consistent(all_items):
        return []
    if len(candidates) == 1:
        return candidates
    half = len(candidates) // 2
    first, second = candidates[:half], candidates[half:]
    diag_first = _fd(consistent, bool(second), first, _without(all_items, second))
    diag_second = _fd(consistent, bool(diag_first), second, _without(all_items, diag_first))
    return diag_first + diag_second


def _without(items: list[T], drop: list[T]) -> list[T]:
    gone = {id(x) for x in drop}
    return [x for x in items if id(x) not in gone]
