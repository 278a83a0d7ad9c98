"""``nbmlp explain``: each step of the backpropagation derivation with the loop that computes it."""

from .arguments import add_command


def add_parser(sub, common):
    p = add_command(
        sub,
        common,
        "explain",
        run,
        help="show a formula and its loop",
        description="Print each step of the backpropagation derivation with the loop that computes it.",
        epilog="examples:\n  nbmlp explain\n  nbmlp explain forward\n",
    )
    p.add_argument("step", nargs="?", help="one step (default: all)")


def run(args):
    from ..derivation import explain

    explain(args.step)
    return 0
