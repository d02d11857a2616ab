"""The manifest of a build: what built it, what it holds, and the size and SHA-256 of every file it wrote, so a
reader can tell a complete build from a truncated, damaged or tampered one before it serves a single answer."""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from kb.store.errors import DamagedIndexError, IndexUnavailableError

FORMAT = 5
"""Bump when the files of a build change shape; a reader refuses other formats and says to rebuild.
3: checksums of every file, the vector backend by name, last good copies of the sources.
5: the recommendations table; per-language calibration means, word counts and keyword field columns."""

MANIFEST = "manifest.json"


@dataclass(frozen=True)
class FileEntry:
    size: int
    sha256: str


@dataclass(frozen=True)
class Manifest:
    format: int
    build_id: str
    embedder: str
    dim: int
    vectors: str
    """The vector backend that wrote the `vectors-<lang>` files (`kb.store.vectors.BACKENDS`)."""
    chunks: int
    documents: int
    sections: int
    languages: list[str]
    fingerprint: str
    built_at: str
    skipped: list[str] = field(default_factory=list)
    """Content files (relative to the content folder) with errors and no earlier good version: not indexed."""
    held_back: list[str] = field(default_factory=list)
    """Content files with errors that are served from their last good version instead."""
    files: dict[str, FileEntry] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: object, path: Path) -> Manifest:
        """A manifest from parsed JSON; a wrong shape is a DamagedIndexError naming the file."""
        if not isinstance(data, dict):
            raise DamagedIndexError(path, "the manifest is not a JSON object")
        if data.get("format") != FORMAT:
            raise IndexUnavailableError(f"the index in {path.parent.parent.parent} has format "
                                        f"{data.get('format')}, this version reads {FORMAT}: rebuild it with "
                                        f"'kb index --index {path.parent.parent.parent}'")
        names = {f.name for f in fields(cls)}
        missing = sorted(n for n in names if n not in data and n not in ("skipped", "held_back", "files"))
        if missing:
            raise DamagedIndexError(path, f"the manifest lacks {', '.join(missing)}")
        try:
            values = {k: v for k, v in data.items() if k in names}
            values["files"] = {str(n): FileEntry(int(e["size"]), str(e["sha256"]))
                               for n, e in dict(data.get("files") or {}).items()}
            manifest = cls(**values)
        except (TypeError, ValueError, KeyError, AttributeError) as exc:
            raise DamagedIndexError(path, f"the manifest has a field of the wrong type ({exc})") from None
        if not isinstance(manifest.dim, int) or not isinstance(manifest.languages, list):
            raise DamagedIndexError(path, "the manifest has a field of the wrong type")
        return manifest


def read_manifest_file(path: Path) -> Manifest:
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise DamagedIndexError(path, "the manifest is missing") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise DamagedIndexError(path, f"the manifest is not valid JSON ({exc})") from None
    return Manifest.from_dict(data, path)


def file_entry(path: Path) -> FileEntry:
    return FileEntry(path.stat().st_size, sha256_of(path))


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        while block := f.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def verify_files(build: Path, manifest: Manifest, hashes: bool = True) -> None:
    """Every file the manifest lists is there with its size and (with `hashes`) its SHA-256; the first that is not
    is a DamagedIndexError naming it. Sizes cost a stat; hashes about 10 ms per 10 MB (docs/reliability.md)."""
    for name, entry in manifest.files.items():
        path = build / name
        if not path.is_file():
            raise DamagedIndexError(path, "the file is missing")
        size = path.stat().st_size
        if size != entry.size:
            raise DamagedIndexError(path, f"the file has {size} bytes, the build wrote {entry.size}")
        if hashes and sha256_of(path) != entry.sha256:
            raise DamagedIndexError(path, "the file's content changed since the build wrote it (checksum)")
