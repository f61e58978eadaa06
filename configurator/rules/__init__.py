"""The rule language: parse, print, check and evaluate rules, conditions and formulas.

>>> from configurator.rules import parse_expression, to_text
>>> to_text(parse_expression("(frame_material == carbon) -> (not rack)"))
'frame_material == carbon -> not rack'
"""

from __future__ import annotations

from configurator.rules.catalog_check import (
    check_catalog,
    check_module,
    check_product,
    check_text,
    expression_checker,
)
from configurator.rules.check import KINDS, check_all, check_expression
from configurator.rules.errors import (
    RuleError,
    RuleSetInvalid,
    RuleSyntaxError,
    RuleTooComplex,
    RuleTypeError,
    TableError,
    UnknownReference,
    UnknownValue,
)
from configurator.rules.evaluate import EvaluationError, evaluate, references
from configurator.rules.parser import DEFAULT_LIMITS, KEYWORDS, Limits, parse_expression
from configurator.rules.printer import quote, to_text
from configurator.rules.tables import (
    ANY,
    CellError,
    allowed_tuples,
    check_price_table,
    check_table_rule,
    parse_cell,
    row_matches,
    row_sets,
)

__all__ = [
    "ANY",
    "DEFAULT_LIMITS",
    "KEYWORDS",
    "KINDS",
    "CellError",
    "EvaluationError",
    "Limits",
    "RuleError",
    "RuleSetInvalid",
    "RuleSyntaxError",
    "RuleTooComplex",
    "RuleTypeError",
    "TableError",
    "UnknownReference",
    "UnknownValue",
    "allowed_tuples",
    "check_all",
    "check_catalog",
    "check_expression",
    "check_module",
    "check_price_table",
    "check_product",
    "check_table_rule",
    "check_text",
    "evaluate",
    "expression_checker",
    "parse_cell",
    "parse_expression",
    "quote",
    "references",
    "row_matches",
    "row_sets",
    "to_text",
]
