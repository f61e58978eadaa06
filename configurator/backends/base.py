"""The one Protocol every solver backend implements.

UNSAT is data, not an exception: ``propagate`` and ``solve`` return ``None``.
All methods take a :data:`configurator.model.Restriction` (allowed values per
solver variable) so decisions, "not this value" and set elements are all the
same thing to a backend.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Protocol

from catalog.snapshot import Value
from configurator.errors import BudgetExceeded, ConfiguratorError
from configurator.model import Model, Restriction


class Backend(Protocol):
    name: str
    """"mdd", "reference", "sat", "brute"."""
    model: Model

    def propagate(self, restrict: Restriction) -> dict[str, frozenset[Value]] | None:
        """For every variable, the exact set of values that extend to a full solution
        under ``restrict`` (global consistency), or ``None`` when there is none."""
        ...

    def count(self, restrict: Restriction) -> int:
        """The exact number of full solutions under ``restrict``."""
        ...

    def solve(
        self,
        restrict: Restriction,
        weights: Mapping[str, Mapping[Value, Fraction]] | None = None,
    ) -> dict[str, Value] | None:
        """A full solution minimizing the sum of unary ``weights`` (missing = 0),
        ties broken towards each variable's earlier domain values; ``None`` if none."""
        ...


class RetractingBackend(Backend, Protocol):
    """A backend that also answers, in the same passes as ``propagate``, every variable's domain with
    its *own* restriction retracted (the compiled backends: circuit derivatives on the d-DNNF, forward
    and backward passes on the decision diagram). A click uses it for the alternatives of decided
    attributes: one query instead of one propagation per decided attribute."""

    def propagate_each(
        self, restrict: Restriction
    ) -> tuple[dict[str, frozenset[Value]] | None, dict[str, frozenset[Value]] | None]:
        """``propagate(restrict)``, and per variable ``x`` the values ``v`` such that ``restrict``
        with its entry for ``x`` replaced by ``{v}`` has a solution. The second answer is computed
        also when ``restrict`` has no solution, and is ``None`` only when ``restrict`` leaves some
        variable no value at all."""
        ...


def retracting(backend: object) -> RetractingBackend | None:
    """``backend`` when it offers :meth:`RetractingBackend.propagate_each`, else ``None``."""
    return backend if callable(getattr(backend, "propagate_each", None)) else None  # type: ignore[return-value]


def satisfiable(backend: Backend, restrict: Restriction) -> bool:
    """Whether ``restrict`` has a solution: the backend's own yes/no query when it offers one (the SAT
    backend: one solver call, where ``propagate`` would also look for every value's support), else
    ``propagate``."""
    own = getattr(backend, "satisfiable", None)
    if callable(own):
        return bool(own(restrict))
    return backend.propagate(restrict) is not None


class CompileBudgetExceeded(BudgetExceeded):
    """A backend could not compile the model within its node or time budget."""

    reason = "compile_budget"

    def __init__(self, backend: str, detail: str) -> None:
        super().__init__(f"{backend}: {detail}")
        self.backend = backend
        self.detail = detail


class BackendTimeout(ConfiguratorError):
    """A backend query ran longer than its time budget."""

    reason = "solver_timeout"

    def __init__(self, backend: str, timeout_s: float) -> None:
        super().__init__(f"{backend}: query exceeded its time budget of {timeout_s:g} s")
        self.backend = backend
        self.timeout_s = timeout_s


class SearchLimitExceeded(BudgetExceeded):
    """An enumerating backend would have to visit more than its configured limit."""

    reason = "search_limit"

    def __init__(self, backend: str, detail: str) -> None:
        super().__init__(f"{backend}: {detail}")
        self.backend = backend
        self.detail = detail


class UnknownVariable(ConfiguratorError):
    """A restriction or weight names a variable the model does not have."""

    reason = "unknown_variable"

    def __init__(self, name: str, model_key: str) -> None:
        super().__init__(f"unknown solver variable {name!r} in model {model_key!r}")
        self.name = name
        self.model_key = model_key
