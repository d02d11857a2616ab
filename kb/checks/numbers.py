"""Numbers and units of a translation against its source: the dose check.

Each language writes numbers its own way, and a correct translation must not be flagged: Vietnamese writes
`0,5` (decimal comma) and groups thousands with a space (`100 000`, this corpus's rule) or a dot (`1.000`, common
elsewhere), Chinese may use full-width digits and `～`/`至` in ranges, and every language writes `×10⁹/L`,
`mg/m²`, `°C`. Babel's number parsing reads a number in the locale of its text; because Vietnamese drafts still
write `0.5` at times, a number is also read with `.` as the decimal point. A number matches when any reading of
it does, so a correct text never warns; what is left is a real change, reported as `150 mg -> 120 mg`."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel.numbers import NumberFormatError, parse_decimal

from kb.text import CJK

_SUPERSCRIPTS = re.compile("[⁰¹²³⁴⁵⁶⁷⁸⁹⁻]+")
_SUPER = str.maketrans("⁰¹²³⁴⁵⁶⁷⁸⁹⁻", "0123456789-")

_NUMBER = re.compile(r"\d+(?:[.,]\d+)*(?:\^-?\d+)?")
_SPACE_GROUPED = r"\d{1,3}(?: \d{3})+(?:,\d+)?(?!\d|[.,]\d|\^)"
_NUMBERS = {"vi": re.compile(f"{_SPACE_GROUPED}|{_NUMBER.pattern}")}
"""Per language, where numbers may be grouped with spaces (`120 000`; no-break spaces are spaces after NFKC)."""
_UNIT = re.compile(
    r"\s?(?P<unit>[×x*]\s?10\^-?\d+\s?/\s?L"
    r"|(?:mg|μg|mcg|g|IU|U|mmol|μmol|mL|ml)\s?/\s?(?:m\^?2|kg|L|dL|d|h|min|ngày|天)"
    r"|Gy\s?\(RBE\)|GyE|cGy|Gy|°C|%|μg|mcg|mg|kg|g|mL|ml|L|mm|cm|MBq|GBq|mCi|kV|IU|U|W)"
    r"(?![A-Za-z\u00c0-\u1ef9])")
_RELATED = (("μg", "mg", "g", "kg"), ("mL", "L"), ("mm", "cm"), ("cGy", "Gy", "Gy(RBE)", "GyE"),
            ("MBq", "GBq", "mCi"))
"""Units one could be mistyped or mistranslated for another: a change between them is a tenfold-or-more error."""


@dataclass(frozen=True)
class Quantity:
    """A number as written (`text`), the values it can be read as, and the unit right after it, if any."""

    text: str
    values: frozenset[Decimal]
    unit: str = ""

    def __str__(self) -> str:
        """As written in its text, unit spelled one way: `0,5 ×10^9/L`, `38.3 °C`, `20%`."""
        return self.text + self.unit if self.unit in ("", "%") else f"{self.text} {self.unit}"


@dataclass(frozen=True)
class NumberIssue:
    """`changed`: a source number missing and a new one in its place (`150 mg -> 120 mg`); `missing`: a source
    number absent from the translation; `unit`: the same number with another unit (`150 mg -> 150 g`)."""

    kind: str
    source: Quantity
    translation: Quantity | None = None

    def describe(self) -> str:
        if self.kind == "missing":
            return f"{self.source} missing"
        return f"{self.source} -> {self.translation}"


def normalise(text: str) -> str:
    """Superscript exponents become `^n` (so `10⁹` is not read as 109), then NFKC: full-width digits and
    punctuation become ASCII, `℃` becomes `°C`, the micro sign becomes `μ`."""
    text = _SUPERSCRIPTS.sub(lambda m: "^" + m.group(0).translate(_SUPER), text)
    return unicodedata.normalize("NFKC", text)


def quantities(text: str, lang: str) -> list[Quantity]:
    """Every number of a text with its possible values and unit. Digits right after a Latin letter belong to a
    code (HER2, T2N1M0, mg/m2), not a quantity, and are left out; a range `5-10` is two numbers."""
    return list(_quantities(text, lang))


@lru_cache(maxsize=4096)  # a live rebuild compares every section again; unchanged ones come from here
def _quantities(text: str, lang: str) -> tuple[Quantity, ...]:
    text = normalise(text)
    out: list[Quantity] = []
    for m in _NUMBERS.get(lang, _NUMBER).finditer(text):
        before = text[m.start() - 1] if m.start() else ""
        if before.isalpha() and not CJK.match(before) or before == "^":
            continue
        token = m.group(0)
        unit_match = _UNIT.match(text, m.end())
        unit = _unit(unit_match.group("unit")) if unit_match else ""
        out.append(Quantity(token, frozenset(_readings(token, lang)), unit))
    return tuple(out)


def _unit(raw: str) -> str:
    """One spelling per unit: `mg/m²` = `mg/m2`, `ml` = `mL`, `mcg` = `μg`, `x10^9/L` = `×10^9/L`."""
    unit = re.sub(r"\s", "", raw).replace("m^2", "m2")
    if unit[0] in "x*":
        unit = "×" + unit[1:]
    return re.sub(r"^mcg", "μg", re.sub(r"^ml(?=/|$)", "mL", unit))


def _readings(token: str, lang: str) -> set[Decimal]:
    """The values a written number can mean: in the text's locale, with '.' as the decimal point, and, when
    neither reads it strictly (`1,2` in English), each separated part on its own (a list `1,2`)."""
    base, _, exponent = token.replace(" ", "").partition("^")
    if exponent:
        try:
            return {(Decimal(base) ** int(exponent)).normalize()}
        except (InvalidOperation, ValueError):
            return set()
    values: set[Decimal] = set()
    for locale in dict.fromkeys((lang, "en")):
        try:
            values.add(parse_decimal(base, locale=locale, strict=True).normalize())
        except (NumberFormatError, InvalidOperation, ValueError):
            continue
    if not values:
        values = {Decimal(p).normalize() for p in re.split(r"[.,]", base) if p}
    return values


def compare_numbers(source: str, source_lang: str, translation: str, lang: str) -> list[NumberIssue]:
    """What changed in the numbers of a translated section: source numbers no reading of the translation has,
    paired with the translation's new numbers of the same unit where there are some; then same number, other
    (related) unit."""
    src, dst = quantities(source, source_lang), quantities(translation, lang)
    src_values = set().union(*(q.values for q in src)) if src else set()
    dst_values = set().union(*(q.values for q in dst)) if dst else set()
    missing = list({_key(q): q for q in src if not q.values & dst_values}.values())
    extra = [q for q in dst if not q.values & src_values]
    issues: list[NumberIssue] = []
    for q in missing:
        partner = next((e for e in extra if e.unit == q.unit), None)
        if partner is not None:
            extra.remove(partner)
            issues.append(NumberIssue("changed", q, partner))
        else:
            issues.append(NumberIssue("missing", q))
    seen: set[tuple] = set()
    for q in src:
        if not q.unit or q in missing or _key(q) in seen:
            continue
        seen.add(_key(q))
        same_value = [d for d in dst if d.values & q.values]
        if same_value and all(d.unit and d.unit != q.unit and _related(d.unit, q.unit) for d in same_value):
            issues.append(NumberIssue("unit", q, same_value[0]))
    return issues


def _key(q: Quantity) -> tuple:
    return (q.values, q.unit)


def _related(a: str, b: str) -> bool:
    head_a, head_b = a.split("/")[0], b.split("/")[0]
    if "/" in a or "/" in b:
        return a != b and ("/" in a) == ("/" in b) and (head_a == head_b or _related(head_a, head_b))
    return any(a in family and b in family for family in _RELATED)
