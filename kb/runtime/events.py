"""The event broker: named channels (`builds` for new builds; the trainer mode adds `present:<session>` for a
presenter's position), each subscriber with a bounded queue on its own event loop.

Publishing is thread-safe and never blocks: the watcher and build threads publish, asyncio handlers (server-sent
events) consume. A subscriber that falls behind loses its oldest events, never the newest, and is told how many
it lost; a channel keeps its last event so a late or reconnecting subscriber can start from the current state
(where the presenter is, which build is live). Subscribers are bounded in number; one that disconnects is removed
when its stream ends."""

from __future__ import annotations

import asyncio
import itertools
import logging
import re
import threading
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Any

from kb.errors import KbError

log = logging.getLogger("kb.events")

CHANNEL_RE = re.compile(r"builds|present:[A-Za-z0-9_-]{1,64}")
QUEUE_SIZE = 64
MAX_SUBSCRIBERS = 1000


class EventsError(KbError):
    """A subscription that cannot be made (bad channel name, too many subscribers)."""


@dataclass(frozen=True)
class Event:
    id: int
    channel: str
    name: str
    data: dict[str, Any]
    at: float = field(default_factory=time.time)


_CLOSED = Event(-1, "", "closed", {})


class Subscription:
    """One subscriber's bounded queue; iterate it with `async for`, close it (or leave its `with`) when done."""

    def __init__(self, broker: EventBroker, channels: frozenset[str], loop: asyncio.AbstractEventLoop,
                 size: int) -> None:
        self.broker, self.channels, self.loop = broker, channels, loop
        self.queue: asyncio.Queue[Event] = asyncio.Queue(size)
        self.dropped = 0

    def _put(self, event: Event) -> None:
        """Runs on the subscriber's loop. A full queue drops its oldest event: the newest state matters most."""
        if self.queue.full():
            self.queue.get_nowait()
            self.dropped += 1
        self.queue.put_nowait(event)

    async def __aiter__(self) -> AsyncIterator[Event]:
        while True:
            event = await self.queue.get()
            if event is _CLOSED:
                return
            yield event

    def close(self) -> None:
        self.broker._remove(self)

    def __enter__(self) -> Subscription:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class EventBroker:
    def __init__(self, queue_size: int = QUEUE_SIZE, max_subscribers: int = MAX_SUBSCRIBERS) -> None:
        self.queue_size, self.max_subscribers = queue_size, max_subscribers
        self._subs: set[Subscription] = set()
        self._last: dict[str, Event] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()
        self.closed = False

    @staticmethod
    def check_channel(name: str) -> str:
        if not CHANNEL_RE.fullmatch(name):
            raise EventsError(f"unknown channel '{name[:80]}': use 'builds' or 'present:<session>'")
        return name

    def subscribe(self, channels: Iterable[str]) -> Subscription:
        """A new subscription on the running event loop (call from async code)."""
        wanted = frozenset(self.check_channel(c) for c in channels)
        sub = Subscription(self, wanted, asyncio.get_running_loop(), self.queue_size)
        with self._lock:
            if self.closed:
                raise EventsError("the server is shutting down")
            if len(self._subs) >= self.max_subscribers:
                raise EventsError(f"too many event subscribers (at most {self.max_subscribers})")
            self._subs.add(sub)
        return sub

    def publish(self, channel: str, name: str, data: dict[str, Any]) -> Event:
        """Send an event to every subscriber of the channel, from any thread; returns it."""
        self.check_channel(channel)
        with self._lock:
            event = Event(next(self._ids), channel, name, data)
            self._last[channel] = event
            targets = [s for s in self._subs if channel in s.channels]
        for sub in targets:
            self._deliver(sub, event)
        return event

    def last(self, channel: str) -> Event | None:
        """The channel's latest event: where a new subscriber starts."""
        with self._lock:
            return self._last.get(channel)

    @property
    def subscribers(self) -> int:
        with self._lock:
            return len(self._subs)

    def close(self) -> None:
        """End every subscription (their streams finish), refuse new ones."""
        with self._lock:
            self.closed = True
            subs = list(self._subs)
        for sub in subs:
            self._deliver(sub, _CLOSED)

    def _deliver(self, sub: Subscription, event: Event) -> None:
        try:
            sub.loop.call_soon_threadsafe(sub._put, event)
        except RuntimeError:  # its loop has closed: the client is gone
            self._remove(sub)

    def _remove(self, sub: Subscription) -> None:
        with self._lock:
            self._subs.discard(sub)
