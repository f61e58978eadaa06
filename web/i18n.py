"""Languages of the storefront (English and Simplified Chinese), money formatting and CSRF.

The locale of a request comes from, in order: ``?lang=`` (remembered in a
cookie), the ``lang`` cookie, the browser's ``Accept-Language``, English.
Locales are spelled ``en`` and ``zh_CN`` everywhere in the app.

Babel parses ``zh_CN`` as ``zh_Hans_CN``, and gettext looks for a catalog
under ``zh_Hans_CN`` then ``zh``, never ``zh_CN``: :class:`_FolderDomain`
loads translations from the folder named after the app's own spelling, so
``web/translations/zh_CN/LC_MESSAGES/messages.mo`` is actually found.

CSRF: every POST outside ``/api/`` (which authenticates with bearer tokens,
not cookies) needs Flask-WTF's token, sent as the ``csrf_token`` form field
or the ``X-CSRFToken`` header.
"""

from __future__ import annotations

from decimal import Decimal
from functools import cached_property
from typing import Any

from babel import Locale, support
from babel.numbers import format_currency, format_decimal
from flask import Flask, Response, current_app, request
from flask_babel import Babel, Domain, format_date, get_locale
from flask_wtf.csrf import CSRFProtect

from catalog.snapshot import Label

LOCALES = ("en", "zh_CN")
"""The app's locale codes, as used in ``?lang=``, the cookie and translation folders."""

LOCALE_NAMES = {"en": "English", "zh_CN": "简体中文"}
LANG_COOKIE = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600

# CLDR gives "CN¥" as the English symbol for the yuan (to tell it from the yen);
# a shop that sells in yuan only writes "¥", as Chinese does.
NARROW_SYMBOLS = {"CNY": "¥"}

csrf = CSRFProtect()


def normalize_locale(text: str | None) -> str | None:
    """The app's locale code for a user-supplied spelling, or ``None`` when unsupported.

    >>> normalize_locale("zh-cn"), normalize_locale("zh_Hans_CN"), normalize_locale("EN-us"), normalize_locale("fr")
    ('zh_CN', 'zh_CN', 'en', None)
    """
    if not text:
        return None
    lowered = text.strip().lower().replace("-", "_")
    if lowered.startswith("zh"):
        return "zh_CN"
    if lowered == "en" or lowered.startswith("en_"):
        return "en"
    return None


def select_locale() -> str:
    """Locale of the current request: ``?lang=``, cookie, ``Accept-Language``, default."""
    for candidate in (request.args.get("lang"), request.cookies.get(LANG_COOKIE)):
        chosen = normalize_locale(candidate)
        if chosen:
            return chosen
    best = request.accept_languages.best_match(["en", "zh-CN", "zh"])
    return normalize_locale(best) or current_app.config.get("BABEL_DEFAULT_LOCALE", "en")


def current_locale() -> str:
    """The app's spelling of the request locale (``en`` or ``zh_CN``)."""
    locale = get_locale()
    if locale is None:
        return "en"
    return normalize_locale(str(locale)) or "en"


def label_text(label: Label | str | None, locale: str | None = None) -> str:
    """A catalog label in the request's language (plain strings pass through)."""
    if label is None:
        return ""
    if isinstance(label, str):
        return label
    return label.get(locale or current_locale())


def money(amount: Decimal | int | None, currency: str = "CNY", locale: str | None = None) -> str:
    """An amount with the currency's symbol, by the locale's number rules.

    >>> money(Decimal("1999"), "CNY", "en"), money(Decimal("1999"), "CNY", "zh_CN")
    ('¥1,999.00', '¥1,999.00')
    >>> money(Decimal("-12.5"), "EUR", "en")
    '-€12.50'
    """
    if amount is None:
        return ""
    babel_locale = Locale.parse(locale or current_locale())
    text = format_currency(Decimal(amount), currency, locale=babel_locale)
    narrow = NARROW_SYMBOLS.get(currency)
    if narrow:
        from babel.numbers import get_currency_symbol

        text = text.replace(get_currency_symbol(currency, babel_locale), narrow)
    return text


