"""Fixed-count loops for attacks: unrolled when short, `fori_loop` when long.

XLA on CPU runs a convolution network 7-10x slower inside a while loop than
the same steps unrolled (measured on ResNet-20 with TF 2.21 and jax 0.10, see
benchmarks/README.md), so short loops, such as PGD-10 in adversarial training
or PGD-20 in evaluation, are unrolled into straight-line code. Long loops
(APGD's 100 steps) stay loops to keep compile time and graph size bounded.
"""

from keras import ops

# Most forward+backward passes we unroll into one compiled function.
MAX_UNROLLED = 64


def repeat(n, body, init, unroll):
    """`body(i, carry)` applied for i in [0, n), as Python code or a compiled loop."""
    if not unroll:
        return ops.fori_loop(0, n, body, init)
    carry = init
    for i in range(n):
        carry = body(i, carry)
    return carry
