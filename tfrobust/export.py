"""Export a classifier as a TensorFlow SavedModel for serving.

The serving signatures take images and return `logits` and `probabilities`:
`serve` takes float32 in [0, 1], `serve_uint8` takes uint8 pixels. Only the
classifier in inference mode is traced: no attack, no training-mode branches
(auxiliary heads, guided dropout) are in the serving graph.
"""

import os
import pathlib
import shutil
import tempfile


def export_savedmodel(model, out_dir):
    """Write `model` to `out_dir` (atomically: a temporary folder, then a rename)."""
    import keras
    import tensorflow as tf

    out_dir = pathlib.Path(out_dir)
    if out_dir.exists():
        raise FileExistsError(f"{out_dir} exists; choose a new folder for the SavedModel")
    shape = (None, *model.input_shape[1:])

    def serve(images):
        logits = model(images, training=False)
        return {"logits": logits, "probabilities": keras.ops.softmax(logits, axis=-1)}

    archive = keras.export.ExportArchive()
    archive.track(model)
    archive.add_endpoint("serve", serve, input_signature=[tf.TensorSpec(shape, tf.float32)])
    archive.add_endpoint("serve_uint8", lambda images: serve(tf.cast(images, tf.float32) / 255.0),
                         input_signature=[tf.TensorSpec(shape, tf.uint8)])
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}-")
    try:
        archive.write_out(staging, verbose=False)
        os.replace(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out_dir
