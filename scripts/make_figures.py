"""Draw the pictures of the documentation site into docs/images/ (committed; the docs build only reads them).

    python scripts/make_figures.py

Runs ``nbmlp demo digits`` (the loss per epoch) and ``nbmlp demo spirals`` (the loss and the
decision regions), each in a fresh process, with matplotlib (the plot extra). They compile the
kernels on a first run and train in a few seconds after that. The speed-against-width picture,
docs/performance_widths.png, is drawn by benchmarks/width_sweep.py (it times other libraries).
"""

import pathlib
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
# the pictures each demo saves, of those the docs show
PICTURES = {"digits": ["digits_loss.png"], "spirals": ["spirals_loss.png", "spirals_regions.png"]}


def main():
    IMAGES.mkdir(exist_ok=True)
    for dataset, names in PICTURES.items():
        with tempfile.TemporaryDirectory() as out:
            subprocess.run([sys.executable, "-m", "nbmlp", "demo", dataset, "--quiet", "--out-dir", out], check=True)
            for name in names:
                (IMAGES / name).write_bytes((pathlib.Path(out) / name).read_bytes())
                print(f"wrote docs/images/{name}")


if __name__ == "__main__":
    main()
