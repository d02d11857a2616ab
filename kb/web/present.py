"""Trainer mode: a module as slides in two languages (`/present/{module}?langs=zh,vi`), the presenter view with
notes and timers (`/present/{module}/presenter`), and audience sessions that phones follow in their own language
(`/follow/{session}`), all moved by the broker's `present:<session>` channel.

The presenter starts a session with a POST; the answer sets the session's secret token in an HttpOnly cookie, so
only that browser (the presenter view and a projector window opened from it) may publish a position. Audience
pages subscribe to `/api/events?channel=present:<id>` and start from the channel's last event. Speaker notes are
only ever rendered into the presenter view."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import parse_qs

import segno
from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from kb.courses import load_courses
from kb.glossary import Glossary
from kb.library import Library
from kb.runtime import KnowledgeBase, Session, Sessions
from kb.settings import Settings
from kb.web.deps import KbDep, LibraryDep, RendererDep, SearchDep, SettingsDep, UiDep
from kb.web.i18n import language_name
from kb.web.pages import ERROR_TITLES, Link, not_found_module, status_label
from kb.web.slides import Deck, build_course_deck, build_deck
from kb.web.templating import Renderer, Ui

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/present", tags=["present"])

PUBLIC_URL_ENV = "KB_PUBLIC_URL"
"""Set by `kb serve --host 0.0.0.0` to the LAN address, so the QR code names an address phones can reach even
when the presenter's own browser uses 127.0.0.1."""


def sessions(request: Request) -> Sessions:
    """The knowledge base's sessions: in the index folder's store, shared by every worker."""
    kb: KnowledgeBase = request.app.state.kb
    return kb.sessions


def pick_langs(value: str, available: list[str], ui: Ui) -> list[str]:
    """The primary and secondary language from `?langs=zh,vi`: known and available ones in the order given, else
    the UI language first and then the module's others."""
    wanted = [c.strip().lower() for c in value.split(",") if c.strip()]
    chosen = [c for i, c in enumerate(wanted) if c in available and c not in wanted[:i]][:2]
    if not chosen:
        chosen = [ui.locale] if ui.locale in available else available[:1]
    if len(chosen) < 2:
        chosen += [L for L in available if L not in chosen][:1]
    return chosen


def public_base(request: Request) -> str:
    return (os.environ.get(PUBLIC_URL_ENV) or str(request.base_url)).rstrip("/")


def follow_url(request: Request, session: Session) -> str:
    return f"{public_base(request)}/follow/{session.id}"


def qr_data_uri(url: str) -> str:
    """An SVG QR code as a data: URI (segno, pure Python, no network); the CSP allows data: images."""
    return segno.make(url, error="m").svg_data_uri(scale=8, border=2, dark="#111", light="#fff")


@dataclass
class DeckSource:
    """What a deck is made from, and its addresses: a module (`/present/{module}`) or a course
    (`/courses/{name}/present`); `id` is what a session records."""

    id: str
    view: str
    presenter: str
    start: str
    modules: list[str]


def source_for(deck_id: str) -> DeckSource:
    if deck_id.startswith("course:"):
        name = deck_id.split(":", 1)[1]
        base = f"/courses/{name}"
        return DeckSource(deck_id, f"{base}/present", f"{base}/presenter", f"{base}/session", [])
    base = f"/present/{deck_id}"
    return DeckSource(deck_id, base, f"{base}/presenter", f"{base}/session", [deck_id])


def load_deck(settings: Settings, library: Library, deck_id: str) -> Deck | None:
    """The deck of a module, or of a course read from the courses folder (None when either is unknown or the
    course file has errors: the agenda page names them)."""
    if not deck_id.startswith("course:"):
        return build_deck(library, deck_id)
    courses, _ = load_courses(settings.courses_dir)
    course = courses.get(deck_id.split(":", 1)[1])
    return build_course_deck(library, course)[0] if course else None


