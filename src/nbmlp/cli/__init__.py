"""The ``nbmlp`` command: demo, train, predict, evaluate, explain, bench, warmup.

Every failure a user can cause (a missing file, a bad CSV, a wrong model file, an output path
that cannot be written, a network too large for memory, training that diverges) prints one
line ``nbmlp: error: …`` to stderr and exits with status 2, without a traceback and without
leaving a partial output file. Ctrl-C prints ``nbmlp: interrupted …`` and exits with status
130 (``train --save-interrupted`` still saves the last finished epoch). Output files are
created with the usual permissions (0666 minus the umask; an existing file keeps its mode).

The parser is ``parser.build_parser``; each command is a module with its ``add_parser`` and
``run`` (``demo``, ``train``, ``predict``, ``evaluate``, ``explain``, ``bench``, ``warmup``), and
what they share has one place: ``arguments`` (the options and argument types), ``files`` (output
files), ``reading`` (CSV and model files), ``fitting`` (training as demo and train do it),
``scores`` (the reports) and ``plots``.
"""

import os
import signal
import sys

from .. import _compile_notice
from .._signals import Terminated, sigterm_as_interrupt
from ..tabular import UserError
from .parser import build_parser

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


def main(argv=None):
    """Run the ``nbmlp`` command with the arguments ``argv`` (default ``sys.argv[1:]``); its exit status."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if extra and args.command != "bench":
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    if args.command == "bench":
        args.rest = extra  # the options of python -m nbmlp.bench
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        if args.threads:
            from .._threads import set_num_threads

            set_num_threads(min(args.threads, _max_threads()))
        # SIGTERM as Ctrl-C (temporary files removed, exit 143); the command always says when it
        # compiles (unless --quiet), whatever NBMLP_COMPILE_NOTICE says
        with sigterm_as_interrupt(), _compile_notice.forced(not getattr(args, "quiet", False)):
            return args.func(args) or 0
    except UserError as err:
        return _error(err)
    except (ValueError, TypeError) as err:
        if os.environ.get("NBMLP_DEBUG"):
            raise
        return _error(err)
    except MemoryError:
        return _error("not enough memory (try smaller --hidden sizes or --batch-size)")
    except KeyboardInterrupt as stop:
        print("nbmlp: interrupted", file=sys.stderr)
        return EXIT_TERMINATED if isinstance(stop, Terminated) else EXIT_INTERRUPTED
    except BrokenPipeError:
        # the reader of our output went away (``nbmlp predict … | head``): stop quietly; point
        # stdout at /dev/null so that the interpreter's final flush does not fail again
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
        return 128 + signal.SIGPIPE if hasattr(signal, "SIGPIPE") else 1


def _error(err):
    print(f"nbmlp: error: {' '.join(str(err).split())}", file=sys.stderr)
    return EXIT_USAGE


def _max_threads():
    import numba

    return numba.config.NUMBA_NUM_THREADS
