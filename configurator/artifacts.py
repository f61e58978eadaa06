"""Compiled models as bytes: write a compiled backend once, load it in any process.

Compiling a product's model (the decision diagram, or d4's d-DNNF) is the
expensive step of the engine; its result depends only on the model, which
depends only on the catalog's content and the product. :func:`dump` turns a
compiled backend into an *artifact*, :func:`load` rebuilds the backend from
one without compiling, so every worker and every new process shares one
compilation.

An artifact is::

    MAGIC  (b"C2M-MODEL\\n")
    header length (8 bytes, big endian) + header (JSON, UTF-8):
        {"format": FORMAT_VERSION, "model_key": ..., "backend": ...,
         "model_fingerprint": ..., "payload_sha256": ..., "payload_size": ...,
         "meta": {...}, "priced": null or {the same keys, for the priced part}}
    payload (numpy ``savez_compressed`` of the backend's arrays; empty for the
    search backends, which compile nothing and are rebuilt from the model)
    priced payload (only when "priced" is set)

The *priced part* is the backend over the model with price auxiliaries
(:func:`configurator.priced.priced_model`), which a product whose price lines
read several attributes needs on its first click: storing it beside the model
keeps that compilation off the request path too (:func:`load_priced`).

:func:`load` and :func:`load_priced` refuse (:class:`ArtifactInvalid`, naming
the artifact and the part) any artifact whose magic, format version, model
key, model fingerprint or payload digest does not match: a stale or damaged
artifact is never used.

>>> from configurator.model import Model, Variable
>>> from configurator.backends.brute import BruteBackend
>>> m = Model("shop:lamp", (Variable("a", (1, 2), "a"),), ())
>>> load(dump(BruteBackend(m)), m, what="lamp").count({})
2
>>> load(dump(BruteBackend(m)), Model("shop:desk", m.variables, ()), what="desk")
Traceback (most recent call last):
...
configurator.artifacts.ArtifactInvalid: compiled model desk: the artifact is for model 'shop:lamp', not 'shop:desk'
"""

from __future__ import annotations

import dataclasses
import hashlib
import io
import json
from typing import TYPE_CHECKING, Any

from configurator.backends.base import Backend
from configurator.errors import ConfiguratorError
from configurator.model import Model

if TYPE_CHECKING:
    import numpy as np

# numpy is imported by the functions that write or read arrays, not here: the use cases import
# this module for ArtifactInvalid and the format version, and a new worker should not pay for
# numpy until it loads or stores a compiled model.

__all__ = [
    "FORMAT_VERSION",
    "MAGIC",
    "ArtifactInvalid",
    "dump",
    "has_priced",
    "load",
    "load_priced",
    "model_fingerprint",
    "read_header",
]

FORMAT_VERSION = 3
"""Bumped whenever the payload of any backend changes meaning: older artifacts are then refused.

2: the d-DNNF is stored as the arrays queries walk (arcs sorted by level, literals, gaps) instead of
d4's text, so loading one parses and recomputes nothing.
3: an artifact may hold a second, *priced* part (the backend over the model with price auxiliaries),
each part with its own size and digest."""
MAGIC = b"C2M-MODEL\n"
_COMPILED = ("mdd", "ddnnf")
_REBUILT = ("sat", "reference", "brute")


class ArtifactInvalid(ConfiguratorError):
    """An artifact cannot be used for this model: damaged, of another format, or of another model."""

    reason = "artifact_invalid"

    def __init__(self, what: str, detail: str) -> None:
        super().__init__(f"compiled model {what}: {detail}")
        self.what = what
        self.detail = detail


def model_fingerprint(model: Model) -> str:
    """A digest of what a compiled form depends on: variables, domains and constraint scopes.

    The model key names the catalog content and product; the fingerprint also
    changes when the way a product is turned into a model changes.

    >>> from configurator.model import Variable
    >>> one = model_fingerprint(Model("k", (Variable("a", (1, 2), "a"),), ()))
    >>> len(one), one == model_fingerprint(Model("other key", (Variable("a", (1, 2), "a"),), ()))
    (64, True)
    >>> one == model_fingerprint(Model("k", (Variable("a", (1, 2, 3), "a"),), ()))
    False
    """
    text = repr(
        (
            tuple((v.name, v.domain, v.attribute, v.element, v.auxiliary) for v in model.variables),
            tuple((c.rule_id, c.scope) for c in model.constraints),
        )
    )
    return hashlib.sha256(text.encode()).hexdigest()


