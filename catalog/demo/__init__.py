"""Demo catalogs shipped with the product.

Two made-to-order product families from different industries, used by the
storefront demo (``c2m serve --demo``) and throughout the tests:

- ``city-bikes.yaml``: a city e-bike from a Wuhan frame workshop (frames welded
  to size, battery packs built from cell blocks, wheels laced in house);
- ``wardrobes.yaml``: a made-to-measure modular wardrobe from a Foshan panel
  workshop, sized in millimetres.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

SUFFIXES = (".yaml", ".yml", ".json")


def demo_catalog_paths() -> list[Path]:
    """The shipped demo catalog files, sorted by file name.

    >>> [p.name for p in demo_catalog_paths()]
    ['city-bikes.yaml', 'wardrobes.yaml']
    >>> all(p.is_file() for p in demo_catalog_paths())
    True
    """
    # The package is installed as plain files (setuptools package-data), so the
    # resource root is a real directory; callers need real paths because the
    # loader reports problems as FILE:LINE:COL.
    root = Path(str(files(__name__)))
    return sorted((p for p in root.iterdir() if p.suffix in SUFFIXES and p.is_file()), key=lambda p: p.name)


__all__ = ["demo_catalog_paths"]
