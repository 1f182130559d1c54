"""The typed result of an evaluation, and its JSON schema.

Numbers are numbers (epsilon is a float, never "8/255" nor null), every field
is always present, and `EvalSummary.from_dict` refuses a dict that does not
match the schema, so an `eval.json` that loads is an `eval.json` that is valid.
"""

import dataclasses
import platform

import numpy as np

from tfrobust.argument_validation import NORMS

SCHEMA_VERSION = 1


@dataclasses.dataclass(frozen=True)
class ThreatModel:
    norm: str
    eps: float


@dataclasses.dataclass(frozen=True)
class AttackResult:
    """One attack run on its own over the points classified correctly.

    `robust_accuracy` is over all `n` points; `stages` holds an ensemble's
    per-attack cumulative accuracies (empty for a single attack).
    """

    name: str
    robust_accuracy: float
    seconds: float
    config: dict
    stages: list = dataclasses.field(default_factory=list)
    skipped: list = dataclasses.field(default_factory=list)
    adaptive_for: list = dataclasses.field(default_factory=list)  # the defenses it targets


@dataclasses.dataclass(frozen=True)
class CurvePoint:
    """The worst case at one budget, and each attack run there (by name: robust accuracy).

    `robust` keeps the per-point results behind those numbers, by the same names
    (`"clean"` at eps 0): a string of `0`/`1`, one per point in order. Two models
    measured on the same points can then be compared point by point
    (`tfrobust.evaluation.paired`), which needs far fewer points than comparing
    two accuracies. Empty in `eval.json`s written before it was kept.
    """

    eps: float
    robust_accuracy: float
    attacks: dict = dataclasses.field(default_factory=dict)
    robust: dict = dataclasses.field(default_factory=dict)

    def mask(self, name):
        """The robust mask of `name` at this budget, or None if not kept."""
        bits = self.robust.get(name)
        return None if bits is None else from_bits(bits)

    def worst_of(self, names):
        """Accuracy counting a point robust only if it survives every attack in `names`.

        The clean accuracy at eps 0. Without the per-point masks (older `eval.json`s)
        the best a reader can say is the lowest single attack's accuracy.
        """
        if self.eps == 0 or not names:
            return self.robust_accuracy
        masks = [self.mask(name) for name in names]
        if any(m is None for m in masks):
            return min(self.attacks[name] for name in names)
        return float(np.logical_and.reduce(masks).mean())


def attacks_at_every_budget(curve):
    """The attacks run at every nonzero budget of `curve`, sorted.

    The evaluation runs its full suite (AutoAttack, C&W, ...) at the threat
    model's epsilon and cheap attacks elsewhere, so the worst case falls there
    for the stronger attacks, not the larger budget. A line through the worst
    case of these attacks alone compares like with like along the epsilon axis.
    """
    names = [set(p.attacks) for p in curve if p.eps > 0]
    return sorted(set.intersection(*names)) if names else []


def budgets_with_more_attacks(curve):
    """The points of `curve` where attacks beyond `attacks_at_every_budget` ran."""
    shared = set(attacks_at_every_budget(curve))
    return [p for p in curve if set(p.attacks) - shared]


def to_bits(mask):
    """A boolean mask as the text kept in JSON: one `0`/`1` per point."""
    return "".join("1" if r else "0" for r in mask)


def from_bits(text):
    """The boolean mask of `to_bits` text."""
    return np.array([c == "1" for c in text], bool)


@dataclasses.dataclass(frozen=True)
class SanityCheck:
    name: str
    passed: bool
    message: str
    url: str = ""


