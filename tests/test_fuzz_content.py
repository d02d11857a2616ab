"""Property tests (hypothesis) for everything that reads text people type: the front matter YAML, the module
parser, Markdown rendering, the chunker, the keyword tokenizer and query validation.

The contract under test: whatever the input, the only way out other than a result is the project's own error
(`YamlProblem`, `SearchError`, a `Finding`), and where a round trip exists (YAML data, a well-formed module, a
section cut into chunks) nothing is lost on the way."""

from __future__ import annotations

import re
import sqlite3
import tempfile
import unicodedata
from pathlib import Path

import pytest
import yaml
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from kb import yamlsafe
from kb.build.chunking import chunk_section
from kb.content import Document, Section, parse_document
from kb.embedders import Embedder
from kb.markdown import render_html
from kb.search import MAX_QUERY, Searcher, SearchError
from kb.text import INVISIBLE, SPACE, fold, fts_query, tokens

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

WORDS = st.text(alphabet="abcxyzđươàáạảãăâêôơư 肺癌治疗消融 ΑΒ-0123.", min_size=1, max_size=12)
YAML_BITS = st.sampled_from(["---", "a: &x [1, 2]", "b: *x", "r: &r [*r]", "updated: 2026-13-45", "? [k]\n: v",
                             "[[[[[[[[[[[[[[[[[[[[", "n: !!int 1" + "1" * 5000, "x: !!python/object:os.system",
                             "title: \"unterminated", "\x00", "\t- a", "<<: {m: 1}", "lang: en", "module: m",
                             "sources: [a, b]", "~: null", "k: !!binary aGVsbG8=", "s: !!set {a, b}", "{", "- "])


def _depth(value: object) -> int:
    if isinstance(value, dict):
        return 1 + max(map(_depth, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_depth, value), default=0)
    return 0


TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20)
"""Text that PyYAML's emitter writes faithfully (it folds NEL and line separators, which YAML reads as breaks)."""
JSONISH = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(TEXT, children, max_size=4),
    max_leaves=12,
)


# --- YAML ---------------------------------------------------------------------------------------------------------

@FUZZ
@given(st.one_of(st.text(max_size=300), st.lists(YAML_BITS | st.text(max_size=20), max_size=8).map("\n".join)))
@example("\r\r0\n---").via("found by a fresh clone's run: lone CRs end lines for YAML")
@example("a: 1\u2028b: [").via("a pasted line separator")
def test_yaml_loader_raises_only_its_own_problem(text: str) -> None:
    try:
        yamlsafe.load(text, max_bytes=20_000)
    except yamlsafe.YamlProblem as problem:
        assert problem.line >= 1 and problem.message
        assert problem.line <= len(re.findall("\r\n|\r|\n", text)) + 2  # lines as an editor counts them


def test_yaml_lines_are_an_editors_lines_whatever_ends_them() -> None:
    """A problem on the third line is reported on line 3 with LF, CR LF or lone CR line ends; a pasted line
    separator, which YAML would count as a line and no editor shows, is refused at its own line."""
    for end in ("\n", "\r\n", "\r"):
        with pytest.raises(yamlsafe.YamlProblem) as caught:
            yamlsafe.load(end.join(["title: x", "lang: en", "tags: a: b", "more: c"]), max_bytes=1000)
        assert caught.value.line == 3, repr(end)
    data, _ = yamlsafe.load("title: a\r\nlang: en\r\n", max_bytes=1000)
    assert data == {"title": "a", "lang": "en"}
    with pytest.raises(yamlsafe.YamlProblem, match="U\\+2028") as caught:
        yamlsafe.load("title: a\nsummary: one\u2028two\n", max_bytes=1000)
    assert caught.value.line == 2


@FUZZ
@given(JSONISH)
def test_yaml_round_trip_of_plain_data(data: object) -> None:
    assume(_depth(data) <= yamlsafe.MAX_DEPTH)
    assert yamlsafe.load(yaml.safe_dump(data, allow_unicode=True), max_bytes=1_000_000)[0] == data


