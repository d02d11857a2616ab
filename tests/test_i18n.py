"""UI translations: the catalogs are complete and current, the UI language is negotiated as specified, dates
follow the locale, and a missing catalog degrades to English instead of failing."""

from __future__ import annotations

import logging
import re
import shutil
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from babel.support import NullTranslations
from starlette.requests import Request

from kb.settings import Settings
from kb.web.i18n import (
    COOKIE,
    compile_catalogs,
    format_day,
    load_catalogs,
    negotiate_locale,
    parse_accept_language,
)

ROOT = Path(__file__).resolve().parent.parent
TRANSLATIONS = ROOT / "kb" / "web" / "translations"
LOCALES = Settings().locales
PLACEHOLDER = re.compile(r"%\((\w+)\)[sd]")


def read_catalog(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as f:
        return read_po(f, locale=locale)


def ids(catalog: Catalog) -> set[str | tuple[str, ...]]:
    return {m.id if isinstance(m.id, str) else tuple(m.id) for m in catalog if m.id}


def forms(message: Message) -> list[str]:
    return [message.string] if isinstance(message.string, str) else list(message.string)


@pytest.fixture(scope="module")
def template() -> Catalog:
    return read_catalog(TRANSLATIONS / "messages.pot")


def test_the_template_matches_the_sources(template: Catalog) -> None:
    """Every string marked in templates and kb/web is in messages.pot (else run `make i18n-update`)."""
    with (ROOT / "babel.cfg").open() as f:
        method_map, options_map = parse_mapping_cfg(f)
    found = set()
    for _, _, message, _, _ in extract_from_dir(str(ROOT), method_map, options_map):
        found.add(message if isinstance(message, str) else tuple(message))
    assert found, "nothing extracted: is babel.cfg right?"
    assert found - ids(template) == set(), "strings missing from kb/web/translations/messages.pot"
    assert ids(template) - found == set(), "strings in messages.pot that the sources no longer use"


@pytest.mark.parametrize("locale", LOCALES)
def test_every_string_is_translated(template: Catalog, locale: str) -> None:
    """A msgstr that is empty or fuzzy in any catalog fails here, naming the msgid."""
    catalog = read_catalog(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)
    missing = ids(template) - ids(catalog)
    assert not missing, f"{locale}: not in the .po (run make i18n-update): {sorted(map(str, missing))}"
    untranslated = [m.id for m in catalog if m.id and (m.fuzzy or not all(s.strip() for s in forms(m)))]
    assert not untranslated, f"{locale}: untranslated or fuzzy: {untranslated}"
    assert catalog.num_plurals == len(forms(next(m for m in catalog if m.pluralizable)))


@pytest.mark.parametrize("locale", LOCALES)
def test_translations_keep_their_placeholders(locale: str) -> None:
    catalog = read_catalog(TRANSLATIONS / locale / "LC_MESSAGES" / "messages.po", locale)
    for message in catalog:
        if not message.id:
            continue
        wanted = set(PLACEHOLDER.findall(message.id if isinstance(message.id, str) else message.id[-1]))
        for form in forms(message):
            assert set(PLACEHOLDER.findall(form)) == wanted, (locale, message.id, form)


def test_compiled_catalogs_translate(tmp_path: Path) -> None:
    shutil.copytree(TRANSLATIONS, tmp_path / "t")
    for mo in (tmp_path / "t").glob("*/LC_MESSAGES/*.mo"):
        mo.unlink()
    written = compile_catalogs(tmp_path / "t")
    assert sorted(p.parent.parent.name for p in written) == sorted(LOCALES)
    assert compile_catalogs(tmp_path / "t") == [], "up-to-date catalogs are not rebuilt"
    catalogs = load_catalogs(tmp_path / "t", LOCALES)
    assert catalogs["zh"].gettext("Search") == "搜索"
    assert catalogs["vi"].gettext("Search") == "Tìm kiếm"
    assert catalogs["en"].ngettext("%(num)s source", "%(num)s sources", 2) == "%(num)s sources"


def test_missing_catalog_falls_back_to_english_with_a_warning(tmp_path: Path,
                                                              caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING, logger="kb.web"):
        catalogs = load_catalogs(tmp_path, ("vi",))
    assert type(catalogs["vi"]) is NullTranslations
    assert catalogs["vi"].gettext("Search") == "Search"
    assert "make i18n-compile" in caplog.text


def request(query: str = "", cookie: str | None = None, accept: str | None = None) -> Request:
    headers = []
    if cookie is not None:
        headers.append((b"cookie", f"{COOKIE}={cookie}".encode()))
    if accept is not None:
        headers.append((b"accept-language", accept.encode()))
    return Request({"type": "http", "method": "GET", "path": "/", "query_string": query.encode(),
                    "headers": headers})


@pytest.mark.parametrize(("req", "expected"), [
    (request("ui=vi", cookie="zh", accept="en"), ("vi", True)),
    (request("ui=VI"), ("vi", True)),
    (request("ui=fr", cookie="zh", accept="vi"), ("zh", False)),
    (request(cookie="zh", accept="vi"), ("zh", False)),
    (request(cookie="xx", accept="vi-VN,vi;q=0.9"), ("vi", False)),
    (request(accept="fr;q=1, zh_TW;q=0.8, en;q=0.5"), ("zh", False)),
    (request(accept="en;q=0, vi;q=0.1"), ("vi", False)),
    (request(accept="fr, de"), ("en", False)),
    (request(), ("en", False)),
])
def test_ui_language_order_query_cookie_header_default(req: Request, expected: tuple[str, bool]) -> None:
    assert negotiate_locale(req, LOCALES, "en") == expected


def test_accept_language_is_ranked_by_quality() -> None:
    assert parse_accept_language("en;q=0.5, vi-VN, zh;q=0.8, *;q=0.1, fr;q=0, de;q=x") == [
        "vi-VN", "zh", "en", "*"]
    assert parse_accept_language("") == []


@pytest.mark.parametrize(("locale", "expected"), [
    ("en", "Oct 15, 2026"), ("zh", "2026年10月15日"), ("vi", "15 thg 10, 2026")])
def test_dates_follow_the_locale(locale: str, expected: str) -> None:
    assert format_day("2026-10-15", locale) == expected


def test_a_date_that_is_not_iso_is_shown_as_it_is() -> None:
    assert format_day("autumn 2026", "zh") == "autumn 2026"
