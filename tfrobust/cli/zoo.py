"""`tfrobust zoo`: list the models, show or rewrite the cards, write the leaderboard, its tables
and its site."""

import pathlib


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "zoo", help="list zoo models, show a card, write the leaderboard", description=__doc__
    )
    parser.add_argument("--models-dir", help="zoo folder (default $TFROBUST_MODELS_DIR or models/)")
    actions = parser.add_subparsers(dest="zoo_command", metavar="ACTION", required=True)
    listing = actions.add_parser("list", help="model IDs with their accuracies")
    listing.add_argument("--dataset")
    listing.add_argument("--threat-model", help="Linf or L2")
    listing.set_defaults(func=list_command)
    show = actions.add_parser("show", help="print a model's card")
    show.add_argument("name")
    show.set_defaults(func=show_command)
    board = actions.add_parser(
        "leaderboard", help="regenerate models/README.md from eval.json files"
    )
    board.set_defaults(func=leaderboard_command)
    cards = actions.add_parser(
        "cards",
        help="rewrite every MODEL_CARD.md from its entry's "
        "recipe.yaml, eval.json and training_time.json",
    )
    cards.set_defaults(func=cards_command)
    tables = actions.add_parser(
        "reproduction", help="write docs/reproduction.md and plots from models/tables.yaml"
    )
    tables.add_argument("--out", default="docs", help="output folder (default docs/)")
    tables.set_defaults(func=reproduction_command)
    site = actions.add_parser("site", help="write the static leaderboard website into OUT")
    site.add_argument("out", help="output folder, e.g. site/")
    site.set_defaults(func=site_command)


def list_command(args):
    from rich.console import Console
    from rich.table import Table

    from tfrobust import zoo
    from tfrobust.zoo.eps_text import threat_text

    entries = zoo.find_entries(args.models_dir)
    table = Table("ID", "dataset", "threat model", "clean", "robust", "n")
    for name in zoo.list_models(args.dataset, args.threat_model, args.models_dir):
        e = entries[name]
        table.add_row(
            name,
            e.report_as,
            threat_text(e.threat_model, e.eps),
            f"{e.clean_accuracy:.2%}",
            f"{e.robust_accuracy:.2%}",
            str(e.n),
        )
    console = Console()
    # Wider than the terminal rather than cutting IDs, which users copy into commands.
    needed = console.measure(table, options=console.options.update(max_width=10_000)).maximum
    console.width = max(console.width, needed)
    console.print(table)


def show_command(args):
    from tfrobust import zoo

    entries = zoo.find_entries(args.models_dir)
    if args.name not in entries:
        raise ValueError(f"Unknown zoo model {args.name!r}. Available: {', '.join(entries)}")
    print((entries[args.name].path / "MODEL_CARD.md").read_text())


def leaderboard_command(args):
    from tfrobust import zoo

    print(f"wrote {zoo.write_leaderboard(args.models_dir and pathlib.Path(args.models_dir))}")


def cards_command(args):
    from tfrobust.zoo.card import write_cards
    from tfrobust.zoo.entry import models_dir

    for path in write_cards(pathlib.Path(args.models_dir) if args.models_dir else models_dir()):
        print(f"wrote {path}")


def reproduction_command(args):
    from tfrobust.zoo.entry import models_dir
    from tfrobust.zoo.reproduction import write_reproduction

    root = pathlib.Path(args.models_dir) if args.models_dir else models_dir()
    print(f"wrote {write_reproduction(root, args.out)}")


def site_command(args):
    from tfrobust.zoo.entry import models_dir
    from tfrobust.zoo.site import write_site

    root = pathlib.Path(args.models_dir) if args.models_dir else models_dir()
    print(f"wrote {write_site(root, args.out)}")