def test_yaml_alias_bomb_is_refused_at_its_line() -> None:
    bomb = "\n".join(["a: &a [x, x, x, x, x, x, x, x, x]"] +
                     [f"{c}: &{c} [{', '.join(['*' + p] * 9)}]" for p, c in zip("abcdefgh", "bcdefghi", strict=True)])
    with pytest.raises(yamlsafe.YamlProblem) as problem:
        yamlsafe.load(bomb + "\nupdated: *i\n", max_bytes=64_000)
    assert problem.value.line == 1 and "anchor '&a'" in problem.value.message


# --- module files ------------------------------------------------------------------------------------------------

def _parse_text(text: str) -> tuple[Document | None, list]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "m" / "en.md"
        path.parent.mkdir()
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return parse_document(path)


MODULE_TEXT = st.lists(
    YAML_BITS | st.sampled_from(["## Heading {#h}", "### Sub {#s}", "# Title", "## No id", "## Bad {#Bad_ID}",
                                 "> > > > quote", "| a | b |\n|---|---|\n| 1 | 2 |", "```", "[x](javascript:1)",
                                 "![i](http://t.example/i.png)", "<script>alert(1)</script>", "\ufeff", ""])
    | st.text(max_size=40),
    max_size=25,
).map("\n".join)


@FUZZ
@given(MODULE_TEXT)
def test_parser_turns_any_module_text_into_findings(text: str) -> None:
    doc, findings = _parse_text(text)
    n_lines = text.count("\n") + 2
    for f in findings:
        assert f.path.endswith("en.md") and 1 <= f.line <= n_lines and f.severity in ("error", "warning")
    if doc is not None:
        for section in doc.sections:
            assert section.id and 1 <= section.line <= n_lines
            assert "<script" not in render_html(section.markdown)


SECTION_IDS = st.lists(st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,4})?", fullmatch=True), min_size=1, max_size=6,
                       unique=True)
HEADING = st.text(alphabet="abcxyz ươàạ肺癌ΑΒ0123", min_size=1, max_size=20).map(str.strip).filter(bool)
PLAIN_WORD = st.text(alphabet="abcxyzđươàáạảãăâêôơư肺癌治疗消融ΑΒ0123", min_size=1, max_size=12)
PARAGRAPH = st.lists(PLAIN_WORD, min_size=1, max_size=8).map(" ".join)
"""Words that Markdown reads as text wherever they stand (no '-' or '1.' that would start a list)."""


@FUZZ
@given(SECTION_IDS, st.data())
def test_well_formed_module_round_trips(ids: list[str], data: st.DataObject) -> None:
    sections = [(sid, data.draw(st.sampled_from([2, 3]) if i else st.just(2)), data.draw(HEADING),
                 data.draw(PARAGRAPH)) for i, sid in enumerate(ids)]
    front = "---\nmodule: m\ntitle: T\nlang: en\nversion: '1'\nupdated: 2026-01-01\nstatus: draft\n" \
            "sources: [S]\ndisclaimer: D\n---\n"
    body = "".join(f"\n{'#' * level} {heading} {{#{sid}}}\n\n{text}\n" for sid, level, heading, text in sections)
    doc, findings = _parse_text(front + body)
    assert doc is not None and not [f for f in findings if f.severity == "error"]
    assert [(s.id, s.level, s.heading) for s in doc.sections] == [(sid, lv, h) for sid, lv, h, _ in sections]
    for section, (_, _, _, text) in zip(doc.sections, sections, strict=True):
        assert section.text == text


@FUZZ
@given(st.lists(st.sampled_from(["[a](https://x.example/p)", "[b](//evil.example)", "<https://c.example>",
                                 "![d](http://t.example/i.png)", "[![e](https://i.example/e.png)](https://f.example)",
                                 "[g](#local)", "[h](/modules/tace)", "[i](mailto:a@b.c)", "text", "**bold**"]),
                max_size=6).map(" ".join))
