"""Handouts: a module or a course in a language pair as a printable page (`/handouts/{module}?langs=zh,vi`,
`/courses/{name}/handout`) and as a PDF (`.../handout.pdf`): two columns aligned by section, the disclaimer,
version and date in every page's running header and footer, page numbers, the sources at the end, speaker notes
only with `notes=1`.

The PDF is made by WeasyPrint: a maintained, pure-Python HTML/CSS renderer (it needs the system's Pango, which
Debian's Chromium already pulls in) that implements CSS paged media — running headers and footers, `counter(page)`
— so the same template serves the browser's print and the PDF, and the server needs no browser. It is an optional
dependency (`pip install -e '.[pdf]'`); without it the PDF address says so and the printable page still works.
Its URL fetcher is replaced by one that refuses everything: a handout never touches the network."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kb.courses import Course, load_courses
from kb.library import DocumentView, Library
from kb.settings import Settings
from kb.web.deps import LibraryDep, RendererDep, SettingsDep, UiDep
from kb.web.pages import ERROR_TITLES, not_found_module
from kb.web.present import not_found_course, pick_langs
from kb.web.templating import Renderer, Ui

router = APIRouter(include_in_schema=False)


def module_part(library: Library, module: str, langs: list[str], sections: list[str] | None = None
                ) -> dict[str, Any] | None:
    """One module of a handout: its documents in the pair and its rows of aligned sections."""
    docs = {L: d for L in langs if (d := library.document(module, L)) is not None}
    if not docs:
        return None
    rows = library.compare(module, list(docs))
    if sections is not None:
        rows = [r for r in rows if r.id in sections or any(c and c.parent in sections for c in r.cells.values())]
    return {"module": module, "docs": docs, "rows": rows}


def render_handout(request: Request, renderer: Renderer, ui: Ui, title: dict[str, str], parts: list[dict],
                   langs: list[str], notes: bool, pdf: bool) -> Response:
    first: DocumentView = next(iter(parts[0]["docs"].values()))
    context = {"title": title, "parts": parts, "langs": langs, "notes": notes, "first": first,
               "sources": sorted({s for p in parts for d in p["docs"].values() for s in d.sources}),
               "stylesheet": None if pdf else True}
    page = renderer.render(request, ui, "handout.html", context)
    if not pdf:
        return page
    try:
        import weasyprint
    except ImportError:
        return renderer.render(request, ui, "error.html", {
            "status": 503, "title": ui.gettext(ERROR_TITLES[500]),
            "message": ui.gettext("PDF handouts need WeasyPrint on the server (pip install -e '.[pdf]'). "
                                  "The printable page works without it."), "links": []}, 503)
    css = weasyprint.CSS(filename=str(renderer.settings.site_dir / "static" / "handout.css"))
    pdf_bytes = weasyprint.HTML(string=page.body.decode("utf-8"), url_fetcher=_no_fetch).write_pdf(
        stylesheets=[css])
    name = "-".join([parts[0]["module"] if len(parts) == 1 else "course", *langs])
    return Response(pdf_bytes, media_type="application/pdf",
                    headers={"Content-Disposition": f'inline; filename="{name}.pdf"'})


def _no_fetch(url: str, *args: object, **kwargs: object) -> dict:
    raise ValueError(f"handouts fetch nothing ({url[:40]})")


def module_handout(request: Request, renderer: Renderer, ui: Ui, library: Library, module: str, langs: str,
                   notes: int, pdf: bool) -> Response:
    available = library.languages(module)
    if not available:
        return not_found_module(request, renderer, ui, module)
    chosen = pick_langs(langs, available, ui)
    part = module_part(library, module, chosen)
    assert part is not None
    title = {L: d.title for L, d in part["docs"].items()}
    return render_handout(request, renderer, ui, title, [part], chosen, bool(notes), pdf)


def course_handout(request: Request, renderer: Renderer, ui: Ui, settings: Settings, library: Library,
                   name: str, langs: str, notes: int, pdf: bool) -> Response:
    courses, _ = load_courses(settings.courses_dir)
    course: Course | None = courses.get(name)
    if course is None:
        return not_found_course(request, renderer, ui, name)
    chosen = pick_langs(langs or ",".join(course.langs), list(settings.langs), ui)
    parts = [p for item in course.items if (p := module_part(library, item.module, chosen, item.sections))]
    if not parts:
        return not_found_course(request, renderer, ui, name)
    return render_handout(request, renderer, ui, course.titles, parts, chosen, bool(notes), pdf)


@router.get("/handouts/{module}", response_class=HTMLResponse)
def handout_page(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep, module: str,
                 langs: str = "", notes: int = 0) -> Response:
    return module_handout(request, renderer, ui, library, module, langs, notes, pdf=False)


@router.get("/handouts/{module}/handout.pdf")
def handout_pdf(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep, module: str,
                langs: str = "", notes: int = 0) -> Response:
    return module_handout(request, renderer, ui, library, module, langs, notes, pdf=True)


@router.get("/courses/{name}/handout", response_class=HTMLResponse)
def course_handout_page(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep,
                        library: LibraryDep, name: str, langs: str = "", notes: int = 0) -> Response:
    return course_handout(request, renderer, ui, settings, library, name, langs, notes, pdf=False)


@router.get("/courses/{name}/handout.pdf")
def course_handout_pdf(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep,
                       library: LibraryDep, name: str, langs: str = "", notes: int = 0) -> Response:
    return course_handout(request, renderer, ui, settings, library, name, langs, notes, pdf=True)
