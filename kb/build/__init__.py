"""The build layer: content documents -> chunks -> embeddings (cached) -> a new build written through the store."""

from kb.build.pipeline import BuildError, BuildReport, build_index, fingerprint, is_stale

__all__ = ["BuildError", "BuildReport", "build_index", "fingerprint", "is_stale"]
