"""Course pages: `/courses` lists the course files, `/courses/{name}` is a course's agenda (its days, the modules
or sections of each in the UI language, with links to read, compare, present and print them). The course deck
and handout live in `present.py` and `handouts.py`."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from kb.courses import load_courses
from kb.web.deps import LibraryDep, RendererDep, SettingsDep, UiDep
from kb.web.pages import Notice, library_title
from kb.web.present import not_found_course, pick_langs
from kb.web.slides import build_course_deck

router = APIRouter(include_in_schema=False)


@router.get("/courses", response_class=HTMLResponse)
def courses_page(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep) -> Response:
    courses, findings = load_courses(settings.courses_dir)
    notices = [Notice(f"{f.path.rsplit('/', 1)[-1]}:{f.line}: {f.message}", "error") for f in findings]
    return renderer.render(request, ui, "courses.html", {"courses": list(courses.values()), "notices": notices})


@router.get("/courses/{name}", response_class=HTMLResponse)
def course_page(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep, library: LibraryDep,
                name: str) -> Response:
    """The agenda: what each day covers; modules or sections the index does not have are named, not hidden."""
    courses, findings = load_courses(settings.courses_dir)
    course = courses.get(name)
    if course is None:
        return not_found_course(request, renderer, ui, name)
    deck, missing = build_course_deck(library, course)
    langs = pick_langs(",".join(course.langs), list(deck.docs) or list(settings.langs), ui)
    notices = [Notice(ui.gettext("Not in the library, left out: %(value)s", value=", ".join(missing)), "warning")
               ] if missing else []
    days = []
    for day in course.days:
        items = []
        for item in day.items:
            doc = library.document(item.module, ui.locale) or library.source(item.module)
            headings = [s.heading for s in doc.sections if s.id in (item.sections or [])] if doc else []
            items.append({"module": item.module, "title": library_title(library, item.module, ui.locale),
                          "known": doc is not None, "sections": headings, "count": len(
                              [s for s in deck.slides if s.key.startswith(item.module + ".")])})
        days.append({"title": day.titles.get(ui.locale) or next(iter(day.titles.values())), "items": items})
    return renderer.render(request, ui, "course.html", {
        "course": course, "title": course.title(ui.locale), "days": days, "langs": langs, "notices": notices,
        "slides": len(deck.slides)})
