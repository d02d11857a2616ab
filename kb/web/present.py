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
from typing import Annotated, Any
from urllib.parse import parse_qs

import segno
from fastapi import APIRouter, Body, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import BaseModel, Field

from kb.glossary import Glossary
from kb.library import Library
from kb.web.deps import KbDep, LibraryDep, RendererDep, SearchDep, UiDep
from kb.web.i18n import language_name
from kb.web.pages import ERROR_TITLES, Link, not_found_module, status_label
from kb.web.sessions import Session, Sessions
from kb.web.slides import Deck, build_deck
from kb.web.templating import Renderer, Ui

router = APIRouter(include_in_schema=False)
api_router = APIRouter(prefix="/api/present", tags=["present"])

PUBLIC_URL_ENV = "KB_PUBLIC_URL"
"""Set by `kb serve --host 0.0.0.0` to the LAN address, so the QR code names an address phones can reach even
when the presenter's own browser uses 127.0.0.1."""


def sessions(request: Request) -> Sessions:
    state = request.app.state
    if not hasattr(state, "present_sessions"):
        state.present_sessions = Sessions()
    return state.present_sessions


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


def deck_context(request: Request, ui: Ui, library: Library, deck: Deck, langs: list[str],
                 session: Session | None) -> dict[str, Any]:
    doc = deck.docs[langs[0]]
    return {"deck": deck, "langs": langs, "module": deck.module, "doc": doc, "docs": deck.docs,
            "status": status_label(ui, doc.status), "session": session, "live_module": deck.module,
            "follow_url": follow_url(request, session) if session else None,
            "qr": qr_data_uri(follow_url(request, session)) if session else None,
            "drives": bool(session and session.allows(request.cookies.get(session.cookie))),
            "module_errors": library.errors.get(deck.module, [])}


def missing_session(request: Request, renderer: Renderer, ui: Ui) -> Response:
    return renderer.render(request, ui, "error.html", {
        "status": 404, "title": ui.gettext(ERROR_TITLES[404]),
        "message": ui.gettext("This presentation session has ended or never existed. Ask the presenter for the "
                              "new code."), "links": [Link("/modules", ui.gettext("Modules"))]}, 404)


def _deck_or_404(request: Request, renderer: Renderer, ui: Ui, library: Library, module: str
                 ) -> Deck | Response:
    deck = build_deck(library, module)
    return deck if deck is not None else not_found_module(request, renderer, ui, module)


@router.get("/present/{module}", response_class=HTMLResponse)
def present_page(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep, module: str,
                 langs: str = "", session: str = "") -> Response:
    """The deck for a projector: primary language large, the second beside it. With `?session=` it follows
    that session (and drives it when this browser holds the presenter's cookie)."""
    deck = _deck_or_404(request, renderer, ui, library, module)
    if isinstance(deck, Response):
        return deck
    sess = sessions(request).get(session) if session else None
    if session and (sess is None or sess.module != module):
        return missing_session(request, renderer, ui)
    chosen = pick_langs(langs or (",".join(sess.langs) if sess else ""), library.languages(module), ui)
    return renderer.render(request, ui, "present.html", deck_context(request, ui, library, deck, chosen, sess))


@router.get("/present/{module}/presenter", response_class=HTMLResponse)
def presenter_page(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep, module: str,
                   langs: str = "", session: str = "") -> Response:
    """Current and next slide, the notes in the presenter's (primary) language, timers and a slide list."""
    deck = _deck_or_404(request, renderer, ui, library, module)
    if isinstance(deck, Response):
        return deck
    sess = sessions(request).get(session) if session else None
    if session and (sess is None or sess.module != module):
        return missing_session(request, renderer, ui)
    chosen = pick_langs(langs or (",".join(sess.langs) if sess else ""), library.languages(module), ui)
    context = deck_context(request, ui, library, deck, chosen, sess)
    return renderer.render(request, ui, "presenter.html", context)


@router.post("/present/{module}/session")
async def start_session(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep,
                        module: str) -> Response:
    """Start an audience session and hand this browser its presenter cookie; then to the presenter view. The
    form is a plain urlencoded POST (`langs=zh,vi`), read here without a multipart parser."""
    if not library.languages(module):
        return not_found_module(request, renderer, ui, module)
    form = parse_qs((await request.body())[:2000].decode("utf-8", "replace"))
    langs = (form.get("langs") or [""])[0]
    chosen = pick_langs(langs, library.languages(module), ui)
    sess = sessions(request).start(module, chosen)
    response = RedirectResponse(f"/present/{module}/presenter?session={sess.id}&langs={','.join(chosen)}", 303)
    response.set_cookie(sess.cookie, sess.token, httponly=True, samesite="strict", path="/")
    return response


@router.get("/follow/{session}", response_class=HTMLResponse)
def follow_page(request: Request, renderer: RendererDep, ui: UiDep, library: LibraryDep, searcher: SearchDep,
                session: str, lang: str = "") -> Response:
    """A phone's view of the session: the presenter's slide, live, in the language the phone picks."""
    sess = sessions(request).get(session)
    if sess is None:
        return missing_session(request, renderer, ui)
    deck = build_deck(library, sess.module)
    if deck is None:
        return missing_session(request, renderer, ui)
    available = library.languages(sess.module)
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


@api_router.post("/{session}/position")
def publish_position(request: Request, kb: KbDep, library: LibraryDep, session: str,
                     position: Annotated[Position, Body()]) -> JSONResponse:
    """Move the audience of a session to a slide; only the session's presenter (its cookie) may."""
    sess = sessions(request).get(session)
    if sess is None:
        return JSONResponse({"error": {"field": "session", "message": "no such presentation session"}}, 404)
    if not sess.allows(request.cookies.get(sess.cookie)):
        return JSONResponse({"error": {"field": "session", "message": "only the presenter may move the slides"}},
                            403)
    deck = build_deck(library, sess.module)
    index = deck.index(position.slide) if deck else None
    if deck is None or index is None:
        return JSONResponse({"error": {"field": "slide", "message": f"no slide '{position.slide}' in this deck"}},
                            422)
    event = kb.events.publish(sess.channel, "slide", {"slide": position.slide, "index": index,
                                                      "count": len(deck.slides), "blank": position.blank})
    return JSONResponse({"id": event.id, "slide": position.slide, "index": index, "at": event.at})
