"""Saved configurations: a buyer's decisions pinned to a catalog version.

A configuration row stores only the buyer's decisions, oldest first, as a
JSON list (``ConfigurationRecord.decisions``). One entry is one of:

- ``{"attribute": "frame_material", "value": "carbon"}``: fixes an enum,
  bool (``true``/``false``) or int attribute; for a set attribute ``value``
  is the whole set as a list (``{"attribute": "accessories", "value": ["bell"]}``);
- ``{"attribute": "accessories", "element": "bell", "included": true}``: puts
  one element of a set attribute in (or, with ``false``, leaves it out).

An entry may also carry ``"origin": "completed"``: it was filled by
"Finish for me" (:func:`complete`), not chosen by the buyer (entries without
``origin`` are the buyer's own). Such a *completed* value fixes the shown
configuration and its price like any decision, but it is not the buyer's:

- the state reports its attribute with source ``"completed"`` (never ``"user"``);
- it does not grey other values: a value is offered (``possible``) when the
  buyer's own decisions allow it. A value that only completed values rule
  out is offered with ``price_delta`` ``None`` (and ``replaces_completed``
  in :func:`state_document`): choosing it re-fills the completed values in
  its way, so its price is the new total shown after the click (pricing each
  such value exactly would cost one full state per value);
- a new decision of the buyer that contradicts completed values drops those
  completed entries (the newest first kept, oldest-first greedy) instead of
  being refused as a conflict; the attributes they fixed go back to the
  rules and defaults.

The list is the buyer's *history*: a later entry on the same attribute (or set
element) replaces an earlier one when the engine computes the state, so
:func:`undo` (drop the last entry) brings back what was there before. When the
history grows past :data:`MAX_HISTORY` it is compacted to the decisions in
force.

Every read re-validates the stored entries against the pinned version: an
entry that no longer fits (unknown attribute or value, e.g. after
:func:`rebase` onto a newer version) is reported in
:attr:`Configuration.invalid` and left out of the state, never silently
deleted; removing or replacing the decision deletes it.

:func:`state_document` renders an engine :class:`~configurator.State` as the
plain JSON-ready dict both the API and the storefront show. Reasons for
greyed-out values are *not* computed there by default: one explanation costs
a diagnosis (tens of milliseconds each, against ~20 ms for the whole state of
the demo bike), so a state would get several times slower with every greyed
value. Instead each attribute lists the rules that constrain it
(``rules``), and the reason for one value comes from :func:`explain`
(``GET .../explain``); pass ``reasons=True`` to compute them all (the
storefront does so only for the attribute the buyer opens).
"""

from __future__ import annotations

import hashlib
import json
import secrets
import time
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any

from sqlalchemy import Engine, RowMapping, bindparam, inspect, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from catalog.models import CatalogRecord, CatalogVersion, VersionStatus
from catalog.snapshot import Attribute, AttributeKind, Product, Value
from configurator import (
    AnyDecision,
    AttributeValue,
    Configurator,
    ConfiguratorError,
    Decision,
    Explanation,
    Repair,
    RuleRef,
    SetElement,
    State,
    effective_decisions,
)
from configurator.decisions import (
    UnknownAttribute,
    check_decision,
    find_attribute,
    parse_value,
)
from configurator.modules import module_labels
from configurator.texts import InvalidText, check_text
from usecases.catalogs import (
    LoadedCatalog,
    ModelCaches,
    attribute_header,
    current_caches,
    find_product,
    get_configurator,
    load_catalog,
    load_pinned,
)
from usecases.errors import UseCaseError
from usecases.records import ConfigurationRecord, QuoteRecord
from usecases.settings import click_budget_ms

__all__ = [
    "MAX_HISTORY",
    "ORIGINS",
    "Configuration",
    "ConfigurationNotFound",
    "DecisionConflict",
    "InvalidDecision",
    "InvalidDecisionShape",
    "NothingToUndo",
    "RenderedState",
    "add_decision",
    "complete",
    "create_configuration",
    "decision_from_json",
    "decision_to_json",
    "explain",
    "explanation_document",
    "get_configuration",
    "get_shared",
    "json_value",
    "read_configuration",
    "rebase",
    "remove_decision",
    "repair",
    "replace_decisions",
    "state_document",
    "undo",
]

MAX_HISTORY = 200
"""Stored history entries beyond which the history is compacted to the decisions in force."""
MAX_CHANGES = 64
"""Revisions whose changed attributes are remembered; a late decision made on an older revision is refused."""
REBASE_ATTEMPTS = 32
"""Writes tried for one decision while other writers keep committing in between (each retry re-reads
and rebases; after this many the decision is refused as stale rather than retried without end)."""
MAX_DECISIONS_PER_REQUEST = 500
"""A request may not send more decisions than this (protects the diagnosis from huge inputs)."""

ORIGINS = ("buyer", "completed")
"""Who made a stored decision: the buyer, or "Finish for me" (see the module docstring)."""

ON_CONFLICT = ("reject", "keep")
"""What a new decision that contradicts earlier ones does: ``reject`` raises
:class:`DecisionConflict` and stores nothing; ``keep`` stores it and the state
reports the conflict (dropping the oldest culprits to stay usable)."""


def _caches() -> ModelCaches:
    """The application's caches (states, documents, validated histories live with the models)."""
    return current_caches()


# --------------------------------------------------------------------------- errors


class StoredRecordCorrupt(UseCaseError):
    """A stored row cannot be read; nothing is guessed and nothing is overwritten."""

    def __init__(self, record: str, column: str, problem: str) -> None:
        super().__init__(
            "stored_record_corrupt", f"{record}: stored {column} is {problem}", record=record, field=column
        )


class StaleRevision(UseCaseError):
    """A change made on an older revision of the configuration than the stored one.

    Nothing is written; the caller shows the current configuration and lets the
    buyer decide again on it.
    """

    def __init__(self, configuration_id: str, expected: int | None, current: int | None) -> None:
        on = f"revision {expected}" if expected is not None else "an older revision"
        now = f" (now {current})" if current is not None else ""
        super().__init__(
            "stale_revision",
            f"configuration {configuration_id} changed since {on}{now}; reload it and decide again",
            configuration_id=configuration_id,
            expected_revision=expected,
            current_revision=current,
        )
        self.configuration_id = configuration_id


class ConfigurationNotFound(ConfiguratorError):
    reason = "configuration_not_found"

    def __init__(self, key: str, by: str = "id") -> None:
        super().__init__(f"no configuration with {by} {key!r}")
        self.key = key


class InvalidDecisionShape(ConfiguratorError):
    """A decision in a request is not one of the documented JSON shapes."""

    reason = "invalid_decision"

    def __init__(self, detail: str, field: str = "decision") -> None:
        super().__init__(detail)
        self.field = field


class NothingToUndo(ConfiguratorError):
    reason = "nothing_to_undo"

    def __init__(self) -> None:
        super().__init__("the configuration has no decision to undo")


class DecisionConflict(ConfiguratorError):
    """The decisions contradict each other; ``culprits`` and ``rules`` say why."""

    reason = "conflict"

    def __init__(self, culprits: Sequence[AnyDecision], rules: Sequence[RuleRef]) -> None:
        names = ", ".join(str(d) for d in culprits) or "(none)"
        ids = ", ".join(r.rule_id for r in rules)
        super().__init__(f"conflicting decisions: {names}" + (f" (rules: {ids})" if ids else ""))
        self.culprits = tuple(culprits)
        self.rules = tuple(rules)


class DecisionNotFound(ConfiguratorError):
    reason = "decision_not_found"

    def __init__(self, attribute: str, element: str | None) -> None:
        what = f"{attribute} element {element!r}" if element else attribute
        super().__init__(f"the configuration has no decision on {what}")
        self.attribute = attribute


