"""Sentence vectors: which sections get them (every one by default, or untranslated ones only), how text is cut, what
the build writes, how a damaged file is refused, and that a translation arriving drops them where only untranslated
sections get them (`kb.build.sentences`, `kb.calibration`)."""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from kb.build import build_index
from kb.build.pipeline import BuildError, is_stale
from kb.build.sentences import sentences, split, untranslated
from kb.embedders import Embedder
from kb.settings import Settings
from kb.store import BuildReader, Chunk, DamagedIndexError
from kb.store.writer import SENTENCES

FIXTURES = Path(__file__).parent / "fixtures" / "guidelines"


def chunk(module: str, lang: str, section: str, body: str) -> Chunk:
    return Chunk(module, lang, section, 0, "T", "H", ("H",), body)


def test_only_sections_missing_in_a_language_are_untranslated() -> None:
    chunks = [chunk("m", L, "a", "x") for L in ("en", "vi", "zh")] + [chunk("m", "zh", "b", "y")]
    assert untranslated(chunks) == {("m", "b")}


def test_sentences_are_cut_at_ends_and_lines_never_at_a_decimal_point() -> None:
    body = "Morphine 2.5 mg orally every 4 hours. Review the dose daily!\n- 1.\n- Stop if drowsy.\n继续观察。"
    # a piece under MIN_CHARS joins the next one, or the last one at the end
    assert split(body) == ["Morphine 2.5 mg orally every 4 hours.", "Review the dose daily!",
                           "- 1. - Stop if drowsy. 继续观察。"]
    assert split(body + "每次开具阿片类药物时同时开具缓泻剂。便秘不会随时间改善，需要持续处理。") == [
        "Morphine 2.5 mg orally every 4 hours.", "Review the dose daily!", "- 1. - Stop if drowsy.",
        "继续观察。 每次开具阿片类药物时同时开具缓泻剂。", "便秘不会随时间改善，需要持续处理。"]


def test_a_one_sentence_chunk_gets_no_sentence_vectors_and_all_covers_translated_sections() -> None:
    chunks = [chunk("m", "en", "a", "One sentence only here."),
              chunk("m", "zh", "b", "第一句话写在这里，说明剂量。第二句话写在这里，说明间隔。"),
              chunk("m", "vi", "b", "Câu thứ nhất ở đây. Câu thứ hai ở đây.")]
    assert [i for i, _ in sentences(chunks, "untranslated")] == [1, 1, 2, 2]
    chunks += [chunk("m", L, "c", "Two sentences are here. And here is the second.") for L in ("en", "zh", "vi")]
    assert len(sentences(chunks, "untranslated")) == 4  # section c is in every language
    assert len(sentences(chunks)) == len(sentences(chunks, "all")) == 4 + 3 * 2  # the default: every section


@pytest.fixture
def partial(tmp_path: Path, settings: Settings, embedder: Embedder) -> Settings:
    """The fixture guidelines plus a module in Chinese only, built with the sentences of untranslated sections only
    (the session index's embedding cache reused)."""
    content = tmp_path / "guidelines"
    shutil.copytree(settings.content_dir, content)
    shutil.copytree(FIXTURES.parent / "zh-only" / "thyroid-rai", content / "thyroid-rai")
    (tmp_path / "index").mkdir()
    shutil.copyfile(settings.index_dir / "cache.sqlite", tmp_path / "index" / "cache.sqlite")
    s = Settings(content_dir=content, index_dir=tmp_path / "index", sentences="untranslated")
    build_index(s, embedder, progress=False)
    return s


def test_the_build_embeds_sentences_of_untranslated_sections_only(partial: Settings, embedder: Embedder) -> None:
    reader = BuildReader.open_current(partial.index_dir)
    ids, vectors = reader.sentences["zh"]
    assert len(ids) > 0 and vectors.shape == (len(ids), embedder.dim)
    held = {(reader.chunks[i].module, reader.chunks[i].section) for L in reader.sentences
            for i in reader.sentences[L][0].tolist()}
    assert {m for m, _ in held} == {"thyroid-rai", "cancer-pain"}
    assert {s for m, s in held if m == "cancer-pain"} == {"side-effects"}  # its one section not in every language
    assert not {m for m, _ in held} & {"liver-tace"}  # translated in full: none


def test_by_default_every_section_of_more_than_one_sentence_gets_them(partial: Settings, embedder: Embedder) -> None:
    everything = replace(partial, sentences=Settings().sentences)
    build_index(everything, embedder, progress=False)
    reader = BuildReader.open_current(everything.index_dir)
    held = {reader.chunks[i].module for L in reader.sentences for i in reader.sentences[L][0].tolist()}
    assert Settings().sentences == "all"
    assert {"liver-tace", "cancer-pain", "thyroid-rai"} <= held  # translated modules too


def test_the_module_removed_drops_its_sentences(partial: Settings, embedder: Embedder) -> None:
    shutil.rmtree(partial.content_dir / "thyroid-rai")
    build_index(partial, embedder, progress=False)
    reader = BuildReader.open_current(partial.index_dir)
    assert {reader.chunks[i].module for L in reader.sentences for i in reader.sentences[L][0].tolist()} == {
        "cancer-pain"}


def test_the_scope_is_part_of_the_fingerprint_and_a_bad_one_is_refused(partial: Settings,
                                                                       embedder: Embedder) -> None:
    assert not is_stale(partial)
    assert is_stale(replace(partial, sentences="all")) and is_stale(replace(partial, sentences=Settings().sentences))
    with pytest.raises(BuildError, match="KB_SENTENCES"):
        build_index(replace(partial, sentences="some"), embedder, progress=False)


def test_damaged_sentence_vectors_are_refused_naming_the_file(partial: Settings) -> None:
    build = next(p for p in (partial.index_dir / "builds").iterdir() if (p / SENTENCES).is_file())
    size = (build / SENTENCES).stat().st_size  # what a check without hashes compares
    with np.load(build / SENTENCES) as stored:
        arrays = dict(stored)
    arrays["chunks_zh"] = arrays["chunks_zh"][:-1]  # one id short of its vectors
    np.savez(build / SENTENCES, **arrays)
    with pytest.raises(DamagedIndexError, match="sentences.npz"):  # by its size already
        BuildReader(build, verify=False)
    (build / SENTENCES).write_bytes(b"x" * size)  # the right size, not an archive
    with pytest.raises(DamagedIndexError, match="unreadable sentence vectors"):
        BuildReader(build, verify=False)