def deck_context(request: Request, ui: Ui, library: Library, deck: Deck, langs: list[str],
                 session: Session | None) -> dict[str, Any]:
    source = source_for(deck.module)
    modules = source.modules or sorted({k.split(".", 1)[0] for k in deck.keys if not k.startswith("_")})
    return {"deck": deck, "langs": langs, "module": deck.module, "source": source,
            "deck_title": deck.titles.get(langs[0]) or next(iter(deck.titles.values()), deck.module),
            "status_label": lambda status: status_label(ui, status), "session": session,
            "live_modules": " ".join(modules),
            "follow_url": follow_url(request, session) if session else None,
            "qr": qr_data_uri(follow_url(request, session)) if session else None,
            "drives": bool(session and session.allows(request.cookies.get(session.cookie))),
            "module_errors": library.errors.get(deck.module, [])}


def missing_session(request: Request, renderer: Renderer, ui: Ui) -> Response:
    return renderer.render(request, ui, "error.html", {
        "status": 404, "title": ui.gettext(ERROR_TITLES[404]),
        "message": ui.gettext("This presentation session has ended or never existed. Ask the presenter for the "
                              "new code."), "links": [Link("/modules", ui.gettext("Modules"))]}, 404)


def not_found_course(request: Request, renderer: Renderer, ui: Ui, name: str) -> Response:
    return renderer.render(request, ui, "error.html", {
        "status": 404, "title": ui.gettext(ERROR_TITLES[404]),
        "message": ui.gettext("There is no course “%(value)s”.", value=name), "links": []}, 404)


def show_deck(request: Request, renderer: Renderer, ui: Ui, settings: Settings, library: Library, deck_id: str,
              template: str, langs: str, session: str) -> Response:
    """The projector deck or the presenter view of a module or course; `?session=` follows that session (and
    drives it when this browser holds the presenter's cookie)."""
    deck = load_deck(settings, library, deck_id)
    if deck is None:
        if deck_id.startswith("course:"):
            return not_found_course(request, renderer, ui, deck_id.split(":", 1)[1])
        return not_found_module(request, renderer, ui, deck_id)
    sess = sessions(request).get(session) if session else None
    if session and (sess is None or sess.module != deck_id):
        return missing_session(request, renderer, ui)
    chosen = pick_langs(langs or (",".join(sess.langs) if sess else ""), list(deck.docs), ui)
    return renderer.render(request, ui, template, deck_context(request, ui, library, deck, chosen, sess))


async def begin_session(request: Request, renderer: Renderer, ui: Ui, settings: Settings, library: Library,
                        deck_id: str) -> Response:
    """Start an audience session and hand this browser its presenter cookie; then to the presenter view. The
    form is a plain urlencoded POST (`langs=zh,vi`), read here without a multipart parser."""
    deck = load_deck(settings, library, deck_id)
    if deck is None:
        return not_found_module(request, renderer, ui, deck_id)
    form = parse_qs((await request.body())[:2000].decode("utf-8", "replace"))
    chosen = pick_langs((form.get("langs") or [""])[0], list(deck.docs), ui)
    sess = sessions(request).start(deck_id, chosen)
    target = f"{source_for(deck_id).presenter}?session={sess.id}&langs={','.join(chosen)}"
    response = RedirectResponse(target, 303)
    response.set_cookie(sess.cookie, sess.token or "", httponly=True, samesite="strict", path="/")
    return response


@router.get("/present/{module}", response_class=HTMLResponse)
def present_page(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep, library: LibraryDep,
                 module: str, langs: str = "", session: str = "") -> Response:
    """The deck for a projector: primary language large, the second beside it."""
    return show_deck(request, renderer, ui, settings, library, module, "present.html", langs, session)


@router.get("/present/{module}/presenter", response_class=HTMLResponse)
def presenter_page(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep,
                   library: LibraryDep, module: str, langs: str = "", session: str = "") -> Response:
    """Current and next slide, the notes in the presenter's (primary) language, timers and a slide list."""
    return show_deck(request, renderer, ui, settings, library, module, "presenter.html", langs, session)


@router.post("/present/{module}/session")
async def start_session(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep,
                        library: LibraryDep, module: str) -> Response:
    return await begin_session(request, renderer, ui, settings, library, module)


