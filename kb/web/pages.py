"""The HTML pages: search, module list, reading view, side-by-side view and error pages, in the UI language.

Every page is server-rendered and works without JavaScript; site/static/app.js only adds search-as-you-type
and the projector controls. The search page and /api/search make the same `Searcher.search()` call."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from kb.changelog import Change, read_changes, version_key
from kb.library import CompareRow, DocumentView, Library, ModuleSummary
from kb.recommendations import SCHEME_NAMES, SCHEMES
from kb.search import MAX_QUERY, Searcher, SearchError, SearchResponse, SearchResult
from kb.settings import Settings
from kb.web.deps import LibraryDep, RendererDep, SearchDep, SettingsDep, UiDep
from kb.web.i18n import N_, language_name
from kb.web.templating import Renderer, Ui
from kb.web.translation_status import state_labels, translation_counts

PAGE_SIZE = 10

STATUS_LABELS = {"draft": N_("Draft"), "reviewed": N_("Reviewed")}
FLAG_LABELS = {
    "outdated": N_("Outdated translation"),
    "not-stamped": N_("Not checked against the source"),
    "numbers": N_("Check the numbers"),
    "negation": N_("Check the negation"),
    "structure-parity": N_("Check the structure"),
    "section-extra": N_("Not in the source"),
    "rec-mismatch": N_("Recommendation differs from the source"),
}
FLAG_HINTS = {
    "outdated": N_("The source section has changed since this translation was made."),
    "not-stamped": N_("This translation has not been checked against the current source."),
    "numbers": N_("A number in the source is missing from this translation."),
    "negation": N_("A negation (not, không, 不) of the source is missing here, or one was added."),
    "structure-parity": N_("This section has a different number of list items, table rows or links than the source."),
    "section-extra": N_("This section has no counterpart in the source language."),
    "rec-mismatch": N_("A grade or availability mark here differs from the source section."),
}
GRADE_OPTIONS = [("any", N_("Any grade")), *((s, SCHEME_NAMES[s]) for s in SCHEMES)]
"""The search page's grade filter: a scheme (any of its grades), or any graded recommendation."""
REGION_OPTIONS = [("cn", N_("China")), ("vn", N_("Vietnam"))]
ERROR_TITLES = {0: N_("Request error"), 404: N_("Page not found"), 500: N_("Something went wrong")}
"""Title and message of an error page by status; 0 is any other status."""
ERROR_MESSAGES = {
    0: N_("The server could not handle this request."),
    404: N_("There is no page at this address."),
    500: N_("The server could not show this page. Please try again; if it keeps happening, tell the "
            "course organiser."),
}

router = APIRouter(include_in_schema=False)


def install(app: FastAPI, settings: Settings) -> None:
    """Add the pages and /static to an app built by `create_app`."""
    app.include_router(router)
    app.mount("/static", StaticFiles(directory=settings.site_dir / "static"), name="static")


# --- view models: what the templates show, worked out in Python so the templates stay declarative ---

@dataclass
class ResultView:
    """One search result as the page shows it, with its module title in the UI language."""

    result: SearchResult
    module_title: str
    compare_url: str | None


@dataclass
class Link:
    href: str
    label: str
    lang: str | None = None


@dataclass
class Notice:
    text: str
    kind: str = "info"
    links: list[Link] = field(default_factory=list)


def compare_url(module: str, first: str, languages: list[str], section: str | None = None) -> str | None:
    """The side-by-side view of `first` and up to two other languages, at `section`; None for one language."""
    langs = [first] + [L for L in languages if L != first]
    if len(langs) < 2:
        return None
    return f"/compare/{module}?langs={','.join(langs[:3])}" + (f"#{section}" if section else "")


def module_summaries(library: Library) -> dict[str, ModuleSummary]:
    return {m.module: m for m in library.modules()}


def status_label(ui: Ui, status: str) -> str:
    return ui.gettext(STATUS_LABELS[status]) if status in STATUS_LABELS else status


