"""Negation added or lost in translation: "do not give" becoming "give" is the most dangerous one-word error.

Each language has its own markers (not / no / without; không / chưa / chớ; 不 / 无 / 未 / 禁 / 勿), and each has
words that contain a marker without negating anything (不良反应 adverse reaction, 无进展生存 progression-free
survival, không khí air, `whether or not`): those are removed before counting. Sentences are compared one to one
when source and translation have the same number of sentences; otherwise the section as a whole is compared,
which only notices a negation that disappears (or appears) entirely."""

from __future__ import annotations

import re
from dataclasses import dataclass

MARKERS = {
    "en": re.compile(r"\b(?:not|no|never|without|cannot|none|neither|nor|\w+n't)\b", re.IGNORECASE),
    "vi": re.compile(r"(?<!\w)(?:không|chưa|chớ|đừng|chẳng|cấm)(?!\w)", re.IGNORECASE),
    "zh": re.compile(r"[不无未禁勿没非否]"),
}
_TERMS = {
    "en": ["whether or not", "with or without", "not only", "if not", "or not"],
    "vi": ["không khí", "(?<!chứ )không chỉ", "không chuyên", "hay không", "có hoặc không", "có hay không",
           "không gian", "hay chưa"],
    "zh": ["不良", "不相同", "不同", "肌无力", "非专业", "不仅", "不断", "不适(?![合宜用])", "不等(?!于)", "不限",
           "不一", "无进展", "无病", "无复发", "无事件", "无论", "有无", "无创", "无菌", "未来", "是否", "能否", "与否",
           "非小细胞", "非霍奇金", "非甾体", "非手术", "非肌层", "除非", "非常", "不耐受", "未分化", "不典型",
           "非典型", "不规则", "不完全", "无症状", "不全", "非劣效"],
}
NOT_NEGATION = {
    "en": re.compile(rf"\b(?:{'|'.join(_TERMS['en'])})\b|\bno\.\s?(?=\d)", re.IGNORECASE),
    "vi": re.compile(rf"(?<!\w)(?:{'|'.join(_TERMS['vi'])})(?!\w)", re.IGNORECASE),
    "zh": re.compile("|".join(_TERMS["zh"])),
}
"""Words that contain a marker but name a thing rather than deny one (不良反应 adverse reaction, 无进展生存
progression-free survival, không khí air, `No. 91` a number), or that English says with a prefix the marker
list does not count either (不耐受 intolerant, 非典型 atypical)."""
IMPLIED = {
    "en": re.compile(r"\b(?:un\w+|non-?\w+|in(?:sufficient|adequate|ability|tolerant|tolerance|operable|effective)\w*|"
                     r"im(?:possible|mobile)\w*|ir(?:regular|reversible|resectable)\w*|\w+less|fail\w*|absen\w+|"
                     r"below|under|beyond|except|exclud\w+|rather than|instead|avoid\w*|lack\w*|free|fewer|less|"
                     r"stop\w*|withh[oe]ld\w*|discontinu\w+|poor\w*|little|limited|only|differ\w*|zero|ineligible|"
                     r"regardless|whether|na[iï]ve|omit\w*|skip\w*|spar(?:e|ed|es|ing)|forgo\w*|"
                     r"contraindicat\w+|refus\w+|declin\w+|restrict\w*)\b", re.IGNORECASE),
    "vi": re.compile(r"(?<!\w)(?:trừ|ngoại trừ|tránh|thiếu|ngừng|dừng|hạn chế|kém|thất bại)(?!\w)",
                     re.IGNORECASE),
    "zh": re.compile(r"避免|除|缺|低于|停|难以|失败|仅|限|零|拒绝|免"),
}
"""Words that carry a negation without a negation marker (unresectable, insufficient, rather than; trừ; 难以):
a marker on the other side of such a word is a rewording, not an added or lost negation."""
_DIGITS = re.compile(r"\d+")
_SENTENCE = re.compile(r"(?<=[。！？；])|(?<=[.!?;])\s+(?=[^\da-z])|\n+")
"""Sentence ends; a '.' followed by a digit or a lowercase word (`Law No. 91`, `e.g. the`) does not end one."""


@dataclass(frozen=True)
class NegationIssue:
    """`lost`: the source negates, the translation does not; `added`: the reverse. `sentence` is the 1-based
    sentence number when sentences were aligned, else None (the whole section)."""

    kind: str
    source: str
    translation: str
    sentence: int | None = None

    def describe(self) -> str:
        where = f"sentence {self.sentence}" if self.sentence else "section"
        what = "negation lost" if self.kind == "lost" else "negation added"
        return f"{what} in {where}: source «{_short(self.source)}», translation «{_short(self.translation)}»"


def negations(text: str, lang: str) -> list[str]:
    """The negation markers of a text, in order."""
    if lang not in MARKERS:
        return []
    cleaned = NOT_NEGATION[lang].sub(" ", text)
    return [m.group(0).lower() for m in MARKERS[lang].finditer(cleaned)]


def sentences(text: str) -> list[str]:
    return [s.strip() for s in _SENTENCE.split(text) if s and s.strip()]


def negation_issues(source: str, source_lang: str, translation: str, lang: str) -> list[NegationIssue]:
    """A negation lost, per aligned sentence (or per section when sentences do not align one to one), and a
    negation added to a section whose source negates nothing.

    "Added" is only judged per section: zh and vi often say with a negation what English says positively
    (不足 3 个月 for "below 3 months", không thể điều chỉnh for "uncorrectable"), so per sentence it mostly
    flags good translations; a sentence that loses its "not" is the error that matters most."""
    if source_lang not in MARKERS or lang not in MARKERS:
        return []
    out: list[NegationIssue] = []
    src, dst = sentences(source), sentences(translation)
    pairs = list(zip(src, dst, strict=True)) if len(src) == len(dst) and len(src) > 1 else []
    if not all(_numbers_agree(s, d) for s, d in pairs):
        pairs = []  # the same count of sentences, but split differently: compare the whole section
    for n, (s, d) in enumerate(pairs, 1):
        if negations(s, source_lang) and not _negates(d, lang):
            out.append(NegationIssue("lost", s, d, n))
    if not pairs and negations(source, source_lang) and not _negates(translation, lang):
        out.append(NegationIssue("lost", source, translation))
    if negations(translation, lang) and not _negates(source, source_lang):
        out.append(NegationIssue("added", source, translation))
    return out


def _numbers_agree(source: str, translation: str) -> bool:
    """Numbers are kept in every language, so a source sentence's numbers are all in its aligned translation
    sentence: a cheap anchor that rejects an alignment of sentences split differently."""
    return set(_DIGITS.findall(source)) <= set(_DIGITS.findall(translation))


def _negates(text: str, lang: str) -> bool:
    """A marker or a word with an implied negation: the lenient side of the comparison."""
    return bool(negations(text, lang) or IMPLIED[lang].search(text))


def _short(text: str, limit: int = 80) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
