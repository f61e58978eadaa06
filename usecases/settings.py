"""The settings the use cases read, and where they come from.

The use cases never import the web framework: the application installs a
source (:func:`set_settings_source`) that returns its configuration mapping,
or None outside a running application (then the defaults below apply).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

__all__ = [
    "DEFAULT_CLICK_BUDGET_MS",
    "DEFAULT_COMPILE_BUDGET_S",
    "DEFAULT_COMPILE_MEMORY_MB",
    "DEFAULT_COMPILE_NODE_BUDGET",
    "click_budget_ms",
    "current_settings",
    "set_settings_source",
]

DEFAULT_COMPILE_BUDGET_S = 10.0
"""Seconds one product's model may take to compile (``C2M_COMPILE_BUDGET_S``)."""
DEFAULT_COMPILE_NODE_BUDGET = 1_000_000
"""Decision-diagram nodes of one product's model (``C2M_COMPILE_NODE_BUDGET``; about 400 MB)."""
DEFAULT_COMPILE_MEMORY_MB = 8192
"""Address space of the process that test-compiles a catalog before it is stored (``C2M_COMPILE_MEMORY_MB``).

An address-space cap, not resident memory: d4 reserves between 4 and 8 GB of address space on
Automotive02_V4 (18,616 features) while its resident memory stays near 0.5 GB; under a 2 or 4 GB cap
its compile fails with ``std::bad_alloc`` and ``auto`` falls back to SAT (logged), which cannot count
and answers clicks in seconds."""

DEFAULT_CLICK_BUDGET_MS = 2000.0
"""Milliseconds one storefront click (a state query) may take before it answers 503 click_budget
(``C2M_CLICK_BUDGET_MS``)."""

SettingsSource = Callable[[], Mapping[str, Any] | None]


def _none() -> Mapping[str, Any] | None:
    return None


_source: SettingsSource = _none


def set_settings_source(source: SettingsSource) -> None:
    """Install where settings come from (the web app installs its configuration)."""
    global _source
    _source = source


def current_settings() -> Mapping[str, Any] | None:
    """The settings of the running application, or None (use the defaults).

    >>> current_settings() is None or isinstance(current_settings(), Mapping)
    True
    """
    return _source()


def click_budget_ms() -> float:
    """The per-click time budget in milliseconds (``CLICK_BUDGET_MS`` or the default).

    >>> click_budget_ms() > 0
    True
    """
    config = current_settings() or {}
    return float(config.get("CLICK_BUDGET_MS") or DEFAULT_CLICK_BUDGET_MS)
