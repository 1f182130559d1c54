"""`tfrobust zoo`: list the published models, show a card, rebuild the leaderboard and tables."""

import pathlib


def add_parser(subparsers):
    parser = subparsers.add_parser("zoo", help="list zoo models, show a card, write the leaderboard",
                                   description=__doc__)
    parser.add_argument("--models-dir", help="zoo folder (default $TFROBUST_MODELS_DIR or models/)")
    actions = parser.add_subparsers(dest="zoo_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="model IDs with their accuracies")
    listing.add_argument("--dataset")
    listing.add_argument("--threat-model", help="Linf or L2")
    listing.set_defaults(func=list_command)
    show = actions.add_parser("show", help="print a model's card")
    show.add_argument("name")
    show.set_defaults(func=show_command)
    board = actions.add_parser("leaderboard", help="regenerate models/README.md from eval.json files")
    board.set_defaults(func=leaderboard_command)
    tables = actions.add_parser("reproduction",
                                help="write docs/reproduction.md and plots from models/tables.yaml")
    tables.add_argument("--out", default="docs", help="output folder (default docs/)")
    tables.set_defaults(func=reproduction_command)


def list_command(args):
    from rich.console import Console
    from rich.table import Table

    from tfrobust import zoo

    entries = zoo.find_entries(args.models_dir)
    table = Table("ID", "dataset", "threat model", "clean", "robust", "n")
    for name in zoo.list_models(args.dataset, args.threat_model, args.models_dir):
        e = entries[name]
        table.add_row(name, e.report_as, f"{e.threat_model} {e.eps * 255:.3g}/255",
                      f"{e.clean_accuracy:.2%}", f"{e.robust_accuracy:.2%}", str(e.n))
    Console().print(table)


def show_command(args):
    from tfrobust import zoo

    entries = zoo.find_entries(args.models_dir)
    if args.name not in entries:
        raise ValueError(f"Unknown zoo model {args.name!r}. Available: {', '.join(entries)}")
    print((entries[args.name].path / "MODEL_CARD.md").read_text())


def leaderboard_command(args):
    from tfrobust import zoo

    print(f"wrote {zoo.write_leaderboard(args.models_dir and pathlib.Path(args.models_dir))}")


def reproduction_command(args):
    from tfrobust.zoo.entry import models_dir
    from tfrobust.zoo.reproduction import write_reproduction

    root = pathlib.Path(args.models_dir) if args.models_dir else models_dir()
    print(f"wrote {write_reproduction(root, args.out)}")
