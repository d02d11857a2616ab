"""Where builds live in an index folder, how one becomes live, and the lock that lets one build run at a time.

    <index>/CURRENT              name of the live build (replaced atomically with os.replace)
    <index>/builds/<id>/         manifest.json, meta.sqlite, vectors-<lang>.faiss, glossary.yaml, sources/
    <index>/builds/<id>.tmp/     a build being written (an orphan after a kill; the next build removes it)
    <index>/cache.sqlite         embedding cache keyed by (embedder, chunk-text hash), shared by builds
    <index>/sessions.sqlite      the trainer mode's presentation sessions (kb.store.sessions), shared by workers
    <index>/.lock                held by the one build that may write

A build is written to `builds/<id>.tmp`, renamed, and only then named in CURRENT: a crash or a kill at any point
leaves the previous build live and complete."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from filelock import FileLock, Timeout

from kb.store.errors import IndexBusyError
from kb.store.manifest import MANIFEST, Manifest, read_manifest_file

POINTER = "CURRENT"
SOURCES = "sources"
"""`builds/<id>/sources/<module>/<lang>.md`: the exact bytes of each file a build indexed without errors, so that a
later build can keep serving a file's last good version while its current one has errors."""
KEEP_PREVIOUS = 1
"""Finished builds kept besides the live one: a server that has not swapped yet still reads from its own."""


def current_build_id(index_dir: Path) -> str | None:
    """The name in CURRENT, or None; cheap enough to poll (one small read)."""
    try:
        name = (index_dir / POINTER).read_text(encoding="utf-8").strip()
    except (FileNotFoundError, NotADirectoryError, UnicodeDecodeError):
        return None
    return name or None


def current_build(index_dir: Path) -> Path | None:
    """The live build folder, or None when nothing was ever built completely."""
    name = current_build_id(index_dir)
    if name is None or "/" in name or name.startswith("."):
        return None
    build = index_dir / "builds" / name
    return build if (build / MANIFEST).is_file() else None


def read_manifest(index_dir: Path) -> Manifest | None:
    """The live build's manifest (checked for shape, not its files), or None when there is no build."""
    build = current_build(index_dir)
    return read_manifest_file(build / MANIFEST) if build else None


def last_good_source(index_dir: Path, module: str, lang: str) -> bytes | None:
    """The bytes of `<module>/<lang>.md` as the live build indexed it, or None when it has no good copy."""
    build = current_build(index_dir)
    try:
        return (build / SOURCES / module / f"{lang}.md").read_bytes() if build else None
    except OSError:
        return None


def new_build_dir(index_dir: Path, build_id: str) -> Path:
    """A fresh temp folder for a build. Called under the build lock, so any other `.tmp` is an orphan of a killed
    build and is removed here: orphans never accumulate."""
    builds = index_dir / "builds"
    builds.mkdir(parents=True, exist_ok=True)
    for orphan in builds.glob("*.tmp"):
        shutil.rmtree(orphan, ignore_errors=True)
    tmp = builds / f"{build_id}.tmp"
    tmp.mkdir()
    return tmp


def publish(index_dir: Path, tmp_dir: Path, manifest: Manifest) -> Path:
    """Make a finished build live: manifest last inside it, rename, then switch CURRENT atomically."""
    write_json(tmp_dir / MANIFEST, manifest.as_dict())
    fsync_dir(tmp_dir)
    final = tmp_dir.with_name(tmp_dir.name.removesuffix(".tmp"))
    os.replace(tmp_dir, final)
    pointer_tmp = index_dir / f"{POINTER}.tmp"
    pointer_tmp.write_text(final.name + "\n", encoding="utf-8")
    fsync(pointer_tmp)
    os.replace(pointer_tmp, index_dir / POINTER)
    fsync_dir(index_dir)
    prune(index_dir, keep=final.name)
    return final


def prune(index_dir: Path, keep: str) -> None:
    """Drop old builds, keeping the newest previous ones for a server that still has one open."""
    builds = sorted((p for p in (index_dir / "builds").iterdir() if p.is_dir() and not p.name.endswith(".tmp")
                     and p.name != keep), key=lambda p: p.name)
    for old in builds[:-KEEP_PREVIOUS] if KEEP_PREVIOUS else builds:
        shutil.rmtree(old, ignore_errors=True)


@contextmanager
def build_lock(index_dir: Path, wait: float = 0) -> Iterator[None]:
    """Hold the index folder's build lock; another holder makes this wait up to `wait` seconds, then refuse."""
    index_dir.mkdir(parents=True, exist_ok=True)
    lock = FileLock(index_dir / ".lock", timeout=wait)
    try:
        lock.acquire()
    except Timeout:
        raise IndexBusyError(f"another build of {index_dir} is running; wait for it to finish (or use "
                             f"'kb index --wait')") from None
    try:
        yield
    finally:
        lock.release()


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")
    fsync(path)


def fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(path: Path) -> None:
    """A rename is durable only once its folder is synced."""
    fsync(path)
