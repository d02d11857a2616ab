"""Course files (`courses/<name>.yaml`): a training course as a title per language, a day plan, and the modules
(or some of their sections) in the order they are taught. The agenda page and the course deck read them.

    title: {zh: 肝癌介入治疗培训, en: Interventional oncology for liver cancer, vi: Điều trị can thiệp ung thư gan}
    langs: [zh, vi]              # the default language pair of the deck (optional)
    days:
      - title: {zh: 第一天, en: Day 1, vi: Ngày 1}
        items:
          - module: tace
          - module: tumour-ablation
            sections: [overview, indications]

A bad file gives findings naming the file and line (as `kb check` does), never a traceback; whether a module or
section exists is known only to the index, so the agenda page checks that and says what it left out."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kb import LANGS
from kb.content import Finding

NAME_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")


@dataclass
class CourseItem:
    module: str
    sections: list[str] | None = None
    line: int = 0


@dataclass
class CourseDay:
    titles: dict[str, str]
    items: list[CourseItem] = field(default_factory=list)


@dataclass
class Course:
    name: str
    titles: dict[str, str]
    days: list[CourseDay]
    langs: list[str] = field(default_factory=list)

    def title(self, lang: str) -> str:
        return self.titles.get(lang) or self.titles.get("en") or next(iter(self.titles.values()), self.name)

    @property
    def items(self) -> list[CourseItem]:
        return [item for day in self.days for item in day.items]


def _titles(node: object) -> dict[str, str] | None:
    if isinstance(node, str) and node.strip():
        return {"en": node.strip()}
    if isinstance(node, dict) and node and all(k in LANGS and isinstance(v, str) and v.strip()
                                               for k, v in node.items()):
        return {k: v.strip() for k, v in node.items()}
    return None


def _line_of(root: yaml.Node | None, *path: str | int) -> int:
    """1-based line of a node at `path` in the composed YAML (the file's top when it is not found)."""
    node = root
    for key in path:
        if isinstance(node, yaml.MappingNode):
            node = next((v for k, v in node.value if getattr(k, "value", None) == key), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(key, int) and key < len(node.value):
            node = node.value[key]
        else:
            node = None
        if node is None:
            break
    return (node.start_mark.line + 1) if node is not None else 1


def load_course(path: Path) -> tuple[Course | None, list[Finding]]:
    shown = str(path)
    findings: list[Finding] = []

    def bad(line: int, message: str) -> None:
        findings.append(Finding(shown, line, "course", message))

    if not NAME_RE.match(path.stem):
        bad(1, f"course file name '{path.name}' must be lowercase ASCII words joined by '-', ending in .yaml")
        return None, findings
    try:
        text = path.read_text(encoding="utf-8")
        root = yaml.compose(text)
        data = yaml.safe_load(text)
    except UnicodeDecodeError:
        bad(1, "not valid UTF-8")
        return None, findings
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        bad(mark.line + 1 if mark else 1, f"invalid YAML: {getattr(exc, 'problem', exc)}")
        return None, findings
    if not isinstance(data, dict):
        bad(1, "a course file is a mapping with 'title' and 'days'")
        return None, findings
    titles = _titles(data.get("title"))
    if titles is None:
        bad(_line_of(root, "title"), "'title' must be text, or a mapping of zh/en/vi to text")
    langs = data.get("langs") or []
    if not (isinstance(langs, list) and all(L in LANGS for L in langs)):
        bad(_line_of(root, "langs"), f"'langs' must be a list of {', '.join(LANGS)}")
        langs = []
    days: list[CourseDay] = []
    raw_days = data.get("days")
    if not isinstance(raw_days, list) or not raw_days:
        bad(_line_of(root, "days"), "'days' must be a list of days, each with a 'title' and 'items'")
        raw_days = []
    for d, day in enumerate(raw_days):
        if not isinstance(day, dict):
            bad(_line_of(root, "days", d), "a day is a mapping with 'title' and 'items'")
            continue
        day_titles = _titles(day.get("title")) or {"en": f"Day {d + 1}"}
        items: list[CourseItem] = []
        raw_items = day.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            bad(_line_of(root, "days", d), "a day needs 'items': a list of {module: name, sections: [ids]}")
            raw_items = []
        for i, item in enumerate(raw_items):
            line = _line_of(root, "days", d, "items", i)
            if isinstance(item, str):
                item = {"module": item}
            if not isinstance(item, dict) or not isinstance(item.get("module"), str):
                bad(line, "an item is a module name, or a mapping with 'module' and optional 'sections'")
                continue
            sections = item.get("sections")
            if sections is not None and not (isinstance(sections, list) and sections
                                             and all(isinstance(s, str) for s in sections)):
                bad(line, "'sections' must be a non-empty list of section ids")
                continue
            items.append(CourseItem(item["module"], sections, line))
        days.append(CourseDay(day_titles, items))
    if findings:
        return None, findings
    return Course(path.stem, titles or {}, days, list(langs)), findings


def load_courses(folder: Path) -> tuple[dict[str, Course], list[Finding]]:
    """Every `<name>.yaml` of the folder (none when it does not exist)."""
    courses: dict[str, Course] = {}
    findings: list[Finding] = []
    if not folder.is_dir():
        return courses, findings
    for path in sorted(folder.glob("*.yaml")):
        course, found = load_course(path)
        findings += found
        if course is not None:
            courses[course.name] = course
    return courses, findings