def money_delta(amount: Decimal | None, currency: str = "CNY", locale: str | None = None) -> str:
    """A price change with its sign: ``+¥300.00``, ``−¥120.00``; empty for ``None`` and zero."""
    if amount is None or amount == 0:
        return ""
    if amount > 0:
        return "+" + money(amount, currency, locale)
    return "−" + money(-amount, currency, locale)


def lang_url(code: str) -> str:
    """The current page in another language (a plain link: switching needs no form, no JavaScript)."""
    from urllib.parse import urlencode

    args = [(k, v) for k, v in request.args.items(multi=True) if k != "lang"]
    args.append(("lang", code))
    return f"{request.path}?{urlencode(args)}"


class _FolderDomain(Domain):  # type: ignore[misc]
    """A Flask-Babel domain that finds ``zh_CN`` catalogs for the ``zh_Hans_CN`` locale."""

    def get_translations(self) -> support.NullTranslations:
        locale = get_locale()
        if locale is None:
            return support.NullTranslations()
        folder = normalize_locale(str(locale)) or str(locale)
        key = (folder, self.domain[0])
        cache = self.cache
        if key in cache:
            return cache[key]  # type: ignore[no-any-return]
        # The first catalog found is the base: merging into an empty Translations would keep the
        # English plural rule (n != 1) and pick msgstr[1], which Chinese (one plural form) lacks.
        translations: support.NullTranslations = support.NullTranslations()
        for index, dirname in enumerate(self.translation_directories):
            domain = self.domain[0] if len(self.domain) == 1 else self.domain[index]
            catalog = support.Translations.load(dirname, [folder], domain)
            if not isinstance(catalog, support.Translations):
                continue
            if isinstance(translations, support.Translations):
                translations.merge(catalog)
            else:
                translations = catalog
        cache[key] = translations
        return translations


class _Babel(Babel):  # type: ignore[misc]
    @cached_property
    def domain_instance(self) -> Domain:
        return _FolderDomain(domain=self.domain)


def init_app(app: Flask) -> None:
    """Install Flask-Babel, the locale cookie, CSRF protection and template helpers."""
    app.config.setdefault("BABEL_TRANSLATION_DIRECTORIES", "translations")
    # Checked in a before_request hook below instead, so /api/ is exempt by path
    # whatever blueprints register later.
    app.config["WTF_CSRF_CHECK_DEFAULT"] = False
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    _Babel(app, locale_selector=select_locale)
    csrf.init_app(app)

    @app.before_request
    def _csrf_outside_api() -> None:
        if request.method in ("POST", "PUT", "PATCH", "DELETE") and not request.path.startswith("/api/"):
            csrf.protect()

    @app.after_request
    def _remember_language(response: Response) -> Response:
        chosen = normalize_locale(request.args.get("lang"))
        if chosen and request.cookies.get(LANG_COOKIE) != chosen:
            response.set_cookie(LANG_COOKIE, chosen, max_age=LANG_COOKIE_MAX_AGE, samesite="Lax", httponly=True)
        if "lang" in request.args or "Accept-Language" in request.headers:
            response.vary.add("Accept-Language")
            response.vary.add("Cookie")
        return response

    @app.context_processor
    def _template_helpers() -> dict[str, Any]:
        locale = current_locale()
        return {
            "locale": locale,
            "html_lang": "zh-CN" if locale == "zh_CN" else "en",
            "locales": LOCALE_NAMES,
            "lang_url": lang_url,
        }

    app.jinja_env.filters["t"] = label_text
    app.jinja_env.filters["money"] = money
    app.jinja_env.filters["money_delta"] = money_delta
    app.jinja_env.filters["number"] = lambda n: format_decimal(n, locale=Locale.parse(current_locale()))
    app.jinja_env.globals["current_locale"] = current_locale
    app.jinja_env.globals["format_date"] = format_date
