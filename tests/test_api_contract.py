"""The API against its own OpenAPI schema: schemathesis' engine (examples, coverage of bounds, enums and
undocumented methods, fuzzing, stateful) sends valid and invalid requests to the app in-process over ASGI, with
the real index and embedder, and runs every built-in check: no 5xx, status codes, content types, headers and
bodies as documented, invalid data rejected, valid data accepted, 405 with `Allow` on undocumented methods.

The run is bounded by the number of generated examples per operation. It runs in a fresh Python process, apart
from the session's server threads and watchers; `schemathesis.pytest.from_fixture` does not run under pytest 9."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

EXAMPLES = 40
CONFIG = {"generation": {"max-examples": EXAMPLES}, "seed": 20261201}
"""No `max-time`: with one, the engine keeps fuzzing until that time is up (the subprocess timeout guards hangs)."""


def run_contract(content_dir: Path, index_dir: Path) -> tuple[list[str], str, int]:
    """Failures (each with a curl line to reproduce it), why the engine stopped, and how many scenarios ran."""
    import schemathesis
    from schemathesis.config import SchemathesisConfig
    from schemathesis.engine import Status, events, from_schema

    from kb.runtime import KnowledgeBase
    from kb.settings import Settings
    from kb.web.app import create_app

    kb = KnowledgeBase(Settings(content_dir=content_dir, index_dir=index_dir))
    schema = schemathesis.openapi.from_asgi("/api/openapi.json", create_app(kb),
                                            config=SchemathesisConfig.from_dict(CONFIG))
    schema = schema.exclude(path="/api/events")  # an event stream never ends; its own tests cover it
    failures: list[str] = []
    stop, scenarios = "", 0
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            scenarios += 1
            for checks in event.recorder.checks.values():
                failures += [f"{event.label}: {c.name}: {c.failure_info.failure.title}\n"
                             f"{c.failure_info.code_sample}" for c in checks
                             if c.status == Status.FAILURE and c.failure_info is not None]
        elif isinstance(event, events.NonFatalError):
            failures.append(f"{event.label}: error: {event.info.format()}")
        elif isinstance(event, events.FatalError):
            raise event.exception
        elif isinstance(event, events.EngineFinished):
            stop = str(event.stop_reason)
    kb.close()
    return list(dict.fromkeys(failures)), stop, scenarios


def test_api_keeps_its_schema(settings) -> None:  # noqa: ANN001
    done = subprocess.run([sys.executable, __file__, str(settings.content_dir), str(settings.index_dir)],
                          capture_output=True, text=True, timeout=600, cwd=Path(__file__).parent.parent)
    assert done.returncode == 0, done.stdout[-5000:] + done.stderr[-5000:]
    assert "stop: completed" in done.stdout and "failures: 0" in done.stdout, done.stdout[-5000:]


if __name__ == "__main__":
    found, reason, count = run_contract(Path(sys.argv[1]), Path(sys.argv[2]))
    print("\n\n".join(found))
    print(f"stop: {reason}\nscenarios: {count}\nfailures: {len(found)}")
    sys.exit(1 if found or reason != "completed" else 0)
