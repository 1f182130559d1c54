"""Time per training step of each objective, relative to standard training.

One run, one model (CIFAR ResNet-20), one batch: the ratios are what matter.
An objective that trains on PGD-K examples does K forward+backward passes for
the attack, one inference forward for the clean accuracy it logs, and its own
training passes, so PGD-AT with K steps should cost about K + 1 times the
standard step, not more. `--policies float32 mixed_bfloat16` times every
objective under each Keras dtype policy, in one run, for the mixed-precision
column of benchmarks/README.md.

    python benchmarks/objective_step_time.py [--steps 5] [--batch-size 128] [--pgd-steps 5]
        [--policies float32 [mixed_bfloat16 ...]]
"""

import argparse
import platform
import time

import keras
import numpy as np

from tfrobust import architectures
from tfrobust import attacks
from tfrobust import objectives
from tfrobust.layers import with_guided_dropout
from tfrobust.training import adversarial


def settings(eps, pgd_steps):
    pgd = attacks.PGD(eps=eps, step_size=eps / 4, steps=pgd_steps, seed=0)
    fgsm_rs = attacks.FGSM(eps=eps, random_start=True, step_size=1.25 * eps, seed=0)
    return [
        ("Standard", objectives.Standard(), None, False),
        ("Fast AT (FGSM-RS)", objectives.PGDAT(), fgsm_rs, False),
        (f"PGD-AT (PGD-{pgd_steps})", objectives.PGDAT(), pgd, False),
        (f"TRADES (PGD-{pgd_steps})", objectives.TRADES(), pgd, False),
        (f"MART (PGD-{pgd_steps})", objectives.MART(), pgd, False),
        (f"ALP (PGD-{pgd_steps})", objectives.ALP(), pgd, False),
        (f"AALP + Guided Dropout (PGD-{pgd_steps})", objectives.AALP(), pgd, True),
    ]


def time_steps(robust, x, y, steps, warmup=2):
    for _ in range(warmup):  # compilation and first-call overheads
        robust.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        robust.train_on_batch(x, y)
    return (time.perf_counter() - start) / steps


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--pgd-steps", type=int, default=5)
    parser.add_argument(
        "--policies",
        nargs="+",
        default=["float32"],
        help="Keras dtype policies to time (the first is the baseline)",
    )
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((args.batch_size, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, args.batch_size)
    rows = {}
    for policy in args.policies:
        keras.config.set_dtype_policy(policy)
        for name, objective, attack, guided in settings(8 / 255, args.pgd_steps):
            keras.utils.set_random_seed(0)
            model = architectures.get("resnet20", num_classes=10)
            if guided:
                model = with_guided_dropout(model)
            robust = adversarial(model, objective, attack)
            robust.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
            rows.setdefault(name, []).append(time_steps(robust, x, y, args.steps))
            print(f"  measured {name} ({policy}): {rows[name][-1] * 1000:.0f} ms/step", flush=True)
    keras.config.set_dtype_policy("float32")

    base = rows["Standard"][0]
    print(
        f"\nResNet-20, batch {args.batch_size}, {args.steps} timed steps after 2 warm-up steps, "
        f"keras {keras.__version__} ({keras.backend.backend()}), "
        f"{platform.processor() or platform.machine()}; x standard is under {args.policies[0]}"
    )
    others = args.policies[1:]
    print(
        "| objective | "
        + " | ".join(f"ms/step {p}" for p in args.policies)
        + " | x standard | expected |"
        + "".join(f" {p} vs {args.policies[0]} |" for p in others)
    )
    print("|---|" + "---:|" * (len(args.policies) + 2 + len(others)))
    expected = {"Standard": 1, "Fast AT (FGSM-RS)": 2}
    for name, seconds in rows.items():
        hint = expected.get(name, args.pgd_steps + 1)
        print(
            f"| {name} | "
            + " | ".join(f"{s * 1000:.0f}" for s in seconds)
            + f" | {seconds[0] / base:.2f} | ~{hint} |"
            + "".join(f" {seconds[0] / s:.2f}x |" for s in seconds[1:])
        )


if __name__ == "__main__":
    main()