def flag_views(ui: Ui, flags: dict[str, str]) -> list[dict[str, str]]:
    """Translated label and hint of each section flag; the finding's own message is for editors (`kb check`):
    it is English and names files on the server."""
    return [{"rule": rule, "label": ui.gettext(FLAG_LABELS[rule]), "hint": ui.gettext(FLAG_HINTS[rule]),
             "detail": flag_detail(rule, flags[rule])} for rule in flags if rule in FLAG_LABELS]


def flag_detail(rule: str, message: str) -> str:
    """The language-neutral part of a numbers finding, `source -> translation` figures (`150 mg -> 120 mg`),
    so the reading view names the figure to check; other findings' messages are English prose: none."""
    marker = "(source -> translation): "
    return message.split(marker, 1)[1] if rule == "numbers" and marker in message else ""


# --- pages ---

@router.get("/", response_class=HTMLResponse)
@router.get("/search", response_class=HTMLResponse)
def search_page(request: Request, renderer: RendererDep, ui: UiDep, searcher: SearchDep, library: LibraryDep,
                q: str = "", lang: str = "", module: str = "", grade: str = "",
                available_in: str = "", as_typed: str = "") -> Response:
    """Search: a GET form that works without JavaScript; app.js turns it into search-as-you-type. `as_typed=1`
    (the link under "searched with diacritics restored") searches the words without restoring them."""
    typed = as_typed.lower() in ("1", "true", "on", "yes")
    notices: list[Notice] = []
    grade = valid_filter(searcher, ui, notices, grade=grade)
    available_in = valid_filter(searcher, ui, notices, available_in=available_in)
    if lang and lang not in searcher.langs:
        notices.append(Notice(ui.gettext("Unknown language filter “%(value)s”: searching all languages.",
                                          value=lang), "warning"))
        lang = ""
    if module and module not in searcher.modules:
        notices.append(Notice(ui.gettext("Unknown module filter “%(value)s”: searching all modules.",
                                         value=module), "warning"))
        module = ""
    response: SearchResponse | None = None
    status = 200
    if q.strip():
        try:
            response = searcher.search(q, lang or None, module or None, PAGE_SIZE, grade=grade or None,
                                       available_in=available_in or None, prefer=ui.locale,
                                       as_typed=typed)
        except SearchError as exc:
            status = 422
            text = (ui.gettext("The query is too long: at most %(n)s characters.", n=MAX_QUERY)
                    if exc.field == "q" else ui.gettext("This search could not be run."))
            notices.append(Notice(text, "error"))
    modules = module_summaries(library)
    results = [ResultView(r, modules[r.module].title(ui.locale) if r.module in modules else r.title,
                          compare_url(r.module, r.lang, r.languages, r.section))
               for r in (response.results if response else [])]
    return renderer.render(request, ui, "search.html", {
        # A rejected long query is shown cut, not echoed whole.
        "q": q[:MAX_QUERY], "lang": lang, "module": module, "searched": response is not None, "results": results,
        # Inside the results, where search-as-you-type replaces it too (static/app.js reads `weak` from the API).
        "weak": bool(response is not None and response.weak and response.results),
        "restored": response.restored if response is not None and response.results else None,
        "as_typed": bool(response is not None and response.as_typed and response.results),
        # what the link back would search: the query with its diacritics restored, as the search would read it
        "restore_offer": response.offer if response is not None else None,
        "notices": notices, "modules": list(modules.values()), "max_query": MAX_QUERY,
        "grade": grade, "available_in": available_in, "grade_options": GRADE_OPTIONS,
        "region_options": REGION_OPTIONS,
    }, status)


def valid_filter(searcher: Searcher, ui: Ui, notices: list[Notice], **value: str) -> str:
    """The recommendation filter value (`grade=` or `available_in=`) if the searcher accepts it, else "" and a
    notice: the page then searches without that filter."""
    (name, given), = value.items()
    if not given:
        return ""
    try:
        searcher.rec_filter(**{"grade": None, "available_in": None, name: given})
    except SearchError:
        notices.append(Notice(ui.gettext("Unknown recommendation filter “%(value)s”: ignored.", value=given),
                              "warning"))
        return ""
    return given


