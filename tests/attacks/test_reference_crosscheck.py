"""FAB-T and Square (L-inf and L2) against the AutoAttack reference code, as ported by torchattacks.

Optional: needs `pip install -e .[crosscheck]` (PyTorch and torchattacks,
too heavy for CI). The session's MNIST CNN is copied weight for weight into
PyTorch (logits agree to 1e-5); FAB-T, being deterministic, must give the
same robust accuracy to one point, and the Square random search be at least
as strong, within two points, averaged over two seeds.
"""

import keras
import numpy as np
import pytest

from tfrobust.attacks import FABT, Square

torch = pytest.importorskip("torch")
torchattacks = pytest.importorskip("torchattacks")

ONE_POINT = 0.01


def torch_copy(model):
    """The `conftest.small_cnn` (no BatchNorm) as a PyTorch module with the same weights."""
    convs = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    denses = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    modules = []
    for layer in convs:
        kernel, bias = layer.get_weights()
        conv = torch.nn.Conv2d(kernel.shape[2], kernel.shape[3], kernel.shape[:2],
                               layer.strides)
        conv.weight.data = torch.from_numpy(kernel.transpose(3, 2, 0, 1).copy())
        conv.bias.data = torch.from_numpy(bias)
        modules += [conv, torch.nn.ReLU()]
    modules.append(torch.nn.Flatten(start_dim=1))
    for i, layer in enumerate(denses):
        kernel, bias = layer.get_weights()
        dense = torch.nn.Linear(*kernel.shape)
        dense.weight.data = torch.from_numpy(kernel.T.copy())
        dense.bias.data = torch.from_numpy(bias)
        modules += [dense] + ([torch.nn.ReLU()] if i < len(denses) - 1 else [])

    class NHWC(torch.nn.Module):
        """Takes NCHW like torchattacks, flattens in Keras's NHWC order."""

        def __init__(self):
            super().__init__()
            self.convs = torch.nn.Sequential(*modules[:2 * len(convs)])
            self.head = torch.nn.Sequential(*modules[2 * len(convs):])

        def forward(self, z):
            return self.head(self.convs(z).permute(0, 2, 3, 1))

    return NHWC().eval()


@pytest.fixture(scope="module")
def reference(mnist_model, mnist_test):
    x, y = mnist_test
    net = torch_copy(mnist_model)
    xt = torch.from_numpy(x).permute(0, 3, 1, 2).contiguous()
    yt = torch.from_numpy(y.astype("int64"))
    logits = net(xt).detach().numpy()
    np.testing.assert_allclose(logits, np.asarray(mnist_model(x)), atol=1e-4)

    def run(attack):
        adv = attack(net, xt, yt).permute(0, 2, 3, 1).numpy()
        return accuracy(mnist_model, adv, y)

    return run


def accuracy(model, x, y):
    return float(np.mean(np.argmax(np.asarray(model(np.asarray(x))), -1) == y))


@pytest.mark.parametrize("norm, eps", [("linf", 0.2), ("l2", 1.5)])
def test_fab_t_matches_the_reference(mnist_model, mnist_test, reference, norm, eps):
    x, y = mnist_test
    theirs = reference(lambda net, xt, yt: torchattacks.FAB(
        net, norm={"linf": "Linf", "l2": "L2"}[norm], eps=eps, steps=100, n_restarts=1,
        multi_targeted=True, n_classes=10, seed=0)(xt, yt))
    ours = accuracy(mnist_model, FABT(eps, norm=norm, steps=100, n_target_classes=9)(
        mnist_model, x, y), y)
    print(f"FAB-T {norm} eps={eps}: ours {ours:.3f}, reference {theirs:.3f}")
    assert abs(ours - theirs) <= ONE_POINT


@pytest.mark.parametrize("norm, eps", [("linf", 0.3), ("l2", 2.0)])
def test_square_matches_the_reference(mnist_model, mnist_test, reference, norm, eps):
    x, y = mnist_test
    theirs = np.mean([reference(lambda net, xt, yt: torchattacks.Square(
        net, norm={"linf": "Linf", "l2": "L2"}[norm], eps=eps, n_queries=1000, p_init=0.8,
        seed=seed)(xt, yt)) for seed in (0, 1)])
    ours = np.mean([accuracy(mnist_model, Square(eps, norm=norm, n_queries=1000, seed=seed)(
        mnist_model, x, y), y) for seed in (0, 1)])
    print(f"Square-1000 {norm} eps={eps}: ours {ours:.3f}, reference {theirs:.3f}")
    assert ours <= theirs + 2 * ONE_POINT
