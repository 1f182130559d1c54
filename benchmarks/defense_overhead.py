"""What each feature-level defense costs when inserted into CIFAR ResNet-18.

Parameters, inference FLOPs (one 32x32 image, width 1, the real network) and
training-step time (a narrower network and a small batch, to keep the run
short on a CPU) of each defense relative to the plain network. One run.

FLOPs are counted analytically, layer by layer: 2 per multiply-add of every
convolution, Dense layer and feature-by-feature product (the non-local
affinities and averages, the bilateral window), plus one per addition of the
mean filter; BatchNorm, activations, pooling, softmax, element-wise products
and the median's comparisons are not counted (the usual convention, which
makes ResNet-18 0.56 GMACs). TensorFlow's profiler was not used: it counts
`Conv2D` only, missing the non-local matrix products. Layers nested in a
defense layer (FSR's convolutions, CAS's head) are counted at the defense's
input resolution, right for their stride-1 "same" convolutions. CIFS counts
its probe twice (logits, then their gradient for the relevance).

The training step is `tfrobust.training.adversarial(model, objectives.Standard())`
(so layers that need labels get them) with SGD: the network's own forward and
backward cost, which PGD-K training repeats about K + 1 times. The fastest of
the timed steps is reported, the least disturbed by other processes.

    python benchmarks/defense_overhead.py [--width 0.25] [--batch-size 32] [--steps 4]
"""

import argparse
import platform
import time

import keras
import numpy as np

from tfrobust import architectures
from tfrobust import objectives
from tfrobust.architectures import cifs_insert
from tfrobust.architectures import denoising_insert
from tfrobust.layers import CIFS
from tfrobust.layers import DenoisingBlock
from tfrobust.training import adversarial

NUM_CLASSES = 10


def defenses():
    """`(name, insert or None, why unavailable or None)` for every defense."""
    rows = [
        ("none (plain ResNet-18)", {}, None),
        ("Denoising: non-local Gaussian x4 (stage1-4)", denoising_insert("resnet18"), None),
        (
            "Denoising: non-local dot product x4",
            denoising_insert("resnet18", weighting="dot_product"),
            None,
        ),
        (
            "Denoising: bilateral Gaussian 3x3 x4",
            denoising_insert("resnet18", operation="bilateral"),
            None,
        ),
        ("Denoising: mean 3x3 x4", denoising_insert("resnet18", operation="mean"), None),
        ("Denoising: median 3x3 x4", denoising_insert("resnet18", operation="median"), None),
        ("Denoising: null (1x1 only) x4", denoising_insert("resnet18", operation="null"), None),
        ("CIFS softmax (stage4)", cifs_insert("resnet18", NUM_CLASSES), None),
    ]
    for name, module in (("FSR", "fsr"), ("CAS", "cas")):
        try:  # written in parallel: may be missing on this checkout
            helper = getattr(
                __import__(f"tfrobust.layers.{module}", fromlist=["_"]), f"{module}_insert"
            )
            insert = helper("resnet18", NUM_CLASSES)
            rows.append((f"{name} ({', '.join(sorted(insert))})", insert, None))
        except (ImportError, AttributeError) as error:
            rows.append((name, None, f"not yet available ({error})"))
    return rows


def layer_flops(layer, in_shape, out_shape):
    """FLOPs of one image through `layer` (see the module docstring); shapes without batch."""
    if isinstance(layer, DenoisingBlock):
        return denoising_flops(layer, in_shape)
    if isinstance(layer, CIFS):
        return 2 * sum(dense_flops(d) for d in (layer.probe_hidden, layer.probe) if d is not None)
    if isinstance(layer, keras.layers.Conv2D):
        return conv_flops(layer, out_shape)
    if isinstance(layer, keras.layers.Dense):
        return dense_flops(layer) * int(np.prod(out_shape[:-1]))
    nested = 0
    for sub in layer._flatten_layers(include_self=False, recursive=True):
        if isinstance(sub, keras.layers.Conv2D) and sub.built:
            nested += conv_flops(sub, (*in_shape[:-1], sub.filters))
        elif isinstance(sub, keras.layers.Dense) and sub.built:
            nested += dense_flops(sub)
    return nested


