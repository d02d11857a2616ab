"""Presentation sessions on disk (`<index>/sessions.sqlite`), shared by every worker of a server and kept across
restarts: a room keeps following when the server restarts, and `kb serve --workers N` can present.

SQLite rather than a JSON file under a file lock: several processes write (each worker takes presenters'
moves), a move is one small row update in a transaction instead of a rewrite of the whole file, readers never
wait for a writer (WAL), and SQLite is the store's business anyway. Every write takes the next number of one
change counter, so a worker learns what the others changed with one indexed query (`changed_since`), cheap
enough to run ten times a second.

Only a hash of each presenter's token is kept: a copy of this file does not let anyone move a room's slides."""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path

SESSIONS_FILE = "sessions.sqlite"
SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id TEXT PRIMARY KEY, deck TEXT NOT NULL, langs TEXT NOT NULL, token_hash TEXT NOT NULL,
    slide TEXT, slide_index INTEGER, slide_count INTEGER, blank INTEGER NOT NULL DEFAULT 0,
    version INTEGER NOT NULL, origin TEXT NOT NULL DEFAULT '', created REAL NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_version ON sessions (version);
CREATE INDEX IF NOT EXISTS sessions_created ON sessions (created);
CREATE TABLE IF NOT EXISTS counter (one INTEGER PRIMARY KEY CHECK (one = 1), n INTEGER NOT NULL);
INSERT OR IGNORE INTO counter VALUES (1, 0);
"""
COLUMNS = "id, deck, langs, token_hash, slide, slide_index, slide_count, blank, version, origin, created, updated"


@dataclass(frozen=True)
class SessionRow:
    id: str
    deck: str
    """The module's name, or `course:<name>`."""
    langs: tuple[str, ...]
    token_hash: str
    slide: str | None
    """The presenter's current slide key; None until the presenter first moves."""
    slide_index: int | None
    slide_count: int | None
    blank: bool
    version: int
    """The change counter's value at this row's last write: later writes have larger ones."""
    origin: str
    """Which process wrote last (its `SessionStore.origin`), so a worker skips its own changes."""
    created: float
    updated: float


def _row(r: tuple) -> SessionRow:
    return SessionRow(r[0], r[1], tuple(r[2].split(",")), r[3], r[4], r[5], r[6], bool(r[7]), r[8], r[9], r[10],
                      r[11])


class SessionStore:
    """The sessions table of one index folder; thread-safe (one connection behind a lock)."""

    def __init__(self, index_dir: Path, origin: str) -> None:
        index_dir.mkdir(parents=True, exist_ok=True)
        self.path = index_dir / SESSIONS_FILE
        self.origin = origin
        self._lock = threading.Lock()
        self.db = sqlite3.connect(self.path, timeout=10, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA busy_timeout=10000")
        if self.db.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
            self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")  # WAL: a power cut may lose the last move, never the file
        self.db.executescript(SCHEMA)

    def _write(self, sql: str, params: dict) -> int:
        """Run one write with the counter's next value as `:version`; returns that value."""
        with self._lock:
            self.db.execute("BEGIN IMMEDIATE")
            try:
                n = int(self.db.execute("UPDATE counter SET n = n + 1 RETURNING n").fetchone()[0])
                self.db.execute(sql, {**params, "version": n})
                self.db.execute("COMMIT")
            except BaseException:
                self.db.execute("ROLLBACK")
                raise
            return n

    def create(self, session_id: str, deck: str, langs: list[str], token_hash: str, limit: int) -> None:
        """A new session; beyond `limit` sessions the oldest are removed right after."""
        now = time.time()
        self._write("INSERT INTO sessions (id, deck, langs, token_hash, origin, created, updated, version) "
                    "VALUES (:id, :deck, :langs, :token_hash, :origin, :now, :now, :version)",
                    {"id": session_id, "deck": deck, "langs": ",".join(langs), "token_hash": token_hash,
                     "origin": self.origin, "now": now})
        with self._lock:
            self.db.execute("DELETE FROM sessions WHERE id NOT IN "
                            "(SELECT id FROM sessions ORDER BY created DESC LIMIT ?)", (limit,))

    def get(self, session_id: str) -> SessionRow | None:
        with self._lock:
            r = self.db.execute(f"SELECT {COLUMNS} FROM sessions WHERE id = ?", (session_id,)).fetchone()
        return _row(r) if r else None

    def move(self, session_id: str, slide: str, index: int, count: int, blank: bool) -> int:
        """Record the presenter's position; returns the change's version."""
        return self._write("UPDATE sessions SET slide = :slide, slide_index = :index, slide_count = :count, "
                           "blank = :blank, origin = :origin, updated = :now, version = :version WHERE id = :id",
                           {"id": session_id, "slide": slide, "index": index, "count": count, "blank": int(blank),
                            "origin": self.origin, "now": time.time()})

    def version(self) -> int:
        """The change counter: it grows with every write by any process."""
        with self._lock:
            return int(self.db.execute("SELECT n FROM counter").fetchone()[0])

    def changed_since(self, version: int) -> list[SessionRow]:
        """Sessions written after `version`, oldest change first."""
        with self._lock:
            rows = self.db.execute(f"SELECT {COLUMNS} FROM sessions WHERE version > ? ORDER BY version",
                                   (version,)).fetchall()
        return [_row(r) for r in rows]

    def close(self) -> None:
        with self._lock:
            self.db.close()
