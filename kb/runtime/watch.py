"""The two watchers of a running knowledge base, each a daemon thread that stops on request.

- `PointerWatcher` polls the index's CURRENT pointer. It is one small file replaced atomically by whichever
  process built (this server, another worker, `kb index` in another shell); a read every 250 ms costs nothing,
  works in every worker and on any file system, and cannot miss a swap the way a dropped inotify event could.
- `ContentWatcher` watches the content folder with watchfiles (inotify, debounced) and calls a rebuild for a
  change to a guideline or glossary file; editors' swap and backup files are ignored."""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from watchfiles import Change, watch

log = logging.getLogger("kb.watch")

CONTENT_SUFFIXES = (".md", ".yaml", ".yml")


class PointerWatcher(threading.Thread):
    name = "index"

    def __init__(self, kb, poll: float = 0.25) -> None:  # noqa: ANN001 - a KnowledgeBase
        super().__init__(name="kb-index-watcher", daemon=True)
        self.kb, self.poll = kb, poll
        self._halt = threading.Event()

    def run(self) -> None:
        while not self._halt.wait(self.poll):
            try:
                self.kb.reload()
            except Exception:  # a watcher must outlive any one bad build; reload reports its own errors
                log.exception("reloading the index failed")

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)


def content_file(change: Change, path: str) -> bool:
    """A change worth a rebuild: a guideline or glossary file, not an editor's temp file."""
    name = Path(path).name
    return name.endswith(CONTENT_SUFFIXES) and not name.startswith((".", "#")) and not name.endswith("~")


class ContentWatcher(threading.Thread):
    name = "content"

    def __init__(self, content_dir: Path, rebuild: Callable[[], object], debounce_ms: int = 800,
                 step_ms: int = 100, warm: Callable[[], object] | None = None) -> None:
        super().__init__(name="kb-content-watcher", daemon=True)
        self.content_dir, self.rebuild, self.warm = Path(content_dir), rebuild, warm
        self.debounce_ms, self.step_ms = debounce_ms, step_ms
        self._halt = threading.Event()

    def run(self) -> None:
        log.info("watching %s for changes", self.content_dir)
        if self.warm is not None:
            threading.Thread(target=self._warm, name="kb-content-warm", daemon=True).start()
        for changes in watch(self.content_dir, watch_filter=content_file, debounce=self.debounce_ms,
                             step=self.step_ms, stop_event=self._halt, raise_interrupt=False,
                             yield_on_timeout=False):
            names = sorted({os.path.relpath(p, self.content_dir) for _, p in changes})
            log.info("content changed (%s): rebuilding", ", ".join(names[:5]) + (" …" if len(names) > 5 else ""))
            try:
                self.rebuild()
            except Exception:  # keep watching: the next save may fix it; rebuild reports its own errors
                log.exception("rebuild after a content change failed")

    def _warm(self) -> None:
        """Beside the watching, do a rebuild's cacheable work once (`kb.build.pipeline.warm`), so that the first
        save after a start is as quick as the next ones."""
        try:
            self.warm()
        except Exception:  # noqa: BLE001 - only a warm-up: the rebuild reports what is wrong with the content
            log.debug("warming the content caches failed", exc_info=True)

    def stop(self) -> None:
        self._halt.set()
        self.join(timeout=5)
