"""Weighted k-NN accuracy of the features a named layer produces.

A linear classifier can hide how much class information a feature carries.
The FSR paper (Table 5) measures it instead with a weighted k-NN classifier:
each test feature votes with its k most cosine-similar training features,
each vote weighted by exp(similarity / temperature), the classifier of
Wu et al. 2018 ("Unsupervised feature learning via non-parametric instance
discrimination"). For FSR's separated parts (f+, f-, f~-) pass `part=` to
read them from the layer's `separate` method instead of its output; to
measure adversarial features, pass adversarial `x_test`.
"""

import numbers

import keras
import numpy as np
from keras import ops

from tfrobust.argument_validation import check_choice
from tfrobust.argument_validation import check_int
from tfrobust.argument_validation import check_number


def knn_accuracy(
    model,
    layer_name,
    x_train,
    y_train,
    x_test,
    y_test,
    k=5,
    temperature=0.07,
    part=None,
    pool="avg",
    batch_size=256,
):
    """Weighted k-NN accuracy of `layer_name`'s features (inference mode).

    Args:
        model: a functional Keras model containing the layer.
        layer_name: name of the layer whose output (or `part`) is the feature.
        x_train, y_train: the neighbours (images and integer labels).
        x_test, y_test: the points to classify.
        k: int, or a sequence of ints to evaluate several k at once
            (the paper reports 5-NN and 20-NN).
        temperature: float > 0, vote weights are exp(cosine / temperature).
            Defaults to 0.07 (Wu et al. 2018).
        part: `None` for the layer's output, or a key of the layer's
            `separate(inputs)` dict (`"robust"`, `"non_robust"`,
            `"recalibrated"`, `"outputs"` for `tfrobust.layers.FSR`).
        pool: `"avg"` (global average over spatial axes) or `"flatten"`,
            applied to features of rank > 2.
        batch_size: int, batch size of the feature extraction.

    Returns:
        The accuracy in [0, 1] as a float, or a dict `{k: accuracy}` when `k`
        is a sequence.

    Example:
        >>> from tfrobust import architectures, data
        >>> x, y = data.load_numpy("mnist", "test", data_dir=data.SAMPLE_DIR)
        >>> model = architectures.get(
        ...     "lenet", insert=architectures.fsr_insert("lenet", 10, stages=("stage2",)))
        >>> accuracy = knn_accuracy(model, "stage2_insert", x[:400], y[:400], x[400:],
        ...                         y[400:], k=(5, 20), part="robust")
        >>> sorted(accuracy)
        [5, 20]
    """
    ks = [k] if isinstance(k, numbers.Integral) else list(k)
    if not ks:
        raise ValueError(
            f"`k` must be an integer or a non-empty sequence of them. Received: k={k!r}"
        )
    ks = [
        check_int("k", v, maximum=len(x_train), hint=" (at most the training points)") for v in ks
    ]
    check_number("temperature", temperature, minimum=0, exclusive_minimum=True)
    check_choice("pool", pool, ("avg", "flatten"))
    y_train = np.asarray(y_train).reshape(-1).astype("int64")
    y_test = np.asarray(y_test).reshape(-1).astype("int64")
    if len(y_train) != len(x_train) or len(y_test) != len(x_test):
        raise ValueError(
            "Images and labels differ in length. Received: "
            f"{len(x_train)}/{len(y_train)} train, {len(x_test)}/{len(y_test)} test"
        )

    extract = _extractor(model, layer_name, part)
    train = _normalise(_features(extract, x_train, batch_size, pool))
    test = _normalise(_features(extract, x_test, batch_size, pool))
    num_classes = int(max(y_train.max(), y_test.max())) + 1
    correct = {v: 0 for v in ks}
    for start in range(0, len(test), batch_size):
        similarity = test[start : start + batch_size] @ train.T
        # Neighbours sorted by decreasing similarity; the largest k covers all.
        top = np.argsort(-similarity, axis=1, kind="stable")[:, : max(ks)]
        top_similarity = np.take_along_axis(similarity, top, axis=1)
        weights = np.exp((top_similarity - 1.0) / temperature)  # shifted, same argmax
        votes_for = np.eye(num_classes)[y_train[top]] * weights[..., None]
        truth = y_test[start : start + batch_size]
        for v in ks:
            predicted = votes_for[:, :v].sum(axis=1).argmax(axis=1)
            correct[v] += int((predicted == truth).sum())
    accuracy = {v: correct[v] / len(test) for v in ks}
    return accuracy[ks[0]] if isinstance(k, numbers.Integral) else accuracy


def _extractor(model, layer_name, part):
    """A function from an image batch to the features, in inference mode."""
    layer = model.get_layer(layer_name)
    if part is None:
        sub_model = keras.Model(model.inputs, layer.output)
        return lambda x: sub_model(x, training=False)
    if not hasattr(layer, "separate"):
        raise ValueError(
            f"Layer {layer_name!r} has no `separate` method to take parts from. "
            f"Received: part={part!r}"
        )
    sub_model = keras.Model(model.inputs, layer.input)

    def extract(x):
        parts = layer.separate(sub_model(x, training=False), training=False)
        if part not in parts:
            raise ValueError(
                f"Unknown part; layer {layer_name!r} has {sorted(parts)}. Received: part={part!r}"
            )
        return parts[part]

    return extract


def _features(extract, x, batch_size, pool):
    chunks = []
    for start in range(0, len(x), batch_size):
        batch = ops.convert_to_tensor(np.asarray(x[start : start + batch_size], dtype="float32"))
        features = ops.convert_to_numpy(extract(batch))
        features = features.astype("float64")
        if features.ndim > 2:
            features = (
                features.mean(axis=tuple(range(1, features.ndim - 1)))
                if pool == "avg"
                else features.reshape(len(features), -1)
            )
        chunks.append(features)
    return np.concatenate(chunks)


def _normalise(features):
    norm = np.linalg.norm(features, axis=1, keepdims=True)
    return features / np.maximum(norm, 1e-12)
