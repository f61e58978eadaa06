"""QuickXplain and FastDiag against linear reference algorithms on random conflict structures."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from configurator.diagnosis import fastdiag, quickxplain

Oracle = Callable[[Sequence[int]], bool]


def oracle_for(conflicts: list[frozenset[int]], calls: list[int]) -> Oracle:
    """Consistent unless the subset contains one of the given minimal conflicts."""

    def consistent(subset: Sequence[int]) -> bool:
        calls.append(1)
        present = set(subset)
        return not any(c <= present for c in conflicts)

    return consistent


def linear_conflict(items: list[int], consistent: Oracle) -> tuple[int, ...] | None:
    """Reference for the preferred conflict: shortest inconsistent prefix, keep its last item, repeat."""
    order = list(items)
    if consistent(items):
        return None
    core: list[int] = []
    while consistent(core):
        for i in range(len(items)):
            if not consistent(core + items[: i + 1]):
                core.append(items[i])
                items = items[:i]
                break
    return tuple(sorted(core, key=order.index))


def greedy_diagnosis(items: list[int], consistent: Oracle) -> tuple[int, ...] | None:
    """Reference for the preferred diagnosis: keep items in order while consistent."""
    if not consistent([]):
        return None
    kept: list[int] = []
    dropped: list[int] = []
    for x in items:
        (kept if consistent([*kept, x]) else dropped).append(x)
    return tuple(dropped)


conflict_sets = st.lists(st.frozensets(st.integers(0, 11), min_size=1, max_size=3), max_size=4)
orders = st.permutations(list(range(12)))


@settings(max_examples=200, deadline=None)
@given(conflicts=conflict_sets, order=orders)
def test_quickxplain_finds_the_preferred_minimal_conflict(conflicts: list[frozenset[int]], order: list[int]) -> None:
    calls: list[int] = []
    consistent = oracle_for(conflicts, calls)
    got = quickxplain(order, consistent)
    assert got == linear_conflict(list(order), consistent)
    if got:
        assert not consistent(got)
        for i in range(len(got)):
            assert consistent(got[:i] + got[i + 1 :]), "removing any element must restore consistency"


@settings(max_examples=200, deadline=None)
@given(conflicts=conflict_sets, order=orders)
def test_fastdiag_finds_the_preferred_minimal_diagnosis(conflicts: list[frozenset[int]], order: list[int]) -> None:
    calls: list[int] = []
    consistent = oracle_for(conflicts, calls)
    got = fastdiag(order, consistent)
    assert got == greedy_diagnosis(list(order), consistent)
    assert got is not None
    rest = [x for x in order if x not in got]
    assert consistent(rest)
    for x in got:
        assert not consistent([*rest, x]), "putting any dropped element back must break consistency"


def test_quickxplain_reports_none_for_consistent_items() -> None:
    assert quickxplain([1, 2, 3], lambda xs: True) is None


def test_quickxplain_returns_empty_when_the_background_alone_is_inconsistent() -> None:
    assert quickxplain([1, 2], lambda xs: False) == ()


def test_fastdiag_returns_none_when_no_removal_helps() -> None:
    assert fastdiag([1, 2], lambda xs: False) is None
    assert fastdiag([1, 2], lambda xs: True) == ()


def test_quickxplain_needs_few_oracle_calls_for_a_small_conflict() -> None:
    calls: list[int] = []
    consistent = oracle_for([frozenset({700, 900})], calls)
    assert quickxplain(list(range(1000)), consistent) == (700, 900)
    assert len(calls) < 60  # a linear scan would need about a thousand
