"""``python -m nbmlp``: train on the bundled digits data (8×8 images, 1,797 samples).

``python -m nbmlp explain [STEP]`` prints the steps of the derivation beside their kernel loops.
"""
import argparse
import sys

from ._demo import main


def cli(argv=None):
    """Parse the command line: no command runs the digits demo."""
    parser = argparse.ArgumentParser(prog="python -m nbmlp",
                                     description="Train on the bundled digits data (no command), or:")
    commands = parser.add_subparsers(dest="command")
    explain = commands.add_parser("explain", help="print a step of the derivation and the loops that compute it")
    explain.add_argument("step", nargs="?", help="a step name (default: every step)")
    args = parser.parse_args(argv)
    if args.command == "explain":
        from .derivation import explain as print_step
        try:
            print_step(args.step)
        except ValueError as err:
            parser.exit(2, f"python -m nbmlp explain: {err}\n")
        return
    main()


if __name__ == "__main__":
    cli(sys.argv[1:])
