"""`sanity_checks`: the field's checklist for an evaluation that went wrong.

From Carlini et al. 2019 ("On evaluating adversarial robustness") and
AutoAttack's `checks.py`. Each check returns a `SanityCheck`; a failed one also
emits a `SanityWarning` naming the cause and linking to a page with the fix.
Perturbation budgets are asserted: an attack that leaves [0, 1] or its
eps-ball raises `PerturbationBudgetError` instead of producing a number.

Checks:
    randomised_model: two forward passes on the same images give other logits.
    probabilities: the model returns probabilities (rows in [0, 1] summing
        to 1) instead of logits, which flattens gradients.
    n_classes: at least 4 classes, which AutoAttack's targeted DLR loss needs
        (with fewer, APGD-T is skipped).
    zero_gradients: some points have an exactly zero input gradient of the
        margin loss (masked or shattered gradients).
    monotone_in_eps: robust accuracy must not rise with epsilon.
    large_eps: a very large epsilon must drive robust accuracy to about 0.
    more_iterations: more steps and restarts must not raise robust accuracy.
    blackbox_vs_whitebox: the score-based Square attack must not beat the
        white-box attacks (if it does, gradients are masked).
    perturbation_budget: every adversarial example lies in [0, 1] and its ball.

`iterative_vs_single_step` reads an evaluation's own results instead (no
attack of its own): `evaluate` adds it to every summary whose attacks include
FGSM and a PGD that can reach eps.
"""

import dataclasses
import math
import warnings

import keras
import numpy as np
from keras import ops

from tfrobust import backend
from tfrobust.attacks import losses
from tfrobust.attacks.apgd import APGD
from tfrobust.attacks.fgsm import FGSM
from tfrobust.attacks.pgd import PGD
from tfrobust.attacks.protocol import attack_still_robust
from tfrobust.attacks.protocol import predict_labels
from tfrobust.attacks.square import Square
from tfrobust.evaluation.adaptive import RANDOMNESS_TOLERANCE
from tfrobust.evaluation.adaptive import logit_variation
from tfrobust.evaluation.summary import SanityCheck

FLAGS_DOC = "https://github.com/fra31/auto-attack/blob/master/flags_doc.md"
CHECKLIST = "https://arxiv.org/abs/1902.06705"


# Checks of the model alone, cheap enough to run on every evaluation (AutoAttack's).
MODEL_CHECKS = ("randomised_model", "probabilities", "n_classes", "zero_gradients")
CHECKS = MODEL_CHECKS + (
    "monotone_in_eps",
    "large_eps",
    "more_iterations",
    "blackbox_vs_whitebox",
    "perturbation_budget",
)


class SanityWarning(UserWarning):
    """An evaluation shows a symptom of a broken attack or a non-standard model."""


@dataclasses.dataclass(frozen=True)
class SanityReport:
    checks: tuple

    @property
    def passed(self):
        return all(c.passed for c in self.checks)

    @property
    def failed(self):
        return [c.name for c in self.checks if not c.passed]

    def __getitem__(self, name):
        for check in self.checks:
            if check.name == name:
                return check
        raise KeyError(f"No sanity check named {name!r}. Checks: {[c.name for c in self.checks]}")


def _logits(model, x, batch_size):
    return np.concatenate(
        [
            keras.ops.convert_to_numpy(
                model(ops.convert_to_tensor(x[i : i + batch_size]), training=False)
            )
            for i in range(0, len(x), batch_size)
        ]
    )


def _margin_grad_fn(model):
    def grad_fn(forward, x, y):
        return backend.value_and_grad(lambda z: ops.sum(losses.cw_margin(forward(z), y)), x)[1]

    return backend.compile_model_fn(model, grad_fn)


class _Attacker:
    """Robust accuracies of attacks on the correct points (`attack_still_robust`)."""

    def __init__(self, model, x, y, batch_size):
        self.model, self.x, self.y, self.batch_size = model, x, y, batch_size
        self.correct = predict_labels(model, x, batch_size) == y
        self.max_ratio = 0.0  # largest ||delta|| / eps seen

    def accuracy(self, attack):
        if not self.correct.any() or attack.eps == 0:
            return float(self.correct.mean())
        attempt = attack_still_robust(
            self.model, attack, self.x, self.y, self.correct, self.batch_size
        )
        self.max_ratio = max(self.max_ratio, float(attempt.norms.max()) / attack.eps)
        return float(attempt.robust.mean())


def two_points_of_noise(n):
    """How much a robust accuracy on `n` points may rise before a comparison fails."""
    return max(0.02, 2.0 / max(n, 1))


def _check(name, passed, detail, advice, url):
    """A `SanityCheck`; the advice (cause and fix) is added only when it failed."""
    message = detail if passed else f"{detail}; {advice}"
    return SanityCheck(name=name, passed=bool(passed), message=message, url=url)


