"""An epoch trained in runs of whole batches, each on the threads ``training_threads`` chooses.

A run is short enough (``RUN_MACS``) that the governor judges windows of a few tens of
milliseconds even when an epoch takes seconds; the runs depend on the shape only, so the
summed loss has the same bits whatever the governor chooses.
"""

from ._governor import step_macs, training_threads
from .kernels.epoch import shuffle

# multiply-adds (forward and backward: 3 · step_macs per batch) of one run of batches: about
# 10-40 ms of training, so that the governor judges windows of ~25 ms even in epochs of seconds
RUN_MACS = 2**30


def epoch_runs(layers, batch, N):
    """The runs of whole batches an epoch of N samples is trained in: ``[(first, stop), …]``.

    They depend on the shape only (never on timing), so the loss, summed run by run, has the
    same bits whatever the governor chooses.
    """
    per_run = max(1, RUN_MACS // max(1, 3 * step_macs(layers, batch))) * batch
    return [(a, min(a + per_run, N)) for a in range(0, N, per_run)]


def train_epoch_in_runs(layers, batch, perm, rng, train):
    """One epoch, run by run, each on the threads ``training_threads`` chooses; the summed loss.

    ``train(order, do_shuffle)`` trains the samples ``order`` (a slice of ``perm``, a view) and
    returns their summed loss. With a generator state ``rng`` (None: no shuffle) the epoch's
    order is shuffled first: inside the one compiled call of an epoch of one run, or
    here (``kernels.epoch.shuffle``, the same draws) before the runs.
    """
    runs = epoch_runs(layers, batch, perm.shape[0])
    if len(runs) == 1:
        with training_threads(layers, batch, perm.shape[0]):
            return train(perm, rng is not None)
    if rng is not None:
        shuffle(perm, rng)
    total = 0.0
    for first, stop in runs:
        with training_threads(layers, batch, stop - first):
            total += train(perm[first:stop], False)
    return total
