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
