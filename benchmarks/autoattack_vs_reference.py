"""Our AutoAttack against the reference implementation, stage by stage, on the same weights.

The reference is the authors' code (`pyautoattack` 0.2.0), run on a PyTorch
copy of the zoo model (`torch_copy.py`, logits within 1e-5), standard
version, L-inf, the dataset's budget, seed 0, its default batch size 250.
Ours is `tfrobust.attacks.AutoAttack` with the same budgets and seed. Both
run once, in this process, on the same first `--n` test points, one after the
other; a stage's time is its attack plus the re-query of the model, without
the reference's preliminary checks and with our first call's graph
compilation included (a user pays it). Every adversarial example is judged
by the Keras model.

`--pgd` adds PGD-20 (step eps/4, random start) by ours, torchattacks 3.5.1
on the copy, and Foolbox 3.3.4 on the very same Keras model through the
wrapper of the current Keras backend (`TensorFlowModel`, or `JAXModel` under
KERAS_BACKEND=jax).

    python benchmarks/autoattack_vs_reference.py [--model cifar10/resnet20-fast_at] [--n 200]
        [--pgd] [--quick] [--out autoattack_vs_reference]

`--quick` is a smoke run (16 points, 10 APGD/FAB steps, 100 Square queries,
PGD-5): it checks that everything runs and agrees, its times mean nothing.
Timings are results only on a quiet machine: the JSON records the load.
"""

import argparse
import datetime
import json
import logging
import os
import pathlib
import platform
import time

import keras
import numpy as np
import torch
from torch_copy import TOLERANCE
from torch_copy import max_logit_difference
from torch_copy import nchw
from torch_copy import nhwc
from torch_copy import torch_copy

from tfrobust import data
from tfrobust import saving
from tfrobust.attacks import PGD
from tfrobust.attacks import AutoAttack
from tfrobust.attacks.protocol import predict_labels

ROOT = pathlib.Path(__file__).resolve().parents[1]
EPS = {"cifar10": 8 / 255, "mnist": 0.3}  # AutoAttack's L-inf budgets
FULL = {"n": 200, "apgd_steps": 100, "fab_steps": 100, "square_queries": 5000, "pgd_steps": 20}
QUICK = {"n": 16, "apgd_steps": 10, "fab_steps": 10, "square_queries": 100, "pgd_steps": 5}
SEED = 0


def load(entry, n, data_dir):
    """The zoo model `entry` ("cifar10/resnet20-fast_at"), its first `n` test points, eps."""
    dataset = entry.split("/")[0]
    model = saving.load_keras(ROOT / "models" / entry / "model.keras")
    x, y = data.load_numpy(dataset, "test", data_dir, n=n)
    return model, x, y.astype("int64"), EPS[dataset]


def ours_autoattack(model, x, y, eps, budget):
    """Per-stage `{name, attacked, robust_accuracy, seconds}` of our standard AutoAttack."""
    attack = AutoAttack(
        eps,
        seed=SEED,
        apgd_steps=budget["apgd_steps"],
        fab_steps=budget["fab_steps"],
        square_queries=budget["square_queries"],
    )
    _, report = attack.run(model, x, y)
    return report.clean_accuracy, [
        {
            "name": s.name,
            "attacked": s.n_attacked,
            "robust_accuracy": s.robust_accuracy,
            "seconds": s.seconds,
        }
        for s in report.stages
    ]


def reference_autoattack(net, x, y, eps, budget):
    """The same for the authors' code, timed from its own log of each stage's start and end."""
    from pyautoattack import AutoAttack as Reference

    reference = Reference(net, eps=eps, norm="Linf", version="standard", seed=SEED)
    for apgd in (reference.apgd, reference.apgd_targeted):
        _set_apgd_steps(apgd, budget["apgd_steps"])
    reference.fab.n_iter = budget["fab_steps"]
    reference.square.n_queries = budget["square_queries"]
    log = _StageLog()
    reference.logger.addHandler(log)
    reference.logger.setLevel(logging.DEBUG)
    try:
        x_adv, _ = reference.run_standard_evaluation(nchw(x), torch.from_numpy(y), batch_size=250)
    finally:
        reference.logger.removeHandler(log)
    return nhwc(x_adv), log.stages(len(x))


