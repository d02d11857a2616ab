"""The glossary page `/glossary`, its printable pocket glossary `/glossary/print` and `/api/glossary`.

Clinicians asked first for a zh <-> vi term list: browse by letter (English and Vietnamese initials, Chinese by
pinyin initial), by the glossary's categories, or search in any language (Vietnamese without diacritics too);
each term shows its forms, abbreviations and definitions in all three languages, and links to the sections that
use it. The page and the API make the same `GlossaryBook` calls."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi import Query as QueryParam
from fastapi.responses import HTMLResponse, JSONResponse, Response

from kb.glossary import Glossary, load_glossary
from kb.glossary_book import Entry, GlossaryBook, Usage
from kb.library import Library
from kb.runtime import Snapshot
from kb.web.deps import LibraryDep, RendererDep, SettingsDep, SnapshotDep, UiDep
from kb.web.i18n import language_name
from kb.web.pages import Notice, module_summaries

MAX_QUERY = 200
PAGE_LIMIT = 200
USAGE_SHOWN = 8
"""Section links shown per term on the page; the API gives them all."""

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api")


def install(app: FastAPI) -> None:
    """Add the glossary page and API to an app built by `create_app`."""
    app.include_router(router)
    app.include_router(api_router)


def get_book(request: Request, snapshot: SnapshotDep) -> GlossaryBook:
    """The book of the request's snapshot, built on its first glossary request (about a second) and kept for
    the build it came from; a new build gets a new book."""
    books: dict[str, GlossaryBook] = request.app.state.__dict__.setdefault("glossary_books", {})
    book = books.get(snapshot.build_id)
    if book is None:
        book = GlossaryBook(_glossary(snapshot), _sections(snapshot.library))
        for old in [k for k in books if k != snapshot.build_id]:
            books.pop(old, None)  # one build is served at a time; the previous book is not needed again
        books[snapshot.build_id] = book
    return book


def _glossary(snapshot: Snapshot) -> Glossary:
    if snapshot.searcher.glossary is not None:
        return snapshot.searcher.glossary
    path = snapshot.reader.glossary_path
    return load_glossary(path)[0] if path is not None else Glossary()


def _sections(library: Library) -> list[tuple[str, str, str, str, str]]:
    return [(module, lang, s.id, s.heading, s.text) for module, docs in library.documents.items()
            for lang, doc in docs.items() for s in doc.sections]


BookDep = Annotated[GlossaryBook, Depends(get_book)]


@dataclass
class Query:
    """The browse/search state of a request, validated; `problems` name the field and the value refused."""

    q: str = ""
    lang: str = "en"
    letter: str | None = None
    category: str | None = None
    pair: tuple[str, str] = ("zh", "vi")


def read_query(book: GlossaryBook, langs: tuple[str, ...], locale: str, q: str, lang: str, letter: str,
               category: str, pair: str) -> tuple[Query, list[tuple[str, str]]]:
    """Parameters -> a Query, and (field, value) of each one refused (the page falls back, the API says 422)."""
    problems: list[tuple[str, str]] = []
    query = Query(q=q.strip())
    if len(query.q) > MAX_QUERY:
        problems.append(("q", q[:40]))
        query.q = ""
    browse = lang or (locale if locale in langs else "en")
    if browse not in langs:
        problems.append(("lang", lang))
        browse = "en"
    query.lang = browse
    if letter:
        if len(letter.upper()) == 1:  # any one letter: one that no term starts with browses to an empty list
            query.letter = letter.upper()
        else:
            problems.append(("letter", letter))
    if category:
        if category in dict(book.categories):
            query.category = category
        else:
            problems.append(("category", category))
    default_pair = {"zh": ("zh", "vi"), "vi": ("vi", "zh")}.get(locale, ("zh", "vi"))
    if pair:
        a, _, b = pair.partition("-")
        if a in langs and b in langs and a != b:
            query.pair = (a, b)
        else:
            problems.append(("pair", pair))
            query.pair = default_pair
    else:
        query.pair = default_pair
    return query, problems


def select(book: GlossaryBook, query: Query) -> list[Entry]:
    """Search when there is a query (then letter and category narrow it), else browse."""
    if query.q:
        found = book.search(query.q, limit=PAGE_LIMIT)
        return [e for e in found if (query.letter is None or e.initials.get(query.lang) == query.letter)
                and (query.category is None or e.term.category == query.category)]
    if query.letter is None and query.category is None:
        return []
    return book.browse(query.lang, query.letter, query.category)[:PAGE_LIMIT]


def usage_links(entry: Entry, usage: list[Usage], langs: tuple[str, ...], titles: dict[str, Any]) -> list[dict]:
    """Each section that uses the term, in the first language of `langs` that has it."""
    out = []
    for u in usage:
        lang = next((L for L in langs if L in u.headings), next(iter(u.headings)))
        summary = titles.get(u.module)
        out.append({"href": f"/modules/{u.module}/{lang}#{u.section}", "lang": lang, "heading": u.headings[lang],
                    "module": u.module, "module_title": summary.title(lang) if summary else u.module})
    return out


# --- the page ---

@router.get("/glossary", response_class=HTMLResponse)
def glossary_page(request: Request, renderer: RendererDep, ui: UiDep, book: BookDep, library: LibraryDep,
                  q: str = "", lang: str = "", letter: str = "", category: str = "", pair: str = "") -> Response:
    """Browse by letter or category, or search; the language pair orders each term's languages."""
    query, problems = read_query(book, renderer.settings.langs, ui.locale, q, lang, letter, category, pair)
    notices = [Notice(ui.gettext("Ignored %(field)s “%(value)s”: not a valid choice.", field=f, value=v),
                      "warning") for f, v in problems]
    entries = select(book, query)
    order = (*query.pair, *(L for L in renderer.settings.langs if L not in query.pair))
    titles = module_summaries(library)
    terms = [{"entry": e, "usage": usage_links(e, book.usage(e), order, titles)} for e in entries]
    return renderer.render(request, ui, "glossary.html", {
        "query": query, "terms": terms, "order": order, "notices": notices, "total": len(book.entries),
        "letters": {L: book.letters(L) for L in renderer.settings.langs}, "categories": book.categories,
        "pairs": [(a, b) for a in renderer.settings.langs for b in renderer.settings.langs if a != b],
        "usage_shown": USAGE_SHOWN, "max_query": MAX_QUERY, "searched": bool(query.q),
    }, 200)