@dataclasses.dataclass(frozen=True)
class EvalSummary:
    """What `tfrobust.evaluation.evaluate` measured, ready for `eval.json`.

    `robust_accuracy` is the worst case: a point counts as robust only if it
    survives every attack. `curve` holds the worst-case accuracy at other
    budgets (with eps=0 the clean accuracy) for the plot.

    Which points were evaluated: the first `n` of the split, taken in the order
    `data_order` (`tfrobust.data` `Source.order`: `"canonical"`, a seeded order
    such as `"path-sha256-v1(seed=0)"`, `"tfds"`; `""` when the caller did not
    say), and `points_sha256`, the SHA-256 of exactly the arrays evaluated
    (`evaluate.points_sha256`), so two reports on the same points can be
    recognised whatever loaded them. Both are optional in older `eval.json`s.

    `test_clean` is `{"n": ..., "accuracy": ...}`: clean accuracy on a larger
    part of the split than the `n` attacked points (all 10,000 test images for
    the zoo's MNIST and CIFAR-10 entries), or `{}` when not measured.

    `robust_accuracy_non_adaptive` is the worst case over the attacks that
    target no defense (`AttackResult.adaptive_for` empty), when adaptive
    attacks ran beside them (`tfrobust.evaluation.adaptive`), else `None`: the
    difference to `robust_accuracy` is what the adaptive attacks found.
    """

    model: str
    dataset: str
    threat_model: ThreatModel
    n: int
    seed: int
    clean_accuracy: float
    robust_accuracy: float
    attacks: list
    curve: list
    sanity: list
    wall_time_s: float
    versions: dict
    data_order: str = ""
    points_sha256: str = ""
    test_clean: dict = dataclasses.field(default_factory=dict)
    robust_accuracy_non_adaptive: float | None = None
    schema_version: int = SCHEMA_VERSION

    def to_dict(self):
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data):
        validate(data)
        return cls(
            model=data["model"],
            dataset=data["dataset"],
            threat_model=ThreatModel(**data["threat_model"]),
            n=data["n"],
            seed=data["seed"],
            clean_accuracy=data["clean_accuracy"],
            robust_accuracy=data["robust_accuracy"],
            attacks=[AttackResult(**a) for a in data["attacks"]],
            curve=[CurvePoint(**c) for c in data["curve"]],
            sanity=[SanityCheck(**c) for c in data["sanity"]],
            wall_time_s=data["wall_time_s"],
            versions=dict(data["versions"]),
            data_order=data.get("data_order", ""),
            points_sha256=data.get("points_sha256", ""),
            test_clean=dict(data.get("test_clean", {})),
            robust_accuracy_non_adaptive=data.get("robust_accuracy_non_adaptive"),
            schema_version=data["schema_version"],
        )


class SchemaError(ValueError):
    """An `eval.json` that does not match `EvalSummary`'s schema."""


def _check(condition, where, message):
    if not condition:
        raise SchemaError(f"{where}: {message}")


def _number(value, where, lo=None, hi=None):
    _check(
        isinstance(value, (int, float)) and not isinstance(value, bool),
        where,
        f"expected a number, got {value!r}",
    )
    if lo is not None:
        _check(lo <= value <= hi, where, f"expected a value in [{lo}, {hi}], got {value!r}")


def _fields(data, cls, where):
    _check(isinstance(data, dict), where, f"expected an object, got {type(data).__name__}")
    names = {f.name for f in dataclasses.fields(cls)}
    required = {
        f.name
        for f in dataclasses.fields(cls)
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    }
    _check(required <= set(data), where, f"missing fields {sorted(required - set(data))}")
    _check(set(data) <= names, where, f"unknown fields {sorted(set(data) - names)}")


