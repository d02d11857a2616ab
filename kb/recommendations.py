"""Recommendation markup: a key recommendation's evidence grade and its availability in China and Vietnam, as data.

A paragraph or list item that states a key recommendation ends with one brace block:

    Sorafenib or lenvatinib is first-line systemic therapy … {rec grade=esmo:I-A cn=available vn=limited}

The block is never translated: the same blocks stand in the same order in every language of a section, so the
grade and the availability are facts about the recommendation, not about one text. The Markdown dialect
(`kb.markdown`) takes the block off the text and renders it as badges; `kb check` reports a malformed block, an
unknown key, scheme or value, a block that is not at the end of a paragraph, and translations whose blocks differ
from their source's. Everything a scheme allows is listed here, in one place."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

SCHEMES: dict[str, tuple[str, ...]] = {
    # NCCN categories of evidence and consensus.
    "nccn": ("1", "2A", "2B", "3"),
    # ESMO: level of evidence I-V and grade of recommendation A-E, written level-grade.
    "esmo": tuple(f"{level}-{grade}" for level in ("I", "II", "III", "IV", "V") for grade in "ABCDE"),
    # GRADE strength of recommendation (WHO, ASCO, and most national guidelines that use GRADE).
    "grade": ("strong", "weak"),
    # CSCO recommendation levels (I: high evidence and good access in China … III: exploratory).
    "csco": ("I", "II", "III"),
    # CACA: only where the CACA text itself grades; its chapters use CSCO-style evidence categories or levels.
    "caca": ("1A", "1B", "2A", "2B", "3", "I", "II", "III"),
}
"""Allowed grade values per scheme, as `grade=<scheme>:<value>`."""

SCHEME_NAMES = {"nccn": "NCCN", "esmo": "ESMO", "grade": "GRADE", "csco": "CSCO", "caca": "CACA"}

AVAILABILITY = ("available", "limited", "unavailable")
"""`limited`: a few centres only, or not reimbursed, or restricted; `unavailable`: not approved or not offered."""

REGIONS = {"cn": "China", "vn": "Vietnam"}
"""Availability keys: ISO country codes of the two countries of the exchange programmes."""

KEYS = ("grade", *REGIONS)

_TAIL = re.compile(r"\{rec(?:\s+([^{}]*?))?\s*\}\s*$")
"""A rec block ending an inline run (a paragraph's text)."""
_ANY = re.compile(r"\{rec(?=[\s}])")
"""Where a rec block starts, wherever it stands."""


@dataclass(frozen=True)
class Recommendation:
    """One rec block: a grade in a scheme and availability per region; any of them may be absent."""

    scheme: str | None = None
    grade: str | None = None
    cn: str | None = None
    vn: str | None = None
    line: int = field(default=0, compare=False)

    @property
    def key(self) -> tuple[str | None, ...]:
        """What must agree across languages (the line does not)."""
        return (self.scheme, self.grade, self.cn, self.vn)

    @property
    def grade_code(self) -> str | None:
        return f"{self.scheme}:{self.grade}" if self.scheme else None

    def availability(self) -> dict[str, str]:
        return {region: value for region in REGIONS if (value := getattr(self, region))}

    def source(self) -> str:
        """The block as it is written (canonical key order), for messages."""
        parts = [f"grade={self.grade_code}"] if self.scheme else []
        parts += [f"{region}={value}" for region, value in self.availability().items()]
        return "{rec " + " ".join(parts) + "}"

    def as_dict(self) -> dict[str, str | None]:
        return {"scheme": self.scheme, "grade": self.grade, "cn": self.cn, "vn": self.vn}


def grade_label(scheme: str, grade: str) -> str:
    """`NCCN 2A`, `ESMO I-A`, `GRADE strong`: the source's own notation, the same in every language."""
    return f"{SCHEME_NAMES.get(scheme, scheme.upper())} {grade}"


@dataclass
class Scan:
    """What an inline run holds: its text without a trailing block, that block, and problems found."""

    text: str
    suffix: str = ""
    rec: Recommendation | None = None
    problems: list[tuple[int, str]] = field(default_factory=list)
    """(offset in the run, message) of each problem; offsets let the caller name the line."""


def scan_inline(content: str, in_paragraph: bool) -> Scan:
    """Find rec blocks in one inline run (a paragraph, list item, heading or table cell).

    Only a block at the very end of a paragraph's run counts; it is taken off the text only when valid, so a
    broken block stays visible as written (and `kb check` names it) instead of vanishing."""
    scan = Scan(content)
    tail = _TAIL.search(content) if in_paragraph else None
    for m in _ANY.finditer(content):
        if tail is not None and m.start() == tail.start():
            continue
        if "}" not in content[m.start():]:
            scan.problems.append((m.start(), "a {rec ...} block is not closed: end it with '}'"))
        else:
            where = "at the end of a paragraph or list item" if in_paragraph else \
                "in a paragraph or list item (not in a heading or table cell)"
            scan.problems.append((m.start(), f"a {{rec ...}} block must stand {where}, after its text"))
    if tail is None:
        return scan
    rec, problems = parse_attributes(tail.group(1) or "")
    scan.problems += [(tail.start(), p) for p in problems]
    if rec is not None and not problems:
        scan.text = content[: tail.start()].rstrip()
        scan.suffix = content[len(scan.text):]
        scan.rec = rec
    return scan


def parse_attributes(body: str) -> tuple[Recommendation | None, list[str]]:
    """`grade=nccn:2A cn=available vn=limited` -> a Recommendation, or the problems that stop it."""
    problems: list[str] = []
    values: dict[str, str] = {}
    for item in body.split():
        key, eq, value = item.partition("=")
        if not eq or not key or not value:
            problems.append(f"'{item}' in a rec block is not key=value (keys: {', '.join(KEYS)})")
            continue
        if key not in KEYS:
            hint = _closest(key.lower(), KEYS)
            problems.append(f"unknown key '{key}' in a rec block" + (f": did you mean '{hint}'?" if hint else
                                                                     f" (keys: {', '.join(KEYS)})"))
            continue
        if key in values:
            problems.append(f"key '{key}' is given twice in a rec block")
            continue
        values[key] = value
    if not values and not problems:
        problems.append("an empty rec block: give at least one of " + ", ".join(f"{k}=" for k in KEYS))
    scheme = grade = None
    if "grade" in values:
        scheme, grade, problem = _read_grade(values["grade"])
        if problem:
            problems.append(problem)
    for region, name in REGIONS.items():
        value = values.get(region)
        if value is not None and value not in AVAILABILITY:
            hint = _closest(value.lower(), AVAILABILITY)
            problems.append(f"{region}={value}: availability in {name} is one of {', '.join(AVAILABILITY)}"
                            + (f" (did you mean '{hint}'?)" if hint else ""))
    if problems:
        return None, problems
    return Recommendation(scheme, grade, values.get("cn"), values.get("vn")), []


def _read_grade(value: str) -> tuple[str | None, str | None, str | None]:
    scheme, colon, grade = value.partition(":")
    if not colon:
        return None, None, (f"grade={value} names no scheme: write grade=<scheme>:<value> with scheme one of "
                            f"{', '.join(SCHEMES)} (e.g. grade=nccn:2A)")
    if scheme not in SCHEMES:
        hint = _closest(scheme.lower(), tuple(SCHEMES))
        return None, None, (f"unknown grading scheme '{scheme}' (schemes: {', '.join(SCHEMES)})"
                            + (f": did you mean '{hint}'?" if hint else ""))
    allowed = SCHEMES[scheme]
    if grade not in allowed:
        hint = next((a for a in allowed if a.lower() == grade.lower()), None)
        shown = ", ".join(allowed) if len(allowed) <= 8 else f"{allowed[0]} … {allowed[-1]} (level-grade)"
        return None, None, (f"'{grade}' is not a {SCHEME_NAMES[scheme]} grade (allowed: {shown})"
                            + (f": did you mean '{scheme}:{hint}'?" if hint else ""))
    return scheme, grade, None


def _closest(word: str, options: tuple[str, ...]) -> str | None:
    """An option that differs from a typo only in case or by a prefix (`avail` -> `available`)."""
    for option in options:
        if word == option.lower() or (len(word) >= 3 and option.startswith(word)):
            return option
    return None


def compare_recommendations(source: list[Recommendation], translated: list[Recommendation]) -> str | None:
    """Why a translated section's rec blocks differ from its source's (same blocks, same order), else None."""
    if [r.key for r in source] == [r.key for r in translated]:
        return None
    for n, (a, b) in enumerate(zip(source, translated, strict=False), start=1):
        if a.key != b.key:
            return (f"recommendation {n} is {a.source()} in the source (line {a.line}) but {b.source()} here "
                    f"(line {b.line}); copy the source's block unchanged")
    if len(source) > len(translated):
        extra = source[len(translated)]
        return (f"the source has {len(source)} rec block(s), this translation {len(translated)}: "
                f"{extra.source()} (source line {extra.line}) is missing")
    extra = translated[len(source)]
    return (f"this translation has {len(translated)} rec block(s), the source {len(source)}: {extra.source()} "
            f"(line {extra.line}) is not in the source")


class FilterError(ValueError):
    """A search filter that names no scheme, grade, region or status we know; `field` is the request field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


OPEN_STATUSES = ("available", "limited")
"""What `available_in=vn` accepts: offered in the country, widely or in a few centres."""


@dataclass(frozen=True)
class RecFilter:
    """Search filter on recommendations: a scheme (any grade) or scheme:grade, and/or a region (available or
    limited there) or region:status. A section passes when one of its blocks meets every condition given."""

    scheme: str | None = None
    grade: str | None = None
    region: str | None = None
    statuses: tuple[str, ...] = OPEN_STATUSES

    def matches(self, scheme: str | None, grade: str | None, cn: str | None, vn: str | None) -> bool:
        if self.scheme is not None and (scheme != self.scheme or (self.grade is not None and grade != self.grade)):
            return False
        if self.region is not None:
            status = cn if self.region == "cn" else vn
            return status in self.statuses
        return True

    def as_params(self) -> dict[str, str | None]:
        grade = (f"{self.scheme}:{self.grade}" if self.grade else self.scheme) if self.scheme else None
        region = None
        if self.region:
            region = self.region if self.statuses == OPEN_STATUSES else f"{self.region}:{self.statuses[0]}"
        return {"grade": grade, "available_in": region}


def filter_values() -> dict[str, list[str]]:
    """Every value `parse_filter` accepts, per field: the enums the API schema publishes."""
    grades = ["any", *SCHEMES, *(f"{scheme}:{value}" for scheme, values in SCHEMES.items() for value in values)]
    regions = [*REGIONS, *(f"{region}:{status}" for region in REGIONS for status in AVAILABILITY)]
    return {"grade": grades, "available_in": regions}


def parse_filter(grade: str | None, available_in: str | None) -> RecFilter | None:
    """`grade=nccn` or `grade=nccn:1` (`grade=any`: any graded block); `available_in=vn` or `vn:limited`.
    None when neither is given; FilterError naming the field otherwise when a value is unknown."""
    grade, available_in = (grade or "").strip(), (available_in or "").strip()
    if not grade and not available_in:
        return None
    scheme = value = region = None
    statuses = OPEN_STATUSES
    if grade:
        scheme, _, value = grade.partition(":")
        if scheme == "any" and not value:
            scheme = "*"
        elif scheme not in SCHEMES:
            raise FilterError("grade", f"unknown grading scheme '{scheme}': one of {', '.join(SCHEMES)} or any, "
                                       "optionally with a grade (nccn:1, esmo:I-A)")
        elif value and value not in SCHEMES[scheme]:
            raise FilterError("grade", f"'{value}' is not a {SCHEME_NAMES[scheme]} grade: one of "
                                       f"{', '.join(SCHEMES[scheme])}")
    if available_in:
        region, _, status = available_in.partition(":")
        if region not in REGIONS:
            raise FilterError("available_in", f"unknown region '{region}': one of {', '.join(REGIONS)}, "
                                              f"optionally with a status ({', '.join(AVAILABILITY)})")
        if status:
            if status not in AVAILABILITY:
                raise FilterError("available_in", f"unknown availability '{status}': one of "
                                                  f"{', '.join(AVAILABILITY)}")
            statuses = (status,)
    if scheme == "*":
        return _AnyGrade(None, None, region, statuses)
    return RecFilter(scheme, value or None, region, statuses)


@dataclass(frozen=True)
class _AnyGrade(RecFilter):
    """`grade=any`: a block with any grade."""

    def matches(self, scheme: str | None, grade: str | None, cn: str | None, vn: str | None) -> bool:
        return scheme is not None and RecFilter.matches(self, scheme, grade, cn, vn)

    def as_params(self) -> dict[str, str | None]:
        return {**RecFilter.as_params(self), "grade": "any"}