@router.get("/modules", response_class=HTMLResponse)
def modules_page(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep) -> Response:
    """Every module with its title in the UI language, languages, version, updated date and review status."""
    modules = library.modules()
    return renderer.render(request, ui, "modules.html", {
        "modules": modules,
        "statuses": {m.module: status_label(ui, m.status) for m in modules},
        "compare_urls": {m.module: compare_url(m.module, m.languages[0], m.languages) if m.languages else None
                         for m in modules},
        "translation_counts": translation_counts(library), "state_labels": state_labels(ui),
    })


@router.get("/modules/{module}", response_class=HTMLResponse)
def module_home(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep,
                module: str) -> Response:
    """A module without a language: its version in the UI language, else its source language."""
    langs = library.languages(module)
    if not langs:
        return not_found_module(request, renderer, ui, module)
    source = library.source(module)
    lang = ui.locale if ui.locale in langs else (source.lang if source else langs[0])
    return RedirectResponse(f"/modules/{module}/{lang}", status_code=307)


def changes_since(changes: list[Change], since: str) -> list[Change]:
    """The change log entries newer than version `since` ("what changed since the last training"); all of
    them when `since` is empty or not a version of this log."""
    floor = version_key(since) if since else None
    if floor is None or since not in {c.version for c in changes}:
        return changes
    return [c for c in changes if (key := version_key(c.version)) is not None and key > floor]


@router.get("/modules/{module}/{lang}", response_class=HTMLResponse)
def reading_page(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep, module: str,
                 lang: str, since: str = "") -> Response:
    """A module in one language: table of contents, metadata, change log (`?since=<version>` keeps the
    changes after that version), disclaimer, and per-section links to the same section in the other
    languages."""
    if module not in library.documents:
        return not_found_module(request, renderer, ui, module)
    doc = library.document(module, lang)
    if doc is None:
        return not_found_language(request, renderer, ui, library, module, lang)
    others = [L for L in library.languages(module) if L != lang]
    other_docs = {L: library.document(module, L) for L in others}
    section_langs = {s.id: [L for L in others if (d := other_docs[L]) is not None and d.section(s.id)]
                     for s in doc.sections}
    return renderer.render(request, ui, "reading.html", {
        "doc": doc, "module_title": library_title(library, module, ui.locale), "others": others,
        "live_module": module, "module_errors": library.errors.get(module, []),
        "section_langs": section_langs, "preface": preface(doc), "status": status_label(ui, doc.status),
        "flags": {s.id: flag_views(ui, s.flags) for s in doc.sections},
        "compare_url": compare_url(module, lang, library.languages(module)),
        "changes": changes_since(read_changes(doc.meta), since), "all_changes": read_changes(doc.meta),
        "since": since,
        "status_counts": translation_counts(library).get((module, lang), {}), "state_labels": state_labels(ui),
    })


