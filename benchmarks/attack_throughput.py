"""Attack throughput: our XLA-compiled PGD against ART, cleverhans and the hardware floor.

PGD-20 does 20 forward+backward passes plus a little arithmetic, so no PGD can
beat 20 compiled forward+backward passes; we time 21 (our PGD also draws a
random start) as the floor and report how close each implementation gets.

    python benchmarks/attack_throughput.py [--batch 256] [--steps 20] [--repeats 3]

Random weights are fine: the cost of an attack does not depend on them.
"""

import argparse
import datetime
import platform

import keras
import numpy as np
import tensorflow as tf

from tfrobust import backend
from tfrobust.attacks import PGD
from timing import timed

EPS, STEP = 8 / 255, 2 / 255


def resnet20():
    """CIFAR ResNet-20 from tfrobust.architectures, or a private copy of He et al.'s net."""
    try:
        from tfrobust.architectures import get

        return get("resnet20"), "tfrobust.architectures"
    except Exception:  # the registry may not exist yet on this checkout
        pass
    inputs = keras.Input((32, 32, 3))
    h = keras.layers.Conv2D(16, 3, padding="same", use_bias=False)(inputs)
    h = keras.layers.ReLU()(keras.layers.BatchNormalization()(h))
    for stage, channels in enumerate((16, 32, 64)):
        for block in range(3):
            stride = 2 if stage > 0 and block == 0 else 1
            r = keras.layers.Conv2D(channels, 3, stride, padding="same", use_bias=False)(h)
            r = keras.layers.ReLU()(keras.layers.BatchNormalization()(r))
            r = keras.layers.Conv2D(channels, 3, padding="same", use_bias=False)(r)
            r = keras.layers.BatchNormalization()(r)
            if stride > 1 or h.shape[-1] != channels:
                h = keras.layers.Conv2D(channels, 1, stride, use_bias=False)(h)
                h = keras.layers.BatchNormalization()(h)
            h = keras.layers.ReLU()(keras.layers.Add()([h, r]))
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(10)(h)), "private builder"


def floor_fn(model, x, y, passes):
    ce = keras.losses.SparseCategoricalCrossentropy(from_logits=True, reduction="sum")

    @tf.function(jit_compile=True)
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


def no_xla_fn(attack, model, x, y):
    """The same `perturb` compiled as a TF graph without XLA (TF's own CPU/GPU kernels)."""
    fn = backend.compile_model_fn(model, attack.perturb, jit_compile=False)
    x, y = tf.constant(x), tf.constant(y)
    return lambda: fn(x, y).numpy()


def art_fn(model, x, y, steps):
    try:
        from art.attacks.evasion import ProjectedGradientDescent
        from art.estimators.classification import TensorFlowV2Classifier
    except ImportError:
        return None
    classifier = TensorFlowV2Classifier(
        model, nb_classes=10, input_shape=x.shape[1:], clip_values=(0.0, 1.0),
        loss_object=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    attack = ProjectedGradientDescent(
        classifier, norm=np.inf, eps=EPS, eps_step=STEP, max_iter=steps,
        num_random_init=1, batch_size=len(x), verbose=False,
    )
    return lambda: attack.generate(x, y=y)


def cleverhans_fn(model, x, y, steps):
    try:
        from cleverhans.tf2.attacks.projected_gradient_descent import (
            projected_gradient_descent,
        )
    except ImportError:
        return None
    x_t, y_t = tf.constant(x), tf.constant(y)

    def run():
        return projected_gradient_descent(
            lambda z: model(z, training=False), x_t, EPS, STEP, steps, np.inf,
            clip_min=0.0, clip_max=1.0, y=y_t, rand_init=True, sanity_checks=False,
        ).numpy()

    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=256)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model, source = resnet20()
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(args.batch, 32, 32, 3)).astype("float32")
    y = rng.integers(0, 10, args.batch).astype("int32")

    ours = PGD(eps=EPS, step_size=STEP, steps=args.steps, seed=0)
    runs = {
        f"floor: {args.steps + 1} XLA fwd+bwd passes": floor_fn(model, tf.constant(x), tf.constant(y),
                                                               args.steps + 1),
        f"tfrobust PGD-{args.steps} (XLA)": lambda: np.asarray(ours(model, x, y)),
        f"tfrobust PGD-{args.steps} (tf.function, no XLA)": no_xla_fn(ours, model, x, y),
        f"ART {_version('art')} PGD-{args.steps} (TF v2)": art_fn(model, x, y, args.steps),
        f"cleverhans {_version('cleverhans')} PGD-{args.steps} (TF2)": cleverhans_fn(
            model, x, y, args.steps),
    }
    seconds = {name: (timed(fn, args.repeats) if fn else None) for name, fn in runs.items()}

    names = list(seconds)
    floor, mine = seconds[names[0]], seconds[names[1]]
    art = next(s for name, s in seconds.items() if name.startswith("ART"))
    devices = [d.device_type for d in tf.config.list_logical_devices()]
    print(f"# {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC, "
          f"ResNet-20 ({source}), batch {args.batch}, median of {args.repeats}, "
          f"TF {tf.__version__}, Keras {keras.__version__}, "
          f"{'GPU' if 'GPU' in devices else 'CPU'} ({platform.processor() or platform.machine()})")
    print("| implementation | s / batch | images/s | time vs tfrobust | tfrobust vs it |")
    print("|---|---:|---:|---:|---:|")
    for name, s in seconds.items():
        if s is None:
            print(f"| {name} | not installable | | | |")
            continue
        print(f"| {name} | {s:.3f} | {args.batch / s:.1f} | {s / mine:.2f}x | "
              f"{mine / s:.2f}x |")
    if art:
        print(f"\ntfrobust PGD (XLA) runs {art / mine:.2f}x as fast as ART (target >= 3x) "
              f"and takes {mine / floor:.2f}x the floor's time (target <= 1.3x).")


def _version(package):
    try:
        from importlib.metadata import version

        return version({"art": "adversarial-robustness-toolbox"}.get(package, package))
    except Exception:
        return "?"


if __name__ == "__main__":
    main()
