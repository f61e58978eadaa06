"""Modules the product needs are required: their absence is an error at start-up, not a skipped step."""

from __future__ import annotations

import sys

import pytest

from catalog import db


def test_a_missing_model_module_fails_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(db, "MODEL_MODULES", (*db.MODEL_MODULES, "usecases.no_such_records"))
    with pytest.raises(ModuleNotFoundError, match="usecases.no_such_records"):
        db.import_models()


def test_catalog_validate_fails_when_the_rule_checker_cannot_be_imported(monkeypatch: pytest.MonkeyPatch) -> None:
    from web.commands.catalog import expression_checker

    monkeypatch.setitem(sys.modules, "configurator.rules.catalog_check", None)  # import now raises ImportError
    with pytest.raises(ImportError):
        expression_checker()
