"""The workbench editor (`kb serve --edit`): a translation section, or a whole file, edited beside its read-only
source, with a live preview from the same Markdown pipeline and the findings of `kb check` as you type.

Off unless the server is started with `--edit`. Then only loopback clients may use it, unless an edit token is
configured (`--edit-token` / `KB_EDIT_TOKEN`), which every request must then carry (once as `?token=`, then a
cookie, or an `X-Edit-Token` header). Every write carries the page's CSRF token (`X-CSRF-Token` or the `csrf`
form field) and the hash of the file it was made from (`If-Match`, or the `hash` form field); file handling is
`kb.editing`'s. After a save the knowledge base rebuilds (the content watcher does it under `--watch`, else a
rebuild is started) and open pages refresh through the build events.

The page works without JavaScript too: it is a plain form posting to `POST /edit/{module}/{lang}`, answered with
the page itself (preview, findings, the conflict with both versions, a blocked save with the edit kept) or, after
a save, a redirect back to the section; with JavaScript, editor.js takes the form over and uses the JSON API."""

from __future__ import annotations

import hmac
import secrets
import threading
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from kb.content import Finding
from kb.corpus import load_corpus
from kb.editing import (
    Conflict,
    EditError,
    check_text,
    file_hash,
    module_file,
    save,
    section_bounds,
    section_findings,
    splice_section,
)
from kb.library import Library
from kb.markdown import render_html
from kb.runtime import KnowledgeBase
from kb.stamp import StampError, stamp
from kb.web.deps import KbDep, LibraryDep, RendererDep, UiDep
from kb.web.templating import Renderer, Ui

router = APIRouter(include_in_schema=False)
LOOPBACK = {"127.0.0.1", "::1", "localhost"}
TOKEN_COOKIE = "kb_edit"


@dataclass(frozen=True)
class EditorConfig:
    token: str | None
    csrf: str


def install(app: FastAPI, token: str | None = None) -> None:
    """Enable the editor on an app built by `create_app`."""
    app.state.editor = EditorConfig(token or None, secrets.token_urlsafe(32))
    app.include_router(router)


def _guard(request: Request, write: bool, csrf: str | None = None) -> EditorConfig:
    config: EditorConfig | None = getattr(request.app.state, "editor", None)
    if config is None:
        raise EditError("the editor is off: start the server with --edit", None, 404)
    if config.token:
        given = (request.headers.get("x-edit-token") or request.cookies.get(TOKEN_COOKIE)
                 or request.query_params.get("token") or "")
        if not hmac.compare_digest(given, config.token):
            raise EditError("this editor needs its edit token", "token", 403)
    elif (request.client.host if request.client else "") not in LOOPBACK:
        raise EditError("the editor only answers on loopback unless an edit token is configured", None, 403)
    if write:
        sent = request.headers.get("x-csrf-token") or csrf or ""
        if not hmac.compare_digest(sent, config.csrf):
            raise EditError("missing or wrong CSRF token: reload the editor page", "csrf", 403)
    return config


def _error(exc: EditError) -> JSONResponse:
    return JSONResponse({"error": {"field": exc.field, "message": exc.message}}, status_code=exc.status)


def _findings(findings: list[Finding]) -> list[dict[str, Any]]:
    return [{"line": f.line, "severity": f.severity, "rule": f.rule, "message": f.message} for f in findings]


@router.get("/edit/{module}/{lang}", response_class=HTMLResponse)
def edit_page(request: Request, renderer: RendererDep, ui: UiDep, kb: KbDep, library: LibraryDep, module: str,
              lang: str, section: str | None = None, saved: str = "") -> Response:
    try:
        config = _guard(request, write=False)
        path = module_file(kb.settings.content_dir, module, lang)
        raw = path.read_bytes()
        text = raw.decode("utf-8")
        markdown = section_bounds(text, path, section)[2] if section else text
    except EditError as exc:
        return _error_page(request, renderer, ui, exc)
    response = _page(request, renderer, ui, library, config, module, lang, section, markdown, file_hash(raw),
                     saved=bool(saved))
    if config.token and request.query_params.get("token"):
        response.set_cookie(TOKEN_COOKIE, config.token, httponly=True, samesite="strict", path="/")
    return response


