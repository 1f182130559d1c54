"""CIFS: relevance against finite differences, the IMGFs, the probe loss, training, saving,
the reference's placement in the recipes' ResNet-18 and WRN-28-10."""

import pathlib

import keras
import numpy as np
import pytest
from keras import ops

from tests.test_case import assert_weights_changed
from tests.test_case import fit_one_step
from tests.test_case import run_layer_test
from tfrobust import attacks
from tfrobust import objectives
from tfrobust.architectures import cifs_insert
from tfrobust.labels import label_scope
from tfrobust.layers import CIFS
from tfrobust.training import adversarial


def features(shape=(3, 4, 4, 6), seed=0):
    return np.random.default_rng(seed).normal(size=shape).astype("float32")


def numpy_of(x):
    return ops.convert_to_numpy(x)


def built(layer, shape=(3, 4, 4, 6), seed=0):
    """`layer` built on `shape`, with random (not initial) probe weights."""
    keras.utils.set_random_seed(seed)
    layer.build(shape)
    rng = np.random.default_rng(seed)
    for weight in layer.trainable_weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    return layer


@pytest.mark.jax
@pytest.mark.parametrize("with_labels", [False, True])
def test_relevance_equals_finite_differences_of_the_selected_logits(with_labels):
    layer = built(CIFS(5, top_k=2, hidden_units=7))
    z = features()
    labels = np.array([0, 3, 4]) if with_labels else None
    g = numpy_of(layer.relevance(z, labels))
    logits = numpy_of(layer.probe_logits(z))
    if with_labels:  # the reference's training choice: the label and the probe's 2nd class
        chosen = [[y, int(np.argsort(row)[-2])] for y, row in zip(labels, logits)]
    else:
        chosen = [np.argsort(row)[-2:].tolist() for row in logits]
    eps = 1e-2
    expected = np.zeros_like(g)
    for c in range(z.shape[-1]):
        shift = np.zeros_like(z)
        shift[..., c] = eps
        up, down = numpy_of(layer.probe_logits(z + shift)), numpy_of(layer.probe_logits(z - shift))
        for n, classes in enumerate(chosen):
            expected[n, c] = sum(up[n, k] - down[n, k] for k in classes) / (2 * eps)
    np.testing.assert_allclose(g, expected, rtol=1e-2, atol=2e-3)


@pytest.mark.jax
def test_linear_probe_relevance_is_the_sum_of_the_chosen_classes_weights():
    layer = built(CIFS(4, top_k=1))
    z = features()
    top = np.argmax(numpy_of(layer.probe_logits(z)), axis=-1)
    kernel = numpy_of(layer.probe.kernel)
    np.testing.assert_allclose(numpy_of(layer.relevance(z)), kernel[:, top].T, rtol=1e-5, atol=1e-5)


@pytest.mark.jax
@pytest.mark.parametrize("imgf", ["softmax", "softplus", "sigmoid"])
def test_importance_masks_follow_the_paper(imgf):
    g = features((3, 6))
    t, scale = 0.5, 2.0
    mask = numpy_of(CIFS(4, imgf=imgf, temperature=t, scale=scale).importance(g))
    if imgf == "softmax":
        e = np.exp(g / t)
        expected = e / e.sum(axis=-1, keepdims=True)
    elif imgf == "softplus":  # alpha = 1 / T
        expected = np.log1p(np.exp(g / t)) * t
    else:
        expected = 1 / (1 + np.exp(-g / t))
    np.testing.assert_allclose(mask, scale * expected, rtol=1e-5, atol=1e-6)


@pytest.mark.jax
def test_call_scales_channels_and_adds_the_weighted_probe_loss_in_training():
    layer = built(CIFS(5, loss_weight=0.7))
    z, y = features(), np.array([1, 0, 4])
    with label_scope(ops.convert_to_tensor(y)):
        out = layer(z, training=True)
    mask = numpy_of(layer.importance(layer.relevance(z, y)))
    np.testing.assert_allclose(numpy_of(out), z * mask[:, None, None, :], rtol=1e-5, atol=1e-6)
    logits = numpy_of(layer.probe_logits(z)).astype(np.float64)
    log_p = logits - np.log(np.exp(logits).sum(axis=-1, keepdims=True))
    ce = -log_p[np.arange(3), y].mean()
    assert len(layer.losses) == 1
    assert float(numpy_of(layer.losses[0])) == pytest.approx(0.7 * ce, rel=1e-4)
    # Inference: the probe's own top-k, no loss.
    inference = layer(z)
    mask = numpy_of(layer.importance(layer.relevance(z)))
    np.testing.assert_allclose(
        numpy_of(inference), z * mask[:, None, None, :], rtol=1e-5, atol=1e-6
    )
    assert not layer.losses


