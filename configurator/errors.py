"""Errors of the configurator package. Every class has a stable machine ``reason``."""

from __future__ import annotations


class ConfiguratorError(Exception):
    """Root of every configurator error."""

    reason = "configurator_error"