def conv_flops(layer, out_shape):
    kh, kw, cin, cout = layer.kernel.shape
    return 2 * int(np.prod(out_shape[:-1])) * kh * kw * cin * cout


def dense_flops(layer):
    return 2 * int(np.prod(layer.kernel.shape))


def denoising_flops(block, in_shape):
    h, w, c = in_shape
    hw, k2 = h * w, block.kernel_size**2
    d = block.theta.filters if block.theta is not None else c
    flops = 2 * (2 * hw * c * d) if block.theta is not None else 0
    if block.operation == "nonlocal":
        flops += 2 * hw * hw * (d + c) if block.weighting == "gaussian" else 4 * hw * d * c
    elif block.operation == "bilateral":
        flops += 2 * hw * k2 * (d + c)
    elif block.operation == "mean":
        flops += hw * c * k2
    if block.use_conv:
        flops += 2 * hw * c * c
    return flops


def model_flops(model):
    total = 0
    for layer in model.layers:
        if isinstance(layer, keras.layers.InputLayer) or isinstance(layer.input, (list, tuple)):
            continue  # inputs; additions of residuals (not counted)
        total += layer_flops(layer, tuple(layer.input.shape[1:]), tuple(layer.output.shape[1:]))
    return total


def step_time(model, x, y, steps):
    robust = adversarial(model, objectives.Standard())
    robust.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9))
    robust.train_on_batch(x, y)  # tracing, compilation, first-call overheads
    times = []
    for _ in range(steps):
        start = time.perf_counter()
        robust.train_on_batch(x, y)
        times.append(time.perf_counter() - start)
    return min(times)  # the least disturbed step: CPUs here are shared


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--width",
        type=float,
        default=0.25,
        help="channel multiplier for the step time (params/FLOPs use 1)",
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--steps", type=int, default=4)
    args = parser.parse_args()

    rng = np.random.default_rng(0)
    x = rng.random((args.batch_size, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, NUM_CLASSES, args.batch_size)
    begin = time.perf_counter()
    rows = []
    for name, insert, unavailable in defenses():
        if unavailable:
            rows.append((name, None, None, None, unavailable))
            print(f"  {name}: {unavailable}", flush=True)
            continue
        try:
            keras.utils.set_random_seed(0)
            full = architectures.get("resnet18", num_classes=NUM_CLASSES, insert=insert)
            params, flops = full.count_params(), model_flops(full)
            del full
            keras.utils.set_random_seed(0)
            narrow = architectures.get(
                "resnet18", num_classes=NUM_CLASSES, width=args.width, insert=insert
            )
            seconds = step_time(narrow, x, y, args.steps)
        except Exception as error:  # a defense written in parallel may not work yet
            rows.append((name, None, None, None, f"failed: {error.__class__.__name__}: {error}"))
            print(f"  {name}: {rows[-1][-1]}", flush=True)
            continue
        rows.append((name, params, flops, seconds, None))
        print(
            f"  {name}: {params:,} params, {flops / 1e9:.3f} GFLOPs, {seconds * 1000:.0f} ms/step",
            flush=True,
        )

    base = rows[0]
    print(
        f"\nCIFAR ResNet-18 (32x32, 10 classes). Params and FLOPs at width 1 (one image, "
        f"inference); step time at width {args.width}, batch {args.batch_size}, "
        f"fastest of {args.steps} steps after 1 warm-up, Standard objective; keras "
        f"{keras.__version__} ({keras.backend.backend()}), "
        f"{platform.processor() or platform.machine()}; "
        f"total {time.perf_counter() - begin:.0f} s."
    )
    print("| defense | params | x plain | GFLOPs | x plain | ms/step | x plain |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, params, flops, seconds, note in rows:
        if note:
            print(f"| {name} | {note} | | | | | |")
            continue
        print(
            f"| {name} | {params:,} | {params / base[1]:.3f} | {flops / 1e9:.3f} | "
            f"{flops / base[2]:.2f} | {seconds * 1000:.0f} | {seconds / base[3]:.2f} |"
        )


if __name__ == "__main__":
    main()
