"""Presentation sessions that survive: kept in the index folder's store, so a restarted server still knows them
(and the presenter's cookie still drives them) and the workers of `kb serve --workers 2` share them; a phone whose
connection really drops (a TCP proxy between it and the server, cut and restored) lands on the presenter's
current slide when it is back, also when the server swapped to a new build meanwhile."""

from __future__ import annotations

import asyncio
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from kb.runtime import KnowledgeBase
from kb.runtime.events import EventBroker
from kb.runtime.sessions import SessionFollower, Sessions
from kb.store.sessions import SESSIONS_FILE
from tests.conftest import edit, free_port, run_coroutine, serve, until
from tests.test_browser import Tab, expect
from tests.test_browser_present import context, current

ROOT = Path(__file__).resolve().parent.parent


# --- the store, without a server ---

def test_sessions_are_kept_in_the_index_folder_and_shared_by_processes(tmp_path: Path) -> None:
    a, b = Sessions(tmp_path, EventBroker()), Sessions(tmp_path, EventBroker())
    started = a.start("liver-tace", ["zh", "vi"])
    on_disk = b"".join(p.read_bytes() for p in tmp_path.glob(SESSIONS_FILE + "*"))
    assert started.token and started.token.encode() not in on_disk  # only its hash is kept
    seen = b.get(started.id)
    assert (seen.module, seen.langs) == ("liver-tace", ["zh", "vi"])
    assert seen.allows(started.token) and not seen.allows("a guess") and not seen.allows(None)
    assert b.position(started.id) is None  # the presenter has not moved yet

    followers = [SessionFollower(a, poll=0.02), SessionFollower(b, poll=0.02)]
    for f in followers:
        f.start()

    async def one_move() -> tuple[list, list]:
        with a.events.subscribe([started.channel]) as here, b.events.subscribe([started.channel]) as there:
            moved = a.move(seen, "overview", 1, 9, False)
            got_there = [await asyncio.wait_for(there.queue.get(), 30)]
            until(lambda: followers[0].seen >= moved["seq"], 30)  # a's own poll has seen its own move too
            return [here.queue.get_nowait() for _ in range(here.queue.qsize())], got_there

    here, there = run_coroutine(one_move())
    for f in followers:
        f.stop()
    # the worker that took the move sent it once (its poll skips its own moves); the other got it from the store
    assert [e.data["slide"] for e in here] == ["overview"]
    assert there[0].name == "slide" and there[0].data == here[0].data
    assert there[0].data["seq"] == b.position(started.id)["seq"]
    a.close()
    b.close()

    restarted = Sessions(tmp_path, EventBroker())  # a server started again over the same index folder
    assert restarted.position(started.id)["slide"] == "overview"
    assert restarted.get(started.id).allows(started.token)
    restarted.close()


def test_the_registry_is_bounded_and_ends_the_oldest_session(tmp_path: Path) -> None:
    sessions = Sessions(tmp_path, EventBroker(), limit=3)
    ids = [sessions.start("liver-tace", ["en", "vi"]).id for _ in range(4)]
    assert sessions.get(ids[0]) is None and all(sessions.get(i) for i in ids[1:])
    sessions.close()


# --- a real server restarted under a phone ---

def start_session(page, module: str = "liver-tace", langs: str = "en,vi") -> str:  # noqa: ANN001
    page.goto(f"/present/{module}/presenter?langs={langs}")
    page.get_by_role("button", name="Start an audience session").click()
    expect(page.locator("body")).to_have_attribute("data-session", re.compile(r"^[A-Za-z0-9]+$"))
    return page.locator("body").get_attribute("data-session")


def network_noise(errors: list[str]) -> list[str]:
    """A page's errors without the failed requests a dropped connection causes (they are the point here)."""
    return [e for e in errors if "net::ERR" not in e and "Failed to load resource" not in e]