# --------------------------------------------------------------------------- decisions as JSON


def json_value(value: object) -> Any:
    """A value as JSON shows it: sets become sorted lists.

    >>> json_value(frozenset({"lock", "bell"})), json_value(True), json_value(3)
    (['bell', 'lock'], True, 3)
    """
    if isinstance(value, frozenset | set | tuple | list):
        return sorted(str(v) for v in value)
    if isinstance(value, Decimal):
        return format(value, "f")  # exact, as text: "72.5"
    return value


def decision_to_json(decision: AnyDecision) -> dict[str, Any]:
    """The stored/API form of a decision.

    >>> decision_to_json(Decision("frame", "carbon"))
    {'attribute': 'frame', 'value': 'carbon'}
    >>> decision_to_json(SetElement("accessories", "bell", False))
    {'attribute': 'accessories', 'element': 'bell', 'included': False}
    """
    if isinstance(decision, SetElement):
        return {"attribute": decision.attribute, "element": decision.element, "included": decision.included}
    return {"attribute": decision.attribute, "value": json_value(decision.value)}


def _value_for(attribute: Attribute, value: object) -> AttributeValue:
    # JSON carries bools and ints natively; query strings and forms send text,
    # which is parsed the way the CLI parses --set values.
    if isinstance(value, str) and attribute.kind in (
        AttributeKind.BOOL,
        AttributeKind.INT,
        AttributeKind.DECIMAL,
        AttributeKind.SET,
    ):
        return parse_value(attribute, value)
    if isinstance(value, float) and attribute.kind is AttributeKind.DECIMAL:
        # a JSON number such as 72.5: read back as the shortest text that gives this float
        return parse_value(attribute, repr(value))
    # Anything else (lists for sets included) is checked, and normalised, by check_decision.
    return value  # type: ignore[return-value]


def decision_from_json(product: Product, raw: object) -> AnyDecision:
    """Parse and check one decision against ``product``.

    :raise InvalidDecisionShape: not an object of a documented shape.
    :raise UnknownAttribute: the product has no such attribute.
    :raise InvalidValue: the value (or element) is not in the attribute's domain.

    >>> from decimal import Decimal
    >>> from catalog.snapshot import Attribute, AttributeKind, Label, Product
    >>> p = Product("p", Label("P"), Decimal(0), (Attribute("rack", AttributeKind.BOOL, Label("Rack")),))
    >>> decision_from_json(p, {"attribute": "rack", "value": "yes"})
    Decision(attribute='rack', value=True)
    """
    if not isinstance(raw, Mapping):
        raise InvalidDecisionShape(f"a decision is an object, got {type(raw).__name__}")
    attribute_code = raw.get("attribute")
    if not isinstance(attribute_code, str) or not attribute_code:
        raise InvalidDecisionShape("a decision needs 'attribute' (an attribute code)", "attribute")
    unknown = sorted(set(raw) - {"attribute", "value", "element", "included"})
    if unknown:
        raise InvalidDecisionShape(f"unknown field(s) in a decision: {', '.join(unknown)}", unknown[0])
    attribute = find_attribute(product, attribute_code)
    if "element" in raw:
        if "value" in raw:
            raise InvalidDecisionShape("a decision has either 'value' or 'element', not both", "element")
        element, included = raw["element"], raw.get("included", True)
        if not isinstance(element, str):
            raise InvalidDecisionShape("'element' is a value code of a set attribute", "element")
        if not isinstance(included, bool):
            raise InvalidDecisionShape("'included' is true or false", "included")
        return check_decision(product, SetElement(attribute.code, element, included))
    if "value" not in raw:
        raise InvalidDecisionShape(
            "a decision needs 'value' (or 'element' for one element of a set)", "value"
        )
    if "included" in raw:
        raise InvalidDecisionShape("'included' goes with 'element'", "included")
    return check_decision(product, Decision(attribute.code, _value_for(attribute, raw["value"])))


@dataclass(frozen=True, slots=True)
class InvalidDecision:
    """A stored decision that does not fit the pinned version (kept, reported, left out of the state)."""

    index: int
    """Position in the stored history (0 = oldest)."""
    decision: Any
    reason: str
    detail: str


# --------------------------------------------------------------------------- the loaded configuration


@dataclass(frozen=True, slots=True)
class RenderedState:
    """A state document as the API sends it: compact JSON in UTF-8 and the SHA-256 (hex) of those bytes."""

    body: bytes
    digest: str


@dataclass(slots=True)
class Configuration:
    """A stored configuration, re-validated against its pinned version.

    ``history`` holds the valid stored decisions oldest first; ``invalid`` the
    ones that did not validate. :meth:`state` is computed once per object.
    """

    record: ConfigurationRecord
    catalog: LoadedCatalog
    product: Product
    configurator: Configurator
    history: tuple[AnyDecision, ...]
    invalid: tuple[InvalidDecision, ...]
    raw: list[Any]
    """The stored entries as read (valid and invalid), oldest first."""
    _state: State | None = field(default=None, repr=False)
    read_only: bool = False
    """Loaded by :func:`read_configuration`: ``record`` belongs to no session and cannot be stored."""
    origins: tuple[str, ...] = ()
    """Per entry of ``history``, who made it (:data:`ORIGINS`); empty means every entry is the buyer's."""
    made_on: int | None = None
    """The older revision the caller's next change was made on (see :func:`get_configuration`)."""

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def revision(self) -> int:
        """The stored revision this object was read at (or written as)."""
        return self.record.revision

    @property
    def share_token(self) -> str:
        return self.record.share_token

    @property
    def texts(self) -> dict[str, str]:
        """The buyer's free texts (engraving, monogram) by text field code, as stored."""
        return _texts_of(self.record.texts)

    def state(self) -> State:
        """The engine state of the valid decisions (conflicts degrade, see ``State.conflict``).

        States are deterministic in (version content, product, decisions), so
        they are shared through a per-process LRU: a shared link opened by many
        people, or a page reloaded, costs one computation.
        """
        if self._state is None:
            caches = _caches()
            key = (self.catalog.content_hash, self.product.code, self.history)
            cached = caches.states.get(key)
            if cached is None:
                cached = caches.states.put(key, self.configurator.state(self.history, budget_ms=click_budget_ms()))
            if self.completed_attributes():
                soft_key = (*key, self.origins)
                soft = caches.soft_states.get(soft_key)
                if soft is None:
                    soft = caches.soft_states.put(soft_key, _soften(self, cached))
                cached = soft
            self._state = cached
        return self._state

    def origin_of(self, index: int) -> str:
        """Who made ``history[index]``: "buyer" or "completed"."""
        return self.origins[index] if self.origins else "buyer"

    def completed_attributes(self) -> frozenset[str]:
        """Attributes whose newest entry was filled by "Finish for me" (not chosen by the buyer)."""
        newest: dict[str, str] = {}
        for index, decision in enumerate(self.history):
            newest[decision.attribute] = self.origin_of(index)
        return frozenset(a for a, origin in newest.items() if origin == "completed")

    def _key(self) -> tuple[AnyDecision, ...] | tuple[Any, ...]:
        """The part of the cache keys that depends on the stored history (origins included when they matter)."""
        return (self.history, self.origins) if "completed" in self.origins else self.history

    def document(self, locale: str = "en", *, reasons: bool = False) -> dict[str, Any]:
        """:func:`state_document` of this configuration, shared through a per-process LRU.

        The same (version, product, decisions, locale) always renders the same
        document, so it is built once. The returned dict is shared: read it,
        never modify it.
        """
        key = (self.catalog.content_hash, self.product.code, self._key(), locale, reasons)
        cached = _caches().documents.get(key)
        if cached is None:
            rendered = state_document(
                self.state(), self.product, locale, configurator=self.configurator, reasons=reasons
            )
            cached = _caches().documents.put(key, rendered)
        return cached

    def rendered(self, locale: str = "en", *, reasons: bool = False) -> RenderedState:
        """:meth:`document` serialised once as compact UTF-8 JSON with its digest, cached the same way.

        Responses embed the bytes as they are, and the digest stands for them in
        the response's ``ETag``, so a cached state costs neither a serialisation,
        an encoding nor a hash per request.
        """
        key = (self.catalog.content_hash, self.product.code, self._key(), locale, reasons)
        cached = _caches().rendered.get(key)
        if cached is None:
            body = json.dumps(
                self.document(locale, reasons=reasons), ensure_ascii=False, separators=(",", ":")
            ).encode("utf-8")
            cached = _caches().rendered.put(key, RenderedState(body, hashlib.sha256(body).hexdigest()))
        return cached

    def document_json(self, locale: str = "en", *, reasons: bool = False) -> str:
        """:meth:`document` serialised as compact JSON (the text of :meth:`rendered`)."""
        return self.rendered(locale, reasons=reasons).body.decode("utf-8")

    def effective(self) -> tuple[AnyDecision, ...]:
        """The decisions in force (later replaces earlier), before conflict handling."""
        return effective_decisions(self.history)


