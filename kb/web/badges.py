"""Recommendation badges in the UI language.

The index stores each section's HTML as the Markdown dialect rendered it, with language-neutral rec badges (codes
in data attributes, `CN: available` as text). The pages relabel them per request: the grade keeps its source's
own notation (`NCCN 2A`, `ESMO I-A`, which clinicians cite as such), availability and the tooltips are
translated. Only our renderer writes `<span class="rec" …>`: raw HTML in a module is escaped, never passed on."""

from __future__ import annotations

import re

from markupsafe import Markup, escape

from kb.recommendations import AVAILABILITY, REGIONS, SCHEME_NAMES, SCHEMES
from kb.web.i18n import N_

REGION_LABELS = {"cn": N_("China"), "vn": N_("Vietnam")}
AVAILABILITY_LABELS = {"available": N_("available"), "limited": N_("limited"), "unavailable": N_("not available")}
AVAILABILITY_HINTS = {
    "available": N_("Available in %(region)s."),
    "limited": N_("Limited in %(region)s: a few centres only, or not reimbursed, or restricted."),
    "unavailable": N_("Not available in %(region)s."),
}
GRADE_WORDS = {"strong": N_("strong"), "weak": N_("weak")}
GRADE_HINT = N_("Evidence grade given by the cited guideline (%(scheme)s).")
SCHEME_HINTS = {
    "nccn": N_("NCCN category of evidence and consensus"),
    "esmo": N_("ESMO level of evidence and grade of recommendation"),
    "grade": N_("GRADE strength of recommendation"),
    "csco": N_("CSCO recommendation level"),
    "caca": N_("CACA grade"),
}

_SPAN = re.compile(r'<span class="rec"((?: data-(?:grade|cn|vn)="[^"<>]*")*)>(?:<span [^<>]*>[^<]*</span>)*</span>')
_ATTR = re.compile(r'data-(grade|cn|vn)="([^"<>]*)"')


def grade_hint(gettext, scheme: str) -> str:  # noqa: ANN001
    """The hover hint of a grade badge (`badge_html`, and app.js through `label_table`)."""
    return gettext(GRADE_HINT) % {"scheme": gettext(SCHEME_HINTS[scheme])}


def availability_hint(gettext, status: str, region: str) -> str:  # noqa: ANN001
    """The hover hint of an availability badge (`badge_html`, and app.js through `label_table`)."""
    return gettext(AVAILABILITY_HINTS[status]) % {"region": gettext(REGION_LABELS[region])}


def badge_html(gettext, grade: str | None, cn: str | None, vn: str | None) -> str:  # noqa: ANN001
    """The badges of one recommendation; `gettext` is the request's. Unknown values are left out."""
    parts: list[str] = []
    scheme, _, value = (grade or "").partition(":")
    if scheme in SCHEMES and value in SCHEMES[scheme]:
        shown = gettext(GRADE_WORDS[value]) if value in GRADE_WORDS else value
        hint = grade_hint(gettext, scheme)
        parts.append(f'<span class="rec-badge rec-grade" data-scheme="{scheme}" title="{escape(hint)}">'
                     f"{escape(SCHEME_NAMES[scheme])} {escape(shown)}</span>")
    for region, status in (("cn", cn), ("vn", vn)):
        if status not in AVAILABILITY or region not in REGIONS:
            continue
        name = gettext(REGION_LABELS[region])
        hint = availability_hint(gettext, status, region)
        parts.append(f'<span class="rec-badge rec-avail rec-{status}" data-region="{region}" '
                     f'title="{escape(hint)}">{escape(name)}: {escape(gettext(AVAILABILITY_LABELS[status]))}'
                     "</span>")
    attrs = "".join(f' data-{k}="{escape(v)}"' for k, v in (("grade", grade), ("cn", cn), ("vn", vn)) if v)
    return f'<span class="rec"{attrs}>{"".join(parts)}</span>'


def label_table(gettext) -> dict[str, str]:  # noqa: ANN001
    """The badge words in the UI language, for app.js to label the results it renders itself."""
    return {**{k: gettext(v) for k, v in REGION_LABELS.items()},
            **{k: gettext(v) for k, v in AVAILABILITY_LABELS.items()},
            **{k: gettext(v) for k, v in GRADE_WORDS.items()},
            **{f"scheme:{k}": v for k, v in SCHEME_NAMES.items()},
            # the hover hints of `badge_html`, so a badge built by search-as-you-type explains itself too
            **{f"hint:scheme:{k}": grade_hint(gettext, k) for k in SCHEME_HINTS},
            **{f"hint:{status}:{region}": availability_hint(gettext, status, region)
               for status in AVAILABILITY_HINTS for region in REGIONS if region in REGION_LABELS}}


def localise(html: str, gettext) -> Markup:  # noqa: ANN001
    """Section HTML with every rec badge relabelled through `gettext`."""
    if '<span class="rec"' not in html:
        return Markup(html)

    def swap(m: re.Match[str]) -> str:
        attrs = dict(_ATTR.findall(m.group(1)))
        return badge_html(gettext, attrs.get("grade"), attrs.get("cn"), attrs.get("vn"))

    return Markup(_SPAN.sub(swap, html))
