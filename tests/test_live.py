"""The live knowledge base over a real server: edits and rebuilds reach running requests without a restart, and a
bad build never replaces a good one."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import httpx
import pytest
from bs4 import BeautifulSoup

from kb.build import build_index
from kb.runtime import KnowledgeBase
from kb.settings import Settings
from kb.store import current_build
from tests.conftest import edit, until


def test_an_edit_under_the_watched_folder_reaches_search_and_the_reading_page(live, fresh: Settings) -> None:  # noqa: ANN001
    kb, url = live
    before = kb.current.build_id
    edit(fresh, "usually settles", "usually settles (zanzibarine marker)")
    with httpx.Client(base_url=url, timeout=30) as http:
        def found() -> bool:
            hits = http.get("/api/search", params={"q": "zanzibarine", "lang": "en", "k": 3}).json()["results"]
            return bool(hits) and hits[0]["section"] == "aftercare"

        until(found)
        page = http.get("/modules/liver-tace/en")
        assert "zanzibarine" in page.text
        soup = BeautifulSoup(page.text, "html.parser")
        assert soup.body["data-build"] == kb.current.build_id != before
        assert soup.body["data-live-module"] == "liver-tace"
        assert http.get("/api/health").json()["last_build"]["embedded"] == 1  # only the changed chunk


def test_an_edit_with_errors_keeps_the_last_good_version_and_says_so(live, fresh: Settings) -> None:  # noqa: ANN001
    kb, url = live
    edit(fresh, "status: draft", "status: finished")
    until(lambda: kb.current.reader.manifest.held_back == ["liver-tace/en.md"])
    with httpx.Client(base_url=url, timeout=30) as http:
        health = http.get("/api/health").json()
        assert health["status"] == "degraded"
        assert health["errors"][0]["path"] == "liver-tace/en.md" and health["errors"][0]["rule"] == "field"
        assert str(fresh.content_dir) not in json.dumps(health)  # no server paths
        assert http.get("/api/search", params={"q": "DEB-TACE", "lang": "en"}).json()["results"]
        soup = BeautifulSoup(http.get("/modules/liver-tace/en?ui=en").text, "html.parser")
        banner = soup.select_one("[data-module-errors]")
        assert banner is not None and "liver-tace/en.md" in banner.get_text()
        other = BeautifulSoup(http.get("/modules/liver-tace/zh?ui=en").text, "html.parser")
        assert other.select_one("[data-module-errors]") is not None  # the whole module is flagged
    edit(fresh, "status: finished", "status: draft")
    until(lambda: not kb.current.reader.manifest.held_back)


def read_events(url: str, out: list[dict], ready: threading.Event, stop: threading.Event) -> None:
    with httpx.Client(timeout=httpx.Timeout(30, read=60)) as client, \
            client.stream("GET", f"{url}/api/events", params={"channel": "builds"}) as response:
        name = None
        for line in response.iter_lines():
            if line.startswith("event:"):
                name = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                out.append({"event": name, **json.loads(line.split(":", 1)[1])})
                ready.set()
            if stop.is_set():
                return


def test_an_event_stream_announces_each_new_build_with_what_changed(live, fresh: Settings) -> None:  # noqa: ANN001
    kb, url = live
    events: list[dict] = []
    ready, stop = threading.Event(), threading.Event()
    reader = threading.Thread(target=read_events, args=(url, events, ready, stop), daemon=True)
    reader.start()
    assert ready.wait(30)
    assert events[0]["event"] == "hello" and events[0]["build"] == kb.current.build_id
    edit(fresh, "usually settles", "often settles")
    build = until(lambda: next((e for e in events if e["event"] == "build"), None))
    assert build["modules"] == ["liver-tace"] and build["sections"] == {"liver-tace": {"en": ["aftercare"]}}
    assert build["build"] == kb.current.build_id and build["previous"] == events[0]["build"]
    stop.set()
    kb.events.publish("builds", "ping", {})  # wake the reader so it sees `stop`
    reader.join(10)
    until(lambda: kb.events.subscribers == 0, 30)  # a client that leaves is cleaned up


def test_a_build_made_by_another_process_is_picked_up(live, fresh: Settings) -> None:  # noqa: ANN001
    kb, url = live
    kb.close()  # no content watcher: only `kb index` in another process changes the index
    kb.start(watch_content=False)
    before = kb.current.build_id
    edit(fresh, "usually settles", "settles (outside build)")
    subprocess.run([sys.executable, "-m", "kb.cli", "index", "--quiet", "--content", str(fresh.content_dir),
                    "--index", str(fresh.index_dir)], check=True, capture_output=True, timeout=300)
    until(lambda: kb.current.build_id != before)
    with httpx.Client(base_url=url, timeout=30) as http:
        assert "outside build" in http.get("/modules/liver-tace/en").text


def test_a_request_holding_a_snapshot_finishes_on_it_after_a_swap(fresh: Settings, embedder) -> None:  # noqa: ANN001
    kb = KnowledgeBase(fresh, embedder)
    with kb.acquire() as old:
        edit(fresh, "usually settles", "settles (second build)")
        build_index(fresh, embedder, progress=False)
        assert kb.reload() and kb.current is not old
        # the request that took `old` still answers from it, whole
        assert old.searcher.search("DEB-TACE", lang="en", k=1).results[0].section == "deb-tace"
        assert "second build" not in old.library.document("liver-tace", "en").section("aftercare").text
        assert not old.retired or old.users == 1
    assert old.retired and old.users == 0  # released once its last user left
    assert "second build" in kb.current.library.document("liver-tace", "en").section("aftercare").text
    kb.close()


def test_requests_during_rebuilds_never_fail(live, fresh: Settings) -> None:  # noqa: ANN001
    kb, url = live
    failures: list[str] = []
    done = threading.Event()

    def client() -> int:
        n = 0
        with httpx.Client(base_url=url, timeout=60) as http:
            while not done.is_set():
                for path in ("/api/search?q=tace&k=5", "/modules/liver-tace/vi", "/compare/liver-tace"):
                    r = http.get(path)
                    n += 1
                    if r.status_code != 200:
                        failures.append(f"{path}: {r.status_code}")
        return n

    threads = [threading.Thread(target=client, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    for n in range(2):
        before = kb.current.build_id
        edit(fresh, "usually settles" if n == 0 else "usually calms", "usually calms" if n == 0 else "usually eases")
        until(lambda: kb.current.build_id != before)  # noqa: B023
    done.set()
    for t in threads:
        t.join(60)
    assert failures == []


def damage(build: Path, name: str, how: str) -> None:
    path = build / name
    if how == "truncate":
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    elif how == "garbage":
        data = bytearray(path.read_bytes())
        data[len(data) // 2: len(data) // 2 + 64] = b"\xff" * 64
        path.write_bytes(bytes(data))
    elif how == "delete":
        path.unlink()
    elif how == "bad-json":
        path.write_text("{not json", encoding="utf-8")


@pytest.mark.parametrize("name, how", [("vectors-zh.faiss", "truncate"), ("vectors-en.faiss", "garbage"),
                                       ("meta.sqlite", "garbage"), ("meta.sqlite", "truncate"),
                                       ("vectors-vi.faiss", "delete"), ("glossary.yaml", "garbage"),
                                       ("manifest.json", "bad-json")])
def test_a_damaged_build_is_refused_naming_the_file(fresh: Settings, embedder, name: str, how: str) -> None:  # noqa: ANN001
    kb = KnowledgeBase(fresh, embedder)
    good = kb.current.build_id
    edit(fresh, "usually settles", "settles (damaged build)")
    build_index(fresh, embedder, progress=False)
    damage(current_build(fresh.index_dir), name, how)
    assert not kb.reload()
    assert kb.current.build_id == good  # the running server keeps its good snapshot
    assert name in kb.status()["load_error"]["message"]
    assert str(fresh.index_dir) not in kb.status()["load_error"]["message"]  # no server paths in responses
    assert kb.current.searcher.search("DEB-TACE", lang="en", k=1).results
    kb.close()
    # the CLI names the file and the rebuild command, never a traceback
    run = subprocess.run([sys.executable, "-m", "kb.cli", "search", "tace", "--index", str(fresh.index_dir)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "Traceback" not in run.stderr
    assert name in run.stderr and "kb index --index" in run.stderr


def test_two_builds_at_once_one_refuses_clearly(fresh: Settings) -> None:
    from kb.store import build_lock

    args = [sys.executable, "-m", "kb.cli", "index", "--quiet", "--content", str(fresh.content_dir), "--index",
            str(fresh.index_dir)]
    before = current_build(fresh.index_dir)
    with build_lock(fresh.index_dir):
        run = subprocess.run(args, capture_output=True, text=True, timeout=120)
    assert run.returncode == 1 and "another build" in run.stderr and "--wait" in run.stderr
    assert "Traceback" not in run.stderr and run.stderr.startswith("kb: error: ")
    assert current_build(fresh.index_dir) == before