def _origin_of(entry: object) -> str:
    """The stored origin of one history entry ("buyer" when it has none).

    :raise InvalidDecisionShape: ``origin`` is not one of :data:`ORIGINS`.
    """
    if isinstance(entry, Mapping) and "origin" in entry:
        origin = entry["origin"]
        if origin not in ORIGINS:
            raise InvalidDecisionShape(f"'origin' is one of {', '.join(ORIGINS)}", "origin")
        return str(origin)
    return "buyer"


def _without_origin(entry: object) -> object:
    if isinstance(entry, Mapping) and "origin" in entry:
        return {k: v for k, v in entry.items() if k != "origin"}
    return entry


def _appended(before: Sequence[Any], after: Sequence[Any]) -> bool:
    """Whether ``after`` is ``before`` with one entry appended (the common change: a click)."""
    return len(after) == len(before) + 1 and list(after[:-1]) == list(before)


def _validate_appended(
    configuration: Configuration, raw: list[Any]
) -> tuple[tuple[AnyDecision, ...], tuple[InvalidDecision, ...], tuple[str, ...]] | None:
    """:func:`_validate` of ``raw`` when it is the configuration's entries plus one: only the new
    entry is checked, the others were when the configuration was read. None otherwise."""
    before = configuration.raw
    if not _appended(before, raw) or len(configuration.history) + len(configuration.invalid) != len(before):
        return None
    valid, invalid, origins = _validate(configuration.product, raw[-1:], start=len(before))
    history = configuration.history + valid
    own = configuration.origins or ("buyer",) * len(configuration.history)
    every = own + (origins or ("buyer",) * len(valid))
    return history, configuration.invalid + invalid, every if "completed" in every else ()


def _validate(
    product: Product, raw: list[Any], *, start: int = 0
) -> tuple[tuple[AnyDecision, ...], tuple[InvalidDecision, ...], tuple[str, ...]]:
    """The valid decisions, the invalid entries, and per valid decision its origin (empty when all are the buyer's)."""
    valid: list[AnyDecision] = []
    origins: list[str] = []
    invalid: list[InvalidDecision] = []
    for index, entry in enumerate(raw, start):
        try:
            origin = _origin_of(entry)
            valid.append(decision_from_json(product, _without_origin(entry)))
            origins.append(origin)
        except ConfiguratorError as exc:
            invalid.append(
                InvalidDecision(index, entry, getattr(exc, "reason", "invalid_decision"), str(exc))
            )
    return tuple(valid), tuple(invalid), tuple(origins) if "completed" in origins else ()


def _open(
    session: Session,
    record: ConfigurationRecord,
    loaded: LoadedCatalog | None = None,
    *,
    read_only: bool = False,
) -> Configuration:
    if loaded is None:
        loaded = load_pinned(session, record.catalog_code, record.version_number, record.content_hash)
    product = loaded.product(record.product_code)
    text = record.decisions or "[]"
    key = (loaded.content_hash, product.code, text)
    validated = _caches().validations.get(key)
    if validated is None:
        try:
            raw = json.loads(text)
        except json.JSONDecodeError as exc:
            raise StoredRecordCorrupt(
                f"configuration {record.id}", "decisions", f"not valid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
            ) from None
        if not isinstance(raw, list):
            raise StoredRecordCorrupt(
                f"configuration {record.id}", "decisions", f"a JSON {type(raw).__name__}, not a list of decisions"
            )
        history, invalid, origins = _validate(product, raw)
        validated = _caches().validations.put(key, (tuple(raw), history, invalid, origins))
    entries, history, invalid, origins = validated
    configurator = get_configurator(loaded.catalog, product.code, loaded.content_hash)
    # A fresh list per configuration: the cached entries themselves are shared (read them, never modify them).
    return Configuration(
        record, loaded, product, configurator, history, invalid, list(entries), read_only=read_only, origins=origins
    )


def _now() -> datetime:
    return datetime.now(UTC)


def _check_conflict(configuration: Configuration, on_conflict: str) -> None:
    if on_conflict not in ON_CONFLICT:
        raise InvalidDecisionShape(f"on_conflict is one of {', '.join(ON_CONFLICT)}", "on_conflict")
    if on_conflict == "keep":
        return
    conflict = configuration.state().conflict
    if conflict is not None:
        raise DecisionConflict(conflict.decisions, conflict.rules)


def _touched(before: Sequence[Any], after: Sequence[Any]) -> list[str]:
    """The attributes of the entries one history has and the other has not (``"*"`` for an entry without one)."""
    def key(entry: Any) -> str:
        return json.dumps(entry, sort_keys=True, ensure_ascii=False)

    if _appended(before, after):  # one entry added: only it differs
        attribute = after[-1].get("attribute") if isinstance(after[-1], Mapping) else None
        return [attribute if isinstance(attribute, str) else "*"]

    old, new = Counter(key(e) for e in before), Counter(key(e) for e in after)
    out: set[str] = set()
    for text in (old - new) + (new - old):
        entry = json.loads(text)
        attribute = entry.get("attribute") if isinstance(entry, Mapping) else None
        out.add(attribute if isinstance(attribute, str) else "*")
    return sorted(out)


def _change_log(record: ConfigurationRecord) -> list[list[Any]]:
    try:
        log = json.loads(record.changes or "[]")
    except json.JSONDecodeError as exc:
        raise StoredRecordCorrupt(f"configuration {record.id}", "changes", f"not valid JSON ({exc.msg})") from None
    if not isinstance(log, list) or not all(
        isinstance(e, list) and len(e) == 2 and isinstance(e[0], int) and isinstance(e[1], list) for e in log
    ):
        raise StoredRecordCorrupt(f"configuration {record.id}", "changes", "not a list of [revision, attributes]")
    return log


def changed_since(record: ConfigurationRecord, revision: int) -> frozenset[str] | None:
    """The attributes changed by the revisions after ``revision`` (``"*"``: all of them), or ``None``
    when that is not known (``revision`` is older than the remembered changes, or not older at all)."""
    if revision >= record.revision:
        return frozenset() if revision == record.revision else None
    by_revision = {entry[0]: entry[1] for entry in _change_log(record)}
    later = range(revision + 1, record.revision + 1)
    if any(r not in by_revision for r in later):
        return None
    return frozenset(a for r in later for a in by_revision[r])


