"""Presentation sessions: a presenter's deck that phones follow through the broker's `present:<id>` channel.

A session is an id (public: it is in the follow URL and the QR code) and a secret token (only in the presenter's
cookie): only a request carrying the token may move the audience. Sessions live in this server process's memory,
so they end with it, and a `--workers N` server would keep one registry per worker: present with one worker.
The registry is bounded; starting one more session than the bound ends the oldest."""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

MAX_SESSIONS = 64
COOKIE_PREFIX = "kb_present_"


@dataclass
class Session:
    id: str
    token: str
    module: str
    langs: list[str]
    started: float = field(default_factory=time.time)

    @property
    def channel(self) -> str:
        return f"present:{self.id}"

    @property
    def cookie(self) -> str:
        return COOKIE_PREFIX + self.id

    def allows(self, token: str | None) -> bool:
        return token is not None and hmac.compare_digest(token, self.token)


class Sessions:
    def __init__(self, limit: int = MAX_SESSIONS) -> None:
        self.limit = limit
        self._by_id: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def start(self, module: str, langs: list[str]) -> Session:
        session = Session(secrets.token_urlsafe(6).replace("_", "x").replace("-", "y"), secrets.token_urlsafe(24),
                          module, list(langs))
        with self._lock:
            self._by_id[session.id] = session
            while len(self._by_id) > self.limit:
                self._by_id.popitem(last=False)
        return session

    def get(self, session_id: str) -> Session | None:
        with self._lock:
            return self._by_id.get(session_id)