@pytest.mark.browser
def test_a_phone_still_follows_after_the_server_restarts(browser, fresh, embedder) -> None:  # noqa: ANN001
    from kb.web.app import create_app

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    presenter_ctx = context(browser, base, 1600, 900)
    phone_ctx = context(browser, base, 390, 844, locale="vi-VN", is_mobile=True)
    p = presenter_ctx.new_page()
    phone = Tab(phone_ctx.new_page())
    kb = KnowledgeBase(fresh, embedder)
    kb.start()
    with serve(create_app(kb), port):
        session = start_session(p)
        phone.page.goto(f"/follow/{session}?lang=vi")
        p.locator('[data-list-key="deb-tace"]').click()
        expect(phone.page.locator("body")).to_have_attribute("data-current", "deb-tace")
        kb.close()  # ends the event streams, then the server stops: the room's laptop restarts kb serve
    expect(phone.page.locator("body")).to_have_attribute("data-connected", "false")
    again = KnowledgeBase(fresh, embedder)
    again.start()
    try:
        with serve(create_app(again), port):
            expect(phone.page.locator("body")).to_have_attribute("data-connected", "true", timeout=30_000)
            # the presenter's cookie still drives the session, and the phone follows
            p.locator('[data-list-key="aftercare"]').click()
            expect(phone.page.locator("body")).to_have_attribute("data-current", "aftercare")
            late = phone_ctx.new_page()  # a phone that scans the code only now starts on the current slide
            late.goto(f"/follow/{session}?lang=en")
            expect(late.locator("body")).to_have_attribute("data-current", "aftercare")
            assert network_noise(phone.errors) == []
            again.close()
    finally:
        again.close()
        presenter_ctx.close()
        phone_ctx.close()


# --- a phone's connection really dropped: a TCP proxy between it and the server ---

class Proxy:
    """A TCP proxy from a loopback port to the server that a test cuts (every open connection dropped, new ones
    closed as soon as they arrive, as when a phone leaves the Wi-Fi or sleeps) and restores."""

    def __init__(self, target_port: int) -> None:
        self.target = target_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.up = True
        self._lock = threading.Lock()
        self._open: set[socket.socket] = set()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.up:
                client.close()
                continue
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self._lock:
                self._open |= {client, upstream}
            for src, dst in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while data := src.recv(65536):
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for s in (src, dst):
                _drop(s)
            with self._lock:
                self._open -= {src, dst}

    def cut(self) -> None:
        self.up = False
        with self._lock:
            conns, self._open = self._open, set()
        for s in conns:
            _drop(s)

    def restore(self) -> None:
        self.up = True

    def close(self) -> None:
        self.cut()
        self.listener.close()


def _drop(s: socket.socket) -> None:
    try:
        s.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    s.close()


@pytest.mark.browser
def test_a_phone_whose_connection_drops_lands_on_the_current_slide_and_build(browser, live, fresh) -> None:  # noqa: ANN001
    kb, url = live
    proxy = Proxy(urlsplit(url).port)
    presenter_ctx = context(browser, url, 1600, 900)
    phone_ctx = context(browser, proxy.url, 390, 844, locale="vi-VN", is_mobile=True)
    p = presenter_ctx.new_page()
    phone = Tab(phone_ctx.new_page())
    body = phone.page.locator("body")
    try:
        session = start_session(p)
        phone.page.goto(f"/follow/{session}?lang=vi")  # through the proxy: the phone's network
        p.locator('[data-list-key="overview"]').click()
        expect(body).to_have_attribute("data-current", "overview")
        expect(body).to_have_attribute("data-connected", "true")

        proxy.cut()
        expect(body).to_have_attribute("data-connected", "false")
        for _ in range(3):  # the presenter moves on while the phone is away
            p.keyboard.press("ArrowRight")
        away = current(p)
        until(lambda: (kb.sessions.position(session) or {}).get("slide") == away, 30)
        assert away != "overview" and body.get_attribute("data-current") == "overview"  # it really was cut off
        proxy.restore()
        # EventSource reconnects by itself; the stream's hello carries the presenter's position
        expect(body).to_have_attribute("data-current", away)
        expect(body).to_have_attribute("data-connected", "true")

        # away again, and meanwhile the server swaps to a new build of this module
        proxy.cut()
        expect(body).to_have_attribute("data-connected", "false")
        before = body.get_attribute("data-build")
        p.keyboard.press("ArrowRight")
        last = current(p)
        edit(fresh, "usually settles", "usually settles (a build while the phone slept)")
        until(lambda: kb.current.build_id != before, 120)
        until(lambda: (kb.sessions.position(session) or {}).get("slide") == last, 30)
        proxy.restore()
        expect(body).not_to_have_attribute("data-build", before, timeout=60_000)  # the page reloaded
        expect(body).to_have_attribute("data-build", kb.current.build_id)
        expect(body).to_have_attribute("data-current", last)
        assert network_noise(phone.errors) == []
    finally:
        proxy.close()
        presenter_ctx.close()
        phone_ctx.close()


