"""``nbmlp warmup``: compile the kernels into Numba's on-disk cache ahead of first use."""

from ..tabular import UserError
from .arguments import add_command, kernel_sets, positive


def add_parser(sub, common):
    from ..warmup import DEFAULT_JOBS, JOBS

    p = add_command(
        sub,
        common,
        "warmup",
        run,
        help="compile the kernels into the cache ahead of first use",
        description="Compile the kernels that common use needs into Numba's on-disk cache (NUMBA_CACHE_DIR, "
        "or __pycache__ beside the package), spread over processes, so that the first fit of a new process "
        "loads them instead of compiling. Run it once in a Dockerfile or a CI image.",
        epilog="examples:\n  nbmlp warmup\n  NUMBA_CACHE_DIR=/opt/nbmlp-cache nbmlp warmup --dtype float32\n"
        "  nbmlp warmup --kernels train,small,trace,sparse,lbfgs\n\nkernel sets:\n"
        + "".join(f"  {name:7} {text}\n" for name, text in JOBS.items()),
    )
    p.add_argument("--dtype", choices=["float32", "float64"], help="compile for this dtype only (default: both)")
    p.add_argument(
        "--kernels",
        type=kernel_sets,
        default=DEFAULT_JOBS,
        metavar="SETS",
        help=f"comma-separated kernel sets (default {','.join(DEFAULT_JOBS)}; all: {','.join(JOBS)})",
    )
    p.add_argument("--jobs", type=positive(int), help="processes at a time (default: the CPU count)")


def run(args):
    from ..warmup import DTYPES, warmup

    try:
        warmup(
            args.kernels,
            (args.dtype,) if args.dtype else DTYPES,
            jobs=args.jobs,
            say=(lambda text: None) if args.quiet else (lambda text: print(text, flush=True)),
        )
    except RuntimeError as err:
        raise UserError(str(err)) from None
