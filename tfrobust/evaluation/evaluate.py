"""`evaluate`: clean, per-attack and worst-case robust accuracy of a model.

Every attack runs on its own over the points the model classifies correctly;
the model is re-queried on each adversarial example, whose perturbation is
asserted to lie in the threat model; a point is robust in the worst case only
if it survives every attack. An ensemble of attacks evaluated earlier in the
list is computed from their results instead of running them again.
"""

import hashlib
import time

import numpy as np

from tfrobust import validation
from tfrobust.argument_validation import check_int
from tfrobust.attacks.ensemble import Ensemble
from tfrobust.attacks.protocol import attack_still_robust
from tfrobust.attacks.protocol import predict_labels
from tfrobust.evaluation import adaptive as adaptive_attacks
from tfrobust.evaluation import registry
from tfrobust.evaluation.results import ResultStore
from tfrobust.evaluation.results import seed_states
from tfrobust.evaluation.summary import AttackResult
from tfrobust.evaluation.summary import CurvePoint
from tfrobust.evaluation.summary import EvalSummary
from tfrobust.evaluation.summary import SanityCheck
from tfrobust.evaluation.summary import ThreatModel
from tfrobust.evaluation.summary import library_versions
from tfrobust.evaluation.summary import to_bits


def as_arrays(data, n=None):
    """`(x float32, y)`: the first `n` points of `(x, y)` or of a `tf.data.Dataset`."""
    if isinstance(data, (tuple, list)) and len(data) == 2:
        x, y = np.asarray(data[0], dtype="float32"), np.asarray(data[1])
    elif hasattr(data, "as_numpy_iterator"):
        xs, ys, count = [], [], 0
        for xb, yb in data.as_numpy_iterator():
            xb, yb = np.asarray(xb), np.asarray(yb)
            if yb.ndim == 0:  # an unbatched dataset
                xb, yb = xb[None], yb[None]
            xs.append(xb), ys.append(yb)
            count += len(yb)
            if n is not None and count >= n:
                break
        x, y = np.concatenate(xs).astype("float32"), np.concatenate(ys)
    else:
        raise ValueError(
            "`data` must be a pair (x, y) of arrays or a tf.data.Dataset of (x, y). "
            f"Received: {type(data).__name__}"
        )
    if y.ndim == 2:  # one-hot labels
        y = np.argmax(y, axis=-1)
    if len(x) != len(y):
        raise ValueError(f"x and y differ in length. Received: {len(x)} and {len(y)}")
    if n is not None:
        if n > len(x):
            raise ValueError(f"Asked for n={n} points, but the data holds {len(x)}")
        x, y = x[:n], y[:n]
    return x, y  # labels as given: `validation.check_labels` checks and converts them


def points_sha256(x, y):
    """SHA-256 (hex) of evaluated points: `y` as little-endian int64, then `x` as
    little-endian float32, both C-ordered. It names the points, not how they were loaded."""
    digest = hashlib.sha256(np.ascontiguousarray(y, dtype="<i8").tobytes())
    digest.update(np.ascontiguousarray(x, dtype="<f4").tobytes())
    return digest.hexdigest()


def _as_list(attacks):
    if isinstance(attacks, str) or not isinstance(attacks, (list, tuple)):
        attacks = [attacks]
    if not attacks:
        raise ValueError("`attacks` must name at least one attack. Received: []")
    return list(attacks)


def build_attacks(attacks, eps, norm, seed, attack_kwargs=None):
    """Attack objects from names, objects, or a mix (names get `seed + i`)."""
    built = []
    for i, attack in enumerate(_as_list(attacks)):
        if isinstance(attack, str):
            attack = registry.make_attack(
                attack, eps, norm=norm, seed=seed + i, configs=attack_kwargs
            )
        elif abs(float(attack.eps) - eps) > 1e-12 or attack.norm != norm:
            raise ValueError(
                f"{attack!r} does not match the threat model norm={norm!r}, eps={eps:g}"
            )
        built.append(attack)
    return built


