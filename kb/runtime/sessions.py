"""Presentation sessions: a presenter's deck that phones follow through the broker's `present:<id>` channel.

A session is an id (public: it is in the follow URL and the QR code) and a secret token (only in the presenter's
cookie; the store keeps its hash): only a request carrying the token may move the audience. Sessions live in the
store (`kb.store.sessions`), so they outlive a server restart and every worker of `kb serve --workers N` sees
the same ones. A move is published at once to the phones connected to the worker that took it, and written to
the store; each worker's `SessionFollower` polls the store's change counter and publishes the moves other
workers took to its own phones (at most one poll interval later). The registry is bounded; starting one more
session than the bound ends the oldest."""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from kb.runtime.events import EventBroker
from kb.store.sessions import SessionRow, SessionStore

log = logging.getLogger("kb.sessions")

MAX_SESSIONS = 64
COOKIE_PREFIX = "kb_present_"
POLL_SECONDS = 0.1
"""How often a worker looks for moves other workers took: the most it adds to their delivery."""


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def channel(session_id: str) -> str:
    return f"present:{session_id}"


@dataclass(frozen=True)
class Session:
    id: str
    module: str
    """The deck: a module's name or `course:<name>`."""
    langs: list[str]
    token_hash: str = field(repr=False)
    token: str | None = field(default=None, repr=False)
    """The presenter's secret, only on the session just started (it goes into their cookie, nowhere else)."""

    @property
    def channel(self) -> str:
        return channel(self.id)

    @property
    def cookie(self) -> str:
        return COOKIE_PREFIX + self.id

    def allows(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token_hash(token), self.token_hash)


def position(row: SessionRow) -> dict[str, Any] | None:
    """A session's position as the `slide` event carries it (None before the presenter first moved)."""
    if row.slide is None:
        return None
    return {"slide": row.slide, "index": row.slide_index, "count": row.slide_count, "blank": row.blank,
            "seq": row.version}


class Sessions:
    """The sessions of one index folder, for one process; a `SessionFollower` feeds its broker with the moves
    other processes took."""

    def __init__(self, index_dir: Path, events: EventBroker, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self.events = events
        self.store = SessionStore(index_dir, origin=secrets.token_hex(8))

    def start(self, module: str, langs: list[str]) -> Session:
        session_id = secrets.token_urlsafe(6).replace("_", "x").replace("-", "y")
        token = secrets.token_urlsafe(24)
        self.store.create(session_id, module, list(langs), token_hash(token), self.limit)
        return Session(session_id, module, list(langs), token_hash(token), token)

    def get(self, session_id: str) -> Session | None:
        row = self.store.get(session_id)
        return Session(row.id, row.deck, list(row.langs), row.token_hash) if row else None

    def position(self, session_id: str) -> dict[str, Any] | None:
        """Where the session's presenter is now, from the store (whichever worker took the move)."""
        row = self.store.get(session_id)
        return position(row) if row else None

    def move(self, session: Session, slide: str, index: int, count: int, blank: bool) -> dict[str, Any]:
        """Record the presenter's move and send it to this process's subscribers; returns the event's data."""
        seq = self.store.move(session.id, slide, index, count, blank)
        data = {"slide": slide, "index": index, "count": count, "blank": blank, "seq": seq}
        event = self.events.publish(session.channel, "slide", data)
        return data | {"id": event.id, "at": event.at}

    def close(self) -> None:
        self.store.close()


class SessionFollower(threading.Thread):
    """Publishes to this process's broker the moves other processes wrote to the store. One indexed query per
    poll; a session moved twice between two polls is published once, at its latest position (phones show where
    the presenter is, not every slide passed on the way)."""

    name = "sessions"

    def __init__(self, sessions: Sessions, poll: float = POLL_SECONDS) -> None:
        super().__init__(name="kb-session-follower", daemon=True)
        self.sessions, self.poll = sessions, poll
        self.seen = sessions.store.version()
        self._halt = threading.Event()

    def run(self) -> None:
        store = self.sessions.store
        while not self._halt.wait(self.poll):
            try:
                rows = store.changed_since(self.seen)
            except Exception:  # a locked or briefly unreadable file: try again at the next poll
                log.exception("reading the sessions store failed")
                continue
            for row in rows:
                self.seen = max(self.seen, row.version)
                data = position(row)
                if row.origin != store.origin and data is not None:
                    self.sessions.events.publish(channel(row.id), "slide", data)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