def dump(backend: Backend, *, priced: Backend | None = None) -> bytes:
    """The artifact of a compiled ``backend`` (its ``model`` must be the model it compiled), with
    ``priced``, the backend over the model with price auxiliaries, as its priced part when given."""
    header, payload = _part(backend)
    header["format"] = FORMAT_VERSION
    header["priced"] = None
    if priced is not None:
        header["priced"], extra = _part(priced)
        payload += extra
    raw = json.dumps(header, sort_keys=True).encode()
    return MAGIC + len(raw).to_bytes(8, "big") + raw + payload


def _part(backend: Backend) -> tuple[dict[str, Any], bytes]:
    """The header entries and payload of one compiled backend."""
    model: Model = backend.model
    arrays: dict[str, Any] = {}
    meta: dict[str, Any] = {}
    if backend.name == "mdd":
        arrays, meta = _mdd_payload(backend)
    elif backend.name == "ddnnf":
        arrays, meta = _ddnnf_payload(backend)
    elif backend.name not in _REBUILT:
        raise ValueError(f"model {model.key!r}: backend {backend.name!r} has no artifact form")
    payload = b""
    if arrays:
        import numpy as np

        buffer = io.BytesIO()
        np.savez_compressed(buffer, **arrays)
        payload = buffer.getvalue()
    header = {
        "model_key": model.key,
        "backend": backend.name,
        "model_fingerprint": model_fingerprint(model),
        "payload_sha256": hashlib.sha256(payload).hexdigest(),
        "payload_size": len(payload),
        "meta": meta,
    }
    return header, payload


def read_header(data: bytes, *, what: str) -> tuple[dict[str, Any], bytes]:
    """The header and (main) payload of an artifact, checked for shape, format version and payload digest."""
    header, payload, _ = _read(data, what=what)
    return header, payload


def has_priced(data: bytes, *, what: str) -> bool:
    """Whether artifact ``data`` holds a priced part (its header checked as by :func:`read_header`)."""
    return _read(data, what=what)[0].get("priced") is not None