def _store(
    session: Session,
    configuration: Configuration,
    raw: list[Any],
    on_conflict: str = "keep",
    *,
    touched: Sequence[str] = (),
) -> Configuration:
    """Validate ``raw`` as the new history, check conflicts, then write it (remembering which
    attributes this revision changed, plus ``touched``)."""
    if configuration.read_only:
        # A programming error: read_configuration's record is in no session, adding it would INSERT a copy.
        raise TypeError(
            "a configuration loaded with read_configuration cannot be changed; use get_configuration"
        )
    if len(raw) > MAX_HISTORY:
        # Keep the invalid entries (the buyer has not dealt with them yet) and the decisions in force.
        history, invalid, origins = _validate(configuration.product, raw)
        completed = _completed_in_force(history, origins)
        raw = [i.decision for i in invalid] + [
            _stored(decision_to_json(d), "completed" if d.attribute in completed else "buyer")
            for d in effective_decisions(history)
        ]
    history, invalid, origins = _validate_appended(configuration, raw) or _validate(configuration.product, raw)
    updated = Configuration(
        configuration.record,
        configuration.catalog,
        configuration.product,
        configuration.configurator,
        history,
        invalid,
        raw,
        origins=origins,
    )
    _check_conflict(updated, on_conflict)
    record = configuration.record
    read_revision = record.revision
    if read_revision is None:
        record.changes = "[]"  # a new configuration: nothing changed yet
    else:
        changed = sorted({*_touched(configuration.raw, raw), *touched})
        record.changes = json.dumps([*_change_log(record), [read_revision + 1, changed]][-MAX_CHANGES:])
    record.decisions = json.dumps(raw, ensure_ascii=False)
    record.updated_at = _now()
    _write(session, record, read_revision)
    return updated


def _write(session: Session, record: ConfigurationRecord, read_revision: int | None) -> None:
    """Store ``record`` and commit: INSERT a new one; otherwise ``UPDATE ... WHERE id = :id AND
    revision = :read_revision`` (one statement, the revision counted up), so of two writers that
    read the same revision only one wins.

    A record read by :func:`get_configuration` is in no session: it is written with one Core
    UPDATE of its changeable columns; one the ORM tracks (new, or loaded through a query) goes
    through the session's flush and its version counter.

    :raise StaleRevision: another writer stored a later revision since ``read_revision``.
    """
    if read_revision is not None and not inspect(record).persistent:
        written = session.connection().execute(
            _UPDATE_AT_REVISION,
            {
                "configuration_id": record.id,
                "read_revision": read_revision,
                "new_decisions": record.decisions,
                "new_changes": record.changes,
                "new_texts": record.texts,
                "new_updated_at": record.updated_at,
                "new_version_number": record.version_number,
                "new_content_hash": record.content_hash,
                "new_revision": read_revision + 1,
            },
        )
        if written.rowcount != 1:
            session.rollback()
            raise StaleRevision(record.id, read_revision, _stored_revision(session, record.id))
        session.commit()
        record.revision = read_revision + 1
        return
    session.add(record)
    try:
        # UPDATE ... WHERE id = :id AND revision = :read_revision (SQLAlchemy's version counter).
        session.commit()
    except StaleDataError:
        session.rollback()
        raise StaleRevision(record.id, read_revision, _stored_revision(session, record.id)) from None


_UPDATE_AT_REVISION = (
    update(ConfigurationRecord)
    .where(
        ConfigurationRecord.__table__.c.id == bindparam("configuration_id"),
        ConfigurationRecord.__table__.c.revision == bindparam("read_revision"),
    )
    .values(
        {
            name: bindparam(f"new_{name}")
            for name in ("decisions", "changes", "texts", "updated_at", "version_number", "content_hash", "revision")
        }
    )
)


def _stored_revision(session: Session, configuration_id: str) -> int | None:
    return session.scalar(select(ConfigurationRecord.revision).where(ConfigurationRecord.id == configuration_id))


def _field_of(exc: ConfiguratorError, raw: object) -> str:
    given = getattr(exc, "field", None)
    if isinstance(given, str) and given:
        return given
    if isinstance(exc, UnknownAttribute):
        return "attribute"
    if isinstance(raw, Mapping) and "element" in raw:
        return "element"
    return "value"


def _parse_all(
    product: Product, decisions: Iterable[object], where: str = "decisions"
) -> list[dict[str, Any]]:
    """Check request decisions; return their normalised stored form.

    A failing decision's error gets ``field``: where it is in the request
    (``decisions[2].value``, or ``attribute``/``value`` when ``where`` is empty).
    """
    items = list(decisions)
    if len(items) > MAX_DECISIONS_PER_REQUEST:
        raise InvalidDecisionShape(f"at most {MAX_DECISIONS_PER_REQUEST} decisions per request", "decisions")
    out: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            out.append(_stored(decision_to_json(decision_from_json(product, _without_origin(item))), _origin_of(item)))
        except ConfiguratorError as exc:
            sub = _field_of(exc, item)
            exc.field = f"{where}[{index}].{sub}" if where else sub  # type: ignore[attr-defined]
            raise
    return out


# --------------------------------------------------------------------------- use cases


def create_configuration(
    session: Session,
    product_code: str,
    decisions: Iterable[object] = (),
    *,
    catalog_code: str | None = None,
    on_conflict: str = "reject",
    at: datetime | None = None,
    texts: Mapping[str, object] | None = None,
) -> Configuration:
    """Start a configuration of ``product_code`` pinned to the catalog version in force.

    ``decisions`` are JSON decisions (see the module docstring). The new row
    gets a random UUID and an unguessable ``share_token``.

    :raise ProductNotFound: (404) / :raise AmbiguousProduct: (422, name the catalog).
    :raise UnknownAttribute, InvalidValue, InvalidDecisionShape: (422).
    :raise DecisionConflict: (409) the decisions contradict each other and ``on_conflict`` is "reject".
    """
    loaded, product = find_product(session, product_code, catalog_code, at=at)
    raw: list[Any] = _parse_all(product, decisions)
    written = draft_texts(product, texts or {})
    now = _now()
    record = ConfigurationRecord(
        id=str(uuid.uuid4()),
        share_token=secrets.token_urlsafe(24),
        catalog_code=loaded.code,
        version_number=loaded.number,
        content_hash=loaded.content_hash,
        product_code=product.code,
        decisions="[]",
        texts=_texts_json(written),
        created_at=now,
        updated_at=now,
    )
    configurator = get_configurator(loaded.catalog, product.code, loaded.content_hash)
    draft = Configuration(record, loaded, product, configurator, (), (), [])
    return _store(session, draft, raw, on_conflict)


def _texts_of(stored: str | None) -> dict[str, str]:
    value = json.loads(stored) if stored else {}
    if not isinstance(value, dict) or not all(isinstance(v, str) for v in value.values()):
        raise StoredRecordCorrupt("configuration", "texts", "not a JSON object of texts")
    return value


def _texts_json(texts: Mapping[str, str]) -> str | None:
    return json.dumps(dict(texts), ensure_ascii=False, sort_keys=True) if texts else None


def text_problems(product: Product, texts: Mapping[str, object]) -> dict[str, InvalidText]:
    """Every text that cannot be kept, by field code (a required one may still be empty: ordering asks for it)."""
    fields = {f.code: f for f in product.texts}
    problems: dict[str, InvalidText] = {}
    for code, value in texts.items():
        text_field = fields.get(code)
        if text_field is None:
            known = ", ".join(fields) or "none"
            problems[code] = InvalidText(code, f"{product.code} has no text field {code!r} (text fields: {known})")
            continue
        try:
            check_text(replace(text_field, required=False), value)
        except InvalidText as exc:
            problems[code] = exc
    return problems


