"""Fixed-count loops for attacks: unrolled where that is faster, compiled loops elsewhere.

XLA on CPU (JAX's only compiler) runs a convolution network 7-10x slower
inside a while loop than the same steps unrolled (measured on ResNet-20 with
TF 2.21 and jax 0.10, see benchmarks/README.md), so there short loops, such
as PGD-10 in adversarial training or PGD-20 in evaluation, are unrolled into
straight-line code. TensorFlow's own kernels (our CPU default) and XLA on
accelerators run a loop as fast as its steps, and compile it in a fraction of
the time, so they keep loops; long loops (APGD's 100 steps) stay loops
everywhere, to keep compile time and graph size bounded.
"""

from keras import ops

from tfrobust import backend

# Most forward+backward passes we unroll into one compiled function.
MAX_UNROLLED = 64


def unroll_by_default(passes):
    """Whether a loop of `passes` forward+backward passes is written out (see the module doc)."""
    return passes <= MAX_UNROLLED and backend.loops_slower_than_unrolled()


def repeat(n, body, init, unroll):
    """`body(i, carry)` applied for i in [0, n), as Python code or a compiled loop."""
    if not unroll:
        return ops.fori_loop(0, n, body, init)
    carry = init
    for i in range(n):
        carry = body(i, carry)
    return carry
