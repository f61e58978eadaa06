"""Read YAML or JSON text into a tree of nodes that remember where they were.

Both formats end up in the same tree (``Mapping``, ``Sequence``, ``Scalar``)
with 1-based line and column numbers and character offsets, so every later
check can point at the exact key or value. YAML goes through PyYAML's composer
with a YAML 1.2 core-schema resolver (``yes``/``no``/``on``/``off`` stay
strings, like in JSON); JSON goes through a small scanner of our own because
``json`` gives no positions and JSON allows tabs, which PyYAML rejects.

Numbers with a fraction or exponent become ``Decimal`` built from their source
text, so ``cost: 420.00`` keeps its two decimals.
"""

from __future__ import annotations

import json
import re
from bisect import bisect_right
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

import yaml
import yaml.composer
import yaml.nodes
import yaml.parser
import yaml.reader
import yaml.resolver
import yaml.scanner

from catalog.files.limits import shorten, storable, text_problem, too_many_digits
from catalog.files.problems import Path, Problem, format_path

PlainValue = object
"""A plain document value: str, int, Decimal, bool, None, list or dict."""

_NO_PLAIN: Any = object()
"""``Document.plain`` of a document that has its tree from the start."""


@dataclass(frozen=True, slots=True, eq=False)
class Scalar:
    """A leaf value. ``style`` is the quoting: "" plain, "'", '"', "|", ">" or "json"."""

    value: str | int | Decimal | bool | None
    line: int
    column: int
    start: int
    end: int
    style: str = ""


@dataclass(frozen=True, slots=True, eq=False)
class Mapping:
    entries: tuple[tuple[Scalar, Node], ...]
    line: int
    column: int

    def get(self, key: str) -> tuple[Scalar, Node] | None:
        for entry in self.entries:
            if entry[0].value == key:
                return entry
        return None


@dataclass(frozen=True, slots=True, eq=False)
class Sequence:
    items: tuple[Node, ...]
    line: int
    column: int


Node = Scalar | Mapping | Sequence


@dataclass(slots=True)
class Document:
    """A parsed file: its tree (``None`` after a syntax error) and source text.

    ``source`` is empty for documents built from plain data, whose positions
    are all 0.
    """

    file: str
    root: Node | None
    source: str = ""
    problems: list[Problem] = field(default_factory=list)
    _line_starts: list[int] = field(default_factory=list)
    aliases: dict[Path, Path] = field(default_factory=dict)
    """Generated entries (unrolled repeated components) and the source entry each came from."""
    rewritten: set[Path] = field(default_factory=set)
    """Generated texts that differ from their source text: a problem inside one is reported at the text."""
    plain: PlainValue = _NO_PLAIN
    """For :func:`plain_document`: the plain data whose tree ``root`` is built on first use."""

    def position_of_offset(self, offset: int) -> tuple[int, int]:
        """1-based (line, column) of a character offset in ``source``."""
        if not self._line_starts:
            self._line_starts = [0] + [i + 1 for i, c in enumerate(self.source) if c == "\n"]
        index = bisect_right(self._line_starts, offset) - 1
        return index + 1, offset - self._line_starts[index] + 1

    def node_at(self, path: Path) -> Node | None:
        """The node at ``path``, or ``None`` when some step does not exist."""
        if self.root is None and self.plain is not _NO_PLAIN:
            self.root = _plain_node(self.plain, (), Document(self.file, None))  # problems already recorded
        for depth in range(len(path), 0, -1):
            source = self.aliases.get(path[:depth])
            if source is not None:
                path = (*source, *path[depth:])
                break
        node = self.root
        for part in path:
            if isinstance(node, Mapping) and isinstance(part, str):
                entry = node.get(part)
                node = entry[1] if entry else None
            elif isinstance(node, Sequence) and isinstance(part, int) and 0 <= part < len(node.items):
                node = node.items[part]
            else:
                return None
        return node

    def position(self, path: Path, *, at_key: bool = False) -> tuple[int, int]:
        """Where to report a problem about ``path``.

        The value (or with ``at_key`` the key) when it exists; otherwise the
        deepest existing ancestor, which for a missing key is its mapping.
        """
        if not self.source:  # built from plain data: every node is at (0, 0)
            return (0, 0)
        for depth in range(len(path), -1, -1):
            prefix = path[:depth]
            if at_key and depth == len(path) and depth > 0 and isinstance(prefix[-1], str):
                parent = self.node_at(prefix[:-1])
                if isinstance(parent, Mapping):
                    entry = parent.get(prefix[-1])
                    if entry is not None:
                        return entry[0].line, entry[0].column
            node = self.node_at(prefix)
            if node is not None:
                return node.line, node.column
        return (1, 1) if self.source else (0, 0)

    def text_position(self, path: Path, text: str, line: int, column: int) -> tuple[int, int]:
        """Map a 1-based (line, column) inside the text of the scalar at ``path``
        to a position in the file.

        The scalar's source may be quoted, escaped, folded or a block scalar,
        so the text is aligned with the source character by character
        (whitespace matches any whitespace, escapes and indentation are
        skipped) rather than computed with a fixed offset.
        """
        node = self.node_at(path)
        if not isinstance(node, Scalar) or not self.source or path in self.rewritten:
            return self.position(path)
        lines = text.split("\n")
        line = min(max(line, 1), len(lines))
        offset = sum(len(part) + 1 for part in lines[: line - 1]) + max(column, 1) - 1
        offset = min(offset, len(text))
        pos, end = node.start, node.end
        if node.style in ("|", ">"):
            newline = self.source.find("\n", pos, end)
            pos = newline + 1 if newline >= 0 else pos
        elif node.style in ("'", '"', "json"):
            pos += 1
        for char in text[:offset]:
            pos = _advance_to(self.source, pos, end, char) + 1
        if offset < len(text):
            pos = _advance_to(self.source, pos, end, text[offset])
        return self.position_of_offset(min(pos, max(end - 1, node.start)))


