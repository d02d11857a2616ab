"""Why an index cannot be read or written. Each message names the folder or file and the command that fixes it."""

from __future__ import annotations

from pathlib import Path

from kb.errors import KbError


class IndexUnavailableError(KbError):
    """No usable index at the given place, or one built by another embedder or format."""


class DamagedIndexError(IndexUnavailableError):
    """A file of a build is missing, truncated or changed since the build wrote it."""

    def __init__(self, path: Path, problem: str) -> None:
        build = path.parent
        index_dir = build.parent.parent
        super().__init__(f"{path}: {problem}; the build {build.name} is damaged: rebuild the index with "
                         f"'kb index --index {index_dir}'")
        self.path = path


class IndexBusyError(KbError):
    """Another build of the same index folder holds the lock."""


def embedder_mismatch(index_dir: Path, built_by: str, wanted: str) -> IndexUnavailableError:
    """The one message for an index queried by an embedder other than the one that built it."""
    return IndexUnavailableError(
        f"the index in {index_dir} was built by '{built_by}', not '{wanted}': rebuild it with "
        f"'kb index --embedder {wanted} --index {index_dir}', or use '--embedder {built_by}'")
