"""`tfrobust data`: list datasets, prepare (verify and cache) one, write a sample."""


def add_parser(subparsers):
    parser = subparsers.add_parser(
        "data", help="list, prepare and sample datasets", description=__doc__
    )
    commands = parser.add_subparsers(dest="data_command", metavar="ACTION", required=True)

    listing = commands.add_parser("list", help="the registered datasets")
    listing.set_defaults(func=list_command)

    prepare = commands.add_parser(
        "prepare", help="verify, decode and cache a dataset; print what was found"
    )
    prepare.add_argument("name")
    prepare.add_argument("--data-dir", help="folder with the files (default $TFROBUST_DATA_DIR)")
    prepare.add_argument("--split", action="append", help="train and/or test (default both)")
    prepare.add_argument(
        "--no-download", action="store_true", help="never let tensorflow-datasets download"
    )
    prepare.set_defaults(func=prepare_command)

    sample = commands.add_parser(
        "sample", help="write a small MNIST + CIFAR-10 (JPEG) sample in the standard formats"
    )
    sample.add_argument("src", help="folder with mnist/ and cifar10-jpeg/")
    sample.add_argument("dst")
    sample.set_defaults(func=sample_command)


def list_command(args):
    from rich.console import Console
    from rich.table import Table

    from tfrobust import data

    table = Table("name", "image shape", "classes", "local formats", "tfds")
    for spec in map(data.get_spec, data.list_datasets()):
        formats = ", ".join(f"{type(f).__name__}({f.folder})" for f in spec.local)
        table.add_row(
            spec.name, str(spec.image_shape), str(spec.num_classes), formats, spec.tfds_name or "-"
        )
    Console().print(table)


def prepare_command(args):
    import numpy as np
    from rich.console import Console

    from tfrobust import data

    console = Console()
    for split in args.split or ["train", "test"]:
        with console.status(f"Verifying and decoding {args.name} {split}..."):
            images, labels, source = data.load_uint8(
                args.name, split, args.data_dir, download=not args.no_download
            )
        histogram = np.bincount(labels, minlength=data.get_spec(args.name).num_classes)
        print(
            f"{args.name} {split}: {len(images)} images of shape {images.shape[1:]} "
            f"from {source.kind} {source.location}; report results as {source.report_as!r}"
        )
        print(f"  images per class: {' '.join(map(str, histogram))}")


def sample_command(args):
    from tfrobust.data.sample import write_sample

    write_sample(args.src, args.dst)
    print(f"wrote a sample of {args.src} to {args.dst}")