@router.get("/courses/{name}/present", response_class=HTMLResponse)
def course_present_page(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep,
                        library: LibraryDep, name: str, langs: str = "", session: str = "") -> Response:
    """A whole course as one deck."""
    return show_deck(request, renderer, ui, settings, library, f"course:{name}", "present.html", langs, session)


@router.get("/courses/{name}/presenter", response_class=HTMLResponse)
def course_presenter_page(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep,
                          library: LibraryDep, name: str, langs: str = "", session: str = "") -> Response:
    return show_deck(request, renderer, ui, settings, library, f"course:{name}", "presenter.html", langs,
                     session)


@router.post("/courses/{name}/session")
async def start_course_session(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep,
                               library: LibraryDep, name: str) -> Response:
    return await begin_session(request, renderer, ui, settings, library, f"course:{name}")


@router.get("/follow/{session}", response_class=HTMLResponse)
def follow_page(request: Request, renderer: RendererDep, ui: UiDep, settings: SettingsDep, library: LibraryDep,
                searcher: SearchDep, session: str, lang: str = "") -> Response:
    """A phone's view of the session: the presenter's slide, live, in the language the phone picks."""
    sess = sessions(request).get(session)
    if sess is None:
        return missing_session(request, renderer, ui)
    deck = load_deck(settings, library, sess.module)
    if deck is None:
        return missing_session(request, renderer, ui)
    available = list(deck.docs)
    chosen = lang if lang in available else (ui.locale if ui.locale in available else sess.langs[0])
    context = deck_context(request, ui, library, deck, [chosen], sess)
    context |= {"lang": chosen, "available": available, "qr": None,
                "terms_json": json.dumps(glossary_terms(searcher.glossary, deck, chosen),
                                             ensure_ascii=False).replace("</", "<\\/")}
    return renderer.render(request, ui, "follow.html", context)


def glossary_terms(glossary: Glossary | None, deck: Deck, lang: str) -> list[dict[str, Any]]:
    """The glossary terms named in the deck's `lang` text, with their forms in every language: the follow page
    makes them tappable."""
    if glossary is None:
        return []
    text = "\n".join(s.headings.get(lang, "") + "\n" + s.bodies.get(lang, "") for s in deck.slides)
    out = []
    for term, _langs in glossary.find(text):
        shown = [f for f in term.forms.get(lang, ()) if f] + list(term.abbr)
        out.append({"id": term.id, "match": sorted(set(shown), key=len, reverse=True),
                    "forms": {L: list(fs) for L, fs in term.forms.items()},
                    "names": {L: language_name(L) for L in term.forms}})
    return out


class Position(BaseModel):
    slide: str = Field(min_length=1, max_length=80, pattern=r"^[A-Za-z0-9_.-]+$")
    blank: bool = False


@api_router.post("/{session}/position", responses={
    400: {"description": "a body that cannot be read as JSON"},
    403: {"description": "the caller is not the session's presenter (no presenter cookie)"},
    404: {"description": "no such presentation session"},
    422: {"description": "a bad body, or a slide that is not in the deck"}})
def publish_position(request: Request, kb: KbDep, settings: SettingsDep, library: LibraryDep, session: str,
                     position: Annotated[Position, Body()]) -> JSONResponse:
    """Move the audience of a session to a slide; only the session's presenter (its cookie) may."""
    sess = sessions(request).get(session)
    if sess is None:
        return JSONResponse({"error": {"field": "session", "message": "no such presentation session"}}, 404)
    if not sess.allows(request.cookies.get(sess.cookie)):
        return JSONResponse({"error": {"field": "session", "message": "only the presenter may move the slides"}},
                            403)
    deck = load_deck(settings, library, sess.module)
    index = deck.index(position.slide) if deck else None
    if deck is None or index is None:
        return JSONResponse({"error": {"field": "slide", "message": f"no slide '{position.slide}' in this deck"}},
                            422)
    moved = kb.sessions.move(sess, position.slide, index, len(deck.slides), position.blank)
    return JSONResponse({k: moved[k] for k in ("id", "seq", "slide", "index", "at")})
