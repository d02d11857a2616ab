"""The one Jinja environment of the pages and how a page is rendered in the UI language of its request.

Translations are chosen per request, not installed into the shared environment: the i18n extension's gettext
callables read the request's catalog from the template context, so concurrent requests in different languages
never see each other's strings."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from babel.support import NullTranslations
from jinja2 import Environment, FileSystemLoader, StrictUndefined, pass_context, select_autoescape
from jinja2.runtime import Context
from markupsafe import Markup, escape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from kb.settings import Settings
from kb.web import badges
from kb.web.i18n import (
    COOKIE,
    COOKIE_MAX_AGE,
    format_day,
    language_name,
    load_catalogs,
    negotiate_locale,
)

NULL = NullTranslations()


@dataclass(frozen=True)
class Ui:
    """The UI language of one request and its catalog; `gettext` is for strings built in Python."""

    locale: str
    chosen: bool
    translations: NullTranslations

    def gettext(self, message: str, **variables: object) -> str:
        text = self.translations.gettext(message)
        return text % variables if variables else text


def _catalog(context: Context) -> NullTranslations:
    ui = context.get("ui")
    return ui.translations if isinstance(ui, Ui) else NULL


@pass_context
def _gettext(context: Context, message: str) -> str:
    return _catalog(context).gettext(message)


@pass_context
def _ngettext(context: Context, singular: str, plural: str, n: int) -> str:
    return _catalog(context).ngettext(singular, plural, n)


@pass_context
def _pgettext(context: Context, ctx: str, message: str) -> str:
    return _catalog(context).pgettext(ctx, message)


@pass_context
def _npgettext(context: Context, ctx: str, singular: str, plural: str, n: int) -> str:
    return _catalog(context).npgettext(ctx, singular, plural, n)


@pass_context
def _day(context: Context, value: object) -> str:
    ui = context.get("ui")
    return format_day(value, ui.locale if isinstance(ui, Ui) else "en")


@pass_context
def _recs(context: Context, html: str) -> Markup:
    """Section HTML with its recommendation badges in the UI language."""
    return badges.localise(html, _catalog(context).gettext)


@pass_context
def _rec_badges(context: Context, rec: Mapping[str, str | None]) -> Markup:
    """Badges of one recommendation given as data (`{"grade": "nccn:2A", "cn": …, "vn": …}`)."""
    return Markup(badges.badge_html(_catalog(context).gettext, rec.get("grade"), rec.get("cn"), rec.get("vn")))


@pass_context
def _rec_labels(context: Context) -> dict[str, str]:
    return badges.label_table(_catalog(context).gettext)


def highlight(text: str, spans: list[list[int]] | None) -> Markup:
    """The text escaped, each [start, end) span wrapped in <mark>; bad or overlapping spans are skipped."""
    pairs: list[tuple[int, int]] = []
    for span in spans or []:
        try:
            pairs.append((int(span[0]), int(span[1])))
        except (TypeError, ValueError, IndexError):
            continue
    out: list[str] = []
    pos = 0
    for start, end in sorted(pairs):
        if start < pos or end <= start or end > len(text):
            continue
        out.append(str(escape(text[pos:start])))
        out.append(f"<mark>{escape(text[start:end])}</mark>")
        pos = end
    out.append(str(escape(text[pos:])))
    return Markup("".join(out))


def short_title(title: str) -> str:
    """A title up to its colon: "Cancer pain management: assessment, ..." -> "Cancer pain management"."""
    for colon in ("：", ":"):
        head, found, _ = title.partition(colon)
        if found and head.strip():
            return head.strip()
    return title


MAX_ECHO = 500
"""Longest parameter value a page repeats in its links (the longest query search accepts): a rejected
100,000-character query is not echoed whole into every link of its error page."""


def with_query(request: Request, **params: str | None) -> str:
    """This page's path and query with some parameters replaced (None drops one): links that keep state."""
    query = [(k, v[:MAX_ECHO]) for k, v in request.query_params.multi_items() if k not in params]
    query += [(k, v) for k, v in params.items() if v is not None]
    # "//host/..." (or "/\host") would be a link to another site: keep links on this one.
    path = "/" + request.url.path.lstrip("/\\")
    return path + ("?" + urlencode(query) if query else "")


def static_helper(static_dir: Path) -> Callable[[str], str]:
    """`static("app.css")` -> "/static/app.css?v=<content hash>", so a changed file is never served stale."""

    @lru_cache(maxsize=64)
    def version(path: str, mtime: float) -> str:
        return hashlib.sha256((static_dir / path).read_bytes()).hexdigest()[:10]

    def static(path: str) -> str:
        file = static_dir / path
        if not file.is_file():
            raise FileNotFoundError(f"no static file {file}")
        return f"/static/{path}?v={version(path, file.stat().st_mtime)}"

    return static


def create_environment(settings: Settings) -> Environment:
    """Autoescaping, the i18n extension with per-request catalogs, and the helpers every template may use."""
    env = Environment(
        loader=FileSystemLoader(settings.site_dir / "templates"),
        autoescape=select_autoescape(["html"], default_for_string=True),
        extensions=["jinja2.ext.i18n"],
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.install_gettext_callables(_gettext, _ngettext, newstyle=True, pgettext=_pgettext,  # type: ignore[attr-defined]
                                  npgettext=_npgettext)
    env.globals.update(static=static_helper(settings.site_dir / "static"), language_name=language_name,
                       langs=settings.langs, locales=settings.locales, with_query=with_query)
    env.globals.update(rec_labels=_rec_labels)
    env.filters.update(highlight=highlight, day=_day, short_title=short_title, recs=_recs, rec_badges=_rec_badges)
    return env


class Renderer:
    """Renders templates for requests: negotiates the UI language, sets its cookie, marks the response."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.env = create_environment(settings)
        self.catalogs = load_catalogs(settings.translations_dir, settings.locales)

    def ui(self, request: Request) -> Ui:
        locale, chosen = negotiate_locale(request, self.settings.locales, self.settings.default_locale)
        return Ui(locale, chosen, self.catalogs.get(locale, NULL))

    def render(self, request: Request, ui: Ui, template: str, context: Mapping[str, Any] | None = None,
               status: int = 200) -> HTMLResponse:
        page = template.removesuffix(".html")
        html = self.env.get_template(template).render({
            "live_module": None, "module_errors": [], **(context or {}), "request": request, "ui": ui, "page": page,
            "build_id": getattr(request.state, "build_id", "")})
        response = HTMLResponse(html, status_code=status)
        response.headers["Content-Language"] = ui.locale
        response.headers["Vary"] = "Accept-Language, Cookie"
        if ui.chosen:
            response.set_cookie(COOKIE, ui.locale, max_age=COOKIE_MAX_AGE, path="/", samesite="lax",
                                httponly=True)
        return response
