"""Time per epoch and GFLOP/s against layer width, for nbmlp, NumPy, scikit-learn and PyTorch.

Run: python benchmarks/width_sweep.py [--widths 64,128,256,512,1024] [--threads N] [--epochs 3]
         [--out docs/performance_widths.png]
Each width w trains 784-w-w-10 (ReLU, softmax, plain SGD, batch 128) on 2,048 synthetic samples
with every installed library in one process, epochs taken in turns (``nbmlp.bench.compare``),
prints one line per width and library, and draws the two panels to ``--out`` (matplotlib).
"""

import argparse

import numpy as np

from nbmlp import bench


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--widths", default="64,128,256,512,1024")
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--samples", type=int, default=2048)
    parser.add_argument("--out", default="docs/performance_widths.png")
    args = parser.parse_args(argv)
    widths = [int(w) for w in args.widths.split(",")]
    libraries = [lib for lib in bench.LIBRARIES if bench.available(lib)]
    results = {lib: [] for lib in libraries}
    print(bench.machine_description())
    print(f"{'width':>6} {'library':<13} {'ms/epoch':>10} {'GFLOP/s':>9} {'nbmlp speed-up':>15}")
    for w in widths:
        problem = bench.make_problem((784, w, w, 10), n_samples=args.samples)
        problem.batch, problem.lr = 128, 0.03
        rows = bench.compare(problem, libraries, epochs=args.epochs, n_threads=args.threads)
        for row in rows:
            results[row["library"]].append((w, row["seconds"], row["gflops"]))
            print(
                f"{w:>6} {row['library']:<13} {1e3 * row['seconds']:>10.1f} {row['gflops']:>9.2f} "
                f"{row['speedup']:>14.2f}x"
            )
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4), dpi=100)
    for lib, points in results.items():
        w, sec, gf = np.array(points).T
        ax1.plot(w, 1e3 * sec, marker="o", label=lib)
        ax2.plot(w, gf, marker="o", label=lib)
    for ax, label in ((ax1, "ms per epoch (log)"), (ax2, "GFLOP/s")):
        ax.set_xscale("log", base=2)
        ax.set_xlabel("hidden width w (784-w-w-10, batch 128)")
        ax.set_ylabel(label)
        ax.legend()
    ax1.set_yscale("log")
    fig.suptitle(f"training, {args.samples} samples, float32, {args.threads or 'all'} thread(s)")
    fig.tight_layout()
    fig.savefig(args.out)
    print(f"saved {args.out}")


if __name__ == "__main__":
    main()
