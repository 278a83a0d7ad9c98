"""``python -m nbmlp``: the same as the ``nbmlp`` command (see ``nbmlp.cli``)."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
