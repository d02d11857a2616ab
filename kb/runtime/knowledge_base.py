"""`KnowledgeBase`: the one runtime object. It holds the settings, the live snapshot and the event broker, swaps
to a new build however it was made (its own rebuild, or `kb index` in another shell), and optionally rebuilds
when the content changes.

Swapping loads the new build beside the old one and replaces one reference; a request holds the snapshot it
took (`acquire`) until it ends, and the old snapshot is closed when its last request has finished. A build that
fails to load (damaged, another embedder) leaves the old snapshot serving and is reported in `status()`."""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from kb.embedders import Embedder, get_embedder
from kb.errors import KbError
from kb.runtime.events import EventBroker
from kb.runtime.sessions import Sessions
from kb.runtime.snapshot import Snapshot, changes, load_snapshot
from kb.settings import Settings
from kb.store import IndexUnavailableError, current_build_id, embedder_mismatch, read_manifest

log = logging.getLogger("kb.runtime")

BUILDS = "builds"


class KnowledgeBase:
    def __init__(self, settings: Settings, embedder: Embedder | None = None) -> None:
        self.settings = settings
        manifest = read_manifest(settings.index_dir)
        if manifest is None:
            raise IndexUnavailableError(f"no index in {settings.index_dir}: build it with 'kb index --content "
                                        f"{settings.content_dir} --index {settings.index_dir}'")
        if manifest.embedder != settings.embedder:
            raise embedder_mismatch(settings.index_dir, manifest.embedder, settings.embedder)
        self.embedder = embedder or get_embedder(settings.embedder)
        self.events = EventBroker()
        self._lock = threading.Lock()
        self._reload_lock = threading.Lock()
        self._current = load_snapshot(settings, self.embedder)
        self.load_error: dict[str, Any] | None = None
        self.last_build: dict[str, Any] | None = None
        self._failed: str | None = None
        self._threads: list[Any] = []
        self._sessions: Sessions | None = None
        self._sessions_lock = threading.Lock()

    @property
    def sessions(self) -> Sessions:
        """The trainer mode's presentation sessions, kept in the index folder (opened on first use, so a one-shot
        search never creates the file)."""
        with self._sessions_lock:
            if self._sessions is None:
                self._sessions = Sessions(self.settings.index_dir, self.events)
            return self._sessions

    # --- the live snapshot ---

    @property
    def current(self) -> Snapshot:
        """The live snapshot, for code that makes one call; requests use `acquire`."""
        return self._current

    @contextmanager
    def acquire(self) -> Iterator[Snapshot]:
        """The live snapshot, held until the block ends: a swap meanwhile does not close it."""
        with self._lock:
            snap = self._current
            snap.users += 1
        try:
            yield snap
        finally:
            with self._lock:
                snap.users -= 1
                release = snap.retired and snap.users == 0
            if release:
                snap.close()

    def reload(self) -> bool:
        """Swap to the build CURRENT names if it is not the live one; True when it swapped. A build that fails to
        load is reported once (log, `status()`, a `build-failed` event) and the live snapshot keeps serving."""
        with self._reload_lock:
            build_id = current_build_id(self.settings.index_dir)
            if build_id is None or build_id == self._current.build_id or build_id == self._failed:
                return False
            try:
                new = load_snapshot(self.settings, self.embedder)  # refuses a damaged build or another embedder
            except KbError as exc:
                self._failed = build_id
                self.load_error = {"build": build_id, "message": self.public(exc.message), "at": time.time()}
                log.error("new build %s not loaded, still serving %s: %s", build_id, self._current.build_id,
                          exc.message)
                self.events.publish(BUILDS, "build-failed", {"build": build_id, "serving": self._current.build_id,
                                                             "message": self.public(exc.message)})
                return False
            with self._lock:
                old, self._current = self._current, new
                old.retired = True
                release = old.users == 0
            if release:
                old.close()
            self._failed, self.load_error = None, None
            diff = changes(old, new)
            log.info("now serving build %s (was %s); changed modules: %s", new.build_id, old.build_id,
                     ", ".join(diff["modules"]) or "none")
            self.events.publish(BUILDS, "build", {"build": new.build_id, "previous": old.build_id, **diff,
                                                  "errors": len(new.errors())})
            return True

    def rebuild(self, wait: float = 600) -> bool:
        """Build the index from the content folder (only changed chunks are embedded), then swap to it."""
        from kb.build import build_index

        started = time.time()
        try:
            report = build_index(self.settings, self.embedder, progress=False, wait=wait)
        except KbError as exc:
            self.last_build = {"ok": False, "at": started, "message": self.public(exc.message)}
            log.error("rebuild failed, still serving %s: %s", self._current.build_id, exc.message)
            self.events.publish(BUILDS, "build-failed", {"build": None, "serving": self._current.build_id,
                                                         "message": self.public(exc.message)})
            return False
        errors = [f for f in report.findings if f.severity == "error"]
        for f in errors:
            log.warning("%s", f.format())
        self.last_build = {"ok": True, "at": started, "build": report.manifest.build_id,
                           "seconds": round(report.seconds, 2), "embedded": report.embedded,
                           "errors": len(errors), "held_back": report.held_back, "skipped": report.skipped}
        return self.reload()

    def warm(self) -> None:
        """Fill the caches a rebuild reads (`kb.build.pipeline.warm`); the content watcher calls it at start."""
        from kb.build.pipeline import warm

        warm(self.settings, self.embedder)

    # --- watchers ---

    def start(self, watch_content: bool = False, poll: float = 0.25) -> None:
        """Follow the CURRENT pointer and the presentation sessions other processes move (always) and, with
        `watch_content`, rebuild when content files change."""
        from kb.runtime.sessions import SessionFollower
        from kb.runtime.watch import ContentWatcher, PointerWatcher

        if self._threads:
            return
        self._threads.append(PointerWatcher(self, poll))
        self._threads.append(SessionFollower(self.sessions))
        if watch_content:
            self._threads.append(ContentWatcher(self.settings.content_dir, self.rebuild, warm=self.warm))
        for t in self._threads:
            t.start()

    def close(self) -> None:
        """Stop the watchers and end the event streams (the live snapshot stays readable until exit)."""
        self.events.close()
        for t in self._threads:
            t.stop()
        self._threads.clear()
        with self._sessions_lock:
            sessions, self._sessions = self._sessions, None
        if sessions is not None:
            sessions.close()

    def public(self, message: str) -> str:
        """A message as responses may show it: the server's folders named by role, never by their path (the log
        keeps the full message)."""
        for folder, name in ((self.settings.index_dir, "<index>"), (self.settings.content_dir, "<content>")):
            for form in {str(Path(folder).resolve()), str(folder)}:
                if form not in ("", "."):
                    message = message.replace(form, name)
        return message

    def status(self) -> dict[str, Any]:
        """What /api/health shows about the runtime: the live build, what failed to load, the last rebuild."""
        snap = self._current
        m = snap.reader.manifest
        return {
            "index": {"build_id": m.build_id, "embedder": m.embedder, "dim": m.dim, "vectors": m.vectors,
                      "documents": m.documents, "sections": m.sections, "chunks": m.chunks,
                      "languages": m.languages, "built_at": m.built_at, "skipped": m.skipped,
                      "held_back": m.held_back},
            "errors": snap.errors(),
            "load_error": self.load_error,
            "last_build": self.last_build,
            "watching": [t.name for t in self._threads],
            "subscribers": self.events.subscribers,
            "pid": os.getpid(),
        }


def open_searcher(settings: Settings, embedder: Embedder | None = None):  # noqa: ANN201
    """The live build's searcher, for one-shot use (`kb search`, benchmarks)."""
    return KnowledgeBase(settings, embedder).current.searcher
