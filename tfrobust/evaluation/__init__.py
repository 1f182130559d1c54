"""Evaluate robustness: accuracies, sanity checks, and a JSON/Markdown/PNG report.

    >>> summary = evaluate(model, (x, y), eps=8 / 255, n=1000)  # doctest: +SKIP
    >>> write_report(summary, "runs/eval")  # doctest: +SKIP
    >>> sanity_checks(model, x[:200], y[:200], eps=8 / 255).failed  # doctest: +SKIP
"""

from tfrobust.evaluation.evaluate import build_attacks
from tfrobust.evaluation.evaluate import evaluate
from tfrobust.evaluation.knn import knn_accuracy
from tfrobust.evaluation.registry import list_attacks
from tfrobust.evaluation.registry import make_attack
from tfrobust.evaluation.report import read_json
from tfrobust.evaluation.report import write_json
from tfrobust.evaluation.report import write_report
from tfrobust.evaluation.sanity import SanityReport
from tfrobust.evaluation.sanity import SanityWarning
from tfrobust.evaluation.sanity import sanity_checks
from tfrobust.evaluation.summary import EvalSummary
from tfrobust.evaluation.summary import SchemaError

__all__ = ["EvalSummary", "SanityReport", "SanityWarning", "SchemaError", "build_attacks",
           "evaluate", "knn_accuracy", "list_attacks", "make_attack", "read_json", "sanity_checks", "write_json",
           "write_report"]
