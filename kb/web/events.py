"""`GET /api/events`: server-sent events from the knowledge base's broker. Pages listen on `builds` to refresh
when their module changes; the trainer mode's audience pages will listen on `present:<session>`.

The stream opens with a `hello` carrying the live build (a page compares it with the build it was rendered from,
so a reconnect after a missed build still refreshes) and each channel's current state: for `present:<id>` the
presenter's position read from the sessions store (so a phone that slept, or reconnected to another worker or to
a restarted server, lands on the current slide), for others the channel's last event; a comment every 15 s keeps
proxies from closing an idle stream; the subscription is removed when the client goes away."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import JSONResponse
from sse_starlette import EventSourceResponse

from kb.runtime import EventsError, KnowledgeBase
from kb.web.deps import KbDep

router = APIRouter(prefix="/api")
HEARTBEAT_SECONDS = 15
RETRY_MS = 2000
"""How soon a client's EventSource reconnects after its stream drops (a phone waking up, a restarted server)."""


@router.get("/events", response_model=None)
async def events(kb: KbDep, channel: Annotated[list[str], Query(max_length=8)] = ["builds"]  # noqa: B006
                 ) -> EventSourceResponse | JSONResponse:
    try:
        subscription = kb.events.subscribe(channel)
    except EventsError as exc:
        status = 422 if "channel" in exc.message else 503
        return JSONResponse({"error": {"field": "channel", "message": exc.message}}, status_code=status)

    async def stream():  # noqa: ANN202
        with subscription:
            last = {c: state for c in channel if (state := current_state(kb, c))}
            yield {"event": "hello", "data": json.dumps({"build": kb.current.build_id, "last": last}),
                   "retry": RETRY_MS}
            async for event in subscription:
                yield {"id": str(event.id), "event": event.name,
                       "data": json.dumps({**event.data, "channel": event.channel}, ensure_ascii=False)}

    return EventSourceResponse(stream(), ping=HEARTBEAT_SECONDS, headers={"Cache-Control": "no-store"})


def current_state(kb: KnowledgeBase, channel: str) -> dict | None:
    """Where a new subscriber of `channel` starts: a session's stored position, else the channel's last event."""
    if channel.startswith("present:"):
        at = kb.sessions.position(channel.split(":", 1)[1])
        return at | {"event": "slide"} if at else None
    e = kb.events.last(channel)
    return e.data | {"event": e.name} if e else None
