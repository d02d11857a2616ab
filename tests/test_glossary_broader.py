"""`broader:` in the glossary: a term that is a kind of another (HCC of primary liver cancer), checked by `kb check`."""

from __future__ import annotations

from kb.glossary import _parse_glossary

TERM = """  - id: {id}
{extra}    en: {{forms: [{id} en], definition: d.}}
    zh: {{forms: [{id}中], definition: d.}}
    vi: {{forms: [{id} vi], definition: d.}}
"""


def glossary(*terms: tuple[str, str]) -> bytes:
    return ("terms:\n" + "".join(TERM.format(id=i, extra=extra) for i, extra in terms)).encode()


def test_broader_links_read_both_ways_through_a_chain() -> None:
    g, found = _parse_glossary(glossary(("cancer-a", ""), ("kind-b", "    broader: cancer-a\n"),
                                        ("kind-c", "    broader: [kind-b]\n")), "glossary.yaml")
    assert not found
    assert g.ancestors("kind-c") == {"kind-b", "cancer-a"} and g.ancestors("cancer-a") == set()
    assert g.narrower("cancer-a") == {"kind-b", "kind-c"}


def test_a_broader_term_that_does_not_exist_is_named_at_its_line() -> None:
    _, found = _parse_glossary(glossary(("cancer-a", ""), ("kind-b", "    broader: nowhere\n")), "glossary.yaml")
    assert [(f.line, f.message) for f in found] == [
        (6, "term 'kind-b': broader term 'nowhere' is not a term of this glossary")]


def test_a_loop_of_broader_links_ends_the_walk() -> None:
    g, found = _parse_glossary(glossary(("a", "    broader: b\n"), ("b", "    broader: a\n")), "glossary.yaml")
    assert not found and g.ancestors("a") == {"b"} and g.narrower("a") == {"b"}


def test_broader_must_be_ids() -> None:
    _, found = _parse_glossary(glossary(("a", "    broader: {x: 1}\n")), "glossary.yaml")
    assert [f.message for f in found] == ["term 'a': broader must be a term id or a list of term ids"]