@router.get("/compare/{module}", response_class=HTMLResponse)
def compare_page(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep,
                 settings: SettingsDep, module: str,
                 langs: Annotated[list[str], Query()] = []) -> Response:  # noqa: B006
    """Two or three languages side by side, one grid row per section id so every column lands on `#section`.

    `?langs=vi,zh` (or repeated `langs=` from the no-JavaScript form) picks the columns; an unknown language
    is a 404, a wrong count or a language the module lacks falls back to a sensible choice with a notice."""
    if module not in library.documents:
        return not_found_module(request, renderer, ui, module)
    available = library.languages(module)
    wanted: list[str] = []
    for value in langs:
        for code in value.split(","):
            code = code.strip().lower()
            if code and code not in wanted:
                wanted.append(code)
    unknown = [L for L in wanted if L not in settings.langs]
    if unknown:
        return renderer.render(request, ui, "error.html", {
            "status": 404, "title": ui.gettext(ERROR_TITLES[404]),
            "message": ui.gettext("Unknown language “%(value)s”.", value=unknown[0]),
            "links": [Link(f"/compare/{module}", ui.gettext("Side-by-side view of this module"))]}, 404)
    notices: list[Notice] = []
    for L in [L for L in wanted if L not in available]:
        notices.append(Notice(ui.gettext("This module has no %(language)s version.",
                                         language=language_name(L)), "warning"))
    chosen = [L for L in wanted if L in available]
    default = available[:3]
    if wanted and not 2 <= len(chosen) <= 3:
        if len(available) >= 2:
            notices.append(Notice(ui.gettext("Choose two or three languages to compare."), "warning"))
        chosen = default
    elif not wanted:
        chosen = default
    docs = {L: library.document(module, L) for L in chosen}
    rows: list[CompareRow] = library.compare(module, chosen) if len(chosen) >= 2 else []
    cells = [(row.id, L, cell) for row in rows for L, cell in row.cells.items()]
    if len(available) < 2:
        notices.append(Notice(
            ui.gettext("This module is only available in %(language)s.",
                       language=language_name(available[0])),
            "info", [Link(f"/modules/{module}/{available[0]}", ui.gettext("Read it"), available[0])]))
    return renderer.render(request, ui, "compare.html", {
        "module": module, "module_title": library_title(library, module, ui.locale), "available": available,
        "live_module": module, "module_errors": library.errors.get(module, []),
        "chosen": chosen, "docs": docs, "rows": rows, "notices": notices,
        "headings": {row.id: next((c.heading for c in row.cells.values() if c), row.id) for row in rows},
        "flags": {(sid, L): flag_views(ui, cell.flags) for sid, L, cell in cells if cell},
        "outdated": sum(1 for _, _, cell in cells if cell and "outdated" in cell.flags),
        "gaps": sum(1 for _, _, cell in cells if cell is None),
    })


# --- helpers and error pages ---

def library_title(library: Library, module: str, locale: str) -> str:
    """The module's title in the UI language when that translation exists."""
    summary = module_summaries(library).get(module)
    return summary.title(locale) if summary else module


def preface(doc: DocumentView) -> str:
    """Rendered HTML before the first heading (sections carry everything after it)."""
    first = doc.html.find("<h")
    return doc.html if first < 0 and not doc.sections else doc.html[:max(first, 0)]


def not_found_module(request: Request, renderer: Renderer, ui: Ui, module: str) -> Response:
    return renderer.render(request, ui, "error.html", {
        "status": 404, "title": ui.gettext(ERROR_TITLES[404]),
        "message": ui.gettext("There is no module “%(value)s”.", value=module), "links": []}, 404)


def not_found_language(request: Request, renderer: Renderer, ui: Ui, library: Library, module: str,
                       lang: str) -> Response:
    return renderer.render(request, ui, "error.html", {
        "status": 404, "title": ui.gettext(ERROR_TITLES[404]),
        "message": ui.gettext("This module has no version in “%(value)s”. It is available in:", value=lang),
        "links": [Link(f"/modules/{module}/{L}", language_name(L), L) for L in library.languages(module)],
    }, 404)


def error_page(request: Request, renderer: Renderer, status: int) -> Response:
    """The HTML page for an HTTP error or a crash: in the UI language, never a traceback."""
    ui = renderer.ui(request)
    key = status if status in ERROR_TITLES else (500 if status >= 500 else 0)
    try:
        response = renderer.render(request, ui, "error.html", {
            "status": status, "title": ui.gettext(ERROR_TITLES[key]), "message": ui.gettext(ERROR_MESSAGES[key]),
            "links": []}, status)
    except Exception:  # the error page itself failed: still no traceback
        response = HTMLResponse("<!doctype html><title>Error</title><h1>Error</h1>", status_code=status)
    return response
