"""Restoring Vietnamese diacritics (kb/diacritics.py) from a vocabulary written out here: the corpus decides
ordinary words, and a question phrase typed without diacritics has its one reading even where the corpus
prefers another word."""

from __future__ import annotations

from collections import Counter

from kb.diacritics import Restorer
from kb.text import words

TEXT = """Điều trị ung thư gan bao gồm nhiều phương pháp. Nhiều lần nút mạch hóa chất.
Máy xạ trị gia tốc. Xạ trị điều biến liều. Bệnh nhân nhiều tuổi cần thận trọng."""


def restorer() -> Restorer:
    counts: Counter[str] = Counter()
    pairs: Counter[tuple[str, str]] = Counter()
    for line in TEXT.splitlines():
        ws = words(line)
        counts.update(ws)
        pairs.update(zip(ws, ws[1:], strict=False))
        pairs.update(zip(ws, ws[2:], strict=False))
    return Restorer(dict(counts), dict(pairs))


def test_ordinary_words_follow_the_corpus() -> None:
    assert restorer().restore("dieu tri ung thu gan") == "điều trị ung thư gan"


def test_a_question_phrase_has_its_one_reading() -> None:
    r = restorer()
    assert r.restore("xa tri bao nhieu lan") == "xạ trị bao nhiêu lần"  # not "bao nhiều" (many)
    assert r.restore("benh nhan may tuoi") == "bệnh nhân mấy tuổi"  # not "máy" (machine)


def test_words_the_corpus_does_not_know_stay_as_typed() -> None:
    assert restorer().restore("DEB-TACE qwxzj gan") == "DEB-TACE qwxzj gan"


def test_the_sections_a_query_matches_decide_an_ambiguous_word() -> None:
    """`doi` is `đối` (against) more often in this corpus, but the sections a question about a team matches say
    `đội` (team): their words count (kb.diacritics.CONTEXT_WEIGHT)."""
    counts = {"đối": 25, "đội": 10, "với": 30, "bóng": 5, "thắng": 5}
    pairs = {("đối", "với"): 30, ("đội", "bóng"): 4, ("đội", "thắng"): 3}
    r = Restorer(counts, pairs)
    assert r.restore("doi") == "đối"
    assert r.restore("doi", {"đội": 3, "bóng": 2, "thắng": 2}) == "đội"
    assert r.restore("doi", {"bóng": 2}) == "đối"  # a context without any candidate changes nothing


def test_a_folded_query_is_restored_from_the_sections_it_matches(searcher) -> None:  # noqa: ANN001
    context = searcher._restoring_context("chuan do opioid")  # noqa: SLF001
    assert context["opioid"] and context["chuẩn"] > context.get("chuan", 0)  # the accented words, as written
