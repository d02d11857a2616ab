"""The UI language: which locale a request gets (`?ui=`, then the cookie, then Accept-Language, then the
default), the compiled Babel catalogs per locale, and dates formatted for a locale.

Catalogs are compiled at install (`make i18n-compile`), never committed; a missing one falls back to the
English msgids with a warning, so a fresh checkout still serves pages."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable
from pathlib import Path

from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations
from starlette.requests import Request

log = logging.getLogger("kb.web")

COOKIE = "kb_ui"
"""The cookie that remembers a UI language chosen with `?ui=`."""
COOKIE_MAX_AGE = 365 * 24 * 3600
DOMAIN = "messages"

LANGUAGE_NAMES = {"zh": "中文", "en": "English", "vi": "Tiếng Việt"}
"""Each language in its own script: a switcher must be readable by someone who cannot read the current UI."""


def N_(message: str) -> str:  # noqa: N802 - the gettext convention extractors look for
    """Mark a string for extraction; it is translated where it is shown."""
    return message


def language_name(code: str) -> str:
    return LANGUAGE_NAMES.get(code, code)


def load_catalogs(directory: Path, locales: Iterable[str]) -> dict[str, NullTranslations]:
    """The compiled catalog of every locale; a missing or stale .mo is reported, never fatal."""
    catalogs: dict[str, NullTranslations] = {}
    for locale in locales:
        mo = directory / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
        po = mo.with_suffix(".po")
        if not mo.is_file():
            log.warning("no compiled UI catalog %s: showing untranslated strings for '%s' "
                        "(run 'make i18n-compile')", mo, locale)
            catalogs[locale] = NullTranslations()
            continue
        if po.is_file() and po.stat().st_mtime > mo.stat().st_mtime:
            log.warning("UI catalog %s is older than its .po: run 'make i18n-compile'", mo)
        catalogs[locale] = Translations.load(str(directory), [locale], DOMAIN)
    return catalogs


def compile_catalogs(directory: Path) -> list[Path]:
    """Compile every .po whose .mo is missing or older (as `pybabel compile` does); the .mo files written.

    For test sessions and tools that run without `make install`; fuzzy entries are left out, like pybabel."""
    written = []
    for po in sorted(directory.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        mo = po.with_suffix(".mo")
        if mo.is_file() and mo.stat().st_mtime >= po.stat().st_mtime:
            continue
        with po.open("rb") as f:
            catalog = read_po(f, locale=po.parent.parent.name)
        with mo.open("wb") as f:
            write_mo(f, catalog, use_fuzzy=False)
        written.append(mo)
    return written


def parse_accept_language(header: str) -> list[str]:
    """Language tags of an Accept-Language header, best first (q=0 means 'not this one')."""
    ranked: list[tuple[float, int, str]] = []
    for n, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        if tag and q > 0:
            ranked.append((-q, n, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def negotiate_locale(request: Request, locales: tuple[str, ...], default: str) -> tuple[str, bool]:
    """The UI locale of a request, and whether it was chosen just now with `?ui=` (so the cookie is set)."""
    asked = request.query_params.get("ui", "").lower()
    if asked in locales:
        return asked, True
    cookie = request.cookies.get(COOKIE, "").lower()
    if cookie in locales:
        return cookie, False
    for tag in parse_accept_language(request.headers.get("accept-language", "")):
        primary = tag.replace("_", "-").split("-")[0].lower()
        if primary in locales:
            return primary, False
    return default, False


def format_day(value: object, locale: str) -> str:
    """An ISO date (as front matter gives it) in the locale's medium format; anything else as it is."""
    if isinstance(value, dt.date):
        day = value
    else:
        try:
            day = dt.date.fromisoformat(str(value))
        except ValueError:
            return str(value)
    return format_date(day, format="medium", locale=locale)
