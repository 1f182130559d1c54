"""Fixed-count loops for attacks: a compiled loop, or the steps written out.

Attacks loop by default: on both backends a loop runs as fast as its steps
written out and compiles in a fraction of the time (PGD-20 on a ResNet-20,
benchmarks/README.md "Compile cost and query cost"). On JAX's CPU backend
that holds because `tfrobust.backend.jax_conv` keeps the convolutions'
input gradients in the form XLA's fast kernels take inside loop bodies.
`unroll=True` writes the steps out; the loop is tested against it.
"""

from keras import ops


def repeat(n, body, init, unroll=False):
    """`body(i, carry)` applied for i in [0, n), as a compiled loop or as Python code."""
    if not unroll:
        return ops.fori_loop(0, n, body, init)
    carry = init
    for i in range(n):
        carry = body(i, carry)
    return carry