@pytest.mark.jax
def test_training_without_labels_says_how_to_train():
    layer = built(CIFS(5))
    with pytest.raises(ValueError, match="tfrobust.training.adversarial"):
        layer(features(), training=True)


@pytest.mark.jax
def test_works_on_pooled_feature_vectors():
    layer = built(CIFS(5), shape=(3, 6))
    z = features((3, 6))
    mask = numpy_of(layer.importance(layer.relevance(z)))
    np.testing.assert_allclose(numpy_of(layer(z)), z * mask, rtol=1e-5, atol=1e-6)


def test_bad_arguments_are_rejected_with_the_value():
    for kwargs, message in [
        ({"num_classes": 1}, "num_classes=1"),
        ({"num_classes": 5, "top_k": 6}, "top_k=6"),
        ({"num_classes": 5, "imgf": "relu"}, "imgf='relu'"),
        ({"num_classes": 5, "temperature": 0}, "temperature=0"),
        ({"num_classes": 5, "scale": -1.0}, "scale=-1.0"),
        ({"num_classes": 5, "hidden_units": 0}, "hidden_units=0"),
        ({"num_classes": 5, "loss_weight": -1}, "loss_weight=-1"),
    ]:
        with pytest.raises(ValueError, match=f"Received: {message}"):
            CIFS(**kwargs)
    with pytest.raises(ValueError, match="Received: imgf='x'"):
        cifs_insert("resnet18", 10, imgf="x")


