"""Attack throughput: our compiled PGD against ART, cleverhans and the hardware floor.

PGD-20 does 20 forward+backward passes plus a little arithmetic, so no PGD can
beat 20 compiled forward+backward passes; we time 21 (our PGD also draws a
random start) as the floor and report how close each implementation gets. Both
compilations are timed: the library's default (XLA on accelerators, a plain TF
graph on CPU, see `backend.xla_by_default`) and the other one. ART runs at
the benchmark's batch size (its best case) and at its default `batch_size`.

    python benchmarks/attack_throughput.py [--batch 256] [--steps 20] [--repeats 3]

Random weights are fine: the cost of an attack does not depend on them.
"""

import argparse
import datetime
import platform

import keras
import numpy as np
import tensorflow as tf
from timing import timed

from tfrobust import architectures
from tfrobust import backend
from tfrobust.attacks import PGD

EPS, STEP = 8 / 255, 2 / 255


def floor_fn(model, x, y, passes, jit_compile):
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")

    @tf.function(jit_compile=jit_compile)
    def grad(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = ce(y, model(x, training=False))
        return tape.gradient(loss, x)

    def run():
        for _ in range(passes):
            g = grad(x)
        return g.numpy()

    return run


def ours_fn(attack, model, x, y, jit_compile):
    """Our `perturb` as one TF graph, with or without XLA."""
    fn = backend.compile_model_fn(model, attack.perturb, jit_compile=jit_compile)
    x, y = tf.constant(x), tf.constant(y)
    return lambda: fn(x, y).numpy()


def art_fn(model, x, y, steps, batch_size):
    try:
        from art.attacks.evasion import ProjectedGradientDescent
        from art.estimators.classification import TensorFlowV2Classifier
    except ImportError:
        return None
    classifier = TensorFlowV2Classifier(
        model,
        nb_classes=10,
        input_shape=x.shape[1:],
        clip_values=(0.0, 1.0),
        loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    attack = ProjectedGradientDescent(
        classifier,
        norm=np.inf,
        eps=EPS,
        eps_step=STEP,
        max_iter=steps,
        num_random_init=1,
        batch_size=batch_size,
        verbose=False,
    )
    return lambda: attack.generate(x, y=y)


def cleverhans_fn(model, x, y, steps):
    try:
        from cleverhans.tf2.attacks.projected_gradient_descent import projected_gradient_descent
    except ImportError:
        return None
    x_t, y_t = tf.constant(x), tf.constant(y)

    def run():
        return projected_gradient_descent(
            lambda z: model(z, training=False),
            x_t,
            EPS,
            STEP,
            steps,
            np.inf,
            clip_min=0.0,
            clip_max=1.0,
            y=y_t,
            rand_init=True,
            sanity_checks=False,
        ).numpy()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = architectures.get("resnet20")
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(args.batch, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, args.batch).astype("int32")
    xla = backend.xla_by_default()
    mode = {True: "XLA", False: "TF graph, no XLA"}

    ours = PGD(eps=EPS, step_size=STEP, steps=args.steps, seed=0)
    passes = args.steps + 1
    art, name = _version("art"), f"PGD-{args.steps}"
    runs = {
        f"floor: {passes} fwd+bwd passes ({mode[xla]})": floor_fn(
            model, tf.constant(x), tf.constant(y), passes, xla
        ),
        f"floor: {passes} fwd+bwd passes ({mode[not xla]})": floor_fn(
            model, tf.constant(x), tf.constant(y), passes, not xla
        ),
        f"tfrobust {name}, default ({mode[xla]})": lambda: np.asarray(ours(model, x, y)),
        f"tfrobust {name} ({mode[not xla]})": ours_fn(ours, model, x, y, not xla),
        f"ART {art} {name}, batch_size={args.batch}": art_fn(model, x, y, args.steps, args.batch),
        f"ART {art} {name}, default batch_size=32": art_fn(model, x, y, args.steps, 32),
        f"cleverhans {_version('cleverhans')} {name} (TF2)": cleverhans_fn(model, x, y, args.steps),
    }
    seconds = {label: (timed(fn, args.repeats) if fn else None) for label, fn in runs.items()}

    floor, _, mine, _, art_same, art_default, _ = seconds.values()
    devices = [d.device_type for d in tf.config.list_logical_devices()]
    print(
        f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"ResNet-20, batch {args.batch}, median of {args.repeats}, "
        f"TF {tf.__version__}, Keras {keras.__version__}, "
        f"{'GPU' if 'GPU' in devices else 'CPU'} ({platform.processor() or platform.machine()})"
    )
    print("| implementation | s / batch | images/s | time vs tfrobust | tfrobust vs it |")
    print("|---|---:|---:|---:|---:|")
    for label, s in seconds.items():
        if s is None:
            print(f"| {label} | not installable | | | |")
            continue
        print(f"| {label} | {s:.3f} | {args.batch / s:.1f} | {s / mine:.2f}x | {mine / s:.2f}x |")
    print(f"\ntfrobust's default takes {mine / floor:.2f}x the time of its floor (target <= 1.3x).")
    if art_same:
        print(
            f"It runs {art_same / mine:.2f}x as fast as ART at the same batch size and "
            f"{art_default / mine:.2f}x as fast as ART with its defaults (target >= 3x)."
        )


def _version(package):
    try:
        from importlib.metadata import version

        return version({"art": "adversarial-robustness-toolbox"}.get(package, package))
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
