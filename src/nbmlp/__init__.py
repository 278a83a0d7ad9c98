"""nbmlp: multilayer perceptrons whose kernels are the loops of the backpropagation derivation."""
from ._threads import get_num_threads, set_num_threads
from .network import MLP, DivergenceError
from .derivation import explain

__all__ = ["MLP", "DivergenceError", "get_num_threads", "set_num_threads", "explain"]
__version__ = "0.1.0"