def draft_texts(product: Product, texts: Mapping[str, object]) -> dict[str, str]:
    """The texts to keep on a configuration: each checked like an order's (length, RE2 pattern), empty ones
    left out. :raise InvalidText: (422) the first text that cannot be kept, naming its field."""
    problems = text_problems(product, texts)
    if problems:
        raise next(iter(problems.values()))
    fields = {f.code: f for f in product.texts}
    kept = {code: check_text(replace(fields[code], required=False), value) for code, value in texts.items()}
    return {code: text for code, text in kept.items() if text}


def set_texts(session: Session, configuration: Configuration, texts: Mapping[str, object]) -> Configuration:
    """Replace the configuration's free texts (the decisions stay as they are).

    :raise InvalidText: (422, field ``texts.<code>``) nothing is stored when one text cannot be kept.
    :raise StaleRevision: (409) another change was stored since the configuration was read.
    """
    if configuration.read_only:
        raise TypeError("a configuration loaded with read_configuration cannot be changed; use get_configuration")
    written = draft_texts(configuration.product, texts)
    record = configuration.record
    read_revision = record.revision
    record.texts = _texts_json(written)
    record.changes = json.dumps([*_change_log(record), [read_revision + 1, []]][-MAX_CHANGES:])
    record.updated_at = _now()
    _write(session, record, read_revision)
    return configuration


def get_configuration(
    session: Session, configuration_id: str, *, revision: int | None = None, rebase_decision: bool = False
) -> Configuration:
    """The configuration ``configuration_id``, re-validated, for changing.

    ``revision``: the revision the caller's change was made on; a change on
    another one is refused before anything is computed, except with
    ``rebase_decision`` (the change is one decision, see :func:`add_decision`):
    then a configuration at the stored revision is returned with ``made_on``
    set, and :func:`add_decision` decides whether the decision commutes.

    One statement on the session's connection (inside its transaction): the row
    with the status, validity and hash of its pinned catalog version joined (read
    on every call, an archived version is refused at once). The record is built
    from the row without entering the session's identity map; the use cases write
    it back with one conditional UPDATE (see :func:`_write`).

    :raise ConfigurationNotFound: no such configuration.
    :raise StaleRevision: ``revision`` is given and is not the stored one.
    """
    if len(configuration_id) > 36:
        raise ConfigurationNotFound(configuration_id)
    row = session.connection().execute(_READ_WITH_VERSION, {"configuration_id": configuration_id}).one_or_none()
    if row is None:
        raise ConfigurationNotFound(configuration_id)
    mapping = row._mapping
    record = ConfigurationRecord(**{name: mapping[name] for name in _COLUMN_NAMES})
    if revision is not None and revision != record.revision:
        if not rebase_decision or revision > record.revision:
            raise StaleRevision(configuration_id, revision, record.revision)
        return replace(_open(session, record, _pinned(session, record, mapping)), made_on=revision)
    return _open(session, record, _pinned(session, record, mapping))


def _pinned(session: Session, record: ConfigurationRecord, row: RowMapping) -> LoadedCatalog:
    """The pinned version of ``record`` from the joined columns of its row, its content from the cache.

    Anything but the usual case (the version missing, a draft, another hash, its
    content not cached in this process yet) goes through :func:`load_pinned`,
    which reads it again and raises the specific error.
    """
    status, content_hash = row["version_status"], row["version_content_hash"]
    content = current_caches().catalogs.get(content_hash) if content_hash is not None else None
    if content is None or status not in _SERVED_STATUSES or content_hash != record.content_hash:
        return load_pinned(session, record.catalog_code, record.version_number, record.content_hash)
    return LoadedCatalog(
        code=record.catalog_code,
        number=record.version_number,
        status=status,
        content_hash=content_hash,
        valid_from=row["version_valid_from"],
        valid_to=row["version_valid_to"],
        catalog=content,
    )


_COLUMNS = ConfigurationRecord.__table__.c
_COLUMN_NAMES = tuple(column.name for column in _COLUMNS)
_READ_BY_ID = select(*_COLUMNS).where(_COLUMNS.id == bindparam("configuration_id"))
_SERVED_STATUSES = frozenset(s.value for s in VersionStatus if s is not VersionStatus.DRAFT)
_READ_WITH_VERSION = (
    select(
        *_COLUMNS,
        CatalogVersion.status.label("version_status"),
        CatalogVersion.content_hash.label("version_content_hash"),
        CatalogVersion.valid_from.label("version_valid_from"),
        CatalogVersion.valid_to.label("version_valid_to"),
    )
    .select_from(ConfigurationRecord.__table__)
    .outerjoin(CatalogRecord.__table__, CatalogRecord.code == _COLUMNS.catalog_code)
    .outerjoin(
        CatalogVersion.__table__,
        (CatalogVersion.catalog_id == CatalogRecord.id) & (CatalogVersion.number == _COLUMNS.version_number),
    )
    .where(_COLUMNS.id == bindparam("configuration_id"))
)


def read_configuration(engine: Engine, configuration_id: str) -> Configuration:
    """The configuration ``configuration_id`` for reading (the state endpoint), re-validated.

    The same answer as :func:`get_configuration` at a third of the database
    cost: one primary-key SELECT of the row's columns on a pooled connection,
    without an ORM session, its identity map and its transaction bookkeeping
    (the state endpoint is the most requested one, and this read was the bulk
    of its time once states are cached). The result is read-only: the
    use cases that change a configuration take one from :func:`get_configuration`.

    :raise ConfigurationNotFound: (404).
    """
    if len(configuration_id) > 36:
        raise ConfigurationNotFound(configuration_id)
    with engine.connect() as connection:
        row = connection.execute(_READ_BY_ID, {"configuration_id": configuration_id}).one_or_none()
        if row is None:
            raise ConfigurationNotFound(configuration_id)
        record = ConfigurationRecord(**row._mapping)  # transient: never added to a session
        # The pinned version's content is cached per process; a session is used only on the first read.
        with Session(bind=connection) as session:
            loaded = load_pinned(session, record.catalog_code, record.version_number, record.content_hash)
            return _open(session, record, loaded, read_only=True)


def get_shared(session: Session, share_token: str) -> Configuration:
    """The configuration behind a share link. :raise ConfigurationNotFound: (404)."""
    record = None
    if len(share_token) <= 64:
        record = session.scalars(
            select(ConfigurationRecord).where(ConfigurationRecord.share_token == share_token)
        ).one_or_none()
    if record is None:
        raise ConfigurationNotFound(share_token, "share token")
    return _open(session, record)


def add_decision(
    session: Session, configuration: Configuration, decision: object, *, on_conflict: str = "reject"
) -> Configuration:
    """Append one decision (JSON form) of the buyer.

    Completed ("Finish for me") entries that contradict it are dropped first (see the module docstring).

    :raise DecisionConflict: (409) it contradicts the buyer's own decisions, unless ``on_conflict="keep"``.
    """
    (entry,) = _parse_all(configuration.product, [decision], where="")
    made_on = configuration.made_on
    for attempt in range(REBASE_ATTEMPTS):
        read_revision = configuration.revision
        rebased = made_on is not None and made_on != read_revision
        if rebased:
            assert made_on is not None
            _check_commutes(configuration, made_on, entry["attribute"])
        try:
            raw = _yield_completed(configuration, [*configuration.raw, entry])
            return _store(session, configuration, raw, on_conflict)
        except DecisionConflict:
            if not rebased:
                raise
            # Consistent on the revision it was made on, not on top of the later ones: not the buyer's
            # conflict to resolve blindly; they see the configuration as it is now.
            raise StaleRevision(configuration.id, made_on, read_revision) from None
        except (StaleRevision, OperationalError) as exc:
            # Another writer committed between our read and our write (SQLite: or holds the write
            # lock): re-read and rebase onto theirs.
            if isinstance(exc, OperationalError):
                session.rollback()
                if not _is_busy(exc):
                    raise
            if attempt == REBASE_ATTEMPTS - 1:
                raise
            if made_on is None:
                made_on = read_revision  # what the caller's change was made on (the record now reads newer)
            time.sleep(0.002 * attempt)
            configuration = get_configuration(session, configuration.id)
    raise AssertionError("unreachable")


