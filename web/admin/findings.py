"""Check findings in the reader's language.

A finding (:class:`configurator.checks.Finding`, or its stored JSON form) carries
a message id and parameters; the English wording lives in
:data:`configurator.checks.MESSAGES`, and the same sentences are listed here for
translation (``FINDING_MESSAGES``; a test keeps the two identical). Findings
stored before they carried an id are shown with their stored English message.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from web.admin import bp

FINDING_MESSAGES: dict[str, Any] = {
    "check_failed": _l("the %(check)s check could not run: %(error)s"),
    "model_not_compiled": _l("the model does not compile: %(error)s"),
    "void_rules": _l("%(product)s has no valid configuration: rules %(rules)s contradict each other"),
    "void_rule": _l("%(product)s has no valid configuration: rule %(rule)s holds for no configuration"),
    "void_product": _l("%(product)s has no valid configuration: its rules contradict each other"),
    "dead_value": _l("%(attribute)s: %(values)s can never be chosen (no valid configuration uses it)"),
    "dead_values": _l("%(attribute)s: %(values)s can never be chosen (no valid configuration uses them)"),
    "forced_value": _l("%(attribute)s is always %(value)s: the rules force it in every configuration"),
    "dead_element": _l("%(attribute)s: %(element)s can never be included"),
    "forced_element": _l("%(attribute)s: %(element)s is included in every configuration"),
    "redundancy_not_checked": _l("rule %(rule)s: redundancy not checked (its constraints span %(combinations)s "
                                 "value combinations, more than %(limit)s)"),
    "redundant_rule": _l("rule %(rule)s is redundant: the other rules already imply it, so removing it changes "
                         "no configuration"),
    "test_cannot_run": _l("test %(test)s FAILED: cannot run: %(error)s"),
    "test_accepted": _l("test %(test)s passed: accepted as expected (%(decisions)s)"),
    "test_not_accepted": _l("test %(test)s FAILED: expected accept, but %(decisions)s has no valid configuration"),
    "test_not_accepted_rules": _l("test %(test)s FAILED: expected accept, but %(decisions)s has no valid "
                                  "configuration (rules: %(rules)s)"),
    "test_not_rejected": _l("test %(test)s FAILED: expected reject, but %(decisions)s is accepted"),
    "test_rejected": _l("test %(test)s passed: rejected as expected by %(rules)s"),
    "test_rejected_no_rule": _l("test %(test)s passed: rejected as expected by (no rule)"),
    "test_rejected_other_rule": _l("test %(test)s FAILED: rejected, but by %(rules)s instead of the expected rule "
                                   "%(expected)s"),
    "test_rejected_no_rule_expected": _l("test %(test)s FAILED: rejected, but by (no rule) instead of the "
                                         "expected rule %(expected)s"),
    "count_change": _l("configurations: %(before)s -> %(after)s (%(delta)s)"),
    "count_change_percent": _l("configurations: %(before)s -> %(after)s (%(delta)s, %(percent)s)"),
    "requirement_error": _l("requirement %(requirement)s (%(bounds)s): %(error)s"),
    "requirement_holds": _l("requirement %(requirement)s (%(bounds)s) holds for every valid configuration"),
    "requirement_broken_line": _l("requirement %(requirement)s (%(bounds)s) is broken: %(configuration)s selects "
                                  "%(count)s line (%(lines)s)"),
    "requirement_broken_lines": _l("requirement %(requirement)s (%(bounds)s) is broken: %(configuration)s "
                                   "selects %(count)s lines (%(lines)s)"),
    "unknown_item": _l("%(owner)s line %(pos)s: unknown part or module %(item)s"),
    "quantity_negative": _l("%(owner)s line %(pos)s (%(item)s) quantity %(qty)s is negative"),
    "quantity_bad": _l("%(owner)s line %(pos)s (%(item)s) quantity %(qty)s is negative or cannot be computed for "
                       "%(configuration)s"),
    "quantity_bad_module": _l("%(owner)s line %(pos)s (%(item)s) quantity %(qty)s is negative or cannot be "
                              "computed for %(configuration)s (over the module's own attribute space)"),
    "product_new": _l("product %(product)s is new"),
    "product_removed": _l("product %(product)s is removed"),
    "model_error": _l("%(product)s: %(error)s"),
    "variant_unknown_names": _l(
        "%(owner)s line %(pos)s: variant code %(item)s names %(names)s, not an "
        "attribute of %(owner)s"
    ),
    "variant_set_attribute": _l(
        "%(owner)s line %(pos)s: variant code %(item)s names a set attribute; "
        "only single values make a code"
    ),
    "variant_missing": _l(
        "%(owner)s line %(pos)s: variant code %(item)s resolves to %(code)s, "
        "which is not a part or module of the catalog, for %(configuration)s"
    ),
    "variant_missing_module": _l(
        "%(owner)s line %(pos)s: variant code %(item)s resolves to %(code)s, "
        "which is not a part or module of the catalog, for %(configuration)s "
        "(over the module's own attribute space)"
    ),
    "param_invalid": _l(
        "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s: "
        "%(error)s"
    ),
    "param_outside": _l(
        "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s gives "
        "%(value)s, outside %(module)s.%(attribute)s (%(domain)s), for "
        "%(configuration)s"
    ),
    "param_outside_module": _l(
        "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s gives "
        "%(value)s, outside %(module)s.%(attribute)s (%(domain)s), for "
        "%(configuration)s (over the module's own attribute space)"
    ),
    "param_no_value": _l(
        "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s gives "
        "no value (%(error)s), for %(configuration)s"
    ),
    "param_no_value_module": _l(
        "%(owner)s line %(pos)s (%(item)s) parameter %(param)s = %(text)s gives "
        "no value (%(error)s), for %(configuration)s (over the module's own "
        "attribute space)"
    ),
    "derived_invalid": _l("derived attribute %(attribute)s: %(error)s"),
    "derived_formula_outside": _l(
        "derived attribute %(attribute)s: the formula gives %(value)s, outside "
        "its values (%(domain)s), for %(configuration)s"
    ),
    "derived_table_outside": _l(
        "derived attribute %(attribute)s: the lookup table gives %(value)s, "
        "outside its values (%(domain)s), for %(configuration)s"
    ),
    "derived_table_no_row": _l(
        "derived attribute %(attribute)s: the lookup table has no row for "
        "%(keys)s, for %(configuration)s"
    ),
    "derived_no_value": _l("derived attribute %(attribute)s cannot be computed, for %(configuration)s"),
    "lookup_no_row": _l("%(owner)s: %(error)s, for %(configuration)s"),
}

CHECK_NAMES: dict[str, Any] = {
    "void_product": _l("no configuration"),
    "dead_value": _l("unusable value"),
    "forced_value": _l("forced value"),
    "redundant_rule": _l("redundant rule"),
    "golden_test": _l("catalog test"),
    "count_change": _l("configuration count"),
    "bom_requirement": _l("BOM requirement"),
    "bom_item": _l("BOM item"),
    "bom_quantity": _l("BOM quantity"),
    "product_change": _l("product change"),
    "check_failed": _l("check failed"),
    "catalog_file": _l("catalog file"),
    "bom_variant": _l("variant part"),
    "module_param": _l("module parameter"),
    "derived": _l("derived attribute"),
    "model": _l("product model"),
}


@bp.app_template_filter("finding_text")
def finding_text(finding: Any) -> str:
    """The finding's message in the current language (a :class:`Finding` or its stored JSON)."""
    if isinstance(finding, Mapping):
        msgid, params, message = finding.get("msgid"), finding.get("params") or {}, finding.get("message", "")
    else:
        msgid, params, message = finding.msgid, dict(finding.params), finding.message
    template = FINDING_MESSAGES.get(msgid or "")
    if template is None:
        return str(message)  # stored before findings carried a message id
    return str(template) % params


@bp.app_template_filter("check_name")
def check_name(code: str) -> str:
    """A check's name for people (its code with spaces when it has no name yet)."""
    name = CHECK_NAMES.get(code)
    return str(name) if name is not None else code.replace("_", " ")
