"""ONNX export of a network: ``MLP.to_onnx`` and the estimators' ``to_onnx`` (``pip install
"nbmlp[onnx]"``).

The graph is the forward pass as ONNX operators, float32, one layer after another:
``u = MatMul(y, w) + b`` (``Add``), then the activation: ``Sigmoid``, ``Tanh``, ``Relu``,
``LeakyRelu`` (alpha 0.01), ``Gelu`` (opset 20; ``approximate="tanh"`` for ``gelu_tanh``),
SiLU as ``Mul(u, Sigmoid(u))``, ``Softmax`` (axis 1) on a softmax output, nothing for identity.
Input ``X`` (N, l), output ``y`` (N, n): what ``MLP.forward`` returns (class probabilities for a
softmax classifier, per-output probabilities for sigmoid outputs, values for a regressor).
Dropout is a training-time step and is not in the graph.
"""

import numpy as np

OPSET = 20  # Gelu is an operator from opset 20 on
ML_OPSET = 3  # ai.onnx.ml: Imputer, OneHotEncoder
ONNX_OPS = {
    "sigmoid": "Sigmoid",
    "tanh": "Tanh",
    "relu": "Relu",
    "leaky_relu": "LeakyRelu",
    "gelu": "Gelu",
    "gelu_tanh": "Gelu",
    "softmax": "Softmax",
}


def _onnx():
    try:
        import onnx
    except ImportError:
        raise ImportError('ONNX export needs the onnx package: pip install "nbmlp[onnx]"') from None
    return onnx


def to_onnx(net, path=None, name="nbmlp"):
    """The network's forward pass as an ONNX model (float32), written to ``path`` when given.

    Parameters
    ----------
    net : MLP
    path : str or path-like, optional
        Where to save the model (``onnx.save``).
    name : str
        The graph's name.

    Returns
    -------
    onnx.ModelProto
        The checked model (``onnx.checker.check_model``).
    """
    _onnx()
    from onnx import TensorProto, helper

    nodes, inits = _network_nodes(net, "X")
    inputs = [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, net.layers[0]])]
    return _finish(net, nodes, inits, inputs, path, name, ml=False)


def to_onnx_with_encoding(encoder, net, path=None, name="nbmlp"):
    """The column encoding (a ``tabular.ColumnEncoder``) and the network as one ONNX model.

    One input per column, named as the column, shape (N, 1): float for a numeric column,
    string for a text column (a missing text is ``""``, a missing number NaN). ONNX-ML
    operators do the encoding: ``Imputer`` fills a numeric column's NaN with its fill value
    (when the encoder imputes), a text column's ``""`` becomes its fill category (``Equal`` and
    ``Where``), ``OneHotEncoder`` (``zeros=1``: an unseen category is all zeros, as in
    ``TableEncoder``) gives the one-hot block; ``Concat`` joins the blocks in the columns'
    order into ``X``. The command's input scaling is folded into the first layer's weights, so
    no ``Scaler`` is needed. Then the network's graph (``to_onnx``); output ``y``.
    """
    _onnx()
    from onnx import TensorProto, helper, numpy_helper

    from .tabular import NUMBER

    nodes, inits, inputs, blocks = [], [], [], []
    for k, (column, kind, fill, text_fill, cats) in enumerate(
        zip(encoder.columns, encoder.kinds, encoder.fill, encoder.text_fill, encoder.categories)
    ):
        if kind == NUMBER:
            inputs.append(helper.make_tensor_value_info(column, TensorProto.FLOAT, [None, 1]))
            block = column
            if encoder.imputes:
                block = f"imputed{k}"
                nodes.append(
                    helper.make_node(
                        "Imputer",
                        [column],
                        [block],
                        name=f"imputer{k}",
                        domain="ai.onnx.ml",
                        imputed_value_floats=[float(fill)],
                        replaced_value_float=float("nan"),
                    )
                )
            blocks.append(block)
            continue
        inputs.append(helper.make_tensor_value_info(column, TensorProto.STRING, [None, 1]))
        text = column
        if encoder.imputes:
            inits += [
                numpy_helper.from_array(np.array([""], dtype=object), f"empty{k}"),
                numpy_helper.from_array(np.array([text_fill], dtype=object), f"fill{k}"),
            ]
            text = f"filled{k}"
            nodes += [
                helper.make_node("Equal", [column, f"empty{k}"], [f"missing{k}"], name=f"missing{k}"),
                helper.make_node("Where", [f"missing{k}", f"fill{k}", column], [text], name=f"fill{k}"),
            ]
        inits.append(numpy_helper.from_array(np.array([-1, len(cats)], dtype=np.int64), f"shape{k}"))
        nodes += [
            helper.make_node(
                "OneHotEncoder",
                [text],
                [f"onehot3d{k}"],
                name=f"onehot{k}",
                domain="ai.onnx.ml",
                cats_strings=[str(c) for c in cats],
                zeros=1,
            ),
            helper.make_node("Reshape", [f"onehot3d{k}", f"shape{k}"], [f"onehot{k}"], name=f"reshape{k}"),
            helper.make_node("Cast", [f"onehot{k}"], [f"block{k}"], name=f"cast{k}", to=TensorProto.FLOAT),
        ]
        blocks.append(f"block{k}")
    nodes.append(helper.make_node("Concat", blocks, ["X"], name="concat", axis=1))
    net_nodes, net_inits = _network_nodes(net, "X")
    made = {t.name for t in inits + net_inits} | {o for n in nodes + net_nodes for o in n.output}
    clash = sorted(set(encoder.columns) & made)
    if clash:
        raise ValueError(
            f"the column name(s) {clash} are names of the graph's own tensors; rename the column(s) to export"
        )
    return _finish(net, nodes + net_nodes, inits + net_inits, inputs, path, name, ml=True)


