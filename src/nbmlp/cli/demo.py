"""``nbmlp demo``: train on a small or generated data set, print the test accuracy, save plots."""

import os

import numpy as np

from ..tabular import UserError
from .arguments import add_command, positive
from .fitting import interrupted, make_estimator, per_epoch, split, standardize, train
from .plots import plot_loss, plot_regions

DEMOS = {  # dataset: hidden layers, activation, solver, learning rate, batch size, epochs
    "digits": ((64,), "relu", "sgd", 0.1, 32, 30),
    "iris": ((16,), "tanh", "adam", 0.01, 16, 150),
    "xor": ((8,), "tanh", "adam", 0.05, 16, 150),
    "spirals": ((64, 64), "relu", "adam", 0.01, 32, 300),
    "moons": ((32,), "relu", "adam", 0.01, 32, 150),
}


def add_parser(sub, common):
    from ..datasets import DATASETS

    p = add_command(
        sub,
        common,
        "demo",
        run,
        help="train on a small or generated data set",
        description="Train a sensible network on a small (digits, iris: scikit-learn's) or generated (xor, spirals, "
        "moons) data set, print the test accuracy and save plots.",
        epilog="examples:\n  nbmlp demo\n  nbmlp demo spirals --epochs 300 --out-dir pictures\n",
    )
    p.add_argument("dataset", nargs="?", default="digits", choices=DATASETS, help="data set (default digits)")
    p.add_argument("--epochs", type=positive(int), help="epochs (default: a sensible number per data set)")
    p.add_argument("--out-dir", default=".", help="where to save the pictures (default: current directory)")


def run(args):
    from .. import datasets

    if os.path.exists(args.out_dir) and not os.path.isdir(args.out_dir):
        raise UserError(f"--out-dir {args.out_dir!r} is a file, not a directory")
    X, y = datasets.load(args.dataset, seed=args.seed)
    hidden, activation, solver, lr, batch, epochs = DEMOS[args.dataset]
    epochs = args.epochs or epochs
    if args.dataset == "xor":
        batch = min(batch, len(y))
    rest, test = split(len(y), 0.2, args.seed, y)
    train_idx, val_idx = split(len(rest), 0.25, args.seed + 1, y[rest])
    train_idx, val_idx = rest[train_idx], rest[val_idx]
    mu, sigma = standardize(X[train_idx])
    Xs = ((X - mu) / sigma).astype(np.float32)
    model = make_estimator("classify", hidden, activation, solver, lr, batch, args.seed)
    say = (lambda *a: None) if args.quiet else print
    say(
        f"nbmlp demo: {args.dataset}, {len(train_idx)} training / {len(val_idx)} validation / {len(test)} test "
        f"samples, layers {X.shape[1]}-{'-'.join(map(str, hidden))}-{len(np.unique(y))}, {activation}, {solver}, "
        f"{epochs} epochs"
    )
    history = train(model, Xs[train_idx], y[train_idx], Xs[val_idx], y[val_idx], epochs, True, args.quiet)
    if history["interrupted"]:
        return interrupted(history)
    test_acc = model.score(Xs[test], y[test])
    print(f"test accuracy {test_acc:.3f}; {per_epoch(history)}")
    try:
        os.makedirs(args.out_dir, exist_ok=True)
    except OSError as err:
        raise UserError(f"cannot create --out-dir {args.out_dir!r}: {err.strerror}") from None
    loss_png = os.path.join(args.out_dir, f"{args.dataset}_loss.png")
    pictures = []
    if plot_loss(loss_png, history, f"nbmlp {args.dataset}: loss per epoch"):
        pictures.append(loss_png)
        if X.shape[1] == 2:
            regions_png = os.path.join(args.out_dir, f"{args.dataset}_regions.png")
            plot_regions(regions_png, model, Xs, y, f"nbmlp {args.dataset}: decision regions")
            pictures.append(regions_png)
        print("saved " + ", ".join(pictures))
    else:
        print("plots skipped: matplotlib is not installed (pip install 'nbmlp[plot]')")
    return 0
