"""Reading speed of the ``nbmlp`` command's CSV reader.

A generated 100,000 × 21 numeric CSV (20 features and an integer class, 6 significant digits,
about 14 MB) is read by:

- ``nbmlp`` (``nbmlp.tabular.read_table``: pandas.read_csv plus nbmlp's checks: field counts,
  repeated header names, missing values, line numbers kept for errors);
- ``nbmlp, no pandas`` (the csv-module fallback when pandas is not installed);
- ``before`` (a plain reader, as the command once had: csv.reader and one ``float()`` per cell);
- ``pandas.read_csv`` and ``np.loadtxt`` alone.

Each is timed ``--repeats`` times (median, pauses between contenders). Then ``nbmlp train`` runs
10 epochs on the file in a subprocess and the share of the total time spent reading is printed.

    python benchmarks/csv_read.py [--rows 100000] [--repeats 5] [--no-train]
"""

import argparse
import csv
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np


def make_csv(path, rows, features=20, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(rows, features))
    y = (X[:, 0] + X[:, 1] > 0).astype(int) + (X[:, 2] > 1)
    with open(path, "w") as fh:
        fh.write(",".join([f"x{i}" for i in range(features)] + ["y"]) + "\n")
        np.savetxt(fh, np.column_stack([X, y]), delimiter=",", fmt=["%.6g"] * features + ["%d"])


def read_before(path):
    """The plain reader the command once had: csv.reader, then float() per cell."""
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader)]
        rows = [[v.strip() for v in row] for row in reader if row]
    X = np.empty((len(rows), len(header)))
    for r, row in enumerate(rows):
        for c, v in enumerate(row):
            X[r, c] = float(v)
    return X


def read_nbmlp(path):
    from nbmlp.tabular import read_table

    t = read_table(path)
    return np.column_stack([t.numbers(c) for c in t.header])


def read_nbmlp_python(path):
    from nbmlp import tabular

    pd = tabular._pandas
    tabular._pandas = lambda: None
    try:
        return read_nbmlp(path)
    finally:
        tabular._pandas = pd


def read_pandas(path):
    import pandas as pd

    return pd.read_csv(path).to_numpy(dtype=np.float64)


def read_loadtxt(path):
    return np.loadtxt(path, delimiter=",", skiprows=1)


def timed(fn, path, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = fn(path)
        times.append(time.perf_counter() - start)
    return statistics.median(times), out


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--no-train", action="store_true", help="skip the 10-epoch nbmlp train run")
    args = ap.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, load average "
        f"{', '.join(f'{v:.1f}' for v in os.getloadavg())}; python {platform.python_version()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "big.csv")
        make_csv(path, args.rows)
        print(f"{path}: {args.rows} rows × 21 columns, {os.path.getsize(path) / 1e6:.1f} MB")
        contenders = [
            ("nbmlp (pandas)", read_nbmlp),
            ("pandas.read_csv", read_pandas),
            ("np.loadtxt", read_loadtxt),
            ("nbmlp, no pandas (csv module)", read_nbmlp_python),
            ("before (float() per cell)", read_before),
        ]
        results, reference = {}, None
        for name, fn in contenders:
            time.sleep(1)
            seconds, X = timed(fn, path, args.repeats if "before" not in name else max(1, args.repeats // 2))
            if reference is None:
                reference = X
            assert X.shape == reference.shape and np.array_equal(X, reference), name
            results[name] = seconds
        base = results["pandas.read_csv"]
        print("\n| reader | median s | × pandas.read_csv |\n|---|---:|---:|")
        for name, seconds in results.items():
            print(f"| {name} | {seconds:.3f} | {seconds / base:.2f} |")
        if not args.no_train:
            start = time.perf_counter()
            res = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "nbmlp",
                    "train",
                    path,
                    "--target",
                    "y",
                    "--epochs",
                    "10",
                    "--validation",
                    "0.2",
                ],
                capture_output=True,
                text=True,
            )
            total = time.perf_counter() - start
            if res.returncode:
                sys.exit(res.stderr)
            read = float(re.search(r"reading the CSV took ([\d.]+) s", res.stdout).group(1))
            epochs = float(re.search(r"epoch\(s\) in ([\d.]+) s", res.stdout).group(1))
            print(
                f"\nnbmlp train, 10 epochs (hidden 64, batch 32, adam, float32): {total:.2f} s in all "
                f"(process start and imports included), training {epochs:.2f} s, reading {read:.2f} s "
                f"= {100 * read / total:.1f} % of the total"
            )


if __name__ == "__main__":
    main()