@router.post("/edit/{module}/{lang}", response_class=HTMLResponse)
async def edit_form(request: Request, renderer: RendererDep, ui: UiDep, kb: KbDep, library: LibraryDep,
                    module: str, lang: str) -> Response:
    """The editor without JavaScript: the page's form posts here (CSRF token and file hash as hidden fields).
    "Preview" answers the page again with the rendered text and its findings; "Save" saves as the JSON API
    does and redirects back to the section, or answers the page with the conflict (both versions) or with the
    findings that blocked it, the edit kept in the text box."""
    try:
        form = await _form(request)
        config = _guard(request, write=True, csrf=form.get("csrf", ""))
        body = {"module": module, "lang": lang, "section": form.get("section") or None,
                "markdown": form.get("markdown", "").replace("\r\n", "\n")}
        path, _, section, new_text = _edited_text(kb, body)
        expected = form.get("hash", "")
        if not expected:
            raise EditError("the form must carry the hash of the file the edit was made from", "hash", 428)
    except EditError as exc:
        return _error_page(request, renderer, ui, exc)
    markdown = body["markdown"]
    page = partial(_page, request, renderer, ui, library, config, module, lang, section, markdown, expected,
                   reason=form.get("reason", ""), stamp=bool(form.get("stamp")))
    if form.get("action") == "preview":
        found = section_findings(path, new_text, section, check_text(path, new_text))
        return page(preview=render_html(markdown), findings=found)
    try:
        result = save(path, expected, new_text, form.get("reason", ""), section)
    except Conflict as c:
        return page(conflict=c, status=409)
    if not result.saved:
        return page(findings=result.blocking, blocked=True, status=422)
    problem = _after_save(kb, path, section, bool(form.get("stamp")))
    if problem is not None:
        return _error_page(request, renderer, ui, problem)
    target = f"/edit/{quote(module)}/{quote(lang)}?" + urlencode({**({"section": section} if section else {}),
                                                                    "saved": "1"})
    return RedirectResponse(target + "#editor", status_code=303)


MAX_FORM_BYTES = 4_000_000
"""Largest editor form read (a module file is at most 2 MB, and percent-encoding can double it)."""


async def _form(request: Request) -> dict[str, str]:
    """The fields of an `application/x-www-form-urlencoded` body, the last value of each name."""
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/x-www-form-urlencoded":
        raise EditError("the editor form must be sent as application/x-www-form-urlencoded", "body", 415)
    raw = await request.body()
    if len(raw) > MAX_FORM_BYTES:
        raise EditError(f"the form is larger than {MAX_FORM_BYTES:,} bytes", "markdown", 413)
    try:
        fields = parse_qs(raw.decode("utf-8"), keep_blank_values=True, strict_parsing=False)
    except UnicodeDecodeError as exc:
        raise EditError("the form is not UTF-8", "body") from exc
    return {name: values[-1] for name, values in fields.items()}


def _page(request: Request, renderer: Renderer, ui: Ui, library: Library, config: EditorConfig, module: str,
          lang: str, section: str | None, markdown: str, hash_: str, *, status: int = 200, **extra: Any) -> Response:
    doc = library.document(module, lang)
    source = library.source(module) if doc is not None and doc.translation_of else None
    return renderer.render(request, ui, "translate_edit.html", {
        "module": module, "lang": lang, "section": section, "markdown": markdown, "hash": hash_,
        "csrf": config.csrf, "doc": doc, "source": source,
        "source_section": source.section(section) if source is not None and section else None,
        "sections": doc.sections if doc else [], "findings": None, "preview": None, "conflict": None,
        "blocked": False, "saved": False, "reason": "", "stamp": False, **extra,
    }, status)