def sanity_checks(
    model,
    x,
    y,
    eps=8 / 255,
    norm="linf",
    seed=0,
    steps=20,
    square_queries=1000,
    large_eps=None,
    large_eps_max_accuracy=0.1,
    tolerance=None,
    batch_size=256,
    checks=None,
):
    """Run the checklist on `(x, y)`; return a `SanityReport` (warns on failures).

    Args:
        model: a Keras model taking [0, 1] images, meant to return logits.
        x, y: a few hundred test points are enough.
        eps, norm: the threat model of the evaluation being checked.
        seed: seed of every attack used by the checks.
        steps: steps of the white-box attacks (APGD-CE, PGD); the
            `more_iterations` check compares against 4x steps and 2 restarts.
        square_queries: queries of the black-box check.
        large_eps: the budget of the `large_eps` check (default 0.5 for
            L-inf, half the square root of the input size for L2).
        large_eps_max_accuracy: the `large_eps` check passes at or below it.
        tolerance: how much accuracy may rise before a comparison fails
            (default `max(0.02, 2 / len(x))`, i.e. two points of noise).
        batch_size: batch size of the forward passes.
        checks: names of the checks to run (default: all of `CHECKS`).

    Raises:
        PerturbationBudgetError: an attack left [0, 1] or its eps-ball.
    """
    x = np.asarray(x, dtype="float32")
    y = np.asarray(y).astype("int64")
    tol = two_points_of_noise(len(x)) if tolerance is None else float(tolerance)
    wanted = set(CHECKS if checks is None else checks)
    if wanted - set(CHECKS):
        raise ValueError(
            f"Unknown sanity checks {sorted(wanted - set(CHECKS))}. Known: {list(CHECKS)}"
        )
    results = _model_checks(model, x, y, batch_size, wanted)
    results += _attack_checks(
        model,
        x,
        y,
        eps,
        norm,
        seed,
        steps,
        square_queries,
        large_eps,
        large_eps_max_accuracy,
        tol,
        batch_size,
        wanted,
    )
    results = [c for c in results if c.name in wanted]
    for check in results:
        _warn_if_failed(check)
    return SanityReport(checks=tuple(results))


def _warn_if_failed(check):
    if not check.passed:
        warnings.warn(f"{check.name}: {check.message} See {check.url}", SanityWarning, stacklevel=3)


def _model_checks(model, x, y, batch_size, wanted):
    """AutoAttack's checks on the model itself: randomness, softmax, zero gradients."""
    checks = []

    # -- the model itself (AutoAttack's checks) -----------------------------------
    probe = x[: min(len(x), batch_size)]
    first, second = _logits(model, probe, batch_size), _logits(model, probe, batch_size)
    diff = logit_variation(first, second)
    checks.append(
        _check(
            "randomised_model",
            diff <= RANDOMNESS_TOLERANCE,
            f"relative difference of the logits across two calls on the same images: {diff:.2g}",
            "the model is randomised: evaluate it with Expectation over Transformation (EOT) "
            "attacks, a deterministic attack overestimates its robustness.",
            FLAGS_DOC,
        )
    )

    rows = first.sum(axis=-1)
    is_prob = bool(first.min() >= 0 and first.max() <= 1 and np.allclose(rows, 1.0, atol=1e-4))
    checks.append(
        _check(
            "probabilities",
            not is_prob,
            f"outputs in [{first.min():.3g}, {first.max():.3g}], row sums in "
            f"[{rows.min():.4g}, {rows.max():.4g}]",
            "the model returns probabilities, not logits: remove the final softmax so that "
            "losses and gradients do not saturate.",
            FLAGS_DOC,
        )
    )

    n_classes = first.shape[-1]
    checks.append(
        _check(
            "n_classes",
            n_classes >= 4,
            f"{n_classes} classes",
            "AutoAttack's targeted DLR loss needs at least 4 classes: APGD-T is skipped, so "
            "report which attacks ran (eval.json `skipped`).",
            FLAGS_DOC,
        )
    )

    grads = keras.ops.convert_to_numpy(
        _margin_grad_fn(model)(
            ops.convert_to_tensor(probe), ops.convert_to_tensor(y[: len(probe)].astype("int32"))
        )
    )
    zero = np.all(grads.reshape(len(probe), -1) == 0, axis=1)
    checks.append(
        _check(
            "zero_gradients",
            not zero.any(),
            f"{int(zero.sum())} of {len(probe)} points have an exactly zero input gradient",
            "gradient-based attacks cannot move them (gradient masking, non-differentiable "
            "layers): rely on score-based attacks (Square) or BPDA.",
            FLAGS_DOC,
        )
    )

    return checks


