"""scikit-learn's names of the activations beside nbmlp's, and the estimators' choices."""

HIDDEN = {
    "identity": "identity",
    "logistic": "sigmoid",
    "tanh": "tanh",
    "relu": "relu",
    "leaky_relu": "leaky_relu",
    "gelu": "gelu",
    "gelu_tanh": "gelu_tanh",
    "silu": "silu",
}
SCHEDULES = ("constant", "invscaling", "adaptive", "cosine")
SOLVERS = ("sgd", "adam", "adamw", "lbfgs")
# scikit-learn's names of the output activations
OUT_NAMES = {"sigmoid": "logistic", "softmax": "softmax", "identity": "identity", "exp": "exp"}
CORE_OUT = {v: k for k, v in OUT_NAMES.items()}