def _advance_to(source: str, pos: int, end: int, char: str) -> int:
    start = pos
    while pos < end:
        here = source[pos]
        if here == char or (char.isspace() and here.isspace()):
            return pos
        pos += 1
    return start  # not found (unusual escapes): stay put rather than run off


# --- YAML -------------------------------------------------------------------


class _CoreResolver(yaml.resolver.BaseResolver):
    """YAML 1.2 core schema: only true/false are booleans, no sexagesimal or
    octal surprises, so codes like ``no`` or ``on`` stay strings."""


_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:int", re.compile(r"^[-+]?[0-9]+$"), list("-+0123456789")
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"^[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?$"),
    list("-+0123456789."),
)
_CoreResolver.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)


def resolves_to_non_string(text: str) -> bool:
    """Would this text, written unquoted, be read back as something other than a string?

    >>> resolves_to_non_string("1e5"), resolves_to_non_string("no")
    (True, False)
    """
    tag = _CoreResolver().resolve(yaml.nodes.ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag != "tag:yaml.org,2002:str")


class _Loader(
    yaml.reader.Reader, yaml.scanner.Scanner, yaml.parser.Parser, yaml.composer.Composer, _CoreResolver
):
    def __init__(self, stream: str) -> None:
        yaml.reader.Reader.__init__(self, stream)
        yaml.scanner.Scanner.__init__(self)
        yaml.parser.Parser.__init__(self)
        yaml.composer.Composer.__init__(self)
        _CoreResolver.__init__(self)


_CParser: Any = getattr(getattr(yaml, "_yaml", None), "CParser", None)
"""libyaml's parser (PyYAML's C extension) when installed: same nodes and positions, 10x faster."""


def _compose_fast(text: str) -> yaml.nodes.Node | None:
    """Compose ``text`` with libyaml when it is available and the text nests no deeper than
    :data:`MAX_NESTING` (checked first on the flat event stream: libyaml composes recursively in
    C, where a deep document would overflow the stack). Raises :class:`_Unavailable` for any other
    case — syntax errors included — so the caller uses the Python parser and its messages."""
    if _CParser is None or not yaml.__with_libyaml__:
        raise _Unavailable
    depth = 0
    events = _CParser(text)
    try:
        while events.check_event():
            event = events.get_event()
            if isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_NESTING:
                    raise _Unavailable
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
    except yaml.YAMLError:
        raise _Unavailable from None
    finally:
        events.dispose()

    class _CLoader(_CParser, _CoreResolver):  # type: ignore[misc]
        def __init__(self, stream: str) -> None:
            _CParser.__init__(self, stream)
            _CoreResolver.__init__(self)

    loader = _CLoader(text)
    try:
        return loader.get_single_node()  # type: ignore[no-any-return]
    except yaml.YAMLError:
        raise _Unavailable from None
    finally:
        loader.dispose()


