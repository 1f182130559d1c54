"""Export a classifier as a TensorFlow SavedModel for serving.

The serving signatures take images and return `logits` and `probabilities`:
`serve` takes float32 in [0, 1], `serve_uint8` takes uint8 pixels. Only the
classifier in inference mode is traced: no attack, no training-mode branches
(auxiliary heads, guided dropout) are in the serving graph.

Both backends write the same signatures. On JAX, Keras's `ExportArchive`
converts the model with `jax2tf` (native serialisation: the SavedModel holds
the StableHLO module in an `XlaCallModule` op, lowered for JAX's default
platform, with a symbolic batch dimension). TensorFlow may be unable to run
what a newer JAX emits, so every export is checked: the SavedModel is loaded
back with `tf.saved_model.load` and each signature is run once on a tiny
batch before the folder is moved into place. If that fails, nothing is left
behind and `ExportError` says which op failed.
"""

import os
import pathlib
import re
import shutil
import tempfile

from tfrobust.zoo.files import umask_mode

SIGNATURES = ("serve", "serve_uint8")


class ExportError(ValueError):
    """The SavedModel was written but TensorFlow cannot run one of its signatures."""


def export_savedmodel(model, out_dir):
    """Write `model` to `out_dir` (atomically: a temporary folder, checked, then a rename).

    Raises:
        FileExistsError: `out_dir` exists.
        ExportError: TensorFlow cannot run the exported signatures (on JAX: an
            op that this TensorFlow's `XlaCallModule` does not support). No
            folder is left behind.
    """
    import keras
    import tensorflow as tf

    out_dir = pathlib.Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} exists; choose a new folder for the SavedModel")
    shape = (None, *model.input_shape[1:])

    def serve(images):
        logits = model(images, training=False)
        return {"logits": logits, "probabilities": keras.ops.softmax(logits, axis=-1)}

    def serve_uint8(images):
        return serve(keras.ops.cast(images, "float32") / 255.0)

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec(shape, tf.float32)])
    archive.add_endpoint(
        "serve_uint8", serve_uint8, input_signature=[tf.TensorSpec(shape, tf.uint8)]
    )
    # The topmost missing parent, removed again if the export fails.
    created = next((p for p in reversed(out_dir.parents) if not p.exists()), None)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-")
    os.chmod(staging, umask_mode(folder=True))  # mkdtemp's 0700 would survive the rename
    done = False
    try:
        archive.write_out(staging, verbose=False)
        _check_signatures(staging, shape, out_dir)
        os.replace(staging, out_dir)
        done = True
    finally:
        shutil.rmtree(staging, ignore_errors=True)
        if not done and created is not None:
            shutil.rmtree(created, ignore_errors=True)
    return out_dir


def _check_signatures(path, shape, out_dir):
    """Load the SavedModel at `path` and run each serving signature on a batch of two."""
    import keras
    import numpy as np
    import tensorflow as tf

    loaded = tf.saved_model.load(path)
    # Unknown non-batch dimensions (fully convolutional models) get a small size.
    example = np.random.default_rng(0).uniform(size=(2, *(d or 32 for d in shape[1:])))
    inputs = {
        "serve": example.astype("float32"),
        "serve_uint8": np.round(example * 255).astype("uint8"),
    }
    for name in SIGNATURES:
        try:
            fn = loaded.signatures[name]
            (arg,) = fn.structured_input_signature[1]
            logits = fn(**{arg: tf.constant(inputs[name])})["logits"]
            if logits.shape[0] != 2:
                raise ValueError(f"logits of shape {tuple(logits.shape)} for a batch of 2")
        except Exception as error:  # noqa: BLE001  any failure means the model cannot serve
            raise ExportError(_explain(name, error, out_dir, keras.backend.backend())) from error


def _explain(signature, error, out_dir, backend):
    """One paragraph naming the op that failed, where it came from, and what to do."""
    import tensorflow as tf

    text = str(error)
    # MLIR diagnostics: "<file>:<line>:<col>: error: unregistered operation 'vhlo.x' found ..."
    # or "... error: 'stablehlo.dynamic_iota' op has dynamic shapes", then the source line.
    found = re.search(r"(\S+\.py):(\d+):\d+: error: ([^\n]*)\n([^\n]*)", text)
    op = None
    if found:
        reason, call = found.group(3).strip(), found.group(4).strip()
        named = re.search(r"'([\w.]+)'", reason)
        op = named.group(1) if named else None
        detail = f"{reason} (emitted for `{call}`"
        ours = re.search(r"(tfrobust/\S+\.py):(\d+):\d+: note: called from\n([^\n]*)", text)
        if ours:
            detail += f", called at {ours.group(1)}:{ours.group(2)}: `{ours.group(3).strip()}`"
        detail += ")"
    else:
        lines = [
            line.strip()
            for line in text.splitlines()
            if line.strip()
            and "Graph execution error" not in line
            and not line.startswith(("Detected at node", "<stack traces"))
        ]
        detail = f"{type(error).__name__}: {' '.join(lines[:3])[:500]}"
    head = (
        f"TensorFlow {tf.__version__} cannot run the SavedModel exported on the "
        f"{backend} backend: its signature '{signature}' fails"
    )
    head += f" at op '{op}': " if op else ": "
    advice = "Nothing was written to {}.".format(out_dir)
    if backend == "jax":
        advice += (
            " JAX emits this op for the model but TensorFlow's XlaCallModule cannot run "
            "it; export on the TensorFlow backend instead: "
            "`KERAS_BACKEND=tensorflow tfrobust export ...` (or call export_savedmodel "
            "in a process started with KERAS_BACKEND=tensorflow)."
        )
    return f"{head}{detail}. {advice}"
