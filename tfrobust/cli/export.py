"""`tfrobust export MODEL OUT_DIR`: a SavedModel for serving (TensorFlow Serving, TFLite, ...).

MODEL is a zoo ID (`tfrobust zoo list`) or a `.keras` file. The signatures
`serve` (float32 images in [0, 1]) and `serve_uint8` return logits and probabilities.
Works on both backends; each export is loaded back and run once before it is
kept. A model whose JAX export TensorFlow cannot run (e.g. `top_k` in CIFS or a
median filter of size >= 5) is an error: export it with KERAS_BACKEND=tensorflow.
"""

import pathlib


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "export", help="write a SavedModel for serving", description=__doc__
    )
    parser.add_argument("model", help="zoo ID or path to a .keras file")
    parser.add_argument("out_dir")
    parser.add_argument("--models-dir", help="zoo folder (default $TFROBUST_MODELS_DIR or models/)")
    parser.set_defaults(func=run)


def run(args):
    from tfrobust.cli.options import load_model
    from tfrobust.export import export_savedmodel

    # Checked before loading the model; `main` reports ValueErrors as one line.
    if pathlib.Path(args.out_dir).exists():
        raise ValueError(f"{args.out_dir} exists; choose a new folder for the SavedModel")
    try:
        out = export_savedmodel(load_model(args.model, args.models_dir), args.out_dir)
    except FileExistsError as error:  # created meanwhile
        raise ValueError(str(error)) from error
    print(f"SavedModel written to {out}")