def _at_eps(attacks, built, eps, seed, attack_kwargs):
    """`built` rebuilt at budget `eps`, attack `i` seeded `seed + i`: those named in `attacks`
    from the registry (step sizes that are fractions of eps scale), objects by `with_eps`."""
    return [
        registry.make_attack(spec, eps, norm=attack.norm, seed=seed + i, configs=attack_kwargs)
        if isinstance(spec, str)
        else attack.with_eps(eps, seed=seed + i)
        for i, (spec, attack) in enumerate(zip(attacks, built))
    ]


def _with_adaptive(model, x, attacks, built, eps, norm, seed, attack_kwargs):
    """`attacks` and `built` plus each adaptive attack the model asks for that they lack,
    and per attack the defenses it targets (an attack configured as an adaptive one counts
    as it)."""
    configs = attack_kwargs or {}
    bases = [str(configs.get(a.name, {}).get("attack", a.name)).lower() for a in built]
    attacks, built, targets = list(attacks), list(built), [[] for _ in built]
    for name, defenses in adaptive_attacks.adaptive_attacks(model, x[:32]).items():
        if name in bases:
            for i, base in enumerate(bases):
                if base == name:
                    targets[i] += defenses
        else:
            attacks.append(name)
            built.append(
                registry.make_attack(name, eps, norm=norm, seed=seed + len(built), configs=configs)
            )
            targets.append(list(defenses))
    return attacks, built, targets


class _Tally:
    """Counts over batches for one attack."""

    def __init__(self, name):
        self.name, self.seconds, self.stages, self.skipped = name, 0.0, {}, ()
        self.earlier = 0.0  # of `seconds`, those spent by an earlier run (a `ResultStore`)


def _reused(attack, robust_by_name):
    """Member masks for an ensemble whose members were all evaluated earlier, else None.

    A plain `Ensemble` of named attacks (a paper's "Ensemble" column) is the
    worst case over results this evaluation already has; rerunning its
    members would double the cost. AutoAttack keeps its own stages.
    """
    if type(attack) is not Ensemble or not all(n in robust_by_name for n in attack.names):
        return None
    return [(n, robust_by_name[n]) for n in attack.names]


def _worst_of(members, clean, tally):
    """The robust mask of an ensemble from its members' masks, with its stage counts."""
    robust, stages = clean.copy(), []
    for name, mask in members:
        fooled = robust & ~mask
        stages.append((name, int(robust.sum()), int(fooled.sum()), 0.0))
        robust &= mask
    _add_stages(tally, stages)
    return robust


def _add_stages(tally, stages):
    for name, attacked, fooled, seconds in stages:
        counts = tally.stages.setdefault(name, [0, 0, 0])
        counts[0] += attacked
        counts[1] += fooled
        counts[2] += seconds


def _attack_batches(model, x, y, clean, attack, tally, batch_size, eps, advance, store):
    """The robust mask of one attack over all batches (the points in `clean` only).

    With a `store`, the mask so far and the attack's random states are saved after each
    batch but the last, and a rerun restores them and goes on from the next batch.
    """
    robust_all, first, t0 = [], 0, time.perf_counter()
    states = seed_states(attack, model, x[:1], y[:1]) if store is not None else []
    partial = store.load_partial(tally, attack, eps, batch_size) if store is not None else None
    if partial is not None:
        robust_all, first, tally.earlier = [partial.robust], len(partial.robust), partial.seconds
        for variable, value in zip(states, partial.states):
            variable.assign(value)
        if advance is not None:
            advance(tally.name, eps, first)
    for start in range(first, len(x), batch_size):
        xb, yb = x[start : start + batch_size], y[start : start + batch_size]
        correct = clean[start : start + batch_size]
        if isinstance(attack, Ensemble):
            _, report = attack.run(model, xb, yb)
            robust = report.robust & correct
            _add_stages(
                tally, [(st.name, st.n_attacked, st.n_fooled, st.seconds) for st in report.stages]
            )
            tally.skipped = report.skipped
        else:
            robust = attack_still_robust(
                model, attack, xb, yb, correct, batch_size, tally.name
            ).robust
        robust_all.append(robust)
        if store is not None and start + batch_size < len(x):
            seconds = tally.earlier + time.perf_counter() - t0
            store.save_partial(
                tally, attack, eps, batch_size, np.concatenate(robust_all), seconds, states
            )
        if advance is not None:
            advance(tally.name, eps, len(xb))
    tally.seconds = tally.earlier + time.perf_counter() - t0
    return np.concatenate(robust_all)


