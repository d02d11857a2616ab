"""Safety checks of a translated section against its source section, aware of how zh, en and vi write numbers,
negation and emphasis. Each check is a pure function of texts (and the glossary), so `kb check`, the web
workbench and the tests all run the same code; `kb.corpus` turns their results into `Finding`s."""

from kb.checks.glossary_terms import glossary_issues
from kb.checks.negation import negation_issues
from kb.checks.numbers import Quantity, compare_numbers, quantities
from kb.checks.rendering import rendering_issues
from kb.checks.structure import structure_issues

__all__ = ["Quantity", "compare_numbers", "glossary_issues", "negation_issues", "quantities",
           "rendering_issues", "structure_issues"]
