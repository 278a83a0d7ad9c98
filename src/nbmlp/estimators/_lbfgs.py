"""The estimators' L-BFGS solver: scipy's L-BFGS-B over the flat parameters, each evaluation of the
loss and its gradient over the whole data one compiled call (``kernels.fullbatch``)."""

import numpy as np

from .. import _aligned as aligned
from .._governor import training_threads
from ..training import NON_FINITE, DivergenceError


class LBFGSMixin:
    """``solver="lbfgs"``: the full-batch fit of the estimators."""

    def _train_lbfgs(self, net, X, T, c):
        """scipy's L-BFGS-B over the flat parameters; each evaluation of the loss and its gradient
        over the whole data is one compiled call (``kernels.fullbatch.full_loss_gradient``)."""
        import scipy.optimize
        from sklearn.utils.optimize import _check_optimize_result

        from ..kernels.fullbatch import full_loss_gradient
        from ..kernels.passes import Network

        N, l, dtype = X.shape[0], X.shape[1], net.dtype
        work = net.work_buffers(N, with_backward=True)
        work[0][: N * l] = X.ravel()  # block 0 of Y: the inputs, read by every evaluation
        grads = aligned.empty(net.n_params, net.dtype)
        weighted = c is not None and not np.all(c == 1)
        cs = np.ascontiguousarray(c, dtype=dtype) if weighted else net.params[:0]
        alpha, kappa = dtype(self.alpha), self._hyper(dtype)[6]
        start = net.params.copy()
        bundle = Network(net.params, grads, net.layout, net.loss_code)

        def loss_and_gradient(theta):
            net.params[...] = theta
            with training_threads(net.layers, N, N):  # one evaluation: a step of N samples
                loss = full_loss_gradient(bundle, work, T, cs, alpha, float(kappa))
            return loss, grads.astype(np.float64)

        def record(intermediate_result):
            self.loss_curve_.append(float(intermediate_result.fun))

        try:
            result = scipy.optimize.minimize(
                loss_and_gradient,
                start.astype(np.float64),
                method="L-BFGS-B",
                jac=True,
                callback=record,
                options={"maxfun": self.max_fun, "maxiter": self.max_iter, "gtol": self.tol},
            )
        except BaseException:  # Ctrl-C or an error inside scipy: the weights the fit started from
            net.params[...] = start
            self._set_weights(net)
            raise
        if not (np.isfinite(result.fun) and np.isfinite(result.x).all() and np.isfinite(result.x.astype(dtype)).all()):
            net.params[...] = start
            self._set_weights(net)
            raise DivergenceError(
                f"L-BFGS produced a non-finite loss or weights (loss {result.fun}); the "
                f"starting weights were kept. {NON_FINITE}"
            )
        self.n_iter_ = _check_optimize_result("lbfgs", result, self.max_iter)
        self.loss_ = float(result.fun)
        net.params[...] = result.x
        self._set_weights(net)
