"""The examples of the user guide's pages run, and give what their comments say."""

import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[1]


def python_blocks(page):
    return re.findall(r"```python\n(.*?)```", (ROOT / "docs" / page).read_text(encoding="utf-8"), re.S)


def test_mlp_page_example_runs_and_trains(capsys):
    import nbmlp

    before = nbmlp.get_num_threads()
    space = {}
    try:
        exec(compile(python_blocks("mlp.md")[0], "mlp.md", "exec"), space)
    finally:
        nbmlp.set_num_threads(before)  # the example sets one thread for the whole process
    hist, net, X, y = space["hist"], space["net"], space["X"], space["y"]
    assert len(hist) == 10 and hist[-1] < hist[0]
    last, accuracy = (float(v) for v in capsys.readouterr().out.split())
    assert last == hist[-1] and accuracy == (net.predict(X) == y).mean() > 0.9
    assert space["Y"].shape == (1797, 10) and space["Y"].dtype.name == "float32"
    assert [w.shape for w in space["dW"]] == [(64, 32), (32, 10)] and 0 < space["loss"] < hist[0]