def _run_batches(model, x, y, attacks, batch_size, eps, advance=None, store=None):
    """Clean mask, per-attack robust masks (and tallies).

    Attacks run one after another over all points; with a `store`
    (`ResultStore`), each attack's result is read from it when present and
    written to it when computed, and an attack stopped part-way goes on from
    its last finished batch, so a killed evaluation loses at most one batch.
    """
    clean = np.concatenate(
        [
            predict_labels(model, x[i : i + batch_size], batch_size) == y[i : i + batch_size]
            for i in range(0, len(x), batch_size)
        ]
    )
    tallies = [_Tally(a.name) for a in attacks]
    robust_by_name, masks = {}, []
    for attack, tally in zip(attacks, tallies):
        robust = store.load(tally, attack, eps) if store is not None else None
        if robust is not None:
            tally.earlier = tally.seconds
            if advance is not None:
                advance(tally.name, eps, len(x))
        else:
            members = _reused(attack, robust_by_name)
            if members is not None:
                robust = _worst_of(members, clean, tally)
                if advance is not None:
                    advance(tally.name, eps, len(x))
            else:
                robust = _attack_batches(
                    model, x, y, clean, attack, tally, batch_size, eps, advance, store
                )
            if store is not None:
                store.save(tally, attack, eps, robust)
        robust_by_name[tally.name] = robust
        masks.append(robust)
    return clean, masks, tallies


def _stage_rows(tally, n, n_clean):
    rows, remaining = [], n_clean
    for name, (attacked, fooled, seconds) in tally.stages.items():
        remaining -= fooled
        rows.append(
            {
                "name": name,
                "n_attacked": int(attacked),
                "n_fooled": int(fooled),
                "robust_accuracy": remaining / n,
                "seconds": float(seconds),
            }
        )
    return rows


def _progress(enabled, total):
    """A rich bar over the `total` points the attacks run on, naming the attack and its
    eps, with the time left; and `advance(name, eps, points)` to call after each batch."""
    if not enabled:
        return None, None
    from rich.progress import BarColumn
    from rich.progress import MofNCompleteColumn
    from rich.progress import Progress
    from rich.progress import TextColumn
    from rich.progress import TimeElapsedColumn
    from rich.progress import TimeRemainingColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("points attacked,"),
        TimeElapsedColumn(),
        TextColumn("elapsed,"),
        TimeRemainingColumn(),
        TextColumn("left"),
        transient=False,
    )
    task = bar.add_task("attacks", total=total)

    def advance(name, eps, points):
        bar.update(task, advance=points, description=f"{name} (eps {eps:.4g})")

    return bar, advance