class _Unavailable(Exception):
    """The fast path cannot compose this text; use the Python parser."""


def parse_yaml(text: str, file: str) -> Document:
    """Parse YAML text; syntax errors become a problem at the parser's position.

    >>> doc = parse_yaml("code: bikes\\nparts:\\n  - {code: X}\\n", "c.yaml")
    >>> doc.node_at(("parts", 0, "code")).line, doc.node_at(("parts", 0, "code")).column
    (3, 12)
    """
    doc = Document(file, None, text)
    try:
        fast = _compose_fast(text)
    except _Unavailable:
        pass
    else:
        return _converted(doc, fast, text)
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as error:  # a character YAML does not allow (control characters, NUL)
        line = text.count("\n", 0, error.position) + 1
        column = error.position - (text.rfind("\n", 0, error.position) + 1) + 1
        doc.problems.append(
            Problem(file, line, column, "", f"YAML error: the text contains the control character U+{error.character:04X}")
        )
        return doc
    try:
        node = loader.get_single_node()
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (1, 1)
        message = f"YAML syntax error: {error.problem or error.context}"
        context = error.context_mark
        if error.context and context is not None and (context.line + 1, context.column + 1) != (line, column):
            message += f" ({error.context} started at line {context.line + 1}, column {context.column + 1})"
        doc.problems.append(Problem(file, line, column, "", message))
        return doc
    except yaml.YAMLError as error:  # reader errors: control characters and the like
        doc.problems.append(Problem(file, 1, 1, "", f"YAML error: {error}"))
        return doc
    except RecursionError:
        mark = loader.get_mark()
        line, column = mark.line + 1, mark.column + 1
        doc.problems.append(Problem(file, line, column, "", f"YAML nesting deeper than {MAX_NESTING} levels"))
        return doc
    finally:
        loader.dispose()
    return _converted(doc, node, text)


def _converted(doc: Document, node: yaml.nodes.Node | None, text: str) -> Document:
    file = doc.file
    if node is None:
        doc.problems.append(Problem(file, 1, 1, "", "the file is empty: expected a catalog mapping"))
        return doc
    converter = _YamlConverter(doc, budget=len(text) + ALIAS_EXPANSION_ALLOWANCE)
    try:
        doc.root = converter.convert(node, ())
    except _TooDeep as deep:
        doc.root = None
        doc.problems.append(
            Problem(file, deep.line, deep.column, "", f"YAML nesting deeper than {MAX_NESTING} levels")
        )
    except _ExpansionLimit as limit:
        # An "alias bomb" (anchors referencing anchors) expands a few hundred bytes into
        # billions of values; refuse it instead of spending minutes and gigabytes on it.
        doc.root = None
        doc.problems.append(
            Problem(
                file,
                limit.line,
                limit.column,
                "",
                f"the document expands to more than {converter.budget} values through YAML aliases; "
                "use fewer or smaller anchors",
            )
        )
    return doc


MAX_NESTING = 64
"""Nesting depth of mappings and lists in a catalog file (a catalog needs about ten)."""