def _read(data: bytes, *, what: str) -> tuple[dict[str, Any], bytes, bytes]:
    """Header, main payload and priced payload (empty without a priced part); the main part's digest
    is checked here, the priced part's by :func:`load_priced`."""
    if not data.startswith(MAGIC):
        raise ArtifactInvalid(what, "not a compiled-model artifact (bad magic bytes)")
    start = len(MAGIC) + 8
    size = int.from_bytes(data[len(MAGIC) : start], "big")
    if size <= 0 or start + size > len(data):
        raise ArtifactInvalid(what, f"header length {size} does not fit the {len(data)} bytes")
    try:
        header = json.loads(data[start : start + size])
    except ValueError as exc:
        raise ArtifactInvalid(what, f"header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise ArtifactInvalid(what, "header is not a JSON object")
    if header.get("format") != FORMAT_VERSION:
        raise ArtifactInvalid(what, f"format {header.get('format')!r}, expected {FORMAT_VERSION}")
    priced = header.get("priced")
    if priced is not None and not isinstance(priced, dict):
        raise ArtifactInvalid(what, "the priced part's header is not a JSON object")
    main_size, priced_size = header.get("payload_size"), 0 if priced is None else priced.get("payload_size")
    body = data[start + size :]
    if not isinstance(main_size, int) or not isinstance(priced_size, int) or main_size < 0 or priced_size < 0 \
            or main_size + priced_size != len(body):
        raise ArtifactInvalid(what, f"payload sizes {main_size!r} + {priced_size!r} do not fit the {len(body)} "
                                    "bytes after the header (damaged)")
    payload = body[:main_size]
    if hashlib.sha256(payload).hexdigest() != header.get("payload_sha256"):
        raise ArtifactInvalid(what, "payload digest does not match its header (damaged)")
    return header, payload, body[main_size:]


def load(data: bytes, model: Model, *, what: str) -> Backend:
    """The backend stored in artifact ``data``, for ``model``; ``what`` names the artifact in errors.

    :raise ArtifactInvalid: the artifact is damaged, of another format version, or of another model.
    """
    header, payload = read_header(data, what=what)
    return _backend(header, payload, model, what)


def load_priced(data: bytes, model: Model, *, what: str) -> Backend:
    """The priced part of artifact ``data``: the backend over ``model``, the model with price
    auxiliaries. Errors name the part (``what`` + " (priced part)").

    :raise ArtifactInvalid: the artifact has no priced part, or it is damaged or of another model.
    """
    header, _, payload = _read(data, what=what)
    what = f"{what} (priced part)"
    part = header.get("priced")
    if part is None:
        raise ArtifactInvalid(what, "the artifact holds no priced part")
    if hashlib.sha256(payload).hexdigest() != part.get("payload_sha256"):
        raise ArtifactInvalid(what, "payload digest does not match its header (damaged)")
    return _backend(part, payload, model, what)


def _backend(header: dict[str, Any], payload: bytes, model: Model, what: str) -> Backend:
    """The backend of one part, after checking its model key and fingerprint against ``model``."""
    if header.get("model_key") != model.key:
        raise ArtifactInvalid(what, f"the artifact is for model {header.get('model_key')!r}, not {model.key!r}")
    if header.get("model_fingerprint") != model_fingerprint(model):
        raise ArtifactInvalid(what, "the model's variables or constraints differ from the ones compiled")
    name = header.get("backend")
    try:
        if name == "mdd":
            return _mdd_backend(model, _arrays(payload), header["meta"])
        if name == "ddnnf":
            return _ddnnf_backend(model, _arrays(payload), header["meta"])
    except (KeyError, ValueError, TypeError, IndexError) as exc:
        raise ArtifactInvalid(what, f"{name} payload is inconsistent: {type(exc).__name__}: {exc}") from None
    if name in _REBUILT:
        from configurator.backends.select import make_backend

        return make_backend(model, prefer=str(name))
    raise ArtifactInvalid(what, f"unknown backend {name!r}")


def _arrays(payload: bytes) -> dict[str, np.ndarray[Any, Any]]:
    import numpy as np

    with np.load(io.BytesIO(payload), allow_pickle=False) as npz:
        return {name: npz[name] for name in npz.files}


# -- decision diagram: layer order, nodes per layer, (value, child) edges per node -----------------


def _mdd_payload(backend: Backend) -> tuple[dict[str, Any], dict[str, Any]]:
    import numpy as np

    order, kids, stats = backend.artifact_parts()  # type: ignore[attr-defined]
    per_node = [len(node) for layer in kids for node in layer]
    edges = [edge for layer in kids for node in layer for edge in node]
    arrays = {
        "order": np.asarray(order, dtype=np.int64),
        "layer_sizes": np.asarray([len(layer) for layer in kids], dtype=np.int64),
        "node_edges": np.asarray(per_node, dtype=np.int64),
        "edges": np.asarray(edges, dtype=np.int64).reshape(len(edges), 2),
    }
    return arrays, {"stats": dataclasses.asdict(stats)}


def _mdd_backend(model: Model, arrays: dict[str, Any], meta: dict[str, Any]) -> Backend:
    from configurator.backends.mdd import MddBackend, MddStats

    order = [int(p) for p in arrays["order"].tolist()]
    sizes = arrays["layer_sizes"].tolist()
    per_node = arrays["node_edges"].tolist()
    pairs = [(int(a), int(d)) for a, d in arrays["edges"].tolist()]
    if len(order) != len(model.variables) or len(sizes) != len(order):
        raise ValueError(f"{len(sizes)} layers for {len(model.variables)} variables")
    if sum(sizes) != len(per_node) or sum(per_node) != len(pairs):
        raise ValueError("node and edge counts do not add up")
    kids: list[list[tuple[tuple[int, int], ...]]] = []
    node = edge = 0
    for size in sizes:
        layer = []
        for _ in range(size):
            count = per_node[node]
            layer.append(tuple(pairs[edge : edge + count]))
            node += 1
            edge += count
        kids.append(layer)
    raw = dict(meta["stats"])
    raw["order"] = tuple(raw["order"])
    raw["phases"] = tuple((str(p), float(s)) for p, s in raw["phases"])
    return MddBackend.from_artifact_parts(model, order, kids, MddStats(**raw))


# -- d-DNNF: the CNF d4 compiled and the circuit's arrays (sorted arcs, literals, gaps) -------------


def _ddnnf_payload(backend: Backend) -> tuple[dict[str, Any], dict[str, Any]]:
    import numpy as np

    from configurator.backends.ddnnf import Circuit, PackedClauses

    cnf, circuit, seconds = backend.artifact_parts()  # type: ignore[attr-defined]
    clauses = PackedClauses.of(cnf.clauses)
    arrays: dict[str, Any] = {
        "clause_lengths": _int32(clauses.lengths),
        "clause_literals": _int32(clauses.literals),
        "value_counts": _int32(np.asarray([len(v) for v in cnf.value_lits], dtype=np.int64)),
        "value_literals": _int32(np.asarray([lit for v in cnf.value_lits for lit in v], dtype=np.int64)),
    }
    for name in Circuit.ARRAYS:
        values = getattr(circuit, name)
        arrays[f"circuit_{name}"] = values if name in _BOOLEAN else _int32(values)
    meta = {"nvars": cnf.nvars, "unsat": cnf.unsat, "compile_seconds": seconds, "root": circuit.root}
    return arrays, meta


_BOOLEAN = ("is_or", "leaf_sat")
"""The circuit's per-node flags (stored as booleans; every other array as 32-bit integers)."""


def _int32(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``values`` as 32-bit integers (half the bytes to read); a circuit too large for them is refused."""
    import numpy as np

    if len(values) and max(-int(values.min()), int(values.max())) >= 2**31:
        raise ValueError(f"an array of the d-DNNF holds {int(np.abs(values).max())}, beyond 32-bit integers")
    return values.astype(np.int32)


def _split(lengths: list[int], flat: list[int]) -> tuple[tuple[int, ...], ...]:
    if sum(lengths) != len(flat):
        raise ValueError(f"{sum(lengths)} literals announced, {len(flat)} stored")
    out, at = [], 0
    for n in lengths:
        out.append(tuple(flat[at : at + n]))
        at += n
    return tuple(out)


def _ddnnf_backend(model: Model, arrays: dict[str, Any], meta: dict[str, Any]) -> Backend:
    import numpy as np

    from configurator.backends.ddnnf import Circuit, Cnf, DdnnfBackend, PackedClauses

    cnf = Cnf(
        nvars=int(meta["nvars"]),
        clauses=PackedClauses(arrays["clause_lengths"].astype(np.int64), arrays["clause_literals"].astype(np.int64)),
        value_lits=_split(arrays["value_counts"].tolist(), arrays["value_literals"].tolist()),
        unsat=bool(meta["unsat"]),
    )
    if len(cnf.value_lits) != len(model.variables):
        raise ValueError(f"{len(cnf.value_lits)} variables encoded, the model has {len(model.variables)}")
    for var, lits in zip(model.variables, cnf.value_lits, strict=True):
        if len(lits) != len(var.domain):
            raise ValueError(f"variable {var.name!r} has {len(var.domain)} values, {len(lits)} literals stored")
    parts: dict[str, Any] = {}
    for name in Circuit.ARRAYS:
        values = arrays[f"circuit_{name}"]
        boolean = values.dtype == np.bool_
        if values.ndim != 1 or boolean != (name in _BOOLEAN) or not (boolean or values.dtype.kind == "i"):
            raise ValueError(f"circuit array {name!r} has shape {values.shape} and type {values.dtype}")
        parts[name] = values if boolean else values.astype(np.int64)
    circuit = Circuit(root=int(meta["root"]), **parts)
    return DdnnfBackend.from_artifact_parts(model, cnf, circuit, float(meta["compile_seconds"]))
