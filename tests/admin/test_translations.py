"""Every user-facing string of the storefront and the workspace is translated into 简体中文:

- the zh_CN catalog has a translation for every message the code and templates use (extracted
  afresh with the project's babel.cfg, so a string added without a translation fails here);
- every workspace page rendered in Chinese shows no English UI sentence that escaped translation
  (text not wrapped in ``_()`` at all).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
PO = ROOT / "web" / "translations" / "zh_CN" / "LC_MESSAGES" / "messages.po"
CFG = ROOT / "web" / "translations" / "babel.cfg"


def _method_map() -> tuple[list[tuple[str, str]], dict[str, dict[str, str]]]:
    methods = []
    for line in CFG.read_text(encoding="utf-8").splitlines():
        match = re.fullmatch(r"\[(\w+):\s*(.+)\]", line.strip())
        if match:
            methods.append((match.group(2), match.group(1)))
    return methods, {}


def test_every_message_in_the_code_has_a_chinese_translation() -> None:
    with PO.open("rb") as handle:
        catalog = read_po(handle)
    translated = {}
    for message in catalog:
        if not message.id:
            continue
        key = message.id[0] if isinstance(message.id, tuple) else message.id
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        translated[key] = all(strings) and not message.fuzzy
    methods, options = _method_map()
    missing = set()
    for _filename, _lineno, message, _comments, _context in extract_from_dir(
        str(ROOT), methods, options, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "_l": None,
                                               "lazy_gettext": None}
    ):
        key = message[0] if isinstance(message, tuple) else message
        if key and not translated.get(key):
            missing.add(key)
    assert not missing, "untranslated (add them to messages.po and compile): " + "; ".join(sorted(missing))


class _Text(HTMLParser):
    """Visible text nodes of a page (script, style and code-like elements skipped)."""

    SKIP = {"script", "style", "code", "pre", "textarea", "option", "svg", "title"}
    SKIP_CLASSES: set[str] = set()
    """Nothing is skipped: check findings are translated too (by message id)."""

    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.nodes: list[str] = []
        self.stack: list[bool] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        classes = set((dict(attrs).get("class") or "").split())
        skip = tag in self.SKIP or bool(classes & self.SKIP_CLASSES)
        if tag not in ("br", "input", "img", "meta", "link", "hr", "source"):
            self.stack.append(skip)
        if skip:
            self.depth += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("br", "input", "img", "meta", "link", "hr", "source") or not self.stack:
            return
        if self.stack.pop() and self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if not self.depth and data.strip():
            self.nodes.append(data.strip())


ENGLISH = re.compile(r"\b[A-Za-z]{3,}(?: [a-z]{2,}){2,}\b")
"""Three or more English words in a row: a UI sentence (codes, e-mails and numbers do not match)."""
DATA = ("Large boxes need a lid.", "Small box", "Large box", "Box kit")
"""Texts of the test catalog, which has no Chinese for them (shown as written)."""


@pytest.mark.parametrize(
    "url",
    ["/admin/", "/admin/upload", "/admin/orders", "/admin/production-orders", "/admin/users",
     "/admin/catalogs/boxes", "/admin/catalogs/boxes/checks", "/admin/catalogs/boxes/diff",
     "/admin/catalogs/boxes/bench", "/admin/new"],
)
def test_workspace_pages_in_chinese_have_no_english_sentences(login, url: str) -> None:  # type: ignore[no-untyped-def]
    client: FlaskClient = login("admin")
    response = client.get(f"{url}?lang=zh_CN" if "?" not in url else f"{url}&lang=zh_CN")
    assert response.status_code == 200, url
    parser = _Text()
    parser.feed(response.get_data(as_text=True))
    english = [t for t in parser.nodes if ENGLISH.search(t) and not any(d in t for d in DATA)]
    assert not english, f"{url}: {english}"


def test_order_and_production_order_pages_show_labels_not_codes_in_chinese(login) -> None:  # type: ignore[no-untyped-def]
    client: FlaskClient = login("admin")
    orders = client.get("/admin/orders?lang=zh_CN").get_data(as_text=True)
    number = re.search(r'href="/admin/orders/([\w-]+)"', orders)
    assert number
    html = client.get(f"/admin/orders/{number.group(1)}?lang=zh_CN").get_data(as_text=True)
    assert "True" not in html and "False" not in html
    assert "<th scope=\"row\">Lid</th><td>是</td>" in html  # attribute label and a yes/no value
    assert "已接单" in html  # the order status in words
    po = re.search(r'href="/admin/production-orders/([\w-]+)"', html)
    assert po
    page = client.get(f"/admin/production-orders/{po.group(1)}?lang=zh_CN").get_data(as_text=True)
    assert "已下达车间" in page
    assert "甘特图" in page


def test_every_check_finding_message_is_listed_for_translation_word_for_word() -> None:
    """The workspace translates findings by message id: its English list is the checks' own wording."""
    from configurator.checks import MESSAGES
    from web.admin.findings import FINDING_MESSAGES

    assert set(FINDING_MESSAGES) == set(MESSAGES)
    for msgid, english in MESSAGES.items():
        assert FINDING_MESSAGES[msgid]._args[0] == english, msgid


