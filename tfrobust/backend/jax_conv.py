"""Input gradients of convolutions in the form XLA's CPU kernels take, inside loops too.

JAX differentiates `y = conv(x, w)` with respect to `x` through another
convolution: of the output gradient with the spatially reversed kernel, whose
input and output feature dimensions it swaps by relabelling them in the
dimension numbers rather than by moving data. XLA:CPU runs only canonical
convolutions (batch first, features last, kernel ...IO) with its fast
Eigen/oneDNN kernels, and its `ConvCanonicalization` pass, which rewrites the
others with an explicit transpose, visits only the entry computation, not the
body of a while loop (jax-ml/jax#12868). So an attack's `fori_loop` ran the
backward convolutions of every step through XLA's generic loop nest, about 9x
slower than the same steps written out (benchmarks/README.md).

`canonical_conv_gradients()` puts in `jax.lax.conv_general_dilated`, the
function Keras's JAX backend calls for `Conv*` and `DepthwiseConv*` layers, a
version with a custom VJP that computes the input gradient as a canonical
convolution, the kernel flipped and its I/O axes swapped as an array. The
forward pass and the kernel gradient are JAX's own. The custom VJP is fixed
when a function is traced, so the replacement is needed only while tracing;
it is made on the CPU backend only, and the original is put back on leaving.
Convolutions that are not channels-last with one feature group and no input
dilation (grouped and depthwise ones, transposed ones) go to the original.
Forward-mode differentiation (`jax.jvp`) of a custom VJP is not supported;
tfrobust uses reverse mode only (reverse over reverse works).
The replacement is process-wide: another thread tracing meanwhile gets it too
(same values and gradients).
"""

import contextlib
import functools

import jax
import jax.numpy as jnp

_original = jax.lax.conv_general_dilated


def _channels_last(dn, ndim):
    """Whether `dn` is N...C for input and output and ...IO for the kernel."""
    spatial = tuple(range(1, ndim - 1))
    return (
        tuple(dn.lhs_spec) == (0, ndim - 1, *spatial)
        and tuple(dn.out_spec) == (0, ndim - 1, *spatial)
        and tuple(dn.rhs_spec) == (ndim - 1, ndim - 2, *range(ndim - 2))
    )


def _spans(kernel_shape, rhs_dilation):
    """Spatial extent of the dilated kernel window (kernel ...IO)."""
    return [(k - 1) * d + 1 for k, d in zip(kernel_shape[:-2], rhs_dilation)]


@functools.partial(jax.custom_vjp, nondiff_argnums=(2, 3, 4, 5))
def _conv(x, w, strides, pads, rhs_dilation, dn):
    return _original(x, w, strides, pads, rhs_dilation=rhs_dilation, dimension_numbers=dn)


def _conv_fwd(x, w, strides, pads, rhs_dilation, dn):
    return _conv(x, w, strides, pads, rhs_dilation, dn), (x, w)


def _conv_bwd(strides, pads, rhs_dilation, dn, residuals, g):
    x, w = residuals
    # Input position i fed the outputs whose windows covered it. Spread the
    # output gradient out by the stride (lhs dilation), pad it so that a
    # stride-1 window of the reversed kernel at i sees exactly those outputs,
    # and the input gradient is a canonical convolution again.
    spans = _spans(w.shape, rhs_dilation)
    spread = [(n - 1) * s + 1 for n, s in zip(g.shape[1:-1], strides)]
    front = [span - 1 - low for span, (low, _) in zip(spans, pads)]
    back = [
        size + span - 1 - length - f
        for size, span, length, f in zip(x.shape[1:-1], spans, spread, front)
    ]
    w_reversed = jnp.swapaxes(jnp.flip(w, tuple(range(w.ndim - 2))), -1, -2)
    dx = _original(
        g,
        w_reversed,
        (1,) * len(strides),
        tuple(zip(front, back)),
        lhs_dilation=strides,
        rhs_dilation=rhs_dilation,
        dimension_numbers=dn,
    )

    def forward(w):
        return _original(x, w, strides, pads, rhs_dilation=rhs_dilation, dimension_numbers=dn)

    _, kernel_vjp = jax.vjp(forward, w)
    return dx, kernel_vjp(g)[0]


_conv.defvjp(_conv_fwd, _conv_bwd)


def conv_general_dilated(
    lhs,
    rhs,
    window_strides,
    padding,
    lhs_dilation=None,
    rhs_dilation=None,
    dimension_numbers=None,
    feature_group_count=1,
    batch_group_count=1,
    **options,
):
    """`jax.lax.conv_general_dilated`, with canonical input gradients where it can."""
    dn = jax.lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers)
    if (
        not _channels_last(dn, lhs.ndim)
        or feature_group_count != 1
        or batch_group_count != 1
        or any(d != 1 for d in lhs_dilation or ())
        or any(v is not None for v in options.values())
    ):
        return _original(
            lhs,
            rhs,
            window_strides,
            padding,
            lhs_dilation=lhs_dilation,
            rhs_dilation=rhs_dilation,
            dimension_numbers=dimension_numbers,
            feature_group_count=feature_group_count,
            batch_group_count=batch_group_count,
            **options,
        )
    strides = tuple(window_strides)
    rhs_dilation = tuple(rhs_dilation or (1,) * len(strides))
    if isinstance(padding, str):
        padding = jax.lax.padtype_to_pads(
            lhs.shape[1:-1], _spans(rhs.shape, rhs_dilation), strides, padding
        )
    pads = tuple((int(low), int(high)) for low, high in padding)
    return _conv(lhs, rhs, strides, pads, rhs_dilation, dn)


@contextlib.contextmanager
def canonical_conv_gradients():
    """Within it (on JAX's CPU backend), trace convolutions with canonical input gradients.

    Usable as a decorator (`@canonical_conv_gradients()`) of a function that
    is traced by `jax.jit`; nesting is harmless.
    """
    previous = jax.lax.conv_general_dilated
    if jax.default_backend() != "cpu" or previous is conv_general_dilated:
        yield
        return
    jax.lax.conv_general_dilated = conv_general_dilated
    try:
        yield
    finally:
        jax.lax.conv_general_dilated = previous
