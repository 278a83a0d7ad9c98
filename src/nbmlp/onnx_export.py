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
    onnx = _onnx()
    from onnx import TensorProto, helper, numpy_helper

    nodes, inits = [], []
    y = "X"
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
    graph = helper.make_graph(
        nodes,
        name,
        [helper.make_tensor_value_info("X", TensorProto.FLOAT, [None, net.layers[0]])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [None, net.layers[-1]])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nbmlp")
    model.ir_version = min(model.ir_version, 10)  # readable by onnxruntime releases of the last two years
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save(model, path)
    return model