@router.get("/glossary/print", response_class=HTMLResponse)
def pocket_glossary(request: Request, renderer: RendererDep, ui: UiDep, book: BookDep,
                    pair: str = "") -> Response:
    """Every term of one language pair, in the first language's dictionary order, laid out to print."""
    query, problems = read_query(book, renderer.settings.langs, ui.locale, "", "", "", "", pair)
    a, b = query.pair
    notices = [Notice(ui.gettext("Ignored %(field)s “%(value)s”: not a valid choice.", field=f, value=v),
                      "warning") for f, v in problems]
    return renderer.render(request, ui, "glossary_print.html", {
        "pair": query.pair, "entries": book.sorted(book.entries, a), "notices": notices,
        "pair_name": f"{language_name(a)} → {language_name(b)}",
    })


# --- the API ---

def _error(field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"field": field, "message": message}}, status_code=422)


@api_router.get("/glossary", response_model=None)
def glossary_api(settings: SettingsDep, book: BookDep,
                 q: Annotated[str, QueryParam(max_length=MAX_QUERY, description="a term in any language")] = "",
                 lang: str = "en",
                 letter: Annotated[str, QueryParam(max_length=1, description="a letter of the browse list")] = "",
                 category: str = "",
                 limit: Annotated[int, QueryParam(ge=1, le=PAGE_LIMIT, description="terms to return")] = 50
                 ) -> JSONResponse:
    """Terms matching `q` (any language, diacritics optional), or browsed by `letter` of `lang` and/or
    `category`; without any of them, the letters and categories to browse by."""
    langs = settings.langs
    query, problems = read_query(book, langs, lang, q, lang, letter, category, "")
    if problems:
        field, value = problems[0]
        allowed = {"lang": ", ".join(langs), "category": "see 'categories' in /api/glossary",
                   "letter": ", ".join(c for c, _ in book.letters(query.lang)),
                   "q": f"at most {MAX_QUERY} characters"}[field]
        return _error(field, f"invalid {field} '{value}' (allowed: {allowed})")
    if not 1 <= limit <= PAGE_LIMIT:
        return _error("limit", f"limit must be between 1 and {PAGE_LIMIT}")
    entries = select(book, query)
    for entry in entries[:limit]:
        book.usage(entry)
    return JSONResponse({
        "q": query.q, "lang": query.lang, "letter": query.letter, "category": query.category,
        "count": len(entries), "terms": [e.as_dict() for e in entries[:limit]],
        "letters": {L: dict(book.letters(L)) for L in langs},
        "categories": [{"name": name, "count": n} for name, n in book.categories],
    })