def _network_nodes(net, x):
    """The nodes and initializers of the forward pass from the tensor named ``x`` to ``y``."""
    from onnx import helper, numpy_helper

    nodes, inits = [], []
    y = x
    for L, (w, b, act) in enumerate(zip(net.weights, net.biases, net.activations)):
        inits += [
            numpy_helper.from_array(np.asarray(w, np.float32), f"w{L}"),
            numpy_helper.from_array(np.asarray(b, np.float32), f"b{L}"),
        ]
        nodes += [
            helper.make_node("MatMul", [y, f"w{L}"], [f"yw{L}"], name=f"matmul{L}"),
            helper.make_node("Add", [f"yw{L}", f"b{L}"], [f"u{L}"], name=f"add{L}"),
        ]
        out = "y" if L == len(net.activations) - 1 else f"y{L}"
        u = f"u{L}"
        if act == "identity":
            nodes.append(helper.make_node("Identity", [u], [out], name=f"identity{L}"))
        elif act == "silu":
            nodes += [
                helper.make_node("Sigmoid", [u], [f"sigmoid{L}"], name=f"sigmoid{L}"),
                helper.make_node("Mul", [u, f"sigmoid{L}"], [out], name=f"silu{L}"),
            ]
        else:
            attrs = {
                "leaky_relu": {"alpha": 0.01},
                "gelu": {"approximate": "none"},
                "gelu_tanh": {"approximate": "tanh"},
                "softmax": {"axis": 1},
            }.get(act, {})
            nodes.append(helper.make_node(ONNX_OPS[act], [u], [out], name=f"{act}{L}", **attrs))
        y = out
    return nodes, inits


def _finish(net, nodes, inits, inputs, path, name, ml):
    onnx = _onnx()
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes,
        name,
        inputs,
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, net.layers[-1]])],
        initializer=inits,
    )
    opsets = [helper.make_opsetid("", OPSET)] + ([helper.make_opsetid("ai.onnx.ml", ML_OPSET)] if ml else [])
    model = helper.make_model(graph, opset_imports=opsets, producer_name="nbmlp")
    model.ir_version = min(model.ir_version, 10)  # readable by onnxruntime releases of the last two years
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, path)
    return model