class _TooDeep(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__(f"nesting too deep at {line}:{column}")
        self.line = line
        self.column = column


ALIAS_EXPANSION_ALLOWANCE = 100_000
"""Values a YAML document may expand to beyond its length in characters (aliases re-use nodes)."""


class _ExpansionLimit(Exception):
    def __init__(self, line: int, column: int) -> None:
        super().__init__(line, column)
        self.line = line
        self.column = column


_STYLE = {None: "", "'": "'", '"': '"', "|": "|", ">": ">"}


class _YamlConverter:
    def __init__(self, doc: Document, budget: int = 10**9) -> None:
        self.doc = doc
        self.active: set[int] = set()
        self.budget = budget
        self.converted = 0

    def problem(self, line: int, column: int, path: Path, message: str) -> None:
        where = format_path(path)
        text = f"{where}: {message}" if where else message
        self.doc.problems.append(Problem(self.doc.file, line, column, where, text))

    def convert(self, node: yaml.nodes.Node, path: Path) -> Node:
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        self.converted += 1
        if self.converted > self.budget:
            raise _ExpansionLimit(line, column)
        if isinstance(node, yaml.nodes.ScalarNode):
            return self.scalar(node, path)
        if len(path) >= MAX_NESTING:
            raise _TooDeep(line, column)
        if id(node) in self.active:  # an alias that contains itself
            self.problem(line, column, path, "recursive alias")
            return Scalar(None, line, column, node.start_mark.index, node.end_mark.index)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.nodes.SequenceNode):
                items = tuple(self.convert(item, (*path, i)) for i, item in enumerate(node.value))
                return Sequence(items, line, column)
            assert isinstance(node, yaml.nodes.MappingNode)
            return self.mapping(node, path, line, column)
        finally:
            self.active.discard(id(node))

    def mapping(self, node: yaml.nodes.MappingNode, path: Path, line: int, column: int) -> Mapping:
        entries: list[tuple[Scalar, Node]] = []
        seen: dict[str, Scalar] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.nodes.ScalarNode):
                mark = key_node.start_mark
                self.problem(mark.line + 1, mark.column + 1, path, "mapping keys must be plain strings")
                continue
            key = self.scalar(key_node, path)
            if not isinstance(key.value, str):
                # 1: or true: as a key is almost always a mistake; say so instead of coercing
                self.problem(key.line, key.column, path, f"mapping key {key.value!r} must be a string")
                continue
            if key.value in seen:
                first = seen[key.value]
                self.problem(
                    key.line,
                    key.column,
                    (*path, key.value),
                    f"duplicate key {key.value!r} (first given at line {first.line})",
                )
                continue
            seen[key.value] = key
            entries.append((key, self.convert(value_node, (*path, key.value))))
        return Mapping(tuple(entries), line, column)

    def scalar(self, node: yaml.nodes.ScalarNode, path: Path) -> Scalar:
        start, end = node.start_mark.index, node.end_mark.index
        line, column = node.start_mark.line + 1, node.start_mark.column + 1
        style = _STYLE.get(node.style, "")
        text: str = node.value
        value: str | int | Decimal | bool | None
        tag = node.tag
        try:
            if tag == "tag:yaml.org,2002:str":
                value = text
                problem = text_problem(text)
                if problem:
                    self.problem(line, column, path, problem)
                    value = storable(text)
            elif tag in ("tag:yaml.org,2002:int", "tag:yaml.org,2002:float") and too_many_digits(text):
                self.problem(line, column, path, str(too_many_digits(text)))
                value = shorten(text)
            elif tag == "tag:yaml.org,2002:int":
                value = int(text)
            elif tag == "tag:yaml.org,2002:float":
                value = Decimal(text)
                if not value.is_finite():
                    raise InvalidOperation
            elif tag == "tag:yaml.org,2002:bool":
                value = text.lower() == "true"
            elif tag == "tag:yaml.org,2002:null":
                value = None
            else:
                self.problem(line, column, path, f"unsupported YAML tag {tag}")
                value = text
        except (ValueError, InvalidOperation):
            self.problem(line, column, path, f"{shorten(text)!r} is not a valid {tag.rsplit(':', 1)[-1]}")
            value = text
        return Scalar(value, line, column, start, end, style)


# --- JSON -------------------------------------------------------------------

_scanstring: Callable[[str, int, bool], tuple[str, int]] = json.decoder.scanstring  # type: ignore[attr-defined]
_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?")
_WHITESPACE = re.compile(r"[ \t\n\r]*")


class _JsonSyntaxError(Exception):
    def __init__(self, offset: int, message: str) -> None:
        super().__init__(message)
        self.offset = offset
        self.message = message


def parse_json(text: str, file: str) -> Document:
    """Parse JSON text keeping positions; syntax errors become a problem.

    >>> doc = parse_json('{"code": "bikes",\\n "parts": [{"code": "X"}]}', "c.json")
    >>> doc.node_at(("parts", 0, "code")).line, doc.node_at(("parts", 0, "code")).column
    (2, 21)
    """
    doc = Document(file, None, text)
    scanner = _JsonScanner(doc)
    try:
        root, end = scanner.value(_skip(text, 0), ())
        end = _skip(text, end)
        if end != len(text):
            raise _JsonSyntaxError(end, "extra data after the top-level value")
    except _JsonSyntaxError as error:
        line, column = doc.position_of_offset(error.offset)
        doc.problems.append(Problem(file, line, column, "", f"JSON syntax error: {error.message}"))
        return doc
    except RecursionError:  # unreachable with MAX_NESTING below the interpreter's limit; kept as a guard
        doc.problems.append(Problem(file, 1, 1, "", "JSON syntax error: nesting too deep"))
        return doc
    doc.root = root
    return doc


