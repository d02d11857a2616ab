"""The index on disk: the only package that knows SQLite and FAISS.

- `layout`: where builds live, the CURRENT pointer, atomic publication, the build lock;
- `manifest`: what a build holds, with the size and SHA-256 of every file, verified at load;
- `writer.BuildWriter`: the write side, used by the build layer;
- `reader.BuildReader`: the read side (rows, keyword and vector search), used by search, pages and the runtime;
- `vectors`: the `VectorIndex` protocol and its FAISS implementation, picked by the name in the manifest;
- `sessions`: the trainer mode's presentation sessions, kept beside the builds and shared by every worker."""

from kb.store.errors import DamagedIndexError, IndexBusyError, IndexUnavailableError, embedder_mismatch
from kb.store.layout import build_lock, current_build, current_build_id, read_manifest
from kb.store.manifest import FORMAT, Manifest
from kb.store.reader import BuildReader
from kb.store.rows import Chunk, DocumentRow, FindingRow, RecommendationRow, SectionRow
from kb.store.writer import BuildWriter

__all__ = [
    "FORMAT", "BuildReader", "BuildWriter", "Chunk", "DamagedIndexError", "DocumentRow", "FindingRow",
    "IndexBusyError", "IndexUnavailableError", "Manifest", "RecommendationRow", "SectionRow", "build_lock",
    "current_build", "current_build_id", "embedder_mismatch", "read_manifest",
]
