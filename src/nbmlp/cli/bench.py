"""``nbmlp bench``: nbmlp timed against scikit-learn, PyTorch and NumPy (``python -m nbmlp.bench``)."""

from .arguments import add_command


def add_parser(sub, common):
    p = add_command(
        sub,
        common,
        "bench",
        run,
        help="compare speed with other libraries",
        add_help=False,
        description="Train the same networks with nbmlp, scikit-learn, PyTorch (if installed) and "
        "NumPy; print a table. Options after 'bench' go to python -m nbmlp.bench.",
        epilog="examples:\n  nbmlp bench\n  nbmlp bench --sizes small,mid --epochs 3 --threads 2\n",
    )
    p.add_argument("-h", "--help", action="store_true", help="show the benchmark's options and exit")


def run(args):
    from ..bench import main as bench_main

    if args.help:  # the benchmark's own options
        return bench_main(["--help"], prog="nbmlp bench")
    rest = args.rest
    if args.threads and "--threads" not in rest:
        rest = ["--threads", str(args.threads)] + rest
    return bench_main(rest)
