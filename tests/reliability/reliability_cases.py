"""Every bad input tried against the public entry points, with the error it must raise.

One list, two uses: `test_bad_inputs.py` runs each case as a test, and
`errors_doc.py` runs them to write `docs/errors.md` (a test fails when that
file is stale). A case is `call(tmp_path)`, which must raise `error` with a
message matching `match`.
"""

import dataclasses
import pathlib
import shutil
import typing

import keras
import numpy as np

import tfrobust
from tfrobust import attacks
from tfrobust import objectives
from tfrobust import saliency
from tfrobust.data import SAMPLE_DIR
from tfrobust.evaluation import evaluate

N, CLASSES = 8, 10


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    call: typing.Callable
    error: type
    match: str
    backends: tuple = ("tensorflow", "jax")


def tiny_model(softmax=False):
    """A 10-class linear model on 8x8 grey images, the same weights every time."""
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [
            keras.Input((8, 8, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(CLASSES, activation="softmax" if softmax else None),
        ]
    )


def images(n=N):
    return np.random.default_rng(0).random((n, 8, 8, 1)).astype("float32")


def labels(n=N):
    return np.arange(n) % CLASSES


def with_value(array, index, value):
    array = array.astype(type(value) if isinstance(value, float) else array.dtype).copy()
    array[index] = value
    return array


def pgd():
    return attacks.PGD(eps=0.1, step_size=0.05, steps=1, seed=0)


def evaluate_(x=None, y=None, **kwargs):
    return evaluate(
        kwargs.pop("model", None) or tiny_model(),
        (images() if x is None else x, labels() if y is None else y),
        attacks=pgd(),
        eps=0.1,
        n=kwargs.pop("n", None),
        **kwargs,
    )


def fit_(x=None, y=None, **kwargs):
    robust = tfrobust.adversarial(tiny_model(), objectives.PGDAT(), pgd())
    robust.compile(optimizer="sgd")
    return robust.fit(
        images() if x is None else x,
        labels() if y is None else y,
        epochs=1,
        batch_size=4,
        verbose=0,
        **kwargs,
    )


def fit_dataset(x, y):
    import tensorflow as tf

    robust = tfrobust.adversarial(tiny_model(), objectives.PGDAT(), pgd())
    robust.compile(optimizer="sgd")
    return robust.fit(tf.data.Dataset.from_tensor_slices((x, y)).batch(4), epochs=1, verbose=0)


def truncated_keras(tmp_path):
    path = tmp_path / "model.keras"
    tiny_model().save(path)
    path.write_bytes(path.read_bytes()[:200])
    return path


def corrupted_mnist(tmp_path):
    """The sample's MNIST without its SHA256SUMS, one .gz file cut short."""
    root = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR / "mnist", root / "mnist")
    path = root / "mnist" / "train-images-idx3-ubyte.gz"
    path.write_bytes(path.read_bytes()[:1000])
    return root


def not_gzip_mnist(tmp_path):
    root = tmp_path / "data"
    shutil.copytree(SAMPLE_DIR / "mnist", root / "mnist")
    (root / "mnist" / "train-labels-idx1-ubyte.gz").write_bytes(b"not a gzip file")
    return root


def load_mnist(root):
    from tfrobust import data

    return data.load_uint8("mnist", "train", data_dir=root)


def load_keras(path):
    from tfrobust.saving import load_keras as load

    return load(path)


