"""`tfrobust demo`: train a small MNIST classifier, then attack it with FGSM.

Runs offline on the sample bundled with the package in about a minute on two
CPU cores. It shows what an undefended model looks like: high clean accuracy
that collapses under a one-step attack.
"""

from tfrobust.cli.options import parse_eps


def add_parser(subparsers):
    parser = subparsers.add_parser("demo", help="train on bundled MNIST, report FGSM accuracy",
                                   description=__doc__)
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--eps", type=parse_eps, action="append",
                        help="FGSM budget(s) in [0, 1], e.g. 0.1 or 8/255 (default 0.05, 0.1, 0.3)")
    parser.add_argument("--data-dir", help="MNIST folder (default: the bundled sample)")
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.set_defaults(func=run)


def run(args):
    import keras
    import numpy as np
    from rich.console import Console
    from rich.progress import track
    from rich.table import Table

    from tfrobust import architectures
    from tfrobust import data
    from tfrobust.attacks import FGSM

    keras.utils.set_random_seed(args.seed)
    data_dir = args.data_dir or data.SAMPLE_DIR
    train = data.load("mnist", "train", data_dir, batch_size=args.batch_size, shuffle=True,
                      seed=args.seed)
    x_test, y_test = data.load_numpy("mnist", "test", data_dir)

    model = architectures.get("lenet", num_classes=10, input_shape=(28, 28, 1))
    model.compile(optimizer=keras.optimizers.Adam(2e-3),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
                  metrics=["accuracy"])
    model.fit(train, epochs=args.epochs, shuffle=False, verbose=2)  # shuffled by tf.data

    table = Table("attack", "eps", "accuracy", title=f"MNIST test, {len(x_test)} images")
    predict = lambda x: np.argmax(model.predict_on_batch(x), axis=1)  # noqa: E731
    table.add_row("none (clean)", "0", f"{np.mean(predict(x_test) == y_test):.1%}")
    for eps in args.eps or [0.05, 0.1, 0.3]:
        attack, correct = FGSM(eps=eps), 0
        batches = range(0, len(x_test), 250)
        for i in track(batches, description=f"FGSM eps={eps:g}", transient=True):
            x_adv = attack(model, x_test[i:i + 250], y_test[i:i + 250])
            correct += int(np.sum(predict(x_adv) == y_test[i:i + 250]))
        table.add_row("FGSM", f"{eps:g}", f"{correct / len(x_test):.1%}")
    Console().print(table)
