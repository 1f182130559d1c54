"""Evaluate robustness: accuracies, sanity checks, and a JSON/Markdown/PNG report.

>>> import tempfile
>>> from tfrobust import data, zoo
>>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR)
>>> model = zoo.load_model("mnist/lenet-pgd_at")  # the zoo's PGD-AT LeNet, eps 0.3
>>> summary = evaluate(model, (x, y), attacks=["fgsm", "pgd"], eps=0.3, n=50)
>>> summary.clean_accuracy, summary.robust_accuracy > 0.8
(1.0, True)
>>> sorted(write_report(summary, tempfile.mkdtemp()))
['json', 'markdown', 'plot']

Carlini et al.'s checklist runs attacks at several budgets (half a minute
on a CPU, for all of `sanity.CHECKS`); the checks of the model alone are cheap:

>>> sanity_checks(model, x[:50], y[:50], eps=0.3,
...               checks=["randomised_model", "probabilities", "zero_gradients"]).failed
[]
"""

from tfrobust.evaluation.evaluate import build_attacks
from tfrobust.evaluation.evaluate import evaluate
from tfrobust.evaluation.knn import knn_accuracy
from tfrobust.evaluation.paired import paired_comparison
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

__all__ = [
    "EvalSummary",
    "SanityReport",
    "SanityWarning",
    "SchemaError",
    "build_attacks",
    "evaluate",
    "knn_accuracy",
    "list_attacks",
    "make_attack",
    "paired_comparison",
    "read_json",
    "sanity_checks",
    "write_json",
    "write_report",
]