def _attack_checks(
    model,
    x,
    y,
    eps,
    norm,
    seed,
    steps,
    square_queries,
    large_eps,
    large_eps_max_accuracy,
    tol,
    batch_size,
    wanted,
):
    """Carlini et al.'s checklist, run with real attacks on the correct points.

    Only the attacks that the wanted checks need are run; accuracies are cached.
    """
    checks = []
    if not wanted - set(MODEL_CHECKS):
        return checks
    attacker = _Attacker(model, x, y, batch_size)
    clean = float(attacker.correct.mean())
    limit = 1.0 if norm == "linf" else math.sqrt(float(np.prod(x.shape[1:])))
    step_size = 2.5 * eps / steps
    cache = {}

    def apgd(e):
        if ("apgd", e) not in cache:
            cache["apgd", e] = attacker.accuracy(APGD(e, norm=norm, steps=steps, seed=seed))
        return cache["apgd", e]

    def pgd(many):
        if ("pgd", many) not in cache:
            attack = (
                PGD(
                    eps,
                    step_size=step_size / 2,
                    steps=4 * steps,
                    norm=norm,
                    restarts=2,
                    seed=seed + 1,
                )
                if many
                else PGD(eps, step_size=step_size, steps=steps, norm=norm, seed=seed)
            )
            cache["pgd", many] = attacker.accuracy(attack)
        return cache["pgd", many]

    if "monotone_in_eps" in wanted:
        grid = [0.0] + [min(f * eps, limit) for f in (0.25, 0.5, 1.0, 2.0)]
        accs = [apgd(e) for e in grid]
        rises = [
            (grid[i], grid[i + 1]) for i in range(len(grid) - 1) if accs[i + 1] > accs[i] + tol
        ]
        curve = ", ".join(f"{e:.4g}: {a:.3f}" for e, a in zip(grid, accs))
        checks.append(
            _check(
                "monotone_in_eps",
                not rises,
                f"robust accuracy by epsilon (APGD-CE) {curve}",
                f"it rises between {rises}: accuracy rising with epsilon means the attack is "
                "failing (too few steps, bad step size, masked gradients).",
                CHECKLIST,
            )
        )

    if "large_eps" in wanted:
        if large_eps is None:
            large_eps = 0.5 if norm == "linf" else 0.5 * limit
        big = apgd(min(large_eps, limit))
        checks.append(
            _check(
                "large_eps",
                big <= large_eps_max_accuracy,
                f"robust accuracy {big:.3f} at eps={large_eps:g} (expected <= "
                f"{large_eps_max_accuracy:g})",
                "an attack with a huge budget should reach ~0%: the attack is not working "
                "(gradient masking or a bug).",
                CHECKLIST,
            )
        )

    if "more_iterations" in wanted:
        few, many = pgd(False), pgd(True)
        checks.append(
            _check(
                "more_iterations",
                many <= few + tol,
                f"PGD robust accuracy {few:.3f} with {steps} steps, {many:.3f} with {4 * steps} "
                "steps and 2 restarts",
                "more iterations must not help the model: the attack is unstable.",
                CHECKLIST,
            )
        )

    if "blackbox_vs_whitebox" in wanted:
        whites = [apgd(min(eps, limit))] + [v for k, v in cache.items() if k[0] == "pgd"]
        white = min(whites)
        black = attacker.accuracy(Square(eps, norm=norm, n_queries=square_queries, seed=seed))
        checks.append(
            _check(
                "blackbox_vs_whitebox",
                black >= white - tol,
                f"Square (score-based, {square_queries} queries) robust accuracy {black:.3f}, "
                f"white-box {white:.3f}",
                "a black-box attack beating white-box ones signals gradient masking.",
                FLAGS_DOC,
            )
        )

    checks.append(
        SanityCheck(
            name="perturbation_budget",
            passed=True,
            message=f"all adversarial examples in [0, 1] and within budget "
            f"(largest norm / eps = {attacker.max_ratio:.4f}, clean accuracy {clean:.3f}).",
            url=CHECKLIST,
        )
    )
    return [c for c in checks if c.name in wanted]


def iterative_vs_single_step(results, eps, n):
    """Carlini et al.'s "iterative attacks must beat single-step ones", on an evaluation's results.

    `results` holds `(attack, robust accuracy)` pairs measured on the same `n`
    points. Every untargeted plain `PGD` (any loss) whose steps can reach `eps`
    (`steps * step_size >= eps`) must leave at most FGSM's accuracy, up to the
    other checks' `two_points_of_noise(n)`: one that leaves more
    is misled by the loss surface (gradient masking), so its number overstates
    robustness. Returns None when the results hold no FGSM or no such PGD;
    warns (`SanityWarning`) when the check fails.
    """
    single = {a.name: acc for a, acc in results if isinstance(a, FGSM)}
    iterative = {
        a.name: acc
        for a, acc in results
        if type(a) is PGD and not a.targeted and a.steps * a.step_size >= eps * (1 - 1e-6)
    }
    if not single or not iterative:
        return None
    floor = min(single.values())
    tol = two_points_of_noise(n)
    weaker = sorted(name for name, acc in iterative.items() if acc > floor + tol)
    listed = ", ".join(f"{name} {acc:.3f}" for name, acc in {**single, **iterative}.items())
    check = _check(
        "iterative_vs_single_step",
        not weaker,
        f"robust accuracy on the evaluation's {n} points: {listed}",
        f"{', '.join(weaker)} left more points robust than one FGSM step: the iterative "
        "attacks are misled by the loss surface (gradient masking), so their accuracies "
        "overstate robustness; trust AutoAttack and the adaptive attacks instead.",
        CHECKLIST,
    )
    _warn_if_failed(check)
    return check