def _set_apgd_steps(apgd, steps):
    """Change an APGD's steps with the checkpoints its constructor derives from them."""
    apgd.n_iter = apgd.n_iter_orig = steps
    apgd.n_iter_2 = max(int(0.22 * steps), 1)
    apgd.n_iter_min = max(int(0.06 * steps), 1)
    apgd.size_decr = max(int(0.03 * steps), 1)


class _StageLog(logging.Handler):
    """Collects the reference's 'running <stage>' and 'robust accuracy after <STAGE>' lines."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.events = []  # (perf_counter, message)

    def emit(self, record):
        self.events.append((time.perf_counter(), record.getMessage()))

    def stages(self, n):
        starts, out, robust = {}, [], None
        for t, message in self.events:
            if message.startswith("initial accuracy: "):
                robust = round(float(message.split()[-1].rstrip("%")) / 100 * n)
            elif message.startswith("running "):
                starts[message.split()[1]] = t
            elif message.startswith("robust accuracy after "):
                name = message.split()[3].rstrip(":").lower()
                accuracy = float(message.split()[4].rstrip("%")) / 100
                out.append(
                    {
                        "name": name,
                        "attacked": robust,
                        "robust_accuracy": accuracy,
                        "seconds": t - starts[name],
                    }
                )
                robust = round(accuracy * n)
        return out


def pgd_rows(model, net, x, y, eps, steps):
    """PGD-`steps` by ours, torchattacks and Foolbox: `{name, robust_accuracy, seconds}`."""
    import foolbox
    import torchattacks

    step = eps / 4
    fmodel = _foolbox_model(foolbox, model)
    attacks = {
        "tfrobust PGD": lambda: PGD(eps, step_size=step, steps=steps, seed=SEED)(model, x, y),
        f"torchattacks {torchattacks.__version__} PGD": lambda: nhwc(
            torchattacks.PGD(net, eps=eps, alpha=step, steps=steps, random_start=True)(
                nchw(x), torch.from_numpy(y)
            )
        ),
        f"Foolbox {foolbox.__version__} LinfPGD ({type(fmodel).__name__})": lambda: _foolbox_pgd(
            foolbox, fmodel, x, y, eps, step, steps
        ),
    }
    rows = []
    for name, attack in attacks.items():
        torch.manual_seed(SEED)
        start = time.perf_counter()
        x_adv = np.asarray(keras.ops.convert_to_numpy(attack()))
        seconds = time.perf_counter() - start
        rows.append(
            {"name": name, "robust_accuracy": _accuracy(model, x_adv, y), "seconds": seconds}
        )
    return rows


def _foolbox_model(foolbox, model):
    if keras.backend.backend() == "jax":
        import jax

        variables = (
            [v.value for v in model.trainable_variables],
            [v.value for v in model.non_trainable_variables],
        )
        # Its best case: a jitted forward pass, which Foolbox differentiates eagerly.
        forward = jax.jit(lambda z: model.stateless_call(*variables, z, training=False)[0])
        return foolbox.JAXModel(forward, bounds=(0, 1))
    return foolbox.TensorFlowModel(model, bounds=(0, 1))


def _foolbox_pgd(foolbox, fmodel, x, y, eps, step, steps):
    """Foolbox takes and returns tensors of the model's framework.

    The labels stay int64, the dtype of TensorFlow's argmax: eagerpy 0.30
    reconciles differing dtypes with `np.find_common_type`, gone in NumPy 2.
    """
    attack = foolbox.attacks.LinfPGD(abs_stepsize=step, steps=steps, random_start=True)
    _, clipped, _ = attack(
        fmodel, keras.ops.convert_to_tensor(x), keras.ops.convert_to_tensor(y), epsilons=eps
    )
    return clipped


def _accuracy(model, x, y):
    return float(np.mean(predict_labels(model, x) == y))


def markdown(result):
    """The report's tables as Markdown."""
    n = result["n"]
    lines = [
        f"# {result['model']}, {n} points, {result['when']}",
        "",
        f"Machine: {result['machine']}",
        "",
    ]
    lines += [
        "| stage | attacked (ours / ref) | robust acc. ours | robust acc. ref | "
        "s ours | s ref | s / attacked point ours | s / attacked point ref | speed-up |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    reference = {r["name"]: r for r in result["reference"]}
    for o in result["ours"]:
        # The reference stops logging stages once no point is left to attack.
        r = reference.get(
            o["name"],
            {
                "attacked": 0,
                "seconds": 0.0,
                "robust_accuracy": result["reference"][-1]["robust_accuracy"],
            },
        )
        lines.append(
            f"| {o['name']} | {o['attacked']} / {r['attacked']} | {o['robust_accuracy']:.1%} | "
            f"{r['robust_accuracy']:.1%} | {o['seconds']:.1f} | {r['seconds']:.1f} | "
            f"{_per(o):.3f} | {_per(r):.3f} | {_ratio(r['seconds'], o['seconds'])} |"
        )
    ours, ref = (sum(s["seconds"] for s in result[k]) for k in ("ours", "reference"))
    lines.append(
        f"| **AutoAttack** | {n} / {n} | {result['ours'][-1]['robust_accuracy']:.1%} | "
        f"{result['reference'][-1]['robust_accuracy']:.1%} | {ours:.1f} | {ref:.1f} | "
        f"{ours / n:.3f} | {ref / n:.3f} | **{_ratio(ref, ours)}** |"
    )
    if result.get("pgd"):
        lines += [
            "",
            "| PGD | robust acc. | s | s / point | tfrobust vs it |",
            "|---|---:|---:|---:|---:|",
        ]
        mine = result["pgd"][0]["seconds"]
        lines += [
            f"| {p['name']} | {p['robust_accuracy']:.1%} | {p['seconds']:.2f} | "
            f"{p['seconds'] / n:.4f} | {_ratio(p['seconds'], mine)} |"
            for p in result["pgd"]
        ]
    return "\n".join(lines) + "\n"


def _per(stage):
    return stage["seconds"] / max(stage["attacked"] or 0, 1)


def _ratio(theirs, ours):
    return f"{theirs / ours:.2f}x" if ours > 0 else "-"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model",
        default="cifar10/resnet20-fast_at",
        help="zoo entry under models/ (cifar10/... or mnist/...)",
    )
    parser.add_argument("--n", type=int, help="test points (default 200, 16 with --quick)")
    parser.add_argument("--quick", action="store_true", help="smoke run: few points and steps")
    parser.add_argument(
        "--pgd", action="store_true", help="also PGD against torchattacks and Foolbox"
    )
    parser.add_argument(
        "--data-dir", type=pathlib.Path, default=ROOT.parent / "shared" / "datasets"
    )
    parser.add_argument(
        "--out", default="autoattack_vs_reference", help="writes OUT.json and OUT.md"
    )
    args = parser.parse_args()
    budget = dict(QUICK if args.quick else FULL)
    budget["n"] = args.n or budget["n"]
    data_dir = args.data_dir if args.data_dir.is_dir() else data.SAMPLE_DIR

    model, x, y, eps = load(args.model, budget["n"], data_dir)
    net = torch_copy(model)
    difference = max_logit_difference(model, net, x)
    if difference > TOLERANCE:
        raise SystemExit(f"The PyTorch copy differs by {difference:g} > {TOLERANCE:g} in logits.")

    clean, ours = ours_autoattack(model, x, y, eps, budget)
    x_adv, reference = reference_autoattack(net, x, y, eps, budget)
    result = {
        "model": args.model,
        "n": len(x),
        "eps": eps,
        "budget": budget,
        "seed": SEED,
        "quick": args.quick,
        "data_dir": str(data_dir),
        "when": f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC",
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"load average {os.getloadavg()[0]:.1f} at the end, Keras "
        f"{keras.__version__} ({keras.backend.backend()}), torch {torch.__version__} "
        f"({torch.get_num_threads()} threads)",
        "max_logit_difference": difference,
        "clean_accuracy": clean,
        # The reference's own count, checked against the Keras model's verdict on its examples.
        "reference_robust_accuracy_by_keras": _accuracy(model, x_adv, y),
        "ours": ours,
        "reference": reference,
    }
    if args.pgd:
        result["pgd"] = pgd_rows(model, net, x, y, eps, budget["pgd_steps"])
    pathlib.Path(f"{args.out}.json").write_text(json.dumps(result, indent=1) + "\n")
    table = markdown(result)
    pathlib.Path(f"{args.out}.md").write_text(table)
    print(table)


if __name__ == "__main__":
    main()