CASES = [
    # Labels: wrong numbers without an error before #18.
    Case(
        "evaluate: a label equal to num_classes (10 of 10)",
        lambda tmp: evaluate_(y=with_value(labels(), 3, 10)),
        ValueError,
        r"1 labels outside \[0, 10\).*y\[3\]=10",
    ),
    Case(
        "evaluate: negative labels",
        lambda tmp: evaluate_(y=labels() - 1),
        ValueError,
        r"outside \[0, 10\)",
    ),
    Case(
        "evaluate: non-integer labels",
        lambda tmp: evaluate_(y=with_value(labels(), 2, 1.5)),
        ValueError,
        r"not whole numbers.*1\.5",
    ),
    Case(
        "evaluate: fewer labels than images",
        lambda tmp: evaluate_(y=labels(5)),
        ValueError,
        r"differ in length",
    ),
    Case(
        "evaluate: string labels",
        lambda tmp: evaluate_(y=np.array(["cat"] * N)),
        ValueError,
        r"integer class labels",
    ),
    # Images.
    Case(
        "evaluate: a NaN pixel",
        lambda tmp: evaluate_(x=with_value(images(), (2, 1, 1, 0), np.nan)),
        ValueError,
        r"1 non-finite values .* in 1 image.*\(2, 1, 1, 0\)",
    ),
    Case(
        "evaluate: infinite pixels in two images",
        lambda tmp: evaluate_(
            x=with_value(with_value(images(), (0, 0, 0, 0), np.inf), (5, 3, 3, 0), -np.inf)
        ),
        ValueError,
        r"2 non-finite values .* in 2 image",
    ),
    Case(
        "evaluate: images in 0-255",
        lambda tmp: evaluate_(x=images() * 255),
        ValueError,
        r"\[0, 1\]",
    ),
    # Outputs and counts.
    Case(
        "evaluate: a softmax output",
        lambda tmp: evaluate_(model=tiny_model(softmax=True)),
        ValueError,
        r"returns probabilities.*outputs='probabilities'",
    ),
    Case(
        "evaluate: unknown outputs=",
        lambda tmp: evaluate_(outputs="probs"),
        ValueError,
        r"`outputs` must be one of",
    ),
    Case("evaluate: n=0", lambda tmp: evaluate_(n=0), ValueError, r"`n` must be an integer >= 1"),
    Case(
        "evaluate: an empty dataset",
        lambda tmp: evaluate_(x=images(0), y=labels(0)),
        ValueError,
        r"empty batch",
    ),
    # Attacks: checked in NumPy before compiling.
    Case(
        "PGD: an empty batch",
        lambda tmp: pgd()(tiny_model(), images(0), labels(0)),
        ValueError,
        r"empty batch",
    ),
    Case(
        "PGD: a label equal to num_classes",
        lambda tmp: pgd()(tiny_model(), images(), with_value(labels(), 0, 10)),
        ValueError,
        r"outside \[0, 10\)",
    ),
    Case(
        "PGD: a NaN pixel",
        lambda tmp: pgd()(tiny_model(), with_value(images(), (4, 0, 0, 0), np.nan), labels()),
        ValueError,
        r"non-finite",
    ),
    Case(
        "PGD: labels of shape (N, 1)",
        lambda tmp: pgd()(tiny_model(), images(), labels()[:, None]),
        ValueError,
        r"one integer label per image, shape \(8,\).*\(8, 1\)",
    ),
    Case(
        "PGD: one image without its batch axis",
        lambda tmp: pgd()(tiny_model(), images()[0], labels()[:1]),
        ValueError,
        r"shape \(N, H, W, C\)",
    ),
    Case(
        "APGD: a negative label",
        lambda tmp: attacks.APGD(eps=0.1, steps=2)(tiny_model(), images(), labels() - 1),
        ValueError,
        r"outside \[0, 10\)",
    ),
    Case(
        "Square: a label equal to num_classes",
        lambda tmp: attacks.Square(eps=0.1, n_queries=2)(
            tiny_model(), images(), with_value(labels(), 1, 10)
        ),
        ValueError,
        r"outside \[0, 10\)",
    ),
    Case(
        "AutoAttack.run: non-integer labels",
        lambda tmp: attacks.AutoAttack(eps=0.1, apgd_steps=2, fab_steps=2, square_queries=2).run(
            tiny_model(), images(), with_value(labels(), 0, 0.5)
        ),
        ValueError,
        r"not whole numbers",
    ),
    # Saliency.
    Case(
        "saliency.vanilla_gradient: a label equal to num_classes",
        lambda tmp: saliency.vanilla_gradient(tiny_model(), images(), with_value(labels(), 0, 10)),
        ValueError,
        r"outside \[0, 10\)",
    ),
    Case(
        "saliency.smoothgrad: a NaN pixel",
        lambda tmp: saliency.smoothgrad(
            tiny_model(), with_value(images(), (1, 0, 0, 0), np.nan), samples=2
        ),
        ValueError,
        r"non-finite",
    ),
    Case(
        "saliency.integrated_gradients: fewer labels than images",
        lambda tmp: saliency.integrated_gradients(tiny_model(), images(), labels(3), steps=2),
        ValueError,
        r"one integer label per image",
    ),
    # Training through the adversarial model.
    Case(
        "adversarial(...).fit: a label equal to num_classes",
        lambda tmp: fit_(y=with_value(labels(), 6, 10)),
        ValueError,
        r"outside \[0, 10\)",
    ),
    Case(
        "adversarial(...).fit: a NaN pixel",
        lambda tmp: fit_(x=with_value(images(), (0, 0, 0, 0), np.nan)),
        ValueError,
        r"non-finite",
    ),
    Case(
        "adversarial(...).fit: validation labels out of range",
        lambda tmp: fit_(validation_data=(images(), labels() + 5)),
        ValueError,
        r"outside \[0, 10\)",
    ),
    Case(
        "adversarial(...).fit: a tf.data.Dataset with a label equal to num_classes",
        lambda tmp: fit_dataset(images(), with_value(labels(), 2, 10)),
        ValueError,
        r"labels outside \[0, 10\)(.|\n)*10",
    ),
    # Files.
    Case(
        "a truncated .keras file",
        lambda tmp: load_keras(truncated_keras(tmp)),
        ValueError,
        r"damaged or not a Keras archive",
    ),
    Case(
        "a text file named .keras",
        lambda tmp: load_keras(_write(tmp / "notes.keras", "not a model")),
        ValueError,
        r"damaged or not a Keras archive",
    ),
    Case(
        "a truncated MNIST .gz without SHA256SUMS",
        lambda tmp: load_mnist(corrupted_mnist(tmp)),
        ValueError,
        r"train-images-idx3-ubyte\.gz is damaged or truncated",
    ),
    Case(
        "an MNIST .gz that is not gzip",
        lambda tmp: load_mnist(not_gzip_mnist(tmp)),
        ValueError,
        r"train-labels-idx1-ubyte\.gz is damaged or truncated",
    ),
    Case(
        "recipe: dataset.validation.n as large as the training split",
        lambda tmp: _holdout(2000, 2000),
        ValueError,
        r"dataset\.validation\.n",
    ),
]


def _write(path, text):
    pathlib.Path(path).write_text(text)
    return path


def _holdout(n_total, n):
    from tfrobust.data.epochs import holdout

    return holdout(n_total, n, seed=0)


def message(case, tmp_path):
    """The message of the error `case` raises, tmp_path shown as `<tmp>`; fails if none."""
    try:
        case.call(tmp_path)
    except case.error as error:
        return str(error).replace(str(tmp_path), "<tmp>")
    raise AssertionError(f"{case.name}: no {case.error.__name__} raised")
