"""`tfrobust saliency MODEL`: a PNG grid of saliency maps, clean and adversarial side by side.

    tfrobust saliency model.keras --dataset cifar10 --n 6 \\
        --methods gradient,smoothgrad,grad_cam,grad_cam_plus_plus --eps 8/255 --out runs/saliency

MODEL is a zoo ID (`tfrobust zoo list`; its dataset is then the default) or a
`.keras` file of a model that takes [0, 1] images and returns logits. The
first N test images (of `--data-dir`, default the sample bundled with tfrobust)
are attacked with PGD (`--eps 0` for clean columns only); each
row shows a clean image and its maps, then the adversarial image and its
maps, all explaining the true class. CAM methods use `--layer` (default: the
last layer with a 4-D output, the last convolutional stage of tfrobust
architectures). Writes OUT/saliency.png.
"""

import argparse
import pathlib

from tfrobust.cli.options import parse_eps


def _methods(text):
    from tfrobust import saliency

    names = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [name for name in names if name not in saliency.METHODS]
    if unknown or not names:
        raise argparse.ArgumentTypeError(
            f"methods must be among {', '.join(saliency.METHODS)}. Received: {text!r}"
        )
    return names


def _positive(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be an integer >= 1. Received: {text!r}")
    return value


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "saliency",
        help="draw saliency maps of clean and adversarial images to a PNG",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("model", help="a zoo ID or a .keras model taking [0, 1] images")
    parser.add_argument("--models-dir", help="zoo folder (default $TFROBUST_MODELS_DIR or models/)")
    parser.add_argument(
        "--dataset",
        help="a registered dataset (test split); default: the zoo entry's, else cifar10",
    )
    parser.add_argument(
        "--data-dir", help="folder with the dataset files (default: the bundled sample)"
    )
    parser.add_argument("--n", type=_positive, default=4, help="number of images (rows)")
    parser.add_argument("--start", type=int, default=0, help="index of the first test image")
    parser.add_argument(
        "--methods",
        type=_methods,
        default=["gradient", "grad_cam"],
        help="comma-separated saliency methods (default gradient,grad_cam)",
    )
    parser.add_argument(
        "--layer", help="layer of the CAM methods (default: last convolutional stage)"
    )
    parser.add_argument(
        "--eps",
        type=parse_eps,
        help="L-inf PGD budget in [0, 1], e.g. 8/255 (default: the zoo entry's, "
        "else 8/255); 0 for clean images only",
    )
    parser.add_argument("--steps", type=_positive, default=10, help="PGD steps")
    parser.add_argument("--samples", type=_positive, default=25, help="SmoothGrad samples")
    parser.add_argument("--ig-steps", type=_positive, default=50, help="Integrated Gradients steps")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", default="runs/saliency", help="output folder")
    parser.set_defaults(func=run)
    return parser


def run(args):
    """Load the model and images, attack, draw; return 0."""
    import keras
    from rich.console import Console

    from tfrobust import data
    from tfrobust import zoo
    from tfrobust.attacks import PGD
    from tfrobust.cli.options import load_model
    from tfrobust.saliency import figures

    keras.utils.set_random_seed(args.seed)
    model = load_model(args.model, args.models_dir)
    entry = (
        None if args.model.endswith(".keras") else zoo.find_entries(args.models_dir).get(args.model)
    )
    if args.dataset is None:
        args.dataset = entry.dataset if entry else "cifar10"
    if args.eps is None:
        args.eps = entry.eps if entry and entry.threat_model == "Linf" else 8 / 255
    images, labels, _ = data.load_uint8(
        args.dataset, "test", args.data_dir or data.SAMPLE_DIR, download=False
    )
    if not 0 <= args.start < len(images):
        raise ValueError(f"--start must be in [0, {len(images)}). Received: {args.start}")
    x = images[args.start : args.start + args.n].astype("float32") / 255.0
    y = labels[args.start : args.start + args.n].astype("int32")
    x_adv = None
    if args.eps > 0:
        attack = PGD(
            eps=args.eps, step_size=2.5 * args.eps / args.steps, steps=args.steps, seed=args.seed
        )
        x_adv = keras.ops.convert_to_numpy(attack(model, x, y))
    out = figures.saliency_figure(
        pathlib.Path(args.out) / "saliency.png",
        model,
        x,
        y,
        x_adv,
        names=args.methods,
        layer=args.layer,
        smoothgrad={"samples": args.samples, "seed": args.seed},
        integrated_gradients={"steps": args.ig_steps},
    )
    Console().print(f"saliency maps ({', '.join(args.methods)}) of {len(x)} images: {out}")
    return 0
