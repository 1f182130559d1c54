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


def run(args):
    from tfrobust.cli.options import load_model
    from tfrobust.export import export_savedmodel

    out = export_savedmodel(load_model(args.model, args.models_dir), args.out_dir)
    print(f"SavedModel written to {out}")