def tiny_model(*layers, seed=0):
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(4, 3, padding="same", name="conv")(inputs)
    for layer in layers:
        h = layer(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    return keras.Model(inputs, keras.layers.Dense(3, name="classifier")(h))


@pytest.mark.jax
def test_layer_contract(tmp_path):
    """Config and `.keras` round trips, one adversarial fit step training every weight."""
    run_layer_test(
        lambda: CIFS(3, imgf="softplus", temperature=0.5, hidden_units=4, name="cifs"),
        (4, 4, 6),
        3,
        tmp_path,
    )


@pytest.mark.jax
def test_a_probe_without_loss_learns_through_the_mask_alone():
    """With `loss_weight=0` the probe learns through the mask alone (second order, the
    reference's `create_graph=True`); only its output bias, which no gradient depends on,
    stays."""
    mask_only = CIFS(3, hidden_units=5, loss_weight=0.0, name="mask_only")
    model = tiny_model(CIFS(3, name="cifs"), mask_only)
    before = [numpy_of(w).copy() for w in model.trainable_weights]
    rng = np.random.default_rng(0)
    x, y = rng.random((8, 6, 6, 1), dtype=np.float32), rng.integers(0, 3, 8)
    history = fit_one_step(model, attack=attacks.PGD(eps=0.1, step_size=0.05, steps=2), x=x, y=y)
    assert history["layer_loss"][0] > 0
    assert len(model.trainable_weights) == 2 + 2 + 4 + 2
    assert_weights_changed(model.trainable_weights, before, unchanged=[mask_only.probe.bias])


def test_insert_helper_defaults_to_the_last_residual_stage():
    from tfrobust import architectures

    assert sorted(cifs_insert("resnet18", 10)) == ["stage4"]
    assert sorted(cifs_insert("wrn28_10", 10, stages=["stage2", "stage3"])) == ["stage2", "stage3"]
    model = architectures.get(
        "resnet20", width=0.25, input_shape=(8, 8, 3), insert=cifs_insert("resnet20", 10)
    )
    assert isinstance(model.get_layer("stage3_insert"), CIFS)
    assert model(features((2, 8, 8, 3))).shape == (2, 10)


@pytest.mark.jax
def test_training_selection_is_the_label_plus_the_probes_lower_ranks_as_the_reference():
    """`CIFS._get_mask_with_graph` in training: logits[y] + logits[topk(2)[1][:, 1]]."""
    logits = ops.convert_to_tensor(np.array([[3.0, 2.0, 1.0, 0.0]] * 3, "float32"))
    labels = ops.convert_to_tensor(np.array([0, 1, 2]))
    selection = numpy_of(CIFS(4, top_k=2)._selection(logits, labels))
    np.testing.assert_array_equal(
        selection,
        [
            [1, 1, 0, 0],  # right: label and runner-up
            [0, 2, 0, 0],  # label ranked 2nd: twice
            [0, 1, 1, 0],
        ],
    )  # wrong: top choice left out
    selection = numpy_of(CIFS(4, top_k=3)._selection(logits, labels))
    np.testing.assert_array_equal(selection, [[1, 1, 1, 0], [0, 2, 1, 0], [0, 1, 2, 0]])
    np.testing.assert_array_equal(
        numpy_of(CIFS(4, top_k=2)._selection(logits, None)), [[1, 1, 0, 0]] * 3
    )


@pytest.mark.jax
def test_auxiliary_logits_scope_collects_every_probe_in_call_order():
    from tfrobust.layers import auxiliary_logits_scope

    model = tiny_model(CIFS(3, hidden_units=4, name="first"), CIFS(3, name="second"))
    x = features((2, 6, 6, 1))
    with auxiliary_logits_scope() as probes:
        logits = model(x, training=False)
    assert len(probes) == 2
    for probe, name in zip(probes, ("first", "second")):
        layer = model.get_layer(name)
        inputs = keras.Model(model.inputs, layer.input)(x)
        np.testing.assert_allclose(
            numpy_of(probe), numpy_of(layer.probe_logits(inputs)), rtol=1e-5, atol=1e-6
        )
    np.testing.assert_allclose(numpy_of(logits), numpy_of(model(x)), rtol=1e-6)
    model(x)  # outside a scope nothing is collected
    assert len(probes) == 2


def _softmax(a):
    e = np.exp(a - a.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _ce(logits, y):
    return float(-np.log(_softmax(logits)[np.arange(len(y)), y]).mean())


def _runner_up(logits):
    return np.argsort(logits, axis=-1)[:, -2]


def reference_joint_ce_loss(final, probes, y, beta=2.0):
    """HanshuYAN/CIFS, CIFAR10_Res18_CIFS.py, `joint_CE_loss.forward` (is_joint=True)."""
    loss = 0.0
    for logits in probes:
        loss += _ce(logits, y)
    loss = (beta / len(probes)) * loss
    loss += _ce(final, y)
    return loss * 3 / (beta + 1)


@pytest.mark.jax
def test_adversarial_fit_logs_the_reference_joint_loss_computed_by_hand():
    """A training-mode pass by hand, with the reference's formulas: the non-linear probe
    (softplus beta 5), the label + runner-up relevance, the softmax masks, the probes on
    unmasked features; `fit` of `adversarial(model, PGDAT(), PGD(...))` logs the same
    `layer_loss` and a total equal to the reference's `joint_CE_loss(beta=2)`."""
    keras.utils.set_random_seed(0)
    inputs = keras.Input((3, 3, 2))
    z = keras.layers.Conv2D(4, 1, name="conv")(inputs)
    h = CIFS(3, hidden_units=5, name="cifs1")(z)
    h = CIFS(3, name="cifs2")(h)
    h = keras.layers.GlobalAveragePooling2D()(h)
    model = keras.Model(inputs, keras.layers.Dense(3, name="classifier")(h))
    rng = np.random.default_rng(0)
    for weight in model.weights:
        weight.assign(rng.normal(size=weight.shape).astype("float32"))
    x, y = rng.random((8, 3, 3, 2), dtype=np.float32), rng.integers(0, 3, 8)
    attack = attacks.PGD(eps=0.1, step_size=0.05, steps=2, random_start=False)
    x_adv = numpy_of(attack(model, x, y)).astype(np.float64)  # the same deterministic attack

    wc, bc = numpy_of(model.get_layer("conv").kernel)[0, 0], numpy_of(model.get_layer("conv").bias)
    first, second = model.get_layer("cifs1"), model.get_layer("cifs2")
    w1, b1 = numpy_of(first.probe_hidden.kernel), numpy_of(first.probe_hidden.bias)
    w2, b2 = numpy_of(first.probe.kernel), numpy_of(first.probe.bias)
    w3, b3 = numpy_of(second.probe.kernel), numpy_of(second.probe.bias)
    wf, bf = (
        numpy_of(model.get_layer("classifier").kernel),
        numpy_of(model.get_layer("classifier").bias),
    )
    onehot = np.eye(3)
    feat = x_adv @ wc + bc  # (8, 3, 3, 4)
    hidden = feat.mean((1, 2)) @ w1 + b1
    p1 = np.logaddexp(0, 5 * hidden) / 5 @ w2 + b2  # nlBlock: Softplus(beta=5)
    chosen = onehot[y] + onehot[_runner_up(p1)]
    g1 = np.einsum("ch,nh,nh->nc", w1, 1 / (1 + np.exp(-5 * hidden)), chosen @ w2.T)
    feat = feat * _softmax(g1)[:, None, None, :]  # F.softmax, no factor
    p2 = feat.mean((1, 2)) @ w3 + b3
    g2 = (onehot[y] + onehot[_runner_up(p2)]) @ w3.T
    feat = feat * _softmax(g2)[:, None, None, :]
    final = feat.mean((1, 2)) @ wf + bf

    robust = adversarial(model, objectives.PGDAT(), attack)
    robust.compile(optimizer=keras.optimizers.SGD(0.0))
    history = robust.fit(x, y, batch_size=8, epochs=1, verbose=0).history
    assert history["ce_adv"][0] == pytest.approx(_ce(final, y), rel=1e-4)
    assert history["layer_loss"][0] == pytest.approx(_ce(p1, y) + _ce(p2, y), rel=1e-4)
    assert history["loss"][0] == pytest.approx(
        reference_joint_ce_loss(final, [p1, p2], y), rel=1e-4
    )


RECIPES = pathlib.Path(__file__).resolve().parents[2] / "recipes"


def _consumers(model, tensor):
    """Names of the layers of `model` that take `tensor` as (one of) their inputs."""
    names = []
    for layer in model.layers:
        for node in layer._inbound_nodes:
            if any(t is tensor for t in node.input_tensors):
                names.append(layer.name)
    return sorted(names)


def test_resnet18_recipe_places_the_reference_cifs_modules_in_layer4():
    """ResNet18_L4: CIFSBlock(mode='nonlinear') then CIFSBlock(mode='linear'), each CIFS
    on its block's output after the residual sum and ReLU."""
    from tfrobust.recipes import build
    from tfrobust.recipes import load_recipe

    path = RECIPES / "cifs_cifar10_resnet18_pgd_at.yaml"
    recipe = load_recipe(path, scale="cpu")
    model = build.model(recipe)
    cifs = [layer for layer in model.layers if isinstance(layer, CIFS)]
    assert [layer.name for layer in cifs] == ["stage4_block1_insert", "stage4_insert"]
    first, second = cifs
    assert (first.hidden_units, second.hidden_units) == (128, None)
    for layer in cifs:
        assert (
            layer.num_classes,
            layer.top_k,
            layer.imgf,
            layer.temperature,
            layer.scale,
            layer.loss_weight,
        ) == (10, 2, "softmax", 1.0, 1.0, 1.0)
    assert first.input is model.get_layer("stage4_block1_out").output
    assert _consumers(model, first.output) == ["stage4_block2_add", "stage4_block2_conv1"]
    assert second.input is model.get_layer("stage4").output
    assert _consumers(model, second.output) == ["pool"]
    # The paper's evaluation attacks the joint loss; the Table 4 CPU scale attacks the final
    # logits as the FSR paper's other rows, and the joint loss runs as CIFS's adaptive attack.
    assert load_recipe(path).evaluation.attack_kwargs["pgd"]["attack"] == "joint-pgd"
    assert "attack" not in recipe.evaluation.attack_kwargs["pgd"]


def test_wrn_recipe_places_the_cifs_modules_on_the_last_blocks_branch_and_the_features():
    from tfrobust.recipes import build
    from tfrobust.recipes import load_recipe

    recipe = load_recipe(RECIPES / "cifs_cifar10_wrn28_10_pgd_at.yaml", scale="cpu")
    model = build.model(recipe)
    cifs = [layer for layer in model.layers if isinstance(layer, CIFS)]
    assert [layer.name for layer in cifs] == ["stage3_block4_preact_insert", "features_insert"]
    first, second = cifs
    assert (first.hidden_units, second.hidden_units) == (240, None)
    assert first.input is model.get_layer("stage3_block4_relu1").output
    assert _consumers(model, first.output) == ["stage3_block4_conv1"]  # not the shortcut
    add = model.get_layer("stage3_block4_add")
    assert add.input[0] is model.get_layer("stage3_block3_add").output
    assert second.input is model.get_layer("features").output
    assert _consumers(model, second.output) == ["classifier"]


@pytest.mark.parametrize("arch", ["resnet18", "wrn28_10"])
def test_block_points_change_nothing_until_something_is_inserted(arch):
    from tfrobust import architectures

    config = {"width": 0.0625, "input_shape": (8, 8, 3)}
    plain = architectures.get(arch, **config)
    blocks = architectures.block_names(arch)
    assert blocks and set(blocks).isdisjoint(architectures.stage_names(arch))
    assert architectures.insertion_points(arch) == architectures.stage_names(arch) + blocks
    seen = []

    def factory(name, channels):
        seen.append(name)
        return keras.layers.Identity(name=name)

    inserted = architectures.get(arch, insert={b: factory for b in blocks}, **config)
    assert sorted(seen) == sorted(f"{b}_insert" for b in blocks)
    assert len(inserted.layers) == len(plain.layers) + len(blocks)
    inserted.set_weights(plain.get_weights())
    x = features((2, 8, 8, 3))
    x = (x - x.min()) / (x.max() - x.min())
    np.testing.assert_array_equal(numpy_of(inserted(x)), numpy_of(plain(x)))
    with pytest.raises(ValueError, match="block points"):
        architectures.get(arch, insert={"stage4_block9": factory}, **config)
