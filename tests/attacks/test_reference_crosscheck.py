"""FAB-T and Square (L-inf and L2) against the AutoAttack reference code, as ported by torchattacks.

Optional: needs `pip install -e .[crosscheck]` (PyTorch and torchattacks,
too heavy for CI). The session's MNIST CNN is copied weight for weight into
PyTorch by `benchmarks/torch_copy.py` (logits agree to 1e-5); FAB-T, being
deterministic, must give the same robust accuracy to one point, and the
Square random search be at least as strong, within two points, averaged over
two seeds.
"""

import numpy as np
import pytest

from tfrobust.attacks import FABT
from tfrobust.attacks import Square

torch = pytest.importorskip("torch")
torchattacks = pytest.importorskip("torchattacks")

from benchmarks.torch_copy import TOLERANCE  # noqa: E402  (after the skips)
from benchmarks.torch_copy import max_logit_difference  # noqa: E402  (after the skips)
from benchmarks.torch_copy import nchw  # noqa: E402  (after the skips)
from benchmarks.torch_copy import nhwc  # noqa: E402  (after the skips)
from benchmarks.torch_copy import torch_copy  # noqa: E402  (after the skips)

ONE_POINT = 0.01


@pytest.fixture(scope="module")
def reference(mnist_model, mnist_test):
    x, y = mnist_test
    net = torch_copy(mnist_model)
    assert max_logit_difference(mnist_model, net, x) <= TOLERANCE
    xt, yt = nchw(x), torch.from_numpy(y.astype("int64"))

    def run(attack):
        return accuracy(mnist_model, nhwc(attack(net, xt, yt)), y)

    return run


def accuracy(model, x, y):
    return float(np.mean(np.argmax(np.asarray(model(np.asarray(x))), -1) == y))


@pytest.mark.parametrize("norm, eps", [("linf", 0.2), ("l2", 1.5)])
def test_fab_t_matches_the_reference(mnist_model, mnist_test, reference, norm, eps):
    x, y = mnist_test
    theirs = reference(
        lambda net, xt, yt: torchattacks.FAB(
            net,
            norm={"linf": "Linf", "l2": "L2"}[norm],
            eps=eps,
            steps=100,
            n_restarts=1,
            multi_targeted=True,
            n_classes=10,
            seed=0,
        )(xt, yt)
    )
    ours = accuracy(
        mnist_model, FABT(eps, norm=norm, steps=100, n_target_classes=9)(mnist_model, x, y), y
    )
    print(f"FAB-T {norm} eps={eps}: ours {ours:.3f}, reference {theirs:.3f}")
    assert abs(ours - theirs) <= ONE_POINT


@pytest.mark.parametrize("norm, eps", [("linf", 0.3), ("l2", 2.0)])
def test_square_matches_the_reference(mnist_model, mnist_test, reference, norm, eps):
    x, y = mnist_test
    theirs = np.mean(
        [
            reference(
                lambda net, xt, yt: torchattacks.Square(
                    net,
                    norm={"linf": "Linf", "l2": "L2"}[norm],
                    eps=eps,
                    n_queries=1000,
                    p_init=0.8,
                    seed=seed,
                )(xt, yt)
            )
            for seed in (0, 1)
        ]
    )
    ours = np.mean(
        [
            accuracy(
                mnist_model, Square(eps, norm=norm, n_queries=1000, seed=seed)(mnist_model, x, y), y
            )
            for seed in (0, 1)
        ]
    )
    print(f"Square-1000 {norm} eps={eps}: ours {ours:.3f}, reference {theirs:.3f}")
    assert ours <= theirs + 2 * ONE_POINT
