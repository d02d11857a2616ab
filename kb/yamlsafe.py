"""YAML for the files people write by hand (module front matter, the glossary), read so that no file can take the
tools down.

PyYAML's safe loader still expands anchors and aliases: nine lines of `&a [*b, *b, ...]` become 10^9 list items
the moment anything walks them (printing a finding, `json.dumps` at index time), and `&r [*r]` is a list that
contains itself. Nobody needs either in a guideline, so an anchor or alias is an error at its line. Size and
nesting depth are bounded before anything is built, scalar values that cannot be built (`2026-13-45` as a date, a
10,000-digit integer) are errors at their line, and mapping keys are kept as the text that was typed, so the
result is plain JSON-ready data. Every problem is one `YamlProblem` with a 1-based line in the YAML text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.constructor import ConstructorError, SafeConstructor

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
"""libyaml's parser when PyYAML has it (10x faster on the 500-term glossary), else the pure-Python one."""

MAX_DEPTH = 16
"""Deepest nesting of lists and mappings accepted; the glossary needs 4 (terms > term > language > forms)."""

_OPEN = (yaml.SequenceStartEvent, yaml.MappingStartEvent)
_CLOSE = (yaml.SequenceEndEvent, yaml.MappingEndEvent)


@dataclass
class YamlProblem(Exception):
    """Why a YAML text was refused, at a 1-based line of that text."""

    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class _Constructor(SafeConstructor):
    """The safe constructor, with build failures of a value reported at that value's line and keys kept as text."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ValueError, TypeError, OverflowError) as exc:
            raise ConstructorError(None, None, f"cannot read '{_excerpt(node)}': {exc}", node.start_mark) from exc

    def construct_mapping(self, node: yaml.Node, deep: bool = False) -> dict[str, Any]:
        if isinstance(node, yaml.MappingNode):
            self.flatten_mapping(node)  # only resolves '<<' merge keys; aliases were refused before
            for key_node, _ in node.value:
                if not isinstance(key_node, yaml.ScalarNode):
                    raise ConstructorError(None, None, "a key must be plain text, not a list or a mapping",
                                           key_node.start_mark)
            return {str(k.value): self.construct_object(v, deep=deep) for k, v in node.value}
        return super().construct_mapping(node, deep)


_CARRIAGE_RETURN = re.compile("\r\n?")
_YAML_ONLY_BREAKS = re.compile("[\x85\u2028\u2029]")


def load(text: str, *, max_bytes: int) -> tuple[Any, yaml.Node | None]:
    """The data of a YAML text and its node tree (for line numbers), or a YamlProblem; never anything else.

    Line numbers are the ones an editor shows: CR LF and a lone CR end a line, as they do for markdown-it's
    reading of the body, so they are read as LF first. YAML also ends a line at NEL, LINE SEPARATOR and PARAGRAPH
    SEPARATOR, which no editor breaks at and which only arrive by pasting; every line number after one would be
    off, so they are refused, at their line."""
    size = len(text.encode("utf-8"))
    if size > max_bytes:
        raise YamlProblem(1, f"{size:,} bytes of YAML; the limit is {max_bytes:,}")
    text = _CARRIAGE_RETURN.sub("\n", text)
    if odd := _YAML_ONLY_BREAKS.search(text):
        raise YamlProblem(text[: odd.start()].count("\n") + 1,
                          f"U+{ord(odd.group()):04X} (a pasted line separator) is not allowed in YAML: replace it "
                          "with a line break or a space")
    try:
        _scan(text)
        node = yaml.compose(text, Loader=LOADER)
        if node is None:
            return None, None
        return _Constructor().construct_document(node), node
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "invalid YAML"
        raise YamlProblem(mark.line + 1 if mark else 1, problem) from None
    except yaml.reader.ReaderError as exc:  # a control character: libyaml refuses those
        line = text[: exc.position].count("\n") + 1
        code = exc.character if isinstance(exc.character, int) else ord(exc.character)
        raise YamlProblem(line, f"control character U+{code:04X} is not allowed in YAML") from None
    except yaml.YAMLError as exc:
        raise YamlProblem(1, str(exc).splitlines()[0] if str(exc) else "invalid YAML") from None
    except RecursionError:  # unreachable below MAX_DEPTH; kept so that no input can ever raise past here
        raise YamlProblem(1, "nesting too deep") from None


def _scan(text: str) -> None:
    """Refuse anchors, aliases and deep nesting from the event stream, before any node or value exists."""
    depth = 0
    for event in yaml.parse(text, Loader=LOADER):
        line = event.start_mark.line + 1
        if isinstance(event, yaml.AliasEvent):
            raise YamlProblem(line, f"alias '*{event.anchor}' is not allowed: write the value out in full")
        if getattr(event, "anchor", None):
            raise YamlProblem(line, f"anchor '&{event.anchor}' is not allowed: anchors and aliases are refused "
                                    "in guideline files")
        if isinstance(event, _OPEN):
            depth += 1
            if depth > MAX_DEPTH:
                raise YamlProblem(line, f"lists and mappings nested deeper than {MAX_DEPTH} levels")
        elif isinstance(event, _CLOSE):
            depth -= 1


def _excerpt(node: yaml.Node) -> str:
    value = node.value if isinstance(node, yaml.ScalarNode) else node.tag
    return value if len(value) <= 40 else value[:40] + "…"