def _is_busy(exc: OperationalError) -> bool:
    """SQLite's "database is locked": another connection is writing; worth another try."""
    text = str(exc.orig).lower()
    return "database is locked" in text or "database is busy" in text


def _check_commutes(configuration: Configuration, made_on: int, attribute: str) -> None:
    """A decision on ``attribute`` made on revision ``made_on`` goes on top of the stored revision only
    when no revision since changed that attribute (and the catalog version did not change).

    :raise StaleRevision: otherwise (or when the changes since ``made_on`` are no longer known).
    """
    changed = changed_since(configuration.record, made_on)
    if changed is None or "*" in changed or attribute in changed:
        raise StaleRevision(configuration.id, made_on, configuration.revision)


def _yield_completed(configuration: Configuration, raw: list[Any]) -> list[Any]:
    """``raw`` without the completed entries that stand in the way of the buyer's decisions.

    Nothing changes when everything holds together, or when the buyer's own decisions
    contradict each other (that conflict is theirs to see). Otherwise the completed entries
    are put back oldest first, each kept only if it still fits.
    """
    if not any(_completed_entry(entry) for entry in raw):
        return raw  # no completed entry to yield (the common case: parsing every entry is not needed)
    product, engine = configuration.product, configuration.configurator
    parsed: list[tuple[int, AnyDecision, str]] = []
    for index, entry in enumerate(raw):
        try:
            parsed.append((index, decision_from_json(product, _without_origin(entry)), _origin_of(entry)))
        except ConfiguratorError:
            continue  # invalid entries stay as they are and take no part in the state
    if not any(origin == "completed" for _, _, origin in parsed):
        return raw
    everything = [d for _, d, _ in parsed]
    if engine.consistent(everything):
        return raw
    own = [d for _, d, origin in parsed if origin == "buyer"]
    if not engine.consistent(own):
        return raw
    dropped: set[int] = set()
    kept: set[int] = set()
    for index, _decision, origin in parsed:
        if origin != "completed":
            continue
        # Positions matter (a later entry replaces an earlier one), so test in stored order.
        trial = [d for i, d, o in parsed if o == "buyer" or i in kept or i == index]
        if engine.consistent(trial):
            kept.add(index)
        else:
            dropped.add(index)
    return [entry for index, entry in enumerate(raw) if index not in dropped]


def _stored(entry: dict[str, Any], origin: str) -> dict[str, Any]:
    """A decision's stored form with its origin (the buyer's own entries carry none)."""
    return entry if origin == "buyer" else {**entry, "origin": origin}


def _completed_in_force(history: Sequence[AnyDecision], origins: Sequence[str]) -> frozenset[str]:
    newest: dict[str, str] = {}
    for index, decision in enumerate(history):
        newest[decision.attribute] = origins[index] if origins else "buyer"
    return frozenset(a for a, origin in newest.items() if origin == "completed")


def _soften(configuration: Configuration, state: State) -> State:
    """The engine ``state`` of a history with completed entries, as the buyer is shown it.

    Completed attributes read ``"completed"`` instead of ``"user"``. A value greyed only by
    completed values is offered (possible when the buyer's own decisions allow it) with no
    price delta: choosing it drops the completed values in its way (as :func:`add_decision`
    does), and the new total is shown after the click.
    """
    completed = configuration.completed_attributes()
    own = tuple(d for i, d in enumerate(configuration.history) if configuration.origin_of(i) == "buyer")
    key = (configuration.catalog.content_hash, configuration.product.code, own)
    mine = _caches().states.get(key)
    if mine is None:
        mine = _caches().states.put(key, configuration.configurator.state(own, budget_ms=click_budget_ms()))
    attributes = []
    for attribute, own_attribute in zip(state.attributes, mine.attributes, strict=True):
        source = "completed" if attribute.code in completed and attribute.source == "user" else attribute.source
        values = []
        for value, own_value in zip(attribute.values, own_attribute.values, strict=True):
            changes: dict[str, Any] = {}
            if value.selected and value.source == "user" and attribute.code in completed:
                changes["source"] = "completed"
            if not value.possible and own_value.possible:
                changes.update(possible=True, price_delta=None)
            if value.possible_out is False and own_value.possible_out:
                changes["possible_out"] = True
            values.append(replace(value, **changes) if changes else value)
        attributes.append(replace(attribute, source=source, values=tuple(values)))
    return replace(state, attributes=tuple(attributes))


def replace_decisions(
    session: Session,
    configuration: Configuration,
    decisions: Iterable[object],
    *,
    on_conflict: str = "reject",
) -> Configuration:
    """Replace the whole history with ``decisions`` (JSON form)."""
    return _store(session, configuration, _parse_all(configuration.product, decisions), on_conflict)


def remove_decision(
    session: Session, configuration: Configuration, attribute: str, element: str | None = None
) -> Configuration:
    """Drop every stored entry on ``attribute`` (or only on set ``element`` of it), invalid ones included.

    Removing a set element from a whole-set decision leaves the rest of the set decided.

    :raise DecisionNotFound: (422) nothing stored on that attribute / element.
    """
    kept: list[Any] = []
    removed = False
    for entry in configuration.raw:
        on_attribute = isinstance(entry, Mapping) and entry.get("attribute") == attribute
        if not on_attribute:
            kept.append(entry)
            continue
        if element is None or entry.get("element") == element:
            removed = True
            continue
        value = entry.get("value")
        if "value" in entry and isinstance(value, list) and element in value:
            # A whole-set decision: take the element out, keep the rest of the set decided.
            rest = {"attribute": attribute, "value": [v for v in value if v != element]}
            kept.append(_stored(rest, _origin_of(entry)))
            removed = True
            continue
        kept.append(entry)
    if not removed:
        raise DecisionNotFound(attribute, element)
    return _store(session, configuration, kept)


def undo(session: Session, configuration: Configuration) -> Configuration:
    """Drop the newest stored entry; when "Finish for me" made it, every value that one action filled
    (the run of completed entries at the end), so undo takes back the whole action.

    :raise NothingToUndo: (422) the history is empty.
    """
    if not configuration.raw:
        raise NothingToUndo()
    raw = configuration.raw[:-1]
    if _completed_entry(configuration.raw[-1]):
        while raw and _completed_entry(raw[-1]):
            raw.pop()
    return _store(session, configuration, raw)


def _completed_entry(entry: object) -> bool:
    return isinstance(entry, Mapping) and entry.get("origin") == "completed"


def rebase(session: Session, configuration: Configuration, *, at: datetime | None = None) -> Configuration:
    """Move the configuration to the version of its catalog in force now.

    Entries that do not fit the new version are kept and reported in
    ``invalid`` (the buyer decides what to do with them).
    """
    loaded = load_catalog(session, configuration.catalog.code, at=at)
    record = configuration.record
    product = loaded.product(record.product_code)
    record.version_number = loaded.number
    record.content_hash = loaded.content_hash
    configurator = get_configurator(loaded.catalog, product.code, loaded.content_hash)
    moved = Configuration(record, loaded, product, configurator, (), (), configuration.raw)
    return _store(session, moved, configuration.raw, touched=["*"])


