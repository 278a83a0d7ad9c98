"""What the commands' parsers share: the options every command takes, the CSV options, one
way to add a command, and the argument types (each an ``argparse`` type: a bad value is a
usage error that names the option)."""

import argparse

import numpy as np

from ..tabular import DECIMALS


def common_options():
    """The parent parser of every command: --quiet, --threads, --seed."""
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--quiet", "-q", action="store_true", help="print only results and errors")
    common.add_argument("--threads", type=positive(int), help="threads used by the kernels")
    common.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    return common


def add_command(sub, common, name, run, **kwargs):
    """The parser of command ``name`` (``kwargs``: help, description, epilog, ...), which ``run(args)`` carries out."""
    p = sub.add_parser(name, parents=[common], formatter_class=argparse.RawDescriptionHelpFormatter, **kwargs)
    p.set_defaults(func=run)
    return p


def add_csv_options(p):
    """--delimiter and --decimal, for a command that reads a CSV file."""
    p.add_argument("--delimiter", type=delimiter, help=DELIMITER_HELP)
    p.add_argument("--decimal", choices=DECIMALS, default=".", help=DECIMAL_HELP)


def hidden_sizes(text):
    try:
        sizes = tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--hidden takes sizes like 64,32, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise argparse.ArgumentTypeError(f"--hidden sizes must be positive, got {text!r}")
    return sizes


def positive(kind):
    def parse(text):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}") from None
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a positive {kind.__name__}, got {text!r}")
        return value

    return parse


def non_negative(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {text!r}") from None
    if not value >= 0 or not np.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected a finite number >= 0, got {text!r}")
    return value


def column_names(text):
    names = tuple(n.strip() for n in text.split(",") if n.strip())
    if not names:
        raise argparse.ArgumentTypeError(f"expected comma-separated column names, got {text!r}")
    return names


DECIMAL_HELP = "decimal mark of the numbers: . (default) or , (0,5; the delimiter is then not ,)"
DELIMITER_HELP = "field delimiter: one character, or 'tab' (default: detected among , ; tab |)"


def delimiter(text):
    text = {"tab": "\t", "\\t": "\t", "comma": ",", "semicolon": ";"}.get(text, text)
    if len(text) != 1 or text in '"\r\n':
        raise argparse.ArgumentTypeError(f"expected one character (or 'tab'), got {text!r}")
    return text


def fraction(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a fraction in [0, 1), got {text!r}")
    return value


def kernel_sets(text):
    from ..warmup import JOBS

    names = tuple(name.strip() for name in text.split(",") if name.strip())
    unknown = [name for name in names if name not in JOBS]
    if not names or unknown:
        raise argparse.ArgumentTypeError(f"expected kernel sets from {', '.join(JOBS)}, got {text!r}")
    return names
