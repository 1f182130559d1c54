"""Attack throughput: our compiled PGD against ART, cleverhans and the hardware floor.

PGD-20 does 20 forward+backward passes plus a little arithmetic, so no PGD can
beat 20 compiled forward+backward passes; we time 21 (our PGD also draws a
random start) as the floor and report how close each implementation gets. Both
compilations are timed: the library's default (XLA on accelerators, a plain TF
graph on CPU, see `backend.xla_by_default`) and the other one. ART runs at
the benchmark's batch size (its best case) and at its default `batch_size`.

Two smaller tables, on request (`--tables`), run on either Keras backend:
`unroll`, PGD's first call (tracing and compilation included) against later
calls, with its steps written out (`unroll=True`) and as a compiled loop;
`square`, the seconds of one Square query, `(t(301 queries) - t(51)) / 250`,
against one bare forward pass of the same batch.

    python benchmarks/attack_throughput.py [--batch 256] [--steps 20] [--repeats 3]
        [--tables implementations unroll square]

Random weights are fine: the cost of an attack does not depend on them.
"""

import argparse
import datetime
import platform

import keras
import numpy as np
import tensorflow as tf
from timing import first_and_later
from timing import timed

from tfrobust import architectures
from tfrobust import backend
from tfrobust.attacks import PGD
from tfrobust.attacks import Square

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


TABLES = ("implementations", "unroll", "square")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--tables", nargs="+", choices=TABLES, default=["implementations"], help="what to time"
    )
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = architectures.get("resnet20")
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(args.batch, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, args.batch).astype("int32")
    devices = [d.device_type for d in tf.config.list_logical_devices()]
    print(
        f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
        f"ResNet-20, batch {args.batch}, median of {args.repeats}, "
        f"Keras {keras.__version__} ({keras.backend.backend()} backend), TF {tf.__version__}, "
        f"{'GPU' if 'GPU' in devices else 'CPU'} ({platform.processor() or platform.machine()})"
    )
    for table in args.tables:
        print()
        {"implementations": implementations, "unroll": unroll, "square": square}[table](
            model, x, y, args
        )


def implementations(model, x, y, args):
    """Our PGD against ART, cleverhans and the floor (TensorFlow backend)."""
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


def unroll(model, x, y, args):
    """PGD's compile cost against its run cost, steps written out or looped."""
    default = PGD(eps=EPS, step_size=STEP, steps=args.steps).unroll
    print(f"| PGD-{args.steps} | first call (s) | later calls (s / batch) | first - later (s) |")
    print("|---|---:|---:|---:|")
    for written_out in (False, True):
        attack = PGD(eps=EPS, step_size=STEP, steps=args.steps, seed=0, unroll=written_out)
        first, later = first_and_later(lambda: np.asarray(attack(model, x, y)), args.repeats)
        label = "steps written out (unroll=True)" if written_out else "a loop (unroll=False)"
        label += ", the default here" if written_out == default else ""
        print(f"| {label} | {first:.2f} | {later:.3f} | {first - later:.2f} |")


def square(model, x, y, args):
    """Seconds per Square query against one forward pass of the same batch."""
    forward = backend.compile_model_fn(model, lambda forward, x: forward(x))
    x_t = keras.ops.convert_to_tensor(x)
    one_pass = timed(lambda: keras.ops.convert_to_numpy(forward(x_t)), args.repeats)
    # The model's own labels and a small budget: every point stays to attack, so
    # no query runs on a batch shrunk by early stopping.
    y = np.argmax(keras.ops.convert_to_numpy(forward(x_t)), axis=-1).astype("int32")
    left, seconds = {}, {}
    for n in (51, 301):
        attack = Square(eps=1 / 255, n_queries=n, seed=0)

        def run(attack=attack, n=n):
            left[n] = int(np.sum(attack.run(model, x, y)[1] >= n))

        seconds[n] = timed(run, args.repeats)
    query = (seconds[301] - seconds[51]) / 250
    print("| Square (eps 1/255, the model's labels) | s / batch | x one forward pass |")
    print("|---|---:|---:|")
    print(f"| one forward pass | {one_pass:.4f} | 1.00x |")
    for n in (51, 301):
        print(f"| {n} queries ({left[n]}/{len(x)} points used them all) | {seconds[n]:.3f} | |")
    print(f"| one query: (301 - 51 queries) / 250 | {query:.4f} | {query / one_pass:.2f}x |")


def _version(package):
    try:
        from importlib.metadata import version

        return version({"art": "adversarial-robustness-toolbox"}.get(package, package))
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