def _skip(text: str, pos: int) -> int:
    match = _WHITESPACE.match(text, pos)
    return match.end() if match else pos


class _JsonScanner:
    def __init__(self, doc: Document) -> None:
        self.doc = doc
        self.text = doc.source

    def value(self, pos: int, path: Path) -> tuple[Node, int]:
        text = self.text
        line, column = self.doc.position_of_offset(pos)
        char = text[pos : pos + 1]
        if len(path) >= MAX_NESTING and char in "{[":
            raise _JsonSyntaxError(pos, f"nesting deeper than {MAX_NESTING} levels")
        if char == "{":
            return self.object(pos, path, line, column)
        if char == "[":
            items: list[Node] = []
            pos = _skip(text, pos + 1)
            if text.startswith("]", pos):
                return Sequence((), line, column), pos + 1
            while True:
                item, pos = self.value(pos, (*path, len(items)))
                items.append(item)
                pos = _skip(text, pos)
                if text.startswith(",", pos):
                    pos = _skip(text, pos + 1)
                elif text.startswith("]", pos):
                    return Sequence(tuple(items), line, column), pos + 1
                else:
                    raise _JsonSyntaxError(pos, "expected ',' or ']'")
        if char == '"':
            return self.string(pos)
        for word, literal in (("true", True), ("false", False), ("null", None)):
            if text.startswith(word, pos):
                return Scalar(literal, line, column, pos, pos + len(word), "json"), pos + len(word)
        match = _NUMBER.match(text, pos)
        if match:
            raw = match.group(0)
            problem = too_many_digits(raw)
            if problem:
                raise _JsonSyntaxError(pos, problem)
            number: int | Decimal = Decimal(raw) if match.group(1) or match.group(2) else int(raw)
            return Scalar(number, line, column, pos, match.end(), "json"), match.end()
        if pos >= len(text):
            raise _JsonSyntaxError(pos, "unexpected end of text, expected a value")
        raise _JsonSyntaxError(pos, f"unexpected character {char!r}, expected a value")

    def string(self, pos: int) -> tuple[Scalar, int]:
        line, column = self.doc.position_of_offset(pos)
        try:
            value, end = _scanstring(self.text, pos + 1, True)
        except json.JSONDecodeError as error:
            raise _JsonSyntaxError(error.pos, error.msg) from None
        problem = text_problem(value)
        if problem:
            raise _JsonSyntaxError(pos, problem)
        return Scalar(value, line, column, pos, end, "json"), end

    def object(self, pos: int, path: Path, line: int, column: int) -> tuple[Mapping, int]:
        text = self.text
        entries: list[tuple[Scalar, Node]] = []
        seen: dict[str, Scalar] = {}
        pos = _skip(text, pos + 1)
        if text.startswith("}", pos):
            return Mapping((), line, column), pos + 1
        while True:
            if not text.startswith('"', pos):
                hint = " (remove the comma before '}')" if text.startswith("}", pos) and entries else ""
                raise _JsonSyntaxError(pos, f"expected a string key in double quotes{hint}")
            key, pos = self.string(pos)
            pos = _skip(text, pos)
            if not text.startswith(":", pos):
                raise _JsonSyntaxError(pos, "expected ':' after the key")
            assert isinstance(key.value, str)
            value, pos = self.value(_skip(text, pos + 1), (*path, key.value))
            if key.value in seen:
                where = format_path((*path, key.value))
                self.doc.problems.append(
                    Problem(
                        self.doc.file,
                        key.line,
                        key.column,
                        where,
                        f"{where}: duplicate key {key.value!r} (first given at line {seen[key.value].line})",
                    )
                )
            else:
                seen[key.value] = key
                entries.append((key, value))
            pos = _skip(text, pos)
            if text.startswith(",", pos):
                pos = _skip(text, pos + 1)
            elif text.startswith("}", pos):
                return Mapping(tuple(entries), line, column), pos + 1
            else:
                raise _JsonSyntaxError(pos, "expected ',' or '}'")


