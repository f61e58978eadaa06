"""Feature models (UVL, FeatureIDE XML, SPLOT SXFM) imported as catalogs, and UVL export.

One model becomes one catalog with one product whose attributes are the
features (bool) and whose rules state the tree and the cross-tree
constraints; docs/feature-models.md gives the whole mapping.

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "lamp.uvl"
>>> _ = path.write_text("features\\n\\tLamp\\n\\t\\toptional\\n\\t\\t\\tDimmer\\n")
>>> catalog = load_feature_model(path)
>>> catalog.code, [a.code for a in catalog.products[0].attributes]
('lamp', ['Lamp', 'Dimmer'])
>>> print(dump_uvl(catalog), end="")
namespace Lamp
<BLANKLINE>
features
    Lamp
        optional
            Dimmer
"""

from __future__ import annotations

from pathlib import Path

from catalog.featuremodels.convert import Conversion, Skipped, sanitize, to_catalog
from catalog.featuremodels.export_uvl import UvlExportError, dump_uvl
from catalog.featuremodels.featureide import parse_featureide
from catalog.featuremodels.model import FeatureModel
from catalog.featuremodels.sxfm import parse_sxfm
from catalog.featuremodels.uvl import parse_uvl
from catalog.files.problems import CatalogInvalid, Problem
from catalog.snapshot import Catalog

SUFFIXES = (".uvl", ".xml", ".sxfm", ".splx")
"""File suffixes read as feature models."""


def is_feature_model(path: str | Path) -> bool:
    """Whether ``path`` names a feature-model file (by its suffix).

    >>> is_feature_model("Pizzas.uvl"), is_feature_model("bikes.yaml")
    (True, False)
    """
    return Path(path).suffix.lower() in SUFFIXES


def read_feature_model(path: str | Path) -> FeatureModel:
    """Parse a feature-model file; the format comes from the suffix, else from the content."""
    name = str(path)
    try:
        data = Path(path).read_bytes()
    except OSError as error:
        raise CatalogInvalid([Problem(name, 0, 0, "", f"cannot read the file: {error.strerror or error}")]) from None
    return parse_feature_model(data, name)


def parse_feature_model(data: bytes, filename: str) -> FeatureModel:
    """Parse feature-model bytes named ``filename`` (UTF-8)."""
    suffix = Path(filename).suffix.lower()
    head = data[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if suffix in (".sxfm", ".splx") or b"<feature_tree>" in data[:65536]:
        return parse_sxfm(_text(data, filename), filename)
    if suffix == ".xml" or head.startswith(b"<"):
        return parse_featureide(data, filename)
    return parse_uvl(_text(data, filename), filename)


def convert_feature_model(path: str | Path, *, code: str | None = None, currency: str = "CNY") -> Conversion:
    """Read and convert a feature-model file, keeping the feature -> code map and the skipped constraints."""
    return to_catalog(read_feature_model(path), code=code, currency=currency)


def load_feature_model(path: str | Path, *, code: str | None = None, currency: str = "CNY") -> Catalog:
    """The catalog (one product) of a feature-model file; ``CatalogInvalid`` on malformed files."""
    return convert_feature_model(path, code=code, currency=currency).catalog


def _text(data: bytes, filename: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        good = data[: error.start].decode("utf-8")
        line = good.count("\n") + 1
        column = len(good) - (good.rfind("\n") + 1) + 1
        raise CatalogInvalid(
            [Problem(filename, line, column, "", f"the file is not valid UTF-8 (byte 0x{data[error.start]:02x})")]
        ) from None

__all__ = [
    "SUFFIXES",
    "Conversion",
    "FeatureModel",
    "Skipped",
    "UvlExportError",
    "convert_feature_model",
    "dump_uvl",
    "is_feature_model",
    "load_feature_model",
    "parse_feature_model",
    "read_feature_model",
    "sanitize",
    "to_catalog",
]
