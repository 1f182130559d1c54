"""`tfrobust demo`: a published robust model against an undefended one, offline.

Loads the zoo's adversarially trained MNIST LeNet, trains a standard LeNet for
one epoch on the MNIST sample bundled with the package, and evaluates both on
the bundled test images under the zoo model's threat model: clean accuracy,
FGSM, PGD-20 and AutoAttack. The undefended model collapses; the robust one
holds. A few minutes on two CPU cores.
"""

DEMO_MODEL = "mnist/lenet-pgd_at"


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "demo",
        help="evaluate a robust zoo model against an undefended one on bundled MNIST",
        description=__doc__,
    )
    parser.add_argument("--model", default=DEMO_MODEL, help="zoo ID of the robust model")
    parser.add_argument("--n", type=int, default=50, help="bundled test images to evaluate on")
    parser.add_argument(
        "--attacks",
        default="fgsm,pgd,autoattack",
        help="comma-separated attack names (tfrobust eval --help)",
    )
    parser.add_argument("--models-dir", help="zoo folder (default $TFROBUST_MODELS_DIR or models/)")
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def standard_lenet(seed):
    """LeNet trained for one epoch on the bundled MNIST sample, without any defense."""
    import keras

    from tfrobust import architectures
    from tfrobust import data

    keras.utils.set_random_seed(seed)
    model = architectures.get("lenet", num_classes=10, input_shape=(28, 28, 1))
    model.compile(
        optimizer=keras.optimizers.Adam(2e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    train = data.load("mnist", "train", data.SAMPLE_DIR, batch_size=32, shuffle=True, seed=seed)
    model.fit(train, epochs=1, shuffle=False, verbose=0)
    return model


def run(args):
    from rich.console import Console
    from rich.table import Table

    from tfrobust import data
    from tfrobust import evaluation
    from tfrobust import zoo

    console = Console()
    entry = zoo.find_entries(args.models_dir).get(args.model)
    if entry is None:
        raise ValueError(
            f"Unknown zoo model {args.model!r}. Available: "
            f"{', '.join(zoo.list_models(root=args.models_dir)) or 'none'}"
        )
    robust = zoo.load_model(args.model, args.models_dir)
    with console.status("Training an undefended LeNet for one epoch on the bundled sample..."):
        standard = standard_lenet(args.seed)
    x, y = data.load_numpy("mnist", "test", data.SAMPLE_DIR, n=args.n)
    attacks = [name.strip() for name in args.attacks.split(",") if name.strip()]
    table = Table(title=f"MNIST, first {args.n} bundled test images, L-inf eps = {entry.eps:g}")
    for column in ["model", "clean", *attacks, "worst case"]:
        table.add_column(column, justify="left" if column == "model" else "right")
    for name, model in [(f"{args.model} (zoo)", robust), ("standard LeNet, 1 epoch", standard)]:
        console.print(f"Evaluating {name}...")
        summary = evaluation.evaluate(
            model, (x, y), attacks=attacks, eps=entry.eps, n=args.n, seed=args.seed, progress=True
        )
        table.add_row(
            name,
            f"{summary.clean_accuracy:.1%}",
            *(f"{a.robust_accuracy:.1%}" for a in summary.attacks),
            f"{summary.robust_accuracy:.1%}",
        )
    console.print(table)
    console.print(f"Model card: {entry.path / 'MODEL_CARD.md'}")
