"""Errors of the rule language: syntax, limits, unknown names, types.

Every error carries the rule id (when known), the 1-based ``line`` and
``column`` inside the rule text, a plain-words ``detail`` and a ``message``
that starts with the position. ``check_product`` adds ``where`` (which field
of which catalog object) and ``source`` (the best known file position).

>>> err = RuleSyntaxError("expected a name", rule_id="r1", line=1, column=5, expected=("a name",))
>>> str(err)
'line 1, column 5: expected a name'
>>> err.reason
'rule_syntax'
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from catalog.snapshot import SourceLoc
from configurator.errors import ConfiguratorError


class RuleError(ConfiguratorError):
    """Base of every error about one rule, condition or formula text."""

    reason = "rule_error"

    def __init__(
        self,
        detail: str,
        *,
        rule_id: str | None = None,
        line: int = 0,
        column: int = 0,
        where: str | None = None,
        source: SourceLoc | None = None,
    ) -> None:
        self.detail = detail
        self.rule_id = rule_id
        self.line = line
        self.column = column
        self.where = where
        self.source = source
        super().__init__(detail)

    @property
    def message(self) -> str:
        """The detail prefixed with the position inside the text (when known)."""
        if self.line:
            return f"line {self.line}, column {self.column}: {self.detail}"
        return self.detail

    def describe(self) -> str:
        """Full description: file position, the catalog field, then the message.

        >>> e = RuleTypeError("oops", line=1, column=3, where="rule r1")
        >>> e.describe()
        'rule r1: line 1, column 3: oops'
        """
        parts = [str(self.source)] if self.source is not None else []
        if self.where:
            parts.append(self.where)
        parts.append(self.message)
        return ": ".join(parts)

    def __str__(self) -> str:
        return self.describe()

    def __reduce__(self) -> tuple[Any, ...]:
        # keyword-only constructors do not survive Exception's default pickling
        return (_restore, (type(self), self.args, self.__dict__.copy()))


class RuleSyntaxError(RuleError):
    """The text is not a well-formed expression.

    ``expected`` lists, in readable words, what would have been accepted at
    the error position ("a name", "')'", "a number", ...).
    """

    reason = "rule_syntax"

    def __init__(
        self,
        detail: str,
        *,
        rule_id: str | None = None,
        line: int = 0,
        column: int = 0,
        expected: Sequence[str] = (),
        where: str | None = None,
        source: SourceLoc | None = None,
    ) -> None:
        super().__init__(detail, rule_id=rule_id, line=line, column=column, where=where, source=source)
        self.expected = tuple(expected)


class RuleTooComplex(RuleSyntaxError):
    """The text exceeds a size limit (length, nesting depth or node count)."""

    reason = "rule_too_complex"


class UnknownReference(RuleError):
    """A name is neither an attribute nor a value usable at that place."""

    reason = "unknown_reference"

    def __init__(
        self,
        detail: str,
        *,
        name: str,
        suggestions: Sequence[str] = (),
        rule_id: str | None = None,
        line: int = 0,
        column: int = 0,
        where: str | None = None,
        source: SourceLoc | None = None,
    ) -> None:
        super().__init__(detail, rule_id=rule_id, line=line, column=column, where=where, source=source)
        self.name = name
        self.suggestions = tuple(suggestions)


class UnknownValue(UnknownReference):
    """A value code that the attribute it is compared with does not have."""

    reason = "unknown_value"

    def __init__(
        self,
        detail: str,
        *,
        name: str,
        attribute: str,
        allowed: Sequence[str],
        suggestions: Sequence[str] = (),
        rule_id: str | None = None,
        line: int = 0,
        column: int = 0,
        where: str | None = None,
        source: SourceLoc | None = None,
    ) -> None:
        super().__init__(
            detail,
            name=name,
            suggestions=suggestions,
            rule_id=rule_id,
            line=line,
            column=column,
            where=where,
            source=source,
        )
        self.attribute = attribute
        self.allowed = tuple(allowed)


class RuleTypeError(RuleError):
    """Operands of the wrong kind (``gears and rack``, ``accessories == bell``)."""

    reason = "rule_type"


class TableError(RuleError):
    """A table rule or price table is malformed (bad column, bad cell, wrong row length)."""

    reason = "rule_table"


class RuleSetInvalid(ConfiguratorError):
    """Several rule errors at once (a catalog editor wants to see them all)."""

    reason = "rule_set_invalid"

    def __init__(self, errors: Sequence[RuleError]) -> None:
        self.errors = tuple(errors)
        lines = "\n".join(f"  - {e}" for e in self.errors)
        super().__init__(f"{len(self.errors)} problems:\n{lines}")

    def __reduce__(self) -> tuple[Any, ...]:
        return (_restore, (type(self), self.args, self.__dict__.copy()))


def _restore(cls: type[Exception], args: tuple[Any, ...], state: dict[str, Any]) -> Exception:
    err = cls.__new__(cls)
    err.args = args
    err.__dict__.update(state)
    return err
