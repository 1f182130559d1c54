"""`tfrobust eval MODEL`: robust accuracy of a saved model, with a JSON/MD/PNG report.

    tfrobust eval model.keras --dataset cifar10 --attacks autoattack --eps 8/255 \\
        --n 1000 --batch-size 256 --out runs/eval

MODEL is a zoo ID or a `.keras` file of a model that takes [0, 1] images and
returns logits. For a zoo ID, the dataset and the threat model default to the
entry's (`tfrobust zoo show ID`); for a file, to CIFAR-10, L-inf 8/255.
`--eps` accepts fractions ("8/255"); `--curve-eps` adds budgets to the
accuracy-vs-epsilon plot. The report lands in OUT as `eval.json`, `eval.md`
and `robust_accuracy.png`.
"""

import argparse
import pathlib

from tfrobust.argument_validation import NORMS
from tfrobust.cli.options import parse_eps

FILE_DEFAULTS = {"dataset": "cifar10", "eps": 8 / 255, "norm": "linf"}


def _eps_list(text):
    return [parse_eps(part) for part in text.split(",") if part.strip()]


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "eval",
        help="evaluate a model's robustness (AutoAttack by default)",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "model", help="a zoo ID (tfrobust zoo list) or a .keras model taking [0, 1] images"
    )
    parser.add_argument("--models-dir", help="zoo folder (default $TFROBUST_MODELS_DIR or models/)")
    parser.add_argument(
        "--dataset",
        help="a registered dataset (test split); default: the zoo entry's, else cifar10",
    )
    parser.add_argument(
        "--data-dir", help="folder with the dataset files (default $TFROBUST_DATA_DIR)"
    )
    parser.add_argument(
        "--attacks",
        default="autoattack",
        help="comma-separated attack names, e.g. autoattack or apgd-ce,square",
    )
    parser.add_argument(
        "--eps",
        type=parse_eps,
        help="budget in the [0, 1] pixel scale, e.g. 8/255; default: the zoo entry's, else 8/255",
    )
    parser.add_argument("--norm", choices=NORMS, help="default: the zoo entry's, else linf")
    parser.add_argument(
        "--curve-eps",
        type=_eps_list,
        default=[],
        help="extra budgets for the accuracy-vs-epsilon plot, e.g. 2/255,4/255",
    )
    parser.add_argument(
        "--curve-attacks",
        type=lambda text: [a.strip() for a in text.split(",") if a.strip()],
        default=None,
        help="attacks run at the --curve-eps budgets, e.g. pgd (default: all of --attacks)",
    )
    parser.add_argument("--n", type=int, default=1000, help="number of test points")
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--apgd-steps",
        type=int,
        default=None,
        help="APGD steps of AutoAttack and APGD attacks (default 100)",
    )
    parser.add_argument(
        "--square-queries",
        type=int,
        default=None,
        help="queries of the Square attack (default 5000)",
    )
    parser.add_argument(
        "--sanity", action="store_true", help="also run the sanity checks (on up to 200 points)"
    )
    adaptive = parser.add_mutually_exclusive_group()
    adaptive.add_argument(
        "--adaptive",
        action="store_true",
        help="report, per defense layer found, which adaptive attack ran and "
        "what it changed (they run unless --no-adaptive)",
    )
    adaptive.add_argument(
        "--no-adaptive",
        action="store_true",
        help="run only --attacks, not the defenses' adaptive attacks",
    )
    parser.add_argument("--out", default="runs/eval", help="output folder")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    parser.set_defaults(func=run)
    return parser


def _attack_kwargs(args):
    kwargs = {}
    if args.apgd_steps is not None:
        kwargs["autoattack"] = {"apgd_steps": args.apgd_steps}
        for name in ("apgd-ce", "apgd-dlr", "apgd-t"):
            kwargs[name] = {"steps": args.apgd_steps}
    if args.square_queries is not None:
        kwargs.setdefault("autoattack", {})["square_queries"] = args.square_queries
        kwargs["square"] = {"n_queries": args.square_queries}
    return kwargs


def model_label(model):
    """How the report names the model: a zoo ID as it is, a file by its stem."""
    return pathlib.PurePath(model).stem if model.endswith(".keras") else model


def fill_defaults(args):
    """Dataset and threat model not given on the command line: the zoo entry's, or FILE_DEFAULTS.

    Returns what was filled in, to be told to the user.
    """
    missing = [key for key in FILE_DEFAULTS if getattr(args, key) is None]
    if not missing:
        return {}
    defaults = dict(FILE_DEFAULTS)
    if not args.model.endswith(".keras"):
        from tfrobust import zoo

        entry = zoo.find_entries(args.models_dir).get(args.model)
        if entry is not None:  # an unknown ID is reported when the model is loaded
            defaults = {
                "dataset": entry.dataset,
                "eps": entry.eps,
                "norm": entry.threat_model.lower(),
            }
    filled = {key: defaults[key] for key in missing}
    for key, value in filled.items():
        setattr(args, key, value)
    return filled


def run(args):
    """Load the model and the data, evaluate, write the report; return 0."""
    from rich.console import Console

    from tfrobust import data
    from tfrobust.argument_validation import check_eps
    from tfrobust.cli.options import load_model
    from tfrobust.evaluation import evaluate
    from tfrobust.evaluation import write_report
    from tfrobust.zoo.eps_text import eps_text

    if args.n is not None and args.n < 1:
        raise ValueError(f"--n must be >= 1. Received: {args.n}")
    filled = fill_defaults(args)
    for eps in [args.eps, *args.curve_eps]:
        check_eps(eps, args.norm)
    console = Console(soft_wrap=True)  # paths on one line, to be copied whole
    if filled:
        console.print(
            "Using "
            + ", ".join(
                f"{key} {eps_text(value) if key == 'eps' else value}"
                for key, value in filled.items()
            )
            + (f" (from the zoo entry {args.model})" if not args.model.endswith(".keras") else "")
        )
    console.print(
        f"The report will be written to {args.out}/ (eval.json, eval.md, robust_accuracy.png)."
    )
    model = load_model(args.model, args.models_dir)
    images, labels, source = data.load_uint8(args.dataset, "test", args.data_dir, download=False)
    n = min(args.n, len(images))
    x = images[:n].astype("float32") / 255.0
    attacks = [name.strip() for name in args.attacks.split(",") if name.strip()]
    summary = evaluate(
        model,
        (x, labels[:n]),
        attacks=attacks,
        eps=args.eps,
        norm=args.norm,
        n=n,
        batch_size=args.batch_size,
        seed=args.seed,
        curve_eps=args.curve_eps,
        curve_attacks=args.curve_attacks,
        sanity=args.sanity,
        attack_kwargs=_attack_kwargs(args),
        model_name=model_label(args.model),
        dataset_name=source.report_as,
        data_order=source.order,
        progress=not args.no_progress,
        adaptive=not args.no_adaptive,
    )
    paths = write_report(summary, args.out)
    console.print(
        f"clean accuracy {100 * summary.clean_accuracy:.2f}%, "
        f"robust accuracy {100 * summary.robust_accuracy:.2f}% "
        f"({args.norm}, eps={eps_text(args.eps)}, n={summary.n})"
    )
    if args.adaptive:
        from tfrobust.evaluation.adaptive import describe

        for line in describe(summary):
            console.print(f"adaptive: {line}")
    for check in summary.sanity:
        if not check.passed:
            console.print(f"[yellow]sanity check failed: {check.name}: {check.message}[/yellow]")
    console.print(f"report: {paths['json']}, {paths['markdown']}, {paths['plot']}")
    return 0
