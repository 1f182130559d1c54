"""`L2SGD`: PyTorch's coupled weight decay, through momentum, inside a compiled `fit`."""

import keras
import numpy as np
import pytest

from tfrobust import objectives
from tfrobust.training import L2SGD
from tfrobust.training import adversarial


def torch_sgd(w, grads, lr, momentum, l2):
    """torch.optim.SGD's update rule, written out: buf = m * buf + (g + l2 * w); w -= lr * buf."""
    buf = None
    for g in grads:
        d = g + l2 * w
        buf = d if buf is None else momentum * buf + d
        w = w - lr * buf
    return w


@pytest.mark.jax
def test_matches_pytorchs_update_rule_inside_fit():
    # Zero inputs: the kernel's loss gradient is exactly zero, so the kernel
    # moves by weight decay alone, and its path is known in closed form.
    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input((1, 1, 3)),
            keras.layers.Flatten(),
            keras.layers.Dense(2, kernel_initializer="ones"),
        ]
    )
    robust = adversarial(model, objectives.Standard())
    robust.compile(optimizer=L2SGD(0.5, momentum=0.9, l2=0.1))
    x, y = np.zeros((4, 1, 1, 3), "float32"), np.array([0, 1, 0, 1])  # fit takes images
    robust.fit(x, y, batch_size=4, epochs=3, shuffle=False, verbose=0)
    expected = torch_sgd(1.0, [0.0] * 3, lr=0.5, momentum=0.9, l2=0.1)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(model.layers[-1].kernel), expected, rtol=1e-6
    )
    # Keras's decoupled decay would give 1 * (1 - 0.5 * 0.1) ** 3 instead.
    assert abs(expected - 0.95**3) > 0.05


def test_hand_computed_two_steps():
    assert torch_sgd(1.0, [0.0, 0.0], lr=0.5, momentum=0.9, l2=0.1) == pytest.approx(0.8575)


def test_config_round_trip_and_errors():
    opt = L2SGD(0.1, momentum=0.9, l2=5e-4)
    again = L2SGD.from_config(opt.get_config())
    assert (again.l2, float(again.momentum)) == (5e-4, 0.9)
    with pytest.raises(ValueError, match="decoupled"):
        L2SGD(0.1, weight_decay=1e-4)
    with pytest.raises(ValueError, match="l2"):
        L2SGD(0.1, l2=-1.0)
