"""The runtime layer: one `KnowledgeBase` that holds the settings, the live snapshot and the event broker, and
the watchers that keep it live (the index pointer, the content, the presentation sessions). The web app and the
CLI reach everything through it."""

from kb.runtime.events import Event, EventBroker, EventsError, Subscription
from kb.runtime.knowledge_base import BUILDS, KnowledgeBase, open_searcher
from kb.runtime.sessions import Session, Sessions
from kb.runtime.snapshot import Snapshot

__all__ = ["BUILDS", "Event", "EventBroker", "EventsError", "KnowledgeBase", "Session", "Sessions", "Snapshot",
           "Subscription", "open_searcher"]
