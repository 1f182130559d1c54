"""One standard training step of CIFAR ResNet-20: tfrobust/Keras against PyTorch.

The bar: PyTorch (eager, CPU) runs this step about 2x faster than TensorFlow
as Keras compiles it by default (XLA, also on CPU); tfrobust's default must
beat PyTorch. Each configuration runs in its own process (backends and thread
pools must not share one), on the same batch size, in one invocation, so the
ratios compare like with like. PyTorch is optional (`pip install torch`).

    python benchmarks/train_step_speed.py [--batch-size 128] [--steps 10]
"""

import argparse
import json
import os
import subprocess
import sys

CONFIGS = {
    "Keras/TF, no XLA (tfrobust's CPU default)": ("tensorflow", {"jit_compile": False}),
    "Keras/TF, XLA (Keras's own default)": ("tensorflow", {"jit_compile": True}),
    "Keras/JAX (jit)": ("jax", {"jit_compile": True}),
    "PyTorch eager": ("torch", {}),
}


def keras_step_time(batch_size, steps, compile_args):
    import time

    import keras
    import numpy as np

    from tfrobust import architectures
    from tfrobust import objectives
    from tfrobust.training import adversarial

    keras.utils.set_random_seed(0)
    model = adversarial(architectures.get("resnet20"), objectives.Standard())
    model.compile(optimizer=keras.optimizers.SGD(0.1, momentum=0.9), **compile_args)
    rng = np.random.default_rng(0)
    x = rng.random((batch_size, 32, 32, 3), dtype=np.float32)
    y = rng.integers(0, 10, batch_size)
    for _ in range(3):
        model.train_on_batch(x, y)
    start = time.perf_counter()
    for _ in range(steps):
        model.train_on_batch(x, y)
    return (time.perf_counter() - start) / steps


def torch_step_time(batch_size, steps):
    import time

    import torch
    from torch import nn

    class Block(nn.Module):
        def __init__(self, cin, cout, stride):
            super().__init__()
            self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = nn.BatchNorm2d(cout)
            self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = nn.BatchNorm2d(cout)
            self.pad = cout - cin
            self.stride = stride

        def forward(self, x):
            out = torch.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            shortcut = x[:, :, :: self.stride, :: self.stride] if self.stride > 1 else x
            if self.pad:  # option A: zero-padded identity, as in He et al. and tfrobust
                shortcut = nn.functional.pad(shortcut, (0, 0, 0, 0, self.pad // 2, self.pad // 2))
            return torch.relu(out + shortcut)

    layers, cin = [nn.Conv2d(3, 16, 3, 1, 1, bias=False), nn.BatchNorm2d(16), nn.ReLU()], 16
    for cout, stride in [(16, 1), (32, 2), (64, 2)]:
        for i in range(3):
            layers.append(Block(cin, cout, stride if i == 0 else 1))
            cin = cout
    model = nn.Sequential(*layers, nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(64, 10))
    torch.manual_seed(0)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    x, y = torch.rand(batch_size, 3, 32, 32), torch.randint(0, 10, (batch_size,))

    def step():
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(x), y).backward()
        optimizer.step()

    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def child(name, batch_size, steps):
    backend, args = CONFIGS[name]
    if backend == "torch":
        return torch_step_time(batch_size, steps)
    return keras_step_time(batch_size, steps, args)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child, args.batch_size, args.steps)))
        return
    rows = {}
    for name, (backend, _) in CONFIGS.items():
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        if backend != "torch":
            env["KERAS_BACKEND"] = backend
        result = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                name,
                "--batch-size",
                str(args.batch_size),
                "--steps",
                str(args.steps),
            ],
            capture_output=True,
            text=True,
            env=env,
        )
        if result.returncode != 0:
            rows[name] = None
            print(f"  {name}: failed ({result.stderr.strip().splitlines()[-1:]})", flush=True)
            continue
        rows[name] = json.loads(result.stdout.strip().splitlines()[-1])
        print(f"  {name}: {rows[name] * 1000:.0f} ms/step", flush=True)
    keras_default = rows["Keras/TF, XLA (Keras's own default)"]
    torch_time = rows["PyTorch eager"]
    print(
        f"\nCIFAR ResNet-20 training step, batch {args.batch_size}, mean of {args.steps} steps "
        f"after 3 warm-up steps, {os.cpu_count()} CPU cores"
    )
    print("| configuration | ms/step | speed-up vs Keras default | vs PyTorch |")
    print("|---|---:|---:|---:|")
    for name, seconds in rows.items():
        if seconds is None:
            print(f"| {name} | failed | - | - |")
            continue
        versus_torch = f"{torch_time / seconds:.2f}x" if torch_time else "-"
        print(
            f"| {name} | {seconds * 1000:.0f} | {keras_default / seconds:.2f}x | {versus_torch} |"
        )


if __name__ == "__main__":
    main()
