"""Saliency speed: time per image of each method, relative to one vanilla gradient.

A vanilla gradient is one forward and one backward pass, the unit every
method is measured in: SmoothGrad costs `samples` of them, Integrated
Gradients `steps + 1`, the CAMs one (through the layer probe), Guided
Grad-CAM++ two (guided backprop plus Grad-CAM++). The table shows how close
each implementation gets to that count.

    python benchmarks/saliency_speed.py [--arch resnet20] [--width 1.0] [--batch 32]
        [--repeats 3] [--samples 25] [--ig-steps 50]

Random weights are fine: the cost does not depend on them. Each method is
compiled (`backend.compile_model_fn`: XLA on accelerators, a TF graph on CPU;
jit on JAX) and warmed up once before timing.
"""

import argparse
import datetime
import platform

import keras
import numpy as np
from keras import ops
from timing import timed

from tfrobust import architectures
from tfrobust import saliency


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--arch", default="resnet20")
    parser.add_argument("--width", type=float, default=1.0)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--samples", type=int, default=25)
    parser.add_argument("--ig-steps", type=int, default=50)
    args = parser.parse_args()

    keras.utils.set_random_seed(0)
    model = architectures.get(args.arch, width=args.width)
    shape = tuple(model.inputs[0].shape[1:])
    rng = np.random.default_rng(0)
    x = rng.uniform(size=(args.batch, *shape)).astype("float32")
    y = rng.integers(0, model.outputs[0].shape[-1], args.batch).astype("int32")
    kwargs = {
        "smoothgrad": {"samples": args.samples, "seed": 0},
        "integrated_gradients": {"steps": args.ig_steps},
    }
    expected = {
        "gradient": 1,
        "smoothgrad": args.samples,
        "integrated_gradients": args.ig_steps + 1,
        "guided_backprop": 1,
        "grad_cam": 1,
        "grad_cam_plus_plus": 1,
        "guided_grad_cam_plus_plus": 2,
    }

    print(
        f"## {args.arch} (width {args.width}), batch {args.batch}, "
        f"backend {keras.backend.backend()}, {platform.processor() or platform.machine()}, "
        f"{datetime.date.today()}\n"
    )
    print("| method | ms / image | x vanilla gradient | passes (fwd+bwd) | x per pass |")
    print("|---|---:|---:|---:|---:|", flush=True)
    unit = None
    for name in saliency.METHODS:  # "gradient" first: the unit

        def run(name=name):
            return ops.convert_to_numpy(saliency.compute(name, model, x, y, **kwargs.get(name, {})))

        seconds = timed(run, args.repeats)
        unit = seconds if unit is None else unit
        ratio = seconds / unit
        print(
            f"| {name} | {1000 * seconds / args.batch:.2f} | {ratio:.2f} | {expected[name]} | "
            f"{ratio / expected[name]:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