def test_check_findings_are_shown_in_chinese(login) -> None:  # type: ignore[no-untyped-def]
    client: FlaskClient = login("admin")
    html = client.get("/admin/catalogs/boxes/checks?lang=zh_CN").get_data(as_text=True)
    shown = re.findall(r'<span class="finding-message">([^<]*)</span>', html)
    assert shown, "the test catalog has findings"
    assert not [text for text in shown if ENGLISH.search(text)], shown
    english = client.get("/admin/catalogs/boxes/checks?lang=en").get_data(as_text=True)
    assert len(re.findall(r'<span class="finding-message">', english)) == len(shown)


def test_model_check_findings_carry_message_ids_and_are_shown_in_chinese(app) -> None:  # type: ignore[no-untyped-def]
    """Variant parts, module parameters and derived attributes: findings by message id, translated."""
    from flask_babel import force_locale

    from bom.model_checks import model_findings
    from catalog.files import load_catalog_text
    from web.admin.findings import FINDING_MESSAGES, finding_text

    broken = (ROOT / "tests" / "richer" / "desk-broken.yaml").read_text(encoding="utf-8")
    # without the parameter of the wrong type, which stops the whole-model search before the others
    text = broken.replace("{span: width - 100, motors: motors}", "{span: width - 100, motors: 2}")
    assert text != broken
    findings = model_findings(load_catalog_text(text, filename="desk-broken.yaml"), backend="sat")
    checks = {f.check for f in findings}
    assert {"bom_variant", "derived"} <= checks, checks
    # The engine's own wording of a type error travels as a parameter (``error``), not as the sentence.
    free = {"param_invalid", "derived_invalid", "model_error"}
    for finding in findings:
        assert finding.msgid in FINDING_MESSAGES, finding.message
        with app.test_request_context("/"), force_locale("zh_CN"):
            chinese = finding_text(finding)
        with app.test_request_context("/"), force_locale("en"):
            english = finding_text(finding)
        assert english == finding.message
        assert chinese != english and re.search(r"[\u4e00-\u9fff]", chinese), chinese
        if finding.msgid not in free:
            assert not ENGLISH.search(chinese), chinese
    # every sentence these checks can say (parameter findings included) has its Chinese wording
    with app.test_request_context("/"), force_locale("zh_CN"):
        for msgid in ("variant_unknown_names", "variant_set_attribute", "variant_missing", "variant_missing_module",
                      "param_invalid", "param_outside", "param_outside_module", "param_no_value",
                      "param_no_value_module", "derived_invalid", "derived_formula_outside", "derived_table_outside",
                      "derived_table_no_row", "derived_no_value", "model_error"):
            template = FINDING_MESSAGES[msgid]
            assert str(template) != template._args[0] or msgid == "model_error", msgid
            assert not ENGLISH.search(re.sub(r"%\(\w+\)s", "", str(template))), msgid


def test_the_translation_template_holds_every_message_in_the_code() -> None:
    """``messages.pot`` (what a translator of another language starts from) is current: regenerate
    it with the first command in ``web/translations/babel.cfg`` when a message is added."""
    with (ROOT / "web" / "translations" / "messages.pot").open("rb") as handle:
        template = {m.id[0] if isinstance(m.id, tuple) else m.id for m in read_po(handle) if m.id}
    methods, options = _method_map()
    extracted = {
        (message[0] if isinstance(message, tuple) else message)
        for _f, _l, message, _c, _x in extract_from_dir(
            str(ROOT), methods, options, keywords={"_": None, "gettext": None, "ngettext": (1, 2), "_l": None,
                                                   "lazy_gettext": None}
        )
    }
    extracted.discard("")
    missing = sorted(extracted - template)
    assert not missing, "not in messages.pot (regenerate it, see babel.cfg): " + "; ".join(missing[:20])