def validate(data):
    """Raise `SchemaError` unless `data` is a valid `EvalSummary` dict."""
    _fields(data, EvalSummary, "summary")
    _check(
        data["schema_version"] == SCHEMA_VERSION,
        "schema_version",
        f"expected {SCHEMA_VERSION}, got {data['schema_version']!r}",
    )
    for key in ("model", "dataset", "data_order", "points_sha256"):
        value = data.get(key, "")
        _check(isinstance(value, str), key, f"expected a string, got {value!r}")
    digest = data.get("points_sha256", "")
    _check(
        digest == "" or (len(digest) == 64 and set(digest) <= set("0123456789abcdef")),
        "points_sha256",
        f"expected 64 hex digits or '', got {digest!r}",
    )
    test_clean = data.get("test_clean", {})
    _check(
        isinstance(test_clean, dict) and set(test_clean) in (set(), {"n", "accuracy"}),
        "test_clean",
        f"expected {{}} or {{'n', 'accuracy'}}, got {test_clean!r}",
    )
    if test_clean:
        _check(
            isinstance(test_clean["n"], int) and test_clean["n"] > 0,
            "test_clean.n",
            f"expected an int > 0, got {test_clean['n']!r}",
        )
        _number(test_clean["accuracy"], "test_clean.accuracy", 0, 1)
    _fields(data["threat_model"], ThreatModel, "threat_model")
    _check(
        data["threat_model"]["norm"] in NORMS,
        "threat_model.norm",
        f"expected one of {NORMS}, got {data['threat_model']['norm']!r}",
    )
    _number(data["threat_model"]["eps"], "threat_model.eps", 0, float("inf"))
    _check(
        isinstance(data["n"], int) and data["n"] >= 0, "n", f"expected an int, got {data['n']!r}"
    )
    _check(isinstance(data["seed"], int), "seed", f"expected an int, got {data['seed']!r}")
    for key in ("clean_accuracy", "robust_accuracy"):
        _number(data[key], key, 0, 1)
    if data.get("robust_accuracy_non_adaptive") is not None:
        _number(data["robust_accuracy_non_adaptive"], "robust_accuracy_non_adaptive", 0, 1)
    _number(data["wall_time_s"], "wall_time_s", 0, float("inf"))
    _check(
        isinstance(data["attacks"], list) and data["attacks"],
        "attacks",
        "expected a non-empty list",
    )
    for i, attack in enumerate(data["attacks"]):
        where = f"attacks[{i}]"
        _fields(attack, AttackResult, where)
        _check(isinstance(attack["name"], str), where + ".name", "expected a string")
        _number(attack["robust_accuracy"], where + ".robust_accuracy", 0, 1)
        _number(attack["seconds"], where + ".seconds", 0, float("inf"))
        _check(isinstance(attack["config"], dict), where + ".config", "expected an object")
        for j, stage in enumerate(attack.get("stages", [])):
            _number(stage.get("robust_accuracy"), f"{where}.stages[{j}].robust_accuracy", 0, 1)
    _check(isinstance(data["curve"], list), "curve", "expected a list")
    for i, point in enumerate(data["curve"]):
        _fields(point, CurvePoint, f"curve[{i}]")
        _number(point["eps"], f"curve[{i}].eps", 0, float("inf"))
        _number(point["robust_accuracy"], f"curve[{i}].robust_accuracy", 0, 1)
        _check_masks(point, data["n"], f"curve[{i}]")
    _check(isinstance(data["sanity"], list), "sanity", "expected a list")
    for i, check in enumerate(data["sanity"]):
        _fields(check, SanityCheck, f"sanity[{i}]")
        _check(isinstance(check["passed"], bool), f"sanity[{i}].passed", "expected a boolean")
    _check(
        isinstance(data["versions"], dict)
        and all(isinstance(v, str) for v in data["versions"].values()),
        "versions",
        "expected an object of strings",
    )
    for key in ("tfrobust", "keras", "numpy", "backend"):
        _check(key in data["versions"], "versions", f"missing {key!r}")


def _check_masks(point, n, where):
    """Each kept mask has one 0/1 per point and agrees with the accuracy it stands for."""
    robust = point.get("robust", {})
    _check(isinstance(robust, dict), where + ".robust", "expected an object")
    accuracies = {**point.get("attacks", {}), "clean": point["robust_accuracy"]}
    for name, bits in robust.items():
        at = f"{where}.robust[{name!r}]"
        _check(
            isinstance(bits, str) and len(bits) == n and set(bits) <= {"0", "1"},
            at,
            f"expected a string of {n} characters 0 or 1",
        )
        _check(name in accuracies, at, "no accuracy of that name at this budget")
        _check(
            abs(bits.count("1") / max(n, 1) - accuracies[name]) < 1e-9,
            at,
            f"its mean {bits.count('1') / max(n, 1)} is not the accuracy {accuracies[name]}",
        )


def library_versions():
    """Versions of everything that can change a robustness number."""
    import keras
    import numpy

    import tfrobust

    versions = {
        "tfrobust": tfrobust.__version__,
        "keras": keras.__version__,
        "numpy": numpy.__version__,
        "python": platform.python_version(),
        "backend": keras.backend.backend(),
    }
    if keras.backend.backend() == "tensorflow":
        import tensorflow

        versions["tensorflow"] = tensorflow.__version__
    elif keras.backend.backend() == "jax":
        import jax

        versions["jax"] = jax.__version__
    return versions