# --- two workers: a move taken by either reaches the phones on both ---

class Phone(threading.Thread):
    """A server-sent events client on the session's channel, recording each change's `seq` (the store's change
    number, the same on every worker)."""

    def __init__(self, base: str, session: str) -> None:
        super().__init__(daemon=True)
        self.base, self.session = base, session
        self.hello: dict | None = None
        self.seqs: list[int] = []
        self.client = httpx.Client(base_url=base, timeout=httpx.Timeout(10, read=None))

    def run(self) -> None:
        name = None
        try:
            with self.client.stream("GET", "/api/events", params={"channel": f"present:{self.session}"}) as s:
                for line in s.iter_lines():
                    if line.startswith("event:"):
                        name = line.split(":", 1)[1].strip()
                    elif line.startswith("data:") and name == "hello":
                        self.hello = json.loads(line.split(":", 1)[1])
                    elif line.startswith("data:") and name == "slide":
                        self.seqs.append(json.loads(line.split(":", 1)[1])["seq"])
        except (httpx.HTTPError, RuntimeError, ValueError):
            pass  # closed by the test

    def close(self) -> None:
        self.client.close()


def subscribers_per_worker(base: str, asks: int = 30) -> dict[int, int]:
    """Each worker's subscriber count, asked on fresh connections (the kernel hands each to either worker)."""
    seen: dict[int, int] = {}
    for _ in range(asks):
        health = httpx.get(f"{base}/api/health", timeout=30, headers={"Connection": "close"}).json()
        seen[health["pid"]] = health["subscribers"]
    return seen


@pytest.mark.slow
def test_with_two_workers_every_phone_gets_every_move(settings) -> None:  # noqa: ANN001
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tempfile.TemporaryFile()
    server = subprocess.Popen(
        [sys.executable, "-m", "kb.cli", "serve", "--no-build", "--content", str(settings.content_dir), "--index",
         str(settings.index_dir), "--port", str(port), "--workers", "2"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, stdout=subprocess.DEVNULL, stderr=log)
    phones: list[Phone] = []
    try:
        def answers() -> bool:
            try:
                return httpx.get(f"{base}/api/health", timeout=5).status_code == 200
            except httpx.HTTPError:
                return server.poll() is not None  # died: stop waiting, the assert below shows its log

        until(answers, 180)
        assert server.poll() is None, log.seek(0) or log.read().decode(errors="replace")[-2000:]
        r = httpx.post(f"{base}/present/liver-tace/session", data={"langs": "zh,vi"}, timeout=30)
        session = re.search(r"session=([A-Za-z0-9]+)", r.headers["location"]).group(1)
        cookies = {f"kb_present_{session}": r.cookies[f"kb_present_{session}"]}

        def both_workers_have_phones() -> bool:
            phones.extend(Phone(base, session) for _ in range(4))
            for ph in phones[-4:]:
                ph.start()
            until(lambda: all(ph.hello is not None for ph in phones), 60)
            counts = subscribers_per_worker(base)
            return len(counts) == 2 and all(counts.values())

        until(both_workers_have_phones, 120)
        moves = []
        for key in ["overview", "indications", "deb-tace", "aftercare", "overview", "contraindications"]:
            # a new connection for every move, so both workers take some of them
            answer = httpx.post(f"{base}/api/present/{session}/position", json={"slide": key}, cookies=cookies,
                                headers={"Connection": "close"}, timeout=30)
            assert answer.status_code == 200, answer.text
            moves.append(answer.json()["seq"])
            until(lambda: all(moves[-1] in ph.seqs for ph in phones), 60)
        assert all(ph.seqs == moves for ph in phones), [ph.seqs for ph in phones]
        # a phone connecting now, to either worker, starts on the last slide
        for _ in range(4):
            late = Phone(base, session)
            late.start()
            until(lambda late=late: late.hello is not None, 60)
            assert late.hello["last"][f"present:{session}"]["slide"] == "contraindications"
            late.close()
    finally:
        for ph in phones:
            ph.close()
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
