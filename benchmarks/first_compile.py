"""First-compile time: ``import nbmlp`` plus the first ``fit`` and ``predict`` with an empty
Numba cache (a fresh ``NUMBA_CACHE_DIR`` per run), for ``nbmlp.MLP`` and for the estimator.

    python benchmarks/first_compile.py [repeats]

Prints the median seconds of each case over ``repeats`` fresh processes (default 2): the wall
time, and the CPU time of the process (all its threads; less sensitive to other processes on a
busy machine).
"""

import os
import statistics
import subprocess
import sys
import tempfile

CASES = {
    "MLP.fit (SGD) + predict": """
import nbmlp
net = nbmlp.MLP([8, 5, 3], activation="relu", output="softmax", dtype="float32", seed=0)
net.fit(X, y, epochs=1, batch_size=4, lr=0.1)
net.predict(X)
""",
    "MLPClassifier.fit (Adam) + predict": """
import nbmlp
est = nbmlp.MLPClassifier((5,), max_iter=1, random_state=0, batch_size=4)
est.fit(X, y)
est.predict(X)
""",
}
CHILD = """
import time, warnings
import numpy as np
warnings.simplefilter("ignore")
X = np.random.default_rng(0).random((16, 8)).astype(np.float32)
y = np.arange(16) % 3
t0, c0 = time.perf_counter(), time.process_time()
{body}
print(time.perf_counter() - t0, time.process_time() - c0)
"""


def first_compile(body):
    with tempfile.TemporaryDirectory(prefix="nbmlp-cold-") as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        out = subprocess.run(
            [sys.executable, "-c", CHILD.format(body=body)], env=env, capture_output=True, text=True, check=True
        )
        wall, cpu = out.stdout.strip().splitlines()[-1].split()
        return float(wall), float(cpu)


def main():
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 2
    for name, body in CASES.items():
        runs = [first_compile(body) for _ in range(repeats)]
        wall, cpu = [w for w, _ in runs], [c for _, c in runs]
        print(
            f"{name}: wall median {statistics.median(wall):.1f} s ({', '.join(f'{t:.1f}' for t in wall)}), "
            f"CPU median {statistics.median(cpu):.1f} s ({', '.join(f'{t:.1f}' for t in cpu)}) over {repeats}",
            flush=True,
        )


if __name__ == "__main__":
    main()