def _error_page(request: Request, renderer: Renderer, ui: Ui, exc: EditError) -> Response:
    return renderer.render(request, ui, "error.html", {"status": exc.status, "title": exc.message,
                                                       "message": exc.message, "links": []}, exc.status)


def _after_save(kb: KnowledgeBase, path: Path, section: str | None, stamp_it: bool) -> EditError | None:
    """Stamp the saved section if asked, and rebuild unless the content watcher will (`--watch`)."""
    problem = None
    if stamp_it:
        try:
            stamp(load_corpus(kb.settings.content_dir), path.parent.name, path.stem, section)
        except StampError as exc:
            problem = EditError(f"saved, but not stamped: {exc.message}", "stamp", 422)
    if not any(name == "kb-content-watcher" for name in kb.status()["watching"]):
        threading.Thread(target=kb.rebuild, name="kb-edit-rebuild", daemon=True).start()
    return problem


def _edited_text(kb: KnowledgeBase, body: dict[str, Any]) -> tuple[Any, str, str | None, str]:
    module, lang = str(body.get("module", "")), str(body.get("lang", ""))
    markdown = body.get("markdown")
    if not isinstance(markdown, str):
        raise EditError("markdown must be text", "markdown")
    section = body.get("section") or None
    path = module_file(kb.settings.content_dir, module, lang)
    text = path.read_bytes().decode("utf-8")
    if section is None:
        newline = "\r\n" if "\r\n" in text else "\n"
        return path, text, None, markdown.replace("\r\n", "\n").replace("\n", newline)
    line, nxt, _ = section_bounds(text, path, str(section))
    return path, text, str(section), splice_section(text, line, nxt, markdown)


async def _body(request: Request) -> dict[str, Any]:
    try:
        body = await request.json()
    except ValueError as exc:
        raise EditError("the request body must be JSON", "body") from exc
    if not isinstance(body, dict):
        raise EditError("the request body must be a JSON object", "body")
    return body


@router.post("/api/edit/preview")
async def preview(request: Request, kb: KbDep) -> Response:
    """Rendered HTML of the edited Markdown and the findings the file would have with it."""
    try:
        _guard(request, write=True)
        body = await _body(request)
        path, _, section, new_text = _edited_text(kb, body)
    except EditError as exc:
        return _error(exc)
    found = section_findings(path, new_text, section, check_text(path, new_text))
    return JSONResponse({"html": render_html(str(body["markdown"])), "findings": _findings(found)})


@router.post("/api/edit/save")
async def save_edit(request: Request, kb: KbDep) -> Response:
    """Save atomically if the file still has the `If-Match` hash; 409 with both versions if not."""
    try:
        _guard(request, write=True)
        body = await _body(request)
        expected = (request.headers.get("if-match") or "").strip('"')
        if not expected:
            raise EditError("If-Match must name the hash of the file the edit was made from", "If-Match", 428)
        path, _, section, new_text = _edited_text(kb, body)
        result = save(path, expected, new_text, str(body.get("reason") or ""), section)
    except EditError as exc:
        return _error(exc)
    except Conflict as c:
        return JSONResponse({"error": {"field": "If-Match", "message": "the file changed on disk since you "
                                       "began: both versions are below, nothing was saved"},
                             "conflict": {"hash": c.actual, "disk": c.disk_text, "yours": c.edited_text}},
                            status_code=409)
    if not result.saved:
        return JSONResponse({"error": {"field": "markdown", "message": "not saved: fix the errors, or give a "
                                       "reason to save despite the warnings"},
                             "blocking": _findings(result.blocking), "findings": _findings(result.findings)},
                            status_code=422)
    stamped = {}
    if body.get("stamp"):
        try:
            stamped = stamp(load_corpus(kb.settings.content_dir), path.parent.name, path.stem, section)
        except StampError as exc:
            return _error(EditError(f"saved, but not stamped: {exc.message}", "stamp", 422))
    _after_save(kb, path, section, False)
    return JSONResponse({"saved": True, "hash": file_hash(path.read_bytes()), "stamped": stamped,
                         "findings": _findings(result.findings)})