def test_every_outside_link_is_marked(markdown: str) -> None:
    html = render_html(markdown)
    for anchor in re.findall(r"<a [^>]*>", html):
        href = re.search(r'href="([^"]*)"', anchor).group(1)
        outside = bool(re.match(r"[a-z][a-z0-9+.-]*:|//", href))
        assert ('rel="noopener noreferrer"' in anchor and 'class="external"' in anchor) == outside
    assert "<img" not in html and html.count("<a ") == html.count("external-mark") + html.count('href="#') + \
        html.count('href="/m')


# --- chunker -------------------------------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(title=st.text(min_size=1, max_size=400), heading=st.text(min_size=1, max_size=200),
       body=st.lists(PARAGRAPH | st.text(max_size=300), max_size=12).map("\n".join),
       max_tokens=st.integers(min_value=16, max_value=128))
def test_chunker_loses_nothing_and_keeps_to_the_window(embedder: Embedder, title: str, heading: str, body: str,
                                                        max_tokens: int) -> None:
    section = Section("s", 2, heading, None, 1, body)
    doc = Document("m", "en", Path("m/en.md"), "m/en.md", {"title": title}, {}, body, [section])
    chunks = chunk_section(doc, section, embedder.token_count, max_tokens)
    assert chunks and [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert "".join("".join(c.body.split()) for c in chunks) == "".join(section.text.split())
    if len(chunks) > 1:  # a section that had to be cut: every piece fits, or is one character that cannot be cut
        for c in chunks:
            assert embedder.token_count(c.text) <= max_tokens or len(c.body.strip()) <= 1 or \
                embedder.token_count(c.body) <= 32


# --- tokenizer and queries ----------------------------------------------------------------------------------------

@FUZZ
@given(st.text(max_size=200))
def test_tokens_are_folded_words_and_make_valid_fts_queries(text: str) -> None:
    words = tokens(text)
    assert all(w and not any(c.isspace() for c in w) for w in words)
    assert fold(fold(text)) == fold(text)
    assert tokens(fold(text)) == words
    assert set(tokens(text, query=True)) <= set(words)
    if words:
        db = sqlite3.connect(":memory:")
        db.execute("CREATE VIRTUAL TABLE k USING fts5(tokens)")
        db.execute("INSERT INTO k VALUES (?)", (" ".join(words),))
        assert db.execute("SELECT count(*) FROM k WHERE k MATCH ?", (fts_query(words),)).fetchone()[0] == 1


@FUZZ
@given(st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from("\u200b\u200c\u200d\ufeff\x00 \t"),
               max_size=600))
def test_query_validation_refuses_or_returns_visible_text(searcher: Searcher, query: str) -> None:
    try:
        q = searcher.validate(query, None, None, 10)
    except SearchError as exc:
        assert exc.field == "q"
        return
    assert q and q == q.strip() and len(q) <= MAX_QUERY
    assert not any(unicodedata.category(c) in ("Cc", "Cf", "Cs") and ord(c) < 0x10000 for c in q)


def test_invisible_and_space_classes_match_this_python() -> None:
    """kb.text writes the classes out; on this Python's Unicode tables they must be exactly the BMP's non-space
    Cc/Cf and isspace (a newer Unicode may add format characters: then only the listed ones are checked)."""
    invisible, space = re.compile(f"[{INVISIBLE}]"), re.compile(f"[{SPACE}]")
    exact = unicodedata.unidata_version == "14.0.0"
    for code in [*range(0xD800), *range(0xE000, 0x10000)]:
        c = chr(code)
        is_space, is_invisible = c.isspace(), not c.isspace() and unicodedata.category(c) in ("Cc", "Cf")
        assert bool(space.match(c)) == is_space
        if exact or invisible.match(c):
            assert bool(invisible.match(c)) == is_invisible, hex(code)
