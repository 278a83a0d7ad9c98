"""The ``nbmlp`` parser: the top-level options and one subcommand per module of ``COMMANDS``."""

import argparse

from . import bench, demo, evaluate, explain, predict, train, warmup
from .arguments import common_options

DESCRIPTION = "Train multilayer perceptrons whose kernels are the loops of backpropagation."
EPILOG = """examples:
  nbmlp demo                        train on the digits, save digits_loss.png
  nbmlp demo spirals --epochs 300   two spirals, with a picture of the decision regions
  nbmlp train data.csv --target label --hidden 64,32 --out model.npz --plot loss.png
  nbmlp predict model.npz new.csv --out predictions.csv
  nbmlp evaluate model.npz test.csv  the scores of a saved model on labelled rows
  nbmlp explain output-gradients    the output layer's gradients: formulas and loops
  nbmlp bench                       time nbmlp against scikit-learn, PyTorch and NumPy
"""

# the commands, in the order ``nbmlp --help`` lists them; each module has ``add_parser(sub, common)``
COMMANDS = (demo, train, predict, evaluate, explain, bench, warmup)


def build_parser():
    common = common_options()
    parser = argparse.ArgumentParser(
        prog="nbmlp", description=DESCRIPTION, epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--version", action="version", version=f"nbmlp {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub, common)
    return parser


def _version():
    # the version of the code that runs (nbmlp._version), not of whatever installation the package
    # metadata describes: the two differ when a source tree is put on the path
    from .._version import __version__

    return __version__