def _target(configuration: Configuration, attribute: str, value: object) -> object:
    """The value of an explain/repair target: for a set attribute one element code
    (text without a comma) or the whole set (a list, or comma-separated text)."""
    attr = find_attribute(configuration.product, attribute)
    if attr.kind is AttributeKind.SET and isinstance(value, str) and "," not in value:
        return value
    return _value_for(attr, value)


def explain(
    configuration: Configuration, attribute: str, value: object, *, included: bool = True
) -> Explanation:
    """Why ``attribute=value`` is not possible (for a set attribute ``value`` may be one element code)."""
    target = _target(configuration, attribute, value)
    return configuration.configurator.explain(configuration.history, attribute, target, included=included)


def repair(
    session: Session,
    configuration: Configuration,
    attribute: str,
    value: object,
    *,
    included: bool = True,
    apply: bool = False,
) -> tuple[Repair, Configuration]:
    """Decisions to drop so ``attribute=value`` becomes possible; with ``apply``, store the repaired decisions.

    :raise ValueImpossible: (422) the rules alone exclude the value.
    """
    target = _target(configuration, attribute, value)
    fix = configuration.configurator.repair(configuration.history, attribute, target, included=included)
    if apply:
        raw = [i.decision for i in configuration.invalid] + [decision_to_json(d) for d in fix.decisions]
        configuration = _store(session, configuration, raw)
    return fix, configuration


def complete(
    session: Session, configuration: Configuration, objective: str = "defaults", *, apply: bool = False
) -> tuple[dict[str, AttributeValue], Configuration]:
    """A full valid configuration extending the decisions; with ``apply``, decide every remaining attribute.

    :raise ConflictError: (409) the stored decisions conflict. :raise UnknownObjective: (422).
    """
    values = configuration.configurator.complete(configuration.history, objective)
    if apply:
        decided = {d.attribute for d in configuration.effective() if isinstance(d, Decision)}
        extra = [
            _stored(decision_to_json(Decision(a, v)), "completed") for a, v in values.items() if a not in decided
        ]
        configuration = _store(session, configuration, [*configuration.raw, *extra])
    return values, configuration


# --------------------------------------------------------------------------- rendering


def never_possible(configuration: Configuration) -> dict[str, frozenset[object]]:
    """Per attribute, the values that no valid configuration of the product can use (dead values).

    Buyers are not shown them: a value greyed out whatever they choose only adds noise. Read
    from the state without decisions, shared through the same LRU as every other state. A
    product without any valid configuration hides nothing (everything would be "dead").
    """
    key = (configuration.catalog.content_hash, configuration.product.code, ())
    root = _caches().states.get(key)
    if root is None:
        root = _caches().states.put(key, configuration.configurator.state((), budget_ms=click_budget_ms()))
    if root.count == 0:
        return {}
    return {a.code: frozenset(v.value for v in a.values if not v.possible) for a in root.attributes}


def _money(amount: Decimal | None) -> str | None:
    return None if amount is None else f"{amount:.2f}"


def _rule(ref: RuleRef, locale: str) -> dict[str, str]:
    return {"rule_id": ref.rule_id, "message": ref.message.get(locale)}


def _value_label(attribute: Attribute, value: Value, locale: str) -> str:
    if attribute.kind in (AttributeKind.ENUM, AttributeKind.SET):
        for choice in attribute.choices:
            if choice.code == value:
                return choice.label.get(locale)
    if attribute.kind is AttributeKind.BOOL:
        yes, no = ("是", "否") if locale.lower().startswith("zh") else ("yes", "no")
        return yes if value else no
    return f"{value} {attribute.unit}" if attribute.unit else str(value)


def _rules_by_attribute(configurator: Configurator) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    model = configurator.model
    variables = {v.name: v.attribute for v in model.variables}
    # An auxiliary variable (a configurable module's line selection) stands for the attributes
    # its definition reads: the constraint whose scope ends with it.
    auxiliary = {v.name for v in model.variables if v.auxiliary}
    reads: dict[str, set[str]] = {}
    for constraint in model.constraints:
        if constraint.scope and constraint.scope[-1] in auxiliary:
            reads.setdefault(constraint.scope[-1], set()).update(
                variables[n] for n in constraint.scope[:-1] if n not in auxiliary
            )
    for constraint in model.constraints:
        for name in constraint.scope:
            for attribute in sorted(reads.get(name, ())) if name in auxiliary else [variables[name]]:
                ids = out.setdefault(attribute, [])
                if constraint.rule_id not in ids:
                    ids.append(constraint.rule_id)
    return out


def explanation_document(explanation: Explanation, locale: str) -> dict[str, Any]:
    """An :class:`Explanation` as JSON: the culprit decisions and the rules with messages in ``locale``."""
    return {
        "attribute": explanation.attribute,
        "value": json_value(explanation.value),
        "possible": explanation.possible,
        "decisions": [decision_to_json(d) for d in explanation.decisions],
        "rules": [_rule(r, locale) for r in explanation.rules],
    }


def state_document(
    state: State,
    product: Product,
    locale: str = "en",
    *,
    configurator: Configurator | None = None,
    reasons: bool | Iterable[str] = False,
) -> dict[str, Any]:
    """Render a state for JSON (API) and templates (storefront), labels in ``locale``.

    Per attribute: code, label, description, kind, group, unit, bounds, value
    (sets: sorted list), source, and every value with its label, ``possible``,
    ``selected``, ``source`` and ``price_delta`` (decimal string, ``None``
    when impossible). With a ``configurator``, each attribute lists the rules
    that constrain it (``rules``), and ``reasons`` (True for every attribute,
    or a collection of attribute codes) adds to each greyed value the
    explanation: culprit decisions and rules (see the module docstring for
    why this is opt-in).
    """
    wanted: set[str]
    if reasons is True:
        wanted = {a.code for a in product.attributes}
    elif reasons is False:
        wanted = set()
    else:
        wanted = set(reasons)
    constrained = _rules_by_attribute(configurator) if configurator is not None else {}
    # The product's rules and the checks of the configurable modules its BOM reaches.
    rule_messages = {**module_labels(product), **{r.id: r.message for r in product.rules}}
    attributes: list[dict[str, Any]] = []
    for attribute_state in state.attributes:
        attr = product.attribute(attribute_state.code)
        values: list[dict[str, Any]] = []
        for vs in attribute_state.values:
            item: dict[str, Any] = {
                "value": json_value(vs.value),
                "label": _value_label(attr, vs.value, locale),
                "possible": vs.possible,
                "selected": vs.selected,
                "source": vs.source,
                "price_delta": _money(vs.price_delta),
            }
            if vs.possible_out is not None:
                item["possible_out"] = vs.possible_out
            if vs.possible and not vs.selected and vs.price_delta is None:
                # Only values filled by "Finish for me" stand in its way: choosing it re-fills them.
                item["replaces_completed"] = True
            if configurator is not None and attr.code in wanted and not vs.possible:
                why = configurator.explain(state.decisions, attr.code, vs.value)
                item["reason"] = {
                    "decisions": [decision_to_json(d) for d in why.decisions],
                    "rules": [_rule(r, locale) for r in why.rules],
                }
            values.append(item)
        attributes.append(
            {
                **attribute_header(attr, locale),
                "value": json_value(attribute_state.value) if attribute_state.value is not None else None,
                "source": attribute_state.source,
                "values": values,
                # Catalog rules only: structural constraints (a set's counts) are described by min/max_count.
                "rules": [
                    {"rule_id": rid, "message": rule_messages[rid].get(locale)}
                    for rid in constrained.get(attr.code, [])
                    if rid in rule_messages
                ],
            }
        )
    conflict = None
    if state.conflict is not None:
        conflict = {
            "decisions": [decision_to_json(d) for d in state.conflict.decisions],
            "rules": [_rule(r, locale) for r in state.conflict.rules],
            "dropped": [decision_to_json(d) for d in state.conflict.dropped],
        }
    price = state.price
    return {
        "product": product.code,
        "label": product.name.get(locale),
        "locale": locale,
        "groups": [{"code": g.code, "label": g.label.get(locale)} for g in product.groups],
        "decisions": [decision_to_json(d) for d in state.decisions],
        "attributes": attributes,
        "price": {
            "currency": price.currency,
            "base": _money(price.base),
            "total": _money(price.total),
            "lines": [
                {
                    "rule_id": line.rule_id,
                    "label": line.label.get(locale),
                    "amount": _money(line.amount),
                    "attributes": list(line.decisions),
                }
                for line in price.lines
            ],
        },
        "complete": state.complete,
        "missing": list(state.missing),
        "count": state.count,
        "conflict": conflict,
        **_derived_document(product, state, locale),
    }