def evaluate(
    model,
    data,
    attacks="autoattack",
    eps=8 / 255,
    norm="linf",
    n=None,
    batch_size=256,
    seed=0,
    curve_eps=(),
    curve_attacks=None,
    sanity=False,
    attack_kwargs=None,
    model_name=None,
    dataset_name="",
    data_order="",
    progress=False,
    resume_dir=None,
    outputs="logits",
    adaptive=True,
):
    """Evaluate `model` on the first `n` points of `data`; return an `EvalSummary`.

    Args:
        model: a Keras model taking [0, 1] images and returning logits.
        data: `(x, y)` arrays or a `tf.data.Dataset` of `(x, y)`.
        attacks: a name (`registry.list_attacks()`, e.g. `"autoattack"`), an
            attack object, or a list of them; names are built for `eps`/`norm`.
        eps, norm: the threat model (eps in the [0, 1] pixel scale).
        n: number of points, the first of `data` (default None: all of them;
            a `tf.data.Dataset` is then read to its end).
        batch_size: points attacked at once.
        seed: base seed of the named attacks (attack `i` gets `seed + i`).
        curve_eps: other budgets at which to measure the worst-case accuracy
            for the accuracy-vs-epsilon plot (0 and `eps` are always in it).
        curve_attacks: the names of the attacks run at the `curve_eps` budgets
            (default None: all of them), for a cheap curve (PGD at a few
            budgets) beside AutoAttack at `eps` only. The adaptive attacks run
            there too: a defense's curve without them would flatter it. The
            curve's point is the worst case over what ran, and each point
            records it (`CurvePoint.attacks`).
        sanity: run every check of `sanity_checks` on the first `min(n, 200)`
            points; a dict passes keyword arguments to it. Without it the
            checks of the model alone (`sanity.MODEL_CHECKS`: randomness,
            probabilities, number of classes, zero gradients), which cost a
            few forward passes, still run and are reported, and so does
            `sanity.iterative_vs_single_step`, read from the attacks' results.
        attack_kwargs: per-name settings, e.g.
            `{"autoattack": {"square_queries": 1000}}`; an `"attack"` entry
            makes a new name, e.g. `{"pgd100": {"attack": "pgd", "steps": 100}}`
            (see `registry.make_attack`).
        model_name, dataset_name: labels for the report.
        data_order: the order of the split `data` was taken from, for the
            report (`Source.order` of `tfrobust.data.load_uint8`). The summary
            also records `points_sha256` of the points evaluated.
        progress: show a rich progress bar, advanced after each batch: the attack
            running and its eps, points attacked of the total, time left.
        resume_dir: a folder keeping each attack's per-point result
            (`results.ResultStore`); an evaluation rerun with the same folder,
            points and settings skips the attacks already done and resumes a
            stopped attack at its next batch (the summary's `wall_time_s` then
            includes the seconds they took before).
        adaptive: also run the adaptive attack of every defense layer in the
            model, and EOT attacks if its output is random at inference
            (`tfrobust.evaluation.adaptive`), unless `attacks` already holds
            them; they count in the worst case, and each `AttackResult` says
            in `adaptive_for` which defenses it targets.
        outputs: `"logits"`; a model whose outputs look like probabilities
            (softmax) is then an error, as in AutoAttack's check: the attacks'
            losses need logits. Pass `"probabilities"` to evaluate such a model
            on purpose.

    Raises:
        ValueError: before any attack runs, for labels that are not integers
            in `[0, num_classes)` or not one per image, non-finite images or
            images outside [0, 1], `n < 1`, or a probability output (above).

    Example:
        >>> from tfrobust import data, zoo
        >>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR)
        >>> model = zoo.load_model("mnist/lenet-pgd_at")  # the zoo's PGD-AT LeNet, eps 0.3
        >>> summary = evaluate(model, (x, y), attacks="fgsm", eps=0.3, n=50)
        >>> [(a.name, a.robust_accuracy > 0.8) for a in summary.attacks]
        [('fgsm', True)]
    """
    start = time.perf_counter()
    eps = float(eps)
    n = check_int("n", n, allow_none=True, hint=" (None: all of them)")
    batch_size = check_int("batch_size", batch_size)
    x, y = as_arrays(data, n)
    x, y = validation.check_batch(model, x, y, name="data")
    validation.check_outputs(model, x, outputs)
    attacks = _as_list(attacks)
    built = build_attacks(attacks, eps, norm, seed, attack_kwargs)
    targets = [[] for _ in built]
    if adaptive:
        attacks, built, targets = _with_adaptive(
            model, x, attacks, built, eps, norm, seed, attack_kwargs
        )
    curve_eps = sorted({float(e) for e in curve_eps} - {0.0, eps})
    names = [a.name for a in built]
    if curve_attacks is not None:
        unknown = sorted(set(curve_attacks) - set(names))
        if unknown:
            raise ValueError(
                f"`curve_attacks` must name attacks of this evaluation, {names}. "
                f"Received: {unknown}"
            )
    store = None
    if resume_dir is not None:
        store = ResultStore(resume_dir, points_sha256(x, y), norm, seed, attack_kwargs)
    on_curve = sum(
        curve_attacks is None or a.name in curve_attacks or bool(d) for a, d in zip(built, targets)
    )
    bar, advance = _progress(progress, len(x) * (len(built) + on_curve * len(curve_eps)))
    if bar is not None:
        bar.start()
    try:
        clean, masks, tallies = _run_batches(model, x, y, built, batch_size, eps, advance, store)
        earlier = sum(t.earlier for t in tallies)
        worst = np.logical_and.reduce([clean, *masks])
        curve = [
            CurvePoint(0.0, float(clean.mean()), robust={"clean": to_bits(clean)}),
            CurvePoint(eps, float(worst.mean()), *_per_attack(tallies, masks)),
        ]
        for e in curve_eps:
            others = [
                a
                for a, defenses in zip(_at_eps(attacks, built, e, seed, attack_kwargs), targets)
                if curve_attacks is None or a.name in curve_attacks or defenses
            ]
            c, m, curve_tallies = _run_batches(model, x, y, others, batch_size, e, advance, store)
            earlier += sum(t.earlier for t in curve_tallies)
            worst_e = np.logical_and.reduce([c, *m])
            curve.append(CurvePoint(e, float(worst_e.mean()), *_per_attack(curve_tallies, m)))
    finally:
        if bar is not None:
            bar.stop()
    from tfrobust.evaluation.sanity import MODEL_CHECKS
    from tfrobust.evaluation.sanity import iterative_vs_single_step
    from tfrobust.evaluation.sanity import sanity_checks

    options = dict(sanity) if isinstance(sanity, dict) else {}
    if not sanity:
        options["checks"] = MODEL_CHECKS
    k = min(len(x), options.pop("n", 200))
    checks = list(
        sanity_checks(model, x[:k], y[:k], eps=eps, norm=norm, seed=seed, **options).checks
    )
    plain_results = [(a, float(m.mean())) for a, m, d in zip(built, masks, targets) if not d]
    single_step = iterative_vs_single_step(plain_results, eps, len(x))
    if single_step is not None:
        checks.append(single_step)
    n_points = len(x)
    results = [
        AttackResult(
            name=t.name,
            robust_accuracy=float(m.mean()),
            seconds=float(t.seconds),
            config=_jsonable(a.get_config()),
            stages=_stage_rows(t, n_points, int(clean.sum())),
            skipped=list(t.skipped),
            adaptive_for=list(defenses),
        )
        for a, t, m, defenses in zip(built, tallies, masks, targets)
    ]
    plain = [m for m, defenses in zip(masks, targets) if not defenses]
    non_adaptive = (
        float(np.logical_and.reduce([clean, *plain]).mean())
        if plain and len(plain) < len(masks)
        else None
    )
    return EvalSummary(
        model=model_name or getattr(model, "name", "model"),
        dataset=dataset_name,
        threat_model=ThreatModel(norm=norm, eps=eps),
        n=n_points,
        seed=int(seed),
        clean_accuracy=float(clean.mean()),
        robust_accuracy=float(worst.mean()),
        attacks=results,
        curve=sorted(curve, key=lambda p: p.eps),
        sanity=[c if isinstance(c, SanityCheck) else SanityCheck(**c) for c in checks],
        wall_time_s=time.perf_counter() - start + earlier,
        versions=library_versions(),
        data_order=data_order,
        points_sha256=points_sha256(x, y),
        robust_accuracy_non_adaptive=non_adaptive,
    )


def _per_attack(tallies, masks):
    """A curve point's `attacks` and `robust`: each attack's accuracy and mask."""
    return (
        {t.name: float(m.mean()) for t, m in zip(tallies, masks)},
        {t.name: to_bits(m) for t, m in zip(tallies, masks)},
    )


def _jsonable(value):
    """Configs as plain JSON types (tuples to lists, NumPy scalars to Python)."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return repr(value)
