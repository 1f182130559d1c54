"""`tfrobust export MODEL OUT_DIR`: a SavedModel for serving (TensorFlow Serving, TFLite, ...).

MODEL is a zoo ID (`tfrobust zoo list`) or a `.keras` file. The signatures
`serve` (float32 images in [0, 1]) and `serve_uint8` return logits and probabilities.
"""


def add_parser(subparsers):
    parser = subparsers.add_parser("export", help="write a SavedModel for serving",
                                   description=__doc__)
    parser.add_argument("model", help="zoo ID or path to a .keras file")
    parser.add_argument("out_dir")
    parser.add_argument("--models-dir", help="zoo folder (default $TFROBUST_MODELS_DIR or models/)")
    parser.set_defaults(func=run)


def load(model, models_dir=None):
    """A zoo model by ID, or a `.keras` file by path."""
    import keras

    import tfrobust.architectures  # noqa: F401  registers layers for loading
    import tfrobust.layers  # noqa: F401
    from tfrobust import zoo

    if model.endswith(".keras"):
        return keras.saving.load_model(model, compile=False)
    return zoo.load_model(model, models_dir)


def run(args):
    from tfrobust.export import export_savedmodel

    print(f"SavedModel written to {export_savedmodel(load(args.model, args.models_dir), args.out_dir)}")
