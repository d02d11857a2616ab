"""The JSON API: health, search, modules. Every bad parameter is a 4xx whose JSON names the field."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse

from kb.search import MAX_K, MAX_QUERY, SearchError
from kb.text import VISIBLE_PATTERN
from kb.web.deps import KbDep, LibraryDep, SearchDep, UiDep

# The body of every 4xx is {"error": {"field", "message"}}; kb.web.hardening puts that model in the schema.
router = APIRouter(prefix="/api", responses={422: {"description": "a bad parameter, named in the body"}})


def error(status: int, field: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"field": field, "message": message}}, status_code=status)


@router.get("/health")
def health(kb: KbDep) -> dict[str, Any]:
    """The live build, the content errors it was built with (files served from their last good version or
    skipped), a new build that failed to load, and the last rebuild."""
    status = kb.status()
    degraded = status["errors"] or status["load_error"] or (status["last_build"] or {}).get("ok") is False
    return {"status": "degraded" if degraded else "ok", **status}


SEARCH_RESPONSE = {
    "description": "ranked sections; `weak` says that none of them answers the query well",
    "content": {"application/json": {"schema": {
        "type": "object", "required": ["query", "results", "weak"],
        "properties": {
            "query": {"type": "string", "description": "the query as searched (cleaned)"},
            "results": {"type": "array", "items": {"type": "object"},
                        "description": "sections, best first; when `weak`, the closest ones"},
            "weak": {"type": "boolean", "description": "true when no section is a good match (the 'no good "
                     "match' state: a calibrated judgement over the dense scores and the query's words, "
                     "kb/relevance.py); the results are then only the closest sections"},
            "relevance": {"type": ["number", "null"], "description": "the model's probability that some section "
                          "answers the query; `weak` is this below the model's operating point (null in "
                          "keyword mode, which is never judged)"},
            "best": {"type": "number", "description": "the best centred dense cosine, one signal of `weak`"},
            "query_lang": {"type": ["string", "null"], "description": "the language the query was read as"},
            "restored": {"type": ["string", "null"],
                         "description": "the query with Vietnamese diacritics restored, when typed without"},
            "as_typed": {"type": "boolean", "description": "true when `as_typed` kept a query as typed that would "
                         "have had its diacritics restored"},
            "offer": {"type": ["string", "null"], "description": "with `as_typed`, the query with its diacritics "
                      "restored, as the search would have read it (null otherwise)"},
        }}}},
}
"""The 200 answer of /api/search, documented field by field where a client needs to act on it (`weak`)."""


@router.get("/search", response_model=None, responses={200: SEARCH_RESPONSE})
def search(searcher: SearchDep, ui: UiDep,
           q: Annotated[str, Query(max_length=MAX_QUERY, description="words in Chinese, English or Vietnamese "
                                   "(with or without diacritics); not only spaces or invisible characters",
                                   json_schema_extra={"minLength": 1, "pattern": VISIBLE_PATTERN})],
           lang: Annotated[str | None, Query(description="only results in this language")] = None,
           module: Annotated[str | None, Query(description="only results from this module")] = None,
           k: Annotated[int, Query(ge=1, le=MAX_K, description="how many sections")] = 10,
           grade: Annotated[str | None, Query(description="a scheme (nccn, esmo, grade, csco, caca), scheme:grade "
                                              "(nccn:1) or any")] = None,
           available_in: Annotated[str | None, Query(description="cn or vn (available or limited there), or "
                                                     "cn:limited")] = None,
           as_typed: Annotated[bool, Query(description="search a Vietnamese query typed without diacritics as "
                                           "it is, without restoring them")] = False) -> JSONResponse:
    """Only sections with a recommendation that meets `grade` and `available_in` when they are given. The
    reader's UI language (`?ui=`, the cookie, Accept-Language) is the language results are shown in when the
    query's own says nothing (a weak match, a query of no readable language)."""
    try:
        # Plain data already: a JSONResponse skips FastAPI's generic encoder walking every result.
        return JSONResponse(searcher.search(q, lang or None, module or None, k, grade=grade or None,
                                            available_in=available_in or None, prefer=ui.locale,
                                            as_typed=as_typed).as_dict())
    except SearchError as exc:
        return error(422, exc.field, exc.message)


@router.get("/modules")
def modules(library: LibraryDep) -> dict[str, Any]:
    return {"modules": [m.as_dict() for m in library.modules()]}


@router.get("/modules/{module}/{lang}", response_model=None,
            responses={404: {"description": "no such module, or no such language version of it"}})
def module_document(library: LibraryDep, module: str, lang: str) -> dict[str, Any] | JSONResponse:
    if module not in library.documents:
        return error(404, "module", f"unknown module '{module}'")
    doc = library.document(module, lang)
    if doc is None:
        return error(404, "lang", f"module '{module}' has no '{lang}' version; it has: "
                                  f"{', '.join(library.languages(module))}")
    return {**doc.as_dict(), "languages": library.languages(module)}
