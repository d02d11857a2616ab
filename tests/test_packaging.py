"""A non-editable install serves every page: templates, static files, Swagger's assets and the compiled UI
catalogs travel inside the wheel, and nothing is read from the source tree."""

from __future__ import annotations

import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import httpx
import pytest

from kb.settings import Settings
from tests.conftest import free_port, until

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_a_wheel_installed_into_a_fresh_environment_serves_every_page(tmp_path: Path, settings: Settings) -> None:
    dist = tmp_path / "dist"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(dist), str(ROOT)], check=True, capture_output=True, timeout=600)
    wheel = next(dist.glob("oncology_kb-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for name in ("kb/web/site/templates/base.html", "kb/web/site/static/live.js",
                 "kb/web/translations/vi/LC_MESSAGES/messages.mo", "kb/web/translations/zh/LC_MESSAGES/messages.mo"):
        assert name in names

    # A fresh environment: the wheel's kb in its own site-packages; third-party packages from this one (a path
    # entry, so this environment's editable kb is not seen).
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               capture_output=True, text=True, check=True).stdout.strip())
    (site / "deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n", encoding="utf-8")
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", str(site), str(wheel)],
                   check=True, capture_output=True, timeout=600)
    where = subprocess.run([str(python), "-c", "import kb; print(kb.__file__)"], cwd=tmp_path,
                           capture_output=True, text=True, check=True).stdout
    assert where.startswith(str(site))

    port = free_port()
    server = subprocess.Popen([str(python), "-m", "kb.cli", "serve", "--no-build", "--port", str(port),
                               "--content", str(settings.content_dir), "--index", str(settings.index_dir)],
                              cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            def up() -> bool:
                try:
                    return http.get("/api/health").status_code == 200
                except httpx.TransportError:
                    return False

            until(up, 120)
            for path in ("/", "/modules", "/modules/liver-tace/en", "/compare/liver-tace?langs=zh,vi",
                         "/search?q=tace", "/api/search?q=tace", "/api/docs", "/api/docs/assets/swagger-ui.css",
                         "/static/app.css", "/static/live.js"):
                assert http.get(path).status_code == 200, path
            assert "Chuyên đề" in http.get("/modules?ui=vi").text  # the compiled catalog came with the wheel
            assert "专题" in http.get("/modules?ui=zh").text
    finally:
        server.terminate()
        server.wait(30)


@pytest.mark.slow
def test_several_workers_each_swap_to_a_new_build(fresh: Settings) -> None:
    from tests.conftest import edit

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "kb.cli", "serve", "--no-build", "--workers", "2", "--port",
                               str(port), "--content", str(fresh.content_dir), "--index", str(fresh.index_dir)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http:
            seen: dict[int, str] = {}

            def health() -> dict | None:
                try:
                    body = http.get("/api/health", headers={"Connection": "close"}).json()
                except httpx.TransportError:
                    return None
                seen[body["pid"]] = body["index"]["build_id"]
                return body

            until(lambda: health() and len(seen) == 2, 180)
            old = set(seen.values())
            edit(fresh, "usually settles", "settles (workers)")
            subprocess.run([sys.executable, "-m", "kb.cli", "index", "--quiet", "--content", str(fresh.content_dir),
                            "--index", str(fresh.index_dir)], check=True, capture_output=True, timeout=300)
            until(lambda: health() and len(seen) == 2 and not (set(seen.values()) & old), 120)
            assert len(set(seen.values())) == 1
    finally:
        server.terminate()
        server.wait(30)