def _derived_document(product: Product, state: State, locale: str) -> dict[str, Any]:
    """Derived attributes, read-only: their value once the attributes they read are settled.

    Only products with derived attributes get the key, so other documents (and their ETags) stay as they were.
    """
    if not product.derived:
        return {}
    from configurator.derived import derived_values

    known = {code: value for code, value in state.values().items() if value is not None}
    computed = derived_values(product, known)
    return {
        "derived": [
            {**attribute_header(a, locale), "value": _derived_json(computed[a.code], a) if a.code in computed else None}
            for a in product.derived
        ]
    }


def _derived_json(value: object, attribute: Attribute) -> Any:
    """A computed value as JSON: numbers of a decimal attribute as exact text with its places."""
    if isinstance(value, Fraction | int) and not isinstance(value, bool):
        if attribute.kind is AttributeKind.DECIMAL:
            exact = Decimal(value.numerator) / Decimal(value.denominator)
            return format(exact.quantize(Decimal(1).scaleb(-attribute.places)), "f")
        if isinstance(value, Fraction):
            return str(value)
    return json_value(value)


# --------------------------------------------------------------------------- quotes (frozen snapshots)

QUOTE_VALID_DAYS = 30
"""How long a saved quote's price holds (calendar days, the day it was saved included)."""


class QuoteNotFound(ConfiguratorError):
    """No quote with this token (404)."""

    reason = "quote_not_found"

    def __init__(self) -> None:
        super().__init__("no quote with this link")


class QuoteExpired(ConfiguratorError):
    """The quote's validity date has passed (410): its price no longer holds."""

    reason = "quote_expired"

    def __init__(self, quote: Quote) -> None:
        super().__init__(f"the quote was valid until {quote.valid_until.isoformat()}")
        self.quote = quote


@dataclass(frozen=True, slots=True)
class QuoteLine:
    label: dict[str, str]
    """The price rule's label per language ("en", "zh-CN")."""
    amount: Decimal


@dataclass(frozen=True, slots=True)
class Quote:
    """A saved quote as read back: everything as it was when it was saved."""

    number: str
    """The quote's reference as printed (Q-000042)."""
    token: str
    configuration_id: str | None
    catalog_code: str
    version_number: int
    content_hash: str
    product_code: str
    decisions: list[dict[str, Any]]
    values: dict[str, Any]
    sources: dict[str, str | None]
    quantity: int
    currency: str
    base: Decimal
    lines: tuple[QuoteLine, ...]
    unit_price: Decimal
    ready_on: date | None
    created_at: datetime
    valid_until: date
    texts: dict[str, str] = field(default_factory=dict)
    """The buyer's free texts (engraving, monogram) as they were when the quote was saved."""

    @property
    def total(self) -> Decimal:
        return self.unit_price * self.quantity

    def expired(self, today: date | None = None) -> bool:
        return (today or _now().date()) > self.valid_until


def _label_json(label: Any) -> dict[str, str]:
    return {"en": label.get("en"), "zh-CN": label.get("zh-CN")}


def save_quote(
    session: Session,
    configuration: Configuration,
    *,
    quantity: int = 1,
    ready_on: date | None = None,
    valid_days: int = QUOTE_VALID_DAYS,
) -> Quote:
    """Freeze ``configuration`` as it is now (complete, no conflict) into a quote with its own token.

    :raise ConfiguratorError: the configuration is not complete or has a conflict (a quote is
        always of a buildable product at a known price).
    """
    state = configuration.state()
    if state.conflict is not None or not state.complete:
        raise ConfiguratorError("only a complete configuration without conflicts can be quoted")
    if not 1 <= quantity <= 999:
        raise ConfiguratorError("quantity must be 1..999")
    now = _now()
    price = state.price
    breakdown = {
        "base": str(price.base),
        "lines": [{"label": _label_json(line.label), "amount": str(line.amount)} for line in price.lines],
        "total": str(price.total),
    }
    record = QuoteRecord(
        token=secrets.token_urlsafe(18),
        configuration_id=configuration.id,
        catalog_code=configuration.catalog.code,
        version_number=configuration.catalog.number,
        content_hash=configuration.catalog.content_hash,
        product_code=configuration.product.code,
        decisions=json.dumps([decision_to_json(d) for d in state.decisions], ensure_ascii=False),
        configuration=json.dumps({k: json_value(v) for k, v in state.values().items()}, ensure_ascii=False,
                                 sort_keys=True),
        sources=json.dumps({a.code: a.source for a in state.attributes}, sort_keys=True),
        texts=_texts_json(configuration.texts),
        quantity=quantity,
        currency=price.currency,
        unit_price=price.total,
        price_breakdown=json.dumps(breakdown, ensure_ascii=False),
        ready_on=ready_on.isoformat() if ready_on else None,
        created_at=now,
        valid_until=(now.date() + timedelta(days=valid_days - 1)).isoformat(),
    )
    session.add(record)
    session.commit()
    return _quote_of(record)


def _quote_of(record: QuoteRecord) -> Quote:
    breakdown = json.loads(record.price_breakdown)
    return Quote(
        number=f"Q-{record.id:06d}",
        token=record.token,
        configuration_id=record.configuration_id,
        catalog_code=record.catalog_code,
        version_number=record.version_number,
        content_hash=record.content_hash,
        product_code=record.product_code,
        decisions=json.loads(record.decisions),
        values=json.loads(record.configuration),
        sources=json.loads(record.sources or "{}"),
        texts=_texts_of(record.texts),
        quantity=record.quantity,
        currency=record.currency,
        base=Decimal(breakdown["base"]),
        lines=tuple(QuoteLine(line["label"], Decimal(line["amount"])) for line in breakdown["lines"]),
        unit_price=Decimal(record.unit_price),
        ready_on=date.fromisoformat(record.ready_on) if record.ready_on else None,
        created_at=record.created_at,
        valid_until=date.fromisoformat(record.valid_until),
    )


def get_quote(session: Session, token: str) -> Quote:
    """The quote behind a quote link, expired or not. :raise QuoteNotFound: (404)."""
    record = None
    if 0 < len(token) <= 64:
        record = session.scalars(select(QuoteRecord).where(QuoteRecord.token == token)).one_or_none()
    if record is None:
        raise QuoteNotFound()
    return _quote_of(record)