# --- plain data ---------------------------------------------------------------


def document_from_plain(data: PlainValue, file: str) -> Document:
    """Wrap plain data (dicts, lists, scalars) as a tree without positions.

    Floats become ``Decimal`` from their shortest repr; tuples are lists.
    """
    doc = Document(file, None)
    doc.root = _plain_node(data, (), doc)
    return doc


def plain_document(data: PlainValue, file: str) -> tuple[Document, PlainValue]:
    """``document_from_plain(data, file)`` and ``to_plain`` of its root, without building the tree.

    The copy and the problems are those of the tree (floats become ``Decimal``
    from their shortest repr, tuples lists, non-string keys and non-plain values
    are reported and dropped or nulled). Positions of such a document are all
    0, so the tree is only needed to describe a bad value: :meth:`Document.node_at`
    builds it from ``data`` on first use (``data`` must not change meanwhile).
    """
    doc = Document(file, None)
    copied = _plain_copy(data, (), doc)
    doc.plain = data
    return doc, copied


def _plain_copy(data: PlainValue, path: Path, doc: Document) -> PlainValue:
    # The same walk as _plain_node, so the problems come in the same order.
    kind = type(data)
    if kind is str or kind is int or kind is bool or data is None:
        return data
    if isinstance(data, dict):
        out: dict[str, PlainValue] = {}
        for key, value in data.items():
            if type(key) is not str and not isinstance(key, str):
                where = format_path(path)
                doc.problems.append(
                    Problem(
                        doc.file, 0, 0, where, f"{where or 'document'}: mapping key {key!r} must be a string"
                    )
                )
                continue
            vkind = type(value)
            if vkind is str or vkind is int or vkind is bool or value is None:
                out[key] = value
            else:
                out[key] = _plain_copy(value, (*path, key), doc)
        return out
    if isinstance(data, list | tuple):
        return [_plain_copy(v, (*path, i), doc) for i, v in enumerate(data)]
    if isinstance(data, float):
        return Decimal(repr(data))
    if isinstance(data, str | int | Decimal | bool):
        return data
    where = format_path(path)
    doc.problems.append(
        Problem(doc.file, 0, 0, where, f"{where}: {type(data).__name__} is not a plain document value")
    )
    return None


def _plain_node(data: PlainValue, path: Path, doc: Document) -> Node:
    if isinstance(data, dict):
        entries: list[tuple[Scalar, Node]] = []
        for key, value in data.items():
            if not isinstance(key, str):
                where = format_path(path)
                doc.problems.append(
                    Problem(
                        doc.file, 0, 0, where, f"{where or 'document'}: mapping key {key!r} must be a string"
                    )
                )
                continue
            entries.append((Scalar(key, 0, 0, 0, 0), _plain_node(value, (*path, key), doc)))
        return Mapping(tuple(entries), 0, 0)
    if isinstance(data, list | tuple):
        return Sequence(tuple(_plain_node(v, (*path, i), doc) for i, v in enumerate(data)), 0, 0)
    if isinstance(data, float):
        return Scalar(Decimal(repr(data)), 0, 0, 0, 0)
    if data is None or isinstance(data, str | int | Decimal | bool):
        return Scalar(data, 0, 0, 0, 0)
    where = format_path(path)
    doc.problems.append(
        Problem(doc.file, 0, 0, where, f"{where}: {type(data).__name__} is not a plain document value")
    )
    return Scalar(None, 0, 0, 0, 0)


def to_plain(node: Node) -> PlainValue:
    """The tree as plain dicts, lists and scalars (duplicate keys: first wins)."""
    if isinstance(node, Mapping):
        return {key.value: to_plain(value) for key, value in node.entries}
    if isinstance(node, Sequence):
        return [to_plain(item) for item in node.items]
    return node.value


def walk(node: Node, path: Path = ()) -> Iterator[tuple[Path, Node]]:
    """Every node of a tree with its path, parents first."""
    yield path, node
    if isinstance(node, Mapping):
        for key, value in node.entries:
            assert isinstance(key.value, str)
            yield from walk(value, (*path, key.value))
    elif isinstance(node, Sequence):
        for index, item in enumerate(node.items):
            yield from walk(item, (*path, index))
