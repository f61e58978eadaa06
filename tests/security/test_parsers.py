"""Untrusted documents cannot read files, reach the network or exhaust memory while parsed."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from catalog.featuremodels.featureide import parse_featureide
from catalog.files import load_catalog_text
from catalog.files.problems import CatalogInvalid


def test_featureide_xml_does_not_resolve_external_entities(tmp_path: Path) -> None:
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET-VALUE")
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE featureModel [<!ENTITY leak SYSTEM "file://{secret}">]>
<featureModel><struct><and abstract="true" mandatory="true" name="Root">
<feature name="&leak;"/></and></struct></featureModel>""".encode()
    try:
        model = parse_featureide(xml, "leak.xml")
    except CatalogInvalid as exc:
        assert "TOP-SECRET-VALUE" not in str(exc)
        return
    assert "TOP-SECRET-VALUE" not in repr(model)


def test_featureide_xml_entity_expansion_is_not_performed() -> None:
    entities = ['<!ENTITY l0 "lollollollollol">'] + [
        f'<!ENTITY l{i} "{("&l" + str(i - 1) + ";") * 10}">' for i in range(1, 9)
    ]
    xml = (
        '<?xml version="1.0"?><!DOCTYPE featureModel [' + "".join(entities) + "]>"
        '<featureModel><struct><and abstract="true" mandatory="true" name="Root">'
        '<feature name="&l8;"/></and></struct></featureModel>'
    ).encode()
    started = time.monotonic()
    try:
        model = parse_featureide(xml, "bomb.xml")
        assert len(repr(model)) < 100_000
    except CatalogInvalid:
        pass
    assert time.monotonic() - started < 5


def test_yaml_alias_bombs_are_refused_quickly() -> None:
    levels = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    levels += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 9)]
    document = "format: c2m-catalog/1\ncode: bomb\nname: Bomb\ncurrency: CNY\nx:\n  " + "\n  ".join(levels)
    started = time.monotonic()
    with pytest.raises(CatalogInvalid, match="expands to more than"):
        load_catalog_text(document + "\nproducts: []\n", format="yaml")
    assert time.monotonic() - started < 5


def test_yaml_tags_cannot_build_python_objects() -> None:
    document = "format: c2m-catalog/1\ncode: x\nname: !!python/object/apply:os.system ['true']\ncurrency: CNY\n"
    with pytest.raises(CatalogInvalid):
        load_catalog_text(document + "products: []\n", format="yaml")
